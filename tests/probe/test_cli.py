"""The probe's command line: what it sends, what it refuses, what it says it costs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from assisterr_core import AssisterrClient
from assisterr_emulator import EmulatorServer

from .conftest import HANDLE, RunProbe, against, probe

ROOT = Path(__file__).resolve().parents[2]


def test_dry_run_lists_every_exchange_and_sends_nothing(probe_command: RunProbe) -> None:
    with EmulatorServer() as server:
        run = probe_command(*against(server, "--dry-run"))
        sent = server.requests
    assert run.code == 0
    assert sent == []
    listed = [line.split(None, 2)[1:] for line in run.out.splitlines()[1:]]
    assert [method for method, _ in listed] == [
        "POST", "POST", "POST", "POST", "POST", "GET", "GET", "DELETE", "GET", "GET", "POST",
        "GET"]
    assert listed[3][1].startswith(f"/api/v1/slm/{HANDLE}/session/{{session_id}}/chat/ {{")
    assert listed[8][1].endswith("(with a wrong key)")
    assert listed[10][1].endswith("/chat/ {}")
    assert listed[11][1] == f"/api/v1/slm/{HANDLE}/session/list"
    assert not list(Path().glob("*.json"))


def test_bad_input_is_one_line_exit_2_and_nothing_sent(
    probe_command: RunProbe, tmp_path: Path
) -> None:
    with EmulatorServer() as server:
        url, key = server.base_url, server.api_key
        cases = {
            "no API key": ("--base-url", url, "--handle", HANDLE),
            "no SLM handle": ("--base-url", url, "--api-key", key),
            "handle: must not contain '/'": ("--base-url", url, "--api-key", key,
                                             "--handle", "my/slm"),
            "cannot write --out": (*against(server)[:-2], "--out",
                                   str(tmp_path / "missing" / "r.json")),
            "is a directory": (*against(server)[:-2], "--out", str(tmp_path)),
            "--timeout must be positive seconds, at most 3600": (
                *against(server), "--timeout", "4000"),
        }
        runs = {problem: probe_command(*args) for problem, args in cases.items()}
        sent = server.requests
    for problem, run in runs.items():
        assert run.code == 2, problem
        assert run.out == "", problem
        assert len(run.err.splitlines()) == 1 and problem in run.err, (problem, run.err)
    assert sent == []


def test_the_probe_sends_the_headers_the_client_sends() -> None:
    with EmulatorServer() as server:
        with AssisterrClient(base_url=server.base_url, api_key=server.api_key) as client:
            client.chat(HANDLE, "hello")
            list(client.stream(HANDLE, "hello"))
        probe(server.base_url, server.api_key)
        client_chat, client_stream, probe_create, probe_chat, probe_stream = (
            server.requests[:5])
    assert probe_create.path.endswith("/session/create/")

    def comparable(headers: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in headers.items() if k not in ("Content-Length", "Host")}

    assert comparable(probe_chat.headers) == comparable(client_chat.headers)
    assert comparable(probe_stream.headers) == comparable(client_stream.headers)


def test_help_says_what_it_costs_and_that_the_recording_holds_no_key() -> None:
    done = subprocess.run([sys.executable, "-m", "assisterr_probe", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "two chats and two streams" in text
    assert "one session created and deleted" in text
    assert "API key redacted everywhere" in text
    assert "--dry-run" in text


def test_run_py_checks_probe_input_before_any_set_up() -> None:
    """Without site-packages (a bare Python) the checks still run: no set-up, exit 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTERR_")}
    done = subprocess.run([sys.executable, "-S", str(ROOT / "scripts" / "run.py"), "probe"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "assisterr-probe: no API key: set ASSISTERR_API_KEY or pass --api-key")


def test_a_service_that_cannot_be_reached_is_one_line_and_no_recording(
    probe_command: RunProbe,
) -> None:
    with socket.socket() as closed:  # a port that nothing listens on once this is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    run = probe_command("--base-url", f"http://127.0.0.1:{port}", "--api-key", "k" * 24,
                        "--handle", HANDLE, "--out", "recording.json")
    assert run.code == 1
    assert run.out == "" and run.recording is None
    complaint = run.err.splitlines()[-1]
    assert f"could not connect to http://127.0.0.1:{port}" in complaint
    assert "ASSISTERR_BASE_URL" in complaint and "k" * 8 not in run.err
    assert len(run.err.splitlines()) == 2  # the "Probing ..." line, then the one complaint
