"""A misbehaving service gives findings and exit 1, never a traceback; no key, no session left."""

from __future__ import annotations

import base64
import html
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from assisterr_core.transport.settings import Secret
from assisterr_emulator import EmulatorServer
from assisterr_probe import REDACTED, Exchange, judge, run_probe
from assisterr_probe.runner import ProbeSettings

from .conftest import HANDLE, RunProbe, against

KEY = 'pk-"probe\\Key/+&<Odd>%\'-9f3c'
ECHOES = (KEY, json.dumps(KEY)[1:-1], quote(KEY, safe=""), html.escape(KEY))


def every_string(value: Any) -> Iterator[str]:
    """All the text a reader of the recording could see: base64 blobs and JSON texts in
    strings decoded, however deep."""
    if isinstance(value, str):
        yield value
        try:
            inner = json.loads(value)
        except ValueError:
            return
        if inner != value:
            yield from every_string(inner)
    elif isinstance(value, list):
        for item in value:
            yield from every_string(item)
    elif isinstance(value, dict):
        if "base64" in value:
            yield base64.b64decode(value["base64"]).decode("latin-1")
        for item in value.values():
            yield from every_string(item)


def test_the_key_never_appears_in_the_recording(probe_command: RunProbe, tmp_path: Path) -> None:
    """The server echoes the key in a header, an error body and a stream split mid-key."""
    with EmulatorServer(api_key=KEY, stream_format="text") as server:
        body = json.dumps({"detail": " / ".join(ECHOES)}, ensure_ascii=False)
        server.inject(status=500, body=body, retry_after=KEY, path_contains="/chat/",
                      method="POST")
        server.set_responder(lambda ask: ["Your key is ", KEY[:7], KEY[7:], " indeed."])
        run = probe_command(*against(server))
    text = (tmp_path / "recording.json").read_text(encoding="utf-8")
    seen = list(every_string(json.loads(text)))
    for form in (*ECHOES, json.dumps(KEY)[1:-1].replace("/", "\\/")):
        assert form not in text
        assert not [s for s in seen if form in s]
        assert form not in run.printed
    assert run.recording is not None
    faulted, streamed = run.recording.exchanges[1], run.recording.exchanges[2]
    assert faulted.response is not None and streamed.response is not None
    assert faulted.response.body.count(REDACTED.encode()) == len(ECHOES)
    assert faulted.response.header("Retry-After") == REDACTED
    assert streamed.response.body == f"Your key is {REDACTED} indeed.".encode()
    assert faulted.request_headers["X-Api-Key"] == REDACTED


def test_unreadable_answers_are_findings_not_tracebacks(probe_command: RunProbe) -> None:
    with EmulatorServer() as server:
        server.inject(malformed=True, body="<!doctype html><html>Gateway login</html>",
                      content_type="text/html", path_contains="/chat/stream/")
        server.inject(drop_after_chunks=2, path_contains="/chat/stream/")
        server.inject(malformed=True, body='{"message": "cut sh', path_contains="/chat/")
        run = probe_command(*against(server))
        left = dict(server.state.sessions)
    assert run.code == 1
    assert "Traceback" not in run.printed
    rows = {row.exchange: row for row in judge(run.recording).rows} if run.recording else {}
    assert "MalformedResponseError" in (rows["chat"].finding or "")
    assert rows["stream"].finding and "HTML page" in rows["stream"].outcome
    assert "broke off" in (rows["session_stream"].finding or "")
    assert [name for name, row in rows.items() if row.finding] == [
        "chat", "stream", "session_stream"]
    assert "3 finding(s)" in run.out
    assert not left


class NotHttp:
    """Answers every connection with bytes that are not HTTP, then closes it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"garbage, not a status line\r\n\r\n")

    def __enter__(self) -> NotHttp:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()


def test_a_server_that_does_not_speak_http_gives_findings(probe_command: RunProbe) -> None:
    with NotHttp() as server:
        run = probe_command("--base-url", server.base_url, "--api-key", "k", "--handle",
                            HANDLE, "--out", "recording.json")
    assert run.code == 1
    assert "Traceback" not in run.printed
    assert "create_session" in run.out and "no answer" in run.out
    assert run.recording is not None
    assert all(e.error or e.skipped for e in run.recording.exchanges)


def test_failing_exchanges_do_not_leave_the_session_behind() -> None:
    """Cut streams and a failed delete: the session is deleted all the same."""
    with EmulatorServer() as server:
        server.inject(drop_after_chunks=1, path_contains="/chat/stream/", times=2)
        server.inject(status=503, method="DELETE")
        recording = run_probe(ProbeSettings(Secret(server.api_key), server.base_url, HANDLE))
        left = dict(server.state.sessions)
    names = [e.name for e in recording.exchanges]
    assert names[-1] == "cleanup_delete"
    last: Exchange = recording.exchanges[-1]
    assert last.response is not None and last.response.status == 200
    assert not left
    assert not judge(recording).understood


def test_an_interrupted_probe_still_deletes_its_session() -> None:
    def interrupt_after_the_session_chat(exchange: Exchange) -> None:
        if exchange.name == "session_chat":
            raise KeyboardInterrupt

    with EmulatorServer() as server:
        settings = ProbeSettings(Secret(server.api_key), server.base_url, HANDLE)
        with pytest.raises(KeyboardInterrupt):
            run_probe(settings, interrupt_after_the_session_chat)
        left = dict(server.state.sessions)
        last = server.requests[-1]
    assert not left
    assert last.method == "DELETE"


def test_a_rate_limited_exchange_says_the_client_would_resend_it(
    probe_command: RunProbe,
) -> None:
    with EmulatorServer() as server:
        server.inject(status=429, retry_after="3", path_contains="/session/list/")
        run = probe_command(*against(server))
    assert run.code == 1
    listed = next(line for line in run.out.splitlines() if line.startswith("list_sessions"))
    assert "RateLimitError" in listed and "would wait and send it again" in listed
    assert "rate-limit headers          retry-after" in run.out
