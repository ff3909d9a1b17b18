"""Services that misbehave at the byte level: the probe records what the client would see,
within its deadlines, and never sends or records a secret."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from assisterr_core.transport import Timeout
from assisterr_core.transport.settings import Secret
from assisterr_probe import REDACTED, Exchange, Recording, judge, run_probe
from assisterr_probe.recording import MAX_CHUNKS
from assisterr_probe.runner import ProbeSettings
from tests.reliability.raw_peer import Conn, RawRequest, response_head

from .conftest import HANDLE, RunProbe, within_guard
from .hostile_service import Misbehaviour, ends_with, hostile_service

KEY = "pk-hostile-5f1d2c3b4a69"


def the_chat(request: RawRequest) -> bool:
    """The plain chat (not the chat without a query, sent to the same path)."""
    return request.path.endswith(f"/{HANDLE}/chat/") and b"query" in request.body


def probe_in_thread(base_url: str, key: str = KEY, **settings: Any) -> Recording:
    """One probe run; fails (instead of hanging) if it has not returned by the hang guard."""
    probe_settings = ProbeSettings(Secret(key), base_url, HANDLE, **settings)
    return within_guard(lambda: run_probe(probe_settings))


def exchange_of(recording: Recording, name: str) -> Exchange:
    found = recording.exchange(name)
    assert found is not None
    return found


def test_a_well_behaved_raw_service_is_understood() -> None:
    with hostile_service(lambda conn, request: None, lambda request: False) as service:
        recording = probe_in_thread(service.base_url)
    assert judge(recording).findings == []


def test_interim_responses_are_skipped_as_the_client_skips_them() -> None:
    """A 103 and a 102 before the answer: the answer is the chat's, and the next exchange
    reads its own answer, not what the chat's left on the connection."""
    def hints_first(conn: Conn, request: RawRequest) -> None:
        conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
                  b"HTTP/1.1 102 Processing\r\n\r\n")
        conn.respond(200, b'{"message": "Four."}')

    with hostile_service(hints_first, the_chat) as service:
        recording = probe_in_thread(service.base_url)
    chat, stream = exchange_of(recording, "chat"), exchange_of(recording, "stream")
    assert chat.response is not None and chat.response.status == 200
    assert chat.response.body == b'{"message": "Four."}'
    assert stream.response is not None and stream.response.status == 200
    assert judge(recording).findings == []


def test_headers_cut_by_the_end_of_the_connection_are_no_answer() -> None:
    def cut_in_headers(conn: Conn, request: RawRequest) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len")

    with hostile_service(cut_in_headers, the_chat) as service:
        recording = probe_in_thread(service.base_url)
    chat = exchange_of(recording, "chat")
    assert chat.response is None
    assert chat.error is not None and "inside the response headers" in chat.error


def drip_headers(conn: Conn, request: RawRequest) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n")
    conn.drip(b"X-Slow: " + b"z" * 60_000 + b"\r\n", 0.05)


def endless_continues(conn: Conn, request: RawRequest) -> None:
    for _ in range(100_000):
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.hold(0.05)


def drip_body(conn: Conn, request: RawRequest) -> None:
    conn.send(response_head(200, length=100_000))
    conn.drip(b" " * 100_000, 0.05)


@pytest.mark.parametrize("misbehave", [drip_headers, endless_continues, drip_body])
def test_an_answer_that_never_ends_is_cut_off_at_the_exchange_deadline(
    misbehave: Misbehaviour,
) -> None:
    """Each byte comes well within the read timeout: only the exchange's deadline ends it."""
    with hostile_service(misbehave, the_chat) as service:
        recording = probe_in_thread(service.base_url, deadline=1.0,
                                    timeout=Timeout(connect=5.0, read=5.0))
    chat = exchange_of(recording, "chat")
    assert chat.error is not None and "after 1 s" in chat.error
    assert [e.name for e in recording.exchanges][-1] == "no_trailing_slash"
    assert not [e.name for e in recording.exchanges if e.name != "chat" and e.error]


def test_netrc_credentials_are_neither_sent_nor_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client never sends credentials from ~/.netrc; the probe must not either."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin someone\npassword netrc-pass-93b1\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with hostile_service(lambda conn, request: None, lambda request: False) as service:
        recording = probe_in_thread(service.base_url)
        sent = service.requests
    assert sent and not [r for r in sent if "authorization" in r.headers]
    assert not [e for e in recording.exchanges if "Authorization" in e.request_headers]


@pytest.mark.parametrize("session_id", ["a/b", "..", "a b", "50%", "x\x00y", "a\\b"])
def test_a_session_id_the_client_cannot_send_back_is_a_finding_not_a_crash(
    session_id: str,
) -> None:
    def odd_id(conn: Conn, request: RawRequest) -> None:
        conn.respond(200, json.dumps(session_id).encode())

    with hostile_service(odd_id, ends_with("/session/create/")) as service:
        recording = probe_in_thread(service.base_url)
        sent = service.requests
    rows = {row.exchange: row for row in judge(recording).rows}
    assert "session" in (rows["create_session"].finding or "")
    for name in ("session_chat", "session_stream", "history", "delete_session"):
        assert "cannot be sent" in (exchange_of(recording, name).skipped or ""), name
    assert "cleanup_delete" not in rows
    assert rows["unknown_session"].finding is None
    assert [r.path for r in sent if "/session/" in r.path and "/session/create/" not in
            r.path and "/session/list" not in r.path] == [
        f"/api/v1/slm/{HANDLE}/session/000000000000000000000000/history/"]


