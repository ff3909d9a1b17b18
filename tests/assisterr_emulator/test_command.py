"""The local server started by hand (``python -m assisterr_emulator``), in a subprocess: what
it prints at start-up, its request log, and a port that is already taken."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from string import Template
from typing import Any

import requests
from aiohttp import web

COMMAND = [sys.executable, "-m", "assisterr_emulator"]
LAST_STARTUP_LINE = "  Ctrl-C stops it"
STARTUP_TIMEOUT = 60


class Running:
    """A started server: its start-up lines, and (once stopped) the rest of its output."""

    def __init__(self, process: subprocess.Popen[str], startup: list[str]) -> None:
        self.process = process
        self.startup = startup
        self.later_output = ""
        self.errors = ""

    def line_starting(self, prefix: str) -> str:
        (line,) = [line for line in self.startup if line.startswith(prefix)]
        return line[len(prefix):]

    def exports(self) -> dict[str, str]:
        return dict(pair.split("=", 1) for pair in self.line_starting("  export ").split())


@contextmanager
def emulator(*args: str) -> Iterator[Running]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTERR_")}
    process = subprocess.Popen([*COMMAND, "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    startup = read_startup(process)
    running = Running(process, startup)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        running.later_output, running.errors = process.communicate(timeout=30)


def read_startup(process: subprocess.Popen[str]) -> list[str]:
    """The start-up lines, up to the last one; a server that exits or never prints it
    fails the test (after a bounded wait) with what it printed."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def read() -> None:
        while line := stdout.readline():
            lines.put(line.rstrip("\n"))
            if line.startswith(LAST_STARTUP_LINE):
                return  # the rest is read by communicate()
        lines.put("")  # end of output

    threading.Thread(target=read, daemon=True).start()
    startup: list[str] = []
    while not startup or not startup[-1].startswith(LAST_STARTUP_LINE):
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            line = ""
        if not line:
            process.kill()
            raise AssertionError([*startup, process.communicate(timeout=30)[1]])
        startup.append(line)
    return startup


def send_curl_line(line: str, variables: dict[str, str]) -> requests.Response:
    """Send what a curl command line asks for (-X, -H, -d and the URL), its ``$VARIABLES``
    filled from ``variables`` as a shell would: the line is checked without needing curl."""
    words = iter(shlex.split(line))
    assert next(words) == "curl"
    request: dict[str, Any] = {"method": "GET", "headers": {}}
    for word in words:
        if word == "-X":
            request["method"] = next(words)
        elif word == "-H":
            name, value = next(words).split(":", 1)
            request["headers"][name] = Template(value.strip()).substitute(variables)
        elif word == "-d":
            request["data"] = next(words)
        elif not word.startswith("-"):
            request["url"] = word
    return requests.request(**request, timeout=30)


def test_startup_says_which_key_it_takes_and_gives_a_curl_line_that_works() -> None:
    with emulator() as server:
        assert server.line_starting("  API key: ").startswith("any non-empty key")
        exports = server.exports()
        assert exports["ASSISTERR_BASE_URL"].startswith("http://127.0.0.1:")
        reply = send_curl_line(server.line_starting("  try: "), exports)
        assert reply.status_code == 200
        assert reply.json()["message"] == f"Hello from {exports['ASSISTERR_HANDLE_NAME']}! " \
            "You said: Hello"
    assert server.later_output == ""  # no request log unless asked for

    with emulator("--api-key", "only-this-key") as server:
        assert server.line_starting("  API key: ").startswith("only the one given with --api-key")
        exports = server.exports()
        assert "ASSISTERR_API_KEY" not in exports  # the key is the user's to set, never shown
        reply = send_curl_line(server.line_starting("  try: "),
                               {**exports, "ASSISTERR_API_KEY": "only-this-key"})
        assert reply.status_code == 200
    assert "only-this-key" not in "\n".join(server.startup) + server.later_output


def test_the_request_log_has_one_line_per_request_and_never_the_key() -> None:
    with emulator("--log-requests", "--api-key", "the-right-key") as server:
        base = server.exports()["ASSISTERR_BASE_URL"] + "/api/v1/slm/my-slm"
        right, wrong = {"X-Api-Key": "the-right-key"}, {"X-Api-Key": "a-wrong-key"}
        assert requests.post(f"{base}/chat/", json={"query": "hi"}, headers=right,
                             timeout=30).status_code == 200
        assert requests.post(f"{base}/chat/", json={"query": "hi"}, headers=wrong,
                             timeout=30).status_code == 401
        with requests.post(f"{base}/chat/stream/", json={"query": "hi"}, headers=right,
                           stream=True, timeout=30) as streamed:
            assert b"".join(streamed.iter_content())
        assert requests.get(f"{base}/session/list/?key=the-right-key", headers=right,
                            timeout=30).status_code == 200
    log = server.later_output.splitlines()
    assert [re.sub(r" \d+\.\d ms$", " N ms", line) for line in log] == [
        "POST /api/v1/slm/my-slm/chat/ 200 N ms",
        "POST /api/v1/slm/my-slm/chat/ 401 N ms",
        "POST /api/v1/slm/my-slm/chat/stream/ 200 N ms",
        "GET /api/v1/slm/my-slm/session/list/ 200 N ms",  # no query string
    ]
    everything = "\n".join(server.startup) + server.later_output + server.errors
    assert "the-right-key" not in everything and "a-wrong-key" not in everything


def test_a_busy_port_is_one_line_naming_it_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*COMMAND, "--port", str(port)], capture_output=True, text=True,
                              timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"assisterr-emulator: port {port} on 127.0.0.1 is already in use (another emulator?):"
        " stop what holds it, or choose another with --port (--port 0 picks a free one)"]



def test_out_of_range_numbers_are_usage_errors_naming_the_option() -> None:
    """A port beyond 65535 or a negative delay is refused by the option parser (exit 2,
    one line), not a traceback from the socket layer or a silently odd server."""
    for args, option in [(["--port", "99999"], "--port"), (["--port", "-1"], "--port"),
                         (["--chunk-delay", "-1"], "--chunk-delay"),
                         (["--latency", "-0.5"], "--latency"),
                         (["--latency", "nan"], "--latency")]:
        done = subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"argument {option}:" in done.stderr.splitlines()[-1], done.stderr


def test_listening_on_every_interface_still_exports_a_loopback_url() -> None:
    """0.0.0.0 is where the server listens, not an address to send a key to: the exports
    and the curl line name 127.0.0.1, so following them raises no InsecureTransportWarning."""
    with emulator("--host", "0.0.0.0") as server:
        assert server.startup[0].startswith("Assisterr emulator listening on http://0.0.0.0:")
        exports = server.exports()
        assert exports["ASSISTERR_BASE_URL"].startswith("http://127.0.0.1:")
        assert "0.0.0.0" not in server.line_starting("  try: ")
        reply = send_curl_line(server.line_starting("  try: "), exports)
        assert reply.status_code == 200


def test_an_ipv6_host_is_written_in_brackets() -> None:
    from assisterr_emulator.__main__ import _loopback_url
    from assisterr_emulator.app_thread import AppThread

    assert AppThread(web.Application(), host="::1", port=8765).base_url == "http://[::1]:8765"
    assert _loopback_url("http://[::]:8765") == "http://[::1]:8765"
    assert _loopback_url("http://0.0.0.0:8765") == "http://127.0.0.1:8765"
    assert _loopback_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"