def base64_echoes(secret: str) -> list[str]:
    """The key in base64 as a server may echo it: alone, after 'user:' (Basic auth), at
    each of the three alignments, standard and URL-safe alphabets, padded or not."""
    forms = []
    for prefix in ("", "u:", "ab:"):
        encoded = base64.b64encode((prefix + secret).encode()).decode()
        forms += [encoded, encoded.rstrip("="), encoded.translate(str.maketrans("+/", "-_"))]
    return forms


def test_the_key_echoed_in_base64_is_redacted(tmp_path: Path) -> None:
    key = "pk-b64>>?~Key-51f0c2d7e8"  # base64 of it holds '+' and '/'
    echoes = base64_echoes(key)
    assert any("+" in form for form in echoes) and any("/" in form for form in echoes)

    def echo(conn: Conn, request: RawRequest) -> None:
        body = json.dumps({"detail": echoes}).encode()
        conn.respond(500, body, headers=[("X-Echo", echoes[0]),
                                         ("Set-Cookie", f"k={quote(echoes[3])}")])

    with hostile_service(echo, the_chat) as service:
        recording = probe_in_thread(service.base_url, key)
    recording.dump(tmp_path / "recording.json")
    text = (tmp_path / "recording.json").read_text(encoding="utf-8")
    chat = exchange_of(recording, "chat")
    assert chat.response is not None
    leaked = [form for form in echoes if form in text or quote(form) in text
              or json.dumps(form)[1:-1] in text]
    assert leaked == []
    assert chat.response.header("X-Echo") == REDACTED


def test_a_compressed_stream_that_expands_hugely_is_read_no_further_than_the_limit() -> None:
    """One HTTP chunk of 64 KiB gzip that expands to 64 MiB: read in bounded pieces."""
    bomb = gzip.compress((b'data: {"message": "' + b"z" * 1000 + b'"}\n\n') * 64 * 1024, 9)

    def compressed(conn: Conn, request: RawRequest) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                  b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n" % len(bomb) + bomb + b"\r\n0\r\n\r\n")

    limit = 1024 * 1024
    with hostile_service(compressed, ends_with(f"/{HANDLE}/chat/stream/")) as service:
        recording = probe_in_thread(service.base_url, max_body_bytes=limit)
    stream = exchange_of(recording, "stream")
    assert stream.response is not None and stream.error is not None
    assert "body longer than" in stream.error
    assert len(stream.response.body) <= limit + 64 * 1024


DEEP = b"[" * 100_000 + b"]" * 100_000


def deeply_nested(conn: Conn, request: RawRequest) -> None:
    if request.path.endswith("/chat/stream/"):
        conn.respond(200, b"data: " + DEEP + b"\n\n", content_type="text/event-stream")
    elif request.path.endswith("/chat/"):
        conn.respond(200, b'{"message": "Four.", "extra": ' + DEEP + b"}")
    elif request.method == "DELETE":
        conn.respond(200, b"true")
    else:
        conn.respond(404 if "000000" in request.path else 200, DEEP)


def test_deeply_nested_json_is_a_finding_not_a_traceback(probe_command: RunProbe) -> None:
    """Every answer but session/create nests a hundred thousand levels deep."""
    with hostile_service(deeply_nested,
                         lambda r: not r.path.endswith("/session/create/")) as service:
        run = probe_command("--base-url", service.base_url, "--api-key", KEY, "--handle",
                            HANDLE, "--out", "recording.json")
    assert run.code == 1
    assert "Traceback" not in run.printed
    assert run.recording is not None
    rows = {row.exchange: row for row in judge(run.recording).rows}
    assert rows["list_sessions"].finding and rows["stream"].finding
    assert "failed unexpectedly" not in run.out


def test_a_key_inside_the_base_url_is_redacted_too(
    probe_command: RunProbe, tmp_path: Path
) -> None:
    """Some gateways take the key in the path; the recording and the output still hold none."""
    with hostile_service(lambda conn, request: None, lambda request: False) as service:
        run = probe_command("--base-url", f"{service.base_url}/{KEY}", "--api-key", KEY,
                            "--handle", HANDLE, "--out", "recording.json")
    assert run.code == 0, run.printed
    assert KEY not in run.printed
    assert KEY not in (tmp_path / "recording.json").read_text(encoding="utf-8")


def test_a_stream_of_countless_tiny_chunks_is_read_no_further_than_the_chunk_limit() -> None:
    """A byte per HTTP chunk: memory and the recording grow with the chunks, not the bytes."""
    count = MAX_CHUNKS + 10_000

    def tiny_chunks(conn: Conn, request: RawRequest) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * count + b"0\r\n\r\n")

    with hostile_service(tiny_chunks, ends_with(f"/{HANDLE}/chat/stream/")) as service:
        recording = probe_in_thread(service.base_url)
    stream = exchange_of(recording, "stream")
    assert stream.response is not None and stream.response.chunks is not None
    assert len(stream.response.chunks) <= MAX_CHUNKS
    assert stream.error is not None and "pieces" in stream.error


def test_a_redirect_to_an_unparsable_location_is_described_not_raised(
    probe_command: RunProbe,
) -> None:
    def bad_location(conn: Conn, request: RawRequest) -> None:
        conn.respond(307, b"", headers=[("Location", "http://[bad/x")])

    with hostile_service(bad_location, lambda r: r.path.endswith("/session/list")) as service:
        run = probe_command("--base-url", service.base_url, "--api-key", KEY, "--handle",
                            HANDLE, "--out", "recording.json")
    assert "Traceback" not in run.printed
    assert run.code == 0
    slashless = next(line for line in run.out.splitlines()
                     if line.startswith("  without the trailing slash"))
    assert "redirects (307) to 'http://[bad/x'" in slashless
