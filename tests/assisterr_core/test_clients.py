"""Both clients against the local server over real HTTP: endpoints, errors, retries."""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from assisterr_core import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrClient,
    AsyncAssisterrClient,
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from assisterr_emulator import STREAM_FORMATS, EmulatorServer

from ..reliability.key_search import places_holding
from ..reliability.mock_clock import MockClock
from .conftest import ClientDriver

HANDLE = "test-slm"


def test_chat(api: ClientDriver, assisterr_emulator: EmulatorServer) -> None:
    reply = api.call("chat", HANDLE, "Hi there")
    assert reply.text == f"Hello from {HANDLE}! You said: Hi there"
    assert reply.message_at is not None and reply.message_at.tzinfo is not None
    (received,) = assisterr_emulator.requests
    assert (received.method, received.path) == ("POST", f"/api/v1/slm/{HANDLE}/chat/")
    assert received.body == {"query": "Hi there"}
    assert received.api_key == assisterr_emulator.api_key


@pytest.mark.parametrize("stream_format", STREAM_FORMATS)
def test_stream_in_every_format(
    api: ClientDriver, assisterr_emulator: EmulatorServer, stream_format: str
) -> None:
    assisterr_emulator.config.stream_format = stream_format
    deltas, error = api.stream(HANDLE, "stream this please")
    assert error is None
    assert "".join(deltas) == f"Hello from {HANDLE}! You said: stream this please"
    if stream_format != "text":  # unframed text has no event boundaries to keep
        assert len(deltas) == 8  # word by word, as the server sent them
    assert assisterr_emulator.requests[0].path == f"/api/v1/slm/{HANDLE}/chat/stream/"


def test_session_lifecycle(api: ClientDriver, assisterr_emulator: EmulatorServer) -> None:
    sid = api.call("create_session", HANDLE)
    assert isinstance(sid, str) and sid
    api.call("chat", HANDLE, "What is 2+2?", session_id=sid)
    deltas, error = api.stream(HANDLE, "What was my first question?", session_id=sid)
    assert error is None
    assert "".join(deltas) == 'Your first question was: "What is 2+2?"'
    history = api.call("get_history", HANDLE, sid)
    assert [(m.role, m.text) for m in history] == assisterr_emulator.history(sid)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert all(m.session_id == sid for m in history)
    sessions = api.call("list_sessions", HANDLE)
    assert [s.id for s in sessions] == [sid]
    assert sessions[0].created_at is not None
    assert api.call("delete_session", HANDLE, sid) is True
    assert api.call("list_sessions", HANDLE) == []
    paths = [r.path for r in assisterr_emulator.requests]
    assert paths[1] == f"/api/v1/slm/{HANDLE}/session/{sid}/chat/"
    assert paths[2] == f"/api/v1/slm/{HANDLE}/session/{sid}/chat/stream/"


@pytest.mark.parametrize("order", ["newest-first", "oldest-first"])
def test_history_is_oldest_first_whatever_the_server_sends(
    api: ClientDriver, assisterr_emulator: EmulatorServer, order: str
) -> None:
    assisterr_emulator.config.history_order = order
    sid = api.call("create_session", HANDLE)
    for question in ("one", "two", "three"):
        api.call("chat", HANDLE, question, session_id=sid)
    texts = [m.text for m in api.call("get_history", HANDLE, sid) if m.is_user]
    assert texts == ["one", "two", "three"]


def test_ids_are_percent_encoded(api: ClientDriver, assisterr_emulator: EmulatorServer) -> None:
    with pytest.raises(NotFoundError):
        api.call("get_history", "slm-ü", "séssion")
    assert assisterr_emulator.requests[0].path == "/api/v1/slm/slm-ü/session/séssion/history/"


@pytest.mark.parametrize(
    ("call", "args", "field"),
    [
        ("chat", (HANDLE, ""), "query"),
        ("chat", (HANDLE, "   "), "query"),
        ("chat", (HANDLE, 42), "query"),
        ("chat", ("", "hi"), "handle"),
        ("chat", ("a/b", "hi"), "handle"),
        ("get_history", (HANDLE, "../x"), "session_id"),
        ("get_history", (HANDLE, "a b"), "session_id"),
        ("delete_session", (HANDLE, ""), "session_id"),
        ("create_session", ("x\ny",), "handle"),
    ],
)
def test_bad_input_sends_nothing(
    api: ClientDriver, assisterr_emulator: EmulatorServer, call: str, args: tuple[Any, ...],
    field: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=field) as caught:
        api.call(call, *args)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == field
    assert assisterr_emulator.requests == []


def test_bad_stream_input_raises_before_iteration(api: ClientDriver) -> None:
    with pytest.raises(InvalidRequestError):
        api.client.stream(HANDLE, "")
    with pytest.raises(InvalidRequestError):
        api.client.stream(HANDLE, "hi", session_id="a/b")


def test_missing_key_sends_nothing(
    driver_for: Any, assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSISTERR_API_KEY", raising=False)
    api = driver_for(api_key="")
    with pytest.raises(InvalidRequestError, match="api_key"):
        api.call("chat", HANDLE, "hi")
    assert assisterr_emulator.requests == []


def test_wrong_key(driver_for: Any, assisterr_emulator: EmulatorServer) -> None:
    api = driver_for(api_key="wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        api.call("chat", HANDLE, "hi")
    assert caught.value.status_code == 401
    assert caught.value.detail == "Invalid API key"
    assert "wrong-key" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, BadRequestError), (403, AuthenticationError), (404, NotFoundError),
     (422, BadRequestError), (500, ServerError), (501, ServerError)],
)
def test_permanent_errors_are_typed_and_not_retried(
    api: ClientDriver, assisterr_emulator: EmulatorServer, status: int, error_class: type
) -> None:
    assisterr_emulator.inject(status=status, body=json.dumps({"detail": f"nope {status}"}))
    with pytest.raises(error_class) as caught:
        api.call("chat", HANDLE, "hi")
    assert caught.value.status_code == status
    assert caught.value.detail == f"nope {status}"
    assert len(assisterr_emulator.requests) == 1


def test_errors_name_the_path_requested_under_the_origin(
    driver_for: Any, assisterr_emulator: EmulatorServer
) -> None:
    api = driver_for(base_url=f"{assisterr_emulator.base_url}/gateway")  # no such route
    with pytest.raises(NotFoundError) as caught:
        api.call("chat", HANDLE, "hi")
    assert caught.value.path == f"/gateway/api/v1/slm/{HANDLE}/chat/"
    assert f"for POST /gateway/api/v1/slm/{HANDLE}/chat/:" in str(caught.value)


def test_a_base_url_with_the_api_prefix_reaches_the_api_with_a_warning(
    driver_for: Any, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.warns(UserWarning, match="ends with '/api/v1', which the client adds"):
        api = driver_for(base_url=f"{assisterr_emulator.base_url}/api/v1/")
    assert api.call("chat", HANDLE, "hi").text == f"Hello from {HANDLE}! You said: hi"
    assert [r.path for r in assisterr_emulator.requests] == [f"/api/v1/slm/{HANDLE}/chat/"]


def test_html_error_page(api: ClientDriver, assisterr_emulator: EmulatorServer) -> None:
    page = "<html><body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>"
    assisterr_emulator.inject(status=500, body=page, content_type="text/html")
    with pytest.raises(ServerError, match="500 Internal Server Error nginx"):
        api.call("chat", HANDLE, "hi")


@pytest.mark.parametrize("status", [429, 502, 503])
def test_transient_errors_are_retried(
    api: ClientDriver, assisterr_emulator: EmulatorServer, status: int
) -> None:
    assisterr_emulator.inject(status=status, retry_after="0", times=2)
    assert api.call("chat", HANDLE, "hi").text.endswith("hi")
    assert len(assisterr_emulator.requests) == 3


def test_gateway_timeout_resends_reads_but_not_chats(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    sid = api.call("create_session", HANDLE)
    assisterr_emulator.inject(status=504, retry_after="0", path_contains="/chat")
    with pytest.raises(ServerError):  # the service may still be answering: never resent
        api.call("chat", HANDLE, "once", session_id=sid)
    assert len(assisterr_emulator.chat_requests()) == 1
    assisterr_emulator.inject(status=504, retry_after="0", path_contains="/history")
    assert api.call("get_history", HANDLE, sid) == []
    assert [r.path.endswith("/history/") for r in assisterr_emulator.requests[-2:]] == [True] * 2


def test_retries_run_out(driver_for: Any, assisterr_emulator: EmulatorServer) -> None:
    api = driver_for(max_retries=1)
    assisterr_emulator.inject(status=429, retry_after="0", times=5)
    with pytest.raises(RateLimitError) as caught:
        api.call("chat", HANDLE, "hi")
    assert caught.value.retry_after == 0.0
    assert len(assisterr_emulator.requests) == 2


def test_no_retries_makes_one_request(driver_for: Any, assisterr_emulator: EmulatorServer) -> None:
    api = driver_for(max_retries=0)
    assisterr_emulator.inject(status=503, retry_after="0", times=5)
    with pytest.raises(ServerError):
        api.call("chat", HANDLE, "hi")
    assert len(assisterr_emulator.requests) == 1


def test_stream_status_errors_are_retried_before_any_text(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(status=503, retry_after="0")
    deltas, error = api.stream(HANDLE, "hi")
    assert error is None and "".join(deltas).endswith("hi")
    assert len(assisterr_emulator.requests) == 2


def test_dropped_stream_keeps_text_and_is_not_resent(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    sid = api.call("create_session", HANDLE)
    assisterr_emulator.inject(drop_after_chunks=3, path_contains="/chat")
    deltas, error = api.stream(HANDLE, "one two three four", session_id=sid)
    assert deltas == ["Hello", " from", f" {HANDLE}!"]
    assert isinstance(error, StreamInterruptedError)
    assert len(assisterr_emulator.chat_requests()) == 1
    assert [role for role, _ in assisterr_emulator.history(sid)] == ["user", "assistant"]


def test_connection_drop_on_chat_is_not_resent(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(drop_after_chunks=1, path_contains="/chat")
    with pytest.raises(APIConnectionError):
        api.call("chat", HANDLE, "hi")
    assert len(assisterr_emulator.requests) == 1


def test_read_timeout_after_the_server_recorded_the_turn(
    driver_for: Any, assisterr_emulator: EmulatorServer
) -> None:
    api = driver_for(timeout=(1.0, 0.3))
    sid = api.call("create_session", HANDLE)
    assisterr_emulator.inject(delay=1.0, path_contains="/chat")
    with pytest.raises(APITimeoutError) as caught:
        api.call("chat", HANDLE, "only once", session_id=sid)
    assert isinstance(caught.value, TimeoutError)
    assert len(assisterr_emulator.chat_requests()) == 1
    assert assisterr_emulator.history(sid)[0] == ("user", "only once")
    assert len(assisterr_emulator.history(sid)) == 2


def test_malformed_body(api: ClientDriver, assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.inject(malformed=True)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        api.call("chat", HANDLE, "hi")
    assisterr_emulator.inject(malformed=True, body='{"unexpected": 1}')
    with pytest.raises(MalformedResponseError, match="no 'message'"):
        api.call("chat", HANDLE, "hi")


def test_connection_refused_is_typed_and_retried(driver_for: Any) -> None:
    """Even a session chat is resent when the connection could not be made: each retry
    waits once on the client's clock, so the waits count the attempts (and take no time)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = MockClock()
    api = driver_for(base_url=f"http://127.0.0.1:{port}", max_retries=2, clock=clock)
    with pytest.raises(APIConnectionError) as caught:
        api.call("chat", HANDLE, "hi", session_id="s1")
    assert caught.value.request_sent is False
    assert len(clock.sleeps) == 2  # three attempts
    message = str(caught.value)  # what a user reads: the cause, no internal class names
    assert message.startswith("could not connect to the Assisterr API: ")
    assert "_Deadline" not in message and "(host=" not in message, message


class _Redirector(http.server.BaseHTTPRequestHandler):
    target = ""
    seen_keys: ClassVar[list[str | None]] = []

    def _redirect(self) -> None:
        self.seen_keys.append(self.headers.get("X-Api-Key"))
        self.send_response(307)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET = _redirect

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirector(assisterr_emulator: EmulatorServer) -> Iterator[tuple[str, list[str | None]]]:
    _Redirector.target = assisterr_emulator.base_url.replace("127.0.0.1", "localhost")
    _Redirector.seen_keys = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Redirector.seen_keys
    server.shutdown()
    server.server_close()


def test_key_never_follows_a_redirect_to_another_origin(
    driver_for: Any, assisterr_emulator: EmulatorServer,
    redirector: tuple[str, list[str | None]],
) -> None:
    url, seen_keys = redirector
    api = driver_for(base_url=url)
    with pytest.raises(AuthenticationError):
        api.call("chat", HANDLE, "hi")
    assert seen_keys == [assisterr_emulator.api_key]  # the configured origin got it
    (received,) = assisterr_emulator.requests  # the other origin did not
    assert received.api_key is None


def test_repr_and_errors_hide_the_key(
    driver_for: Any, assisterr_emulator: EmulatorServer
) -> None:
    """Even when the server echoes the key in its error body and a header."""
    secret = "sk-top-secret-value"
    api = driver_for(api_key=secret)
    assert secret not in repr(api.client) and secret not in str(api.client)
    assert secret not in repr(api.client.settings) and secret not in str(api.client.settings)
    echo = json.dumps({"detail": f"Invalid API key: {secret}"})
    assisterr_emulator.inject(status=401, body=echo, retry_after=secret, times=2)
    with pytest.raises(AuthenticationError) as caught:
        api.call("chat", HANDLE, "hi")
    _, streamed = api.stream(HANDLE, "hi")
    assert isinstance(streamed, AuthenticationError)
    assert assisterr_emulator.requests[0].api_key == secret  # sent, then echoed
    for error in (caught.value, streamed):
        assert places_holding(secret, error) == []
        assert "Invalid API key" in str(error)  # the rest of the message is kept


def test_async_client_across_event_loops_leaves_nothing_open(
    assisterr_emulator: EmulatorServer,
) -> None:
    client = AsyncAssisterrClient(base_url=assisterr_emulator.base_url,
                                  api_key=assisterr_emulator.api_key)

    async def use() -> str:
        reply = await client.chat(HANDLE, "loop")
        deltas = [d async for d in client.stream(HANDLE, "loop")]
        return reply.text + "".join(deltas)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [asyncio.run(use()) for _ in range(3)]
        gc.collect()
    assert len(set(results)) == 1
    assert [str(w.message) for w in caught] == []


async def test_async_client_in_a_pytest_asyncio_loop(assisterr_emulator: EmulatorServer) -> None:
    async with AsyncAssisterrClient(
        base_url=assisterr_emulator.base_url, api_key=assisterr_emulator.api_key
    ) as client:
        replies = await asyncio.gather(*(client.chat(HANDLE, f"q{i}") for i in range(20)))
    assert [r.text.rsplit(" ", 1)[-1] for r in replies] == [f"q{i}" for i in range(20)]


def test_sync_client_shared_by_threads(assisterr_emulator: EmulatorServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with AssisterrClient(base_url=assisterr_emulator.base_url,
                         api_key=assisterr_emulator.api_key) as client:
        def worker(n: int) -> list[bool]:
            return [client.chat(HANDLE, f"t{n}-{i}").text.endswith(f"t{n}-{i}")
                    for i in range(25)]

        with ThreadPoolExecutor(16) as pool:
            results = [ok for batch in pool.map(worker, range(16)) for ok in batch]
    assert results == [True] * 400
    assert len(assisterr_emulator.requests) == 400


def test_sync_import_does_not_load_aiohttp() -> None:
    code = (
        "import sys, assisterr_core\n"
        "from assisterr_core import AssisterrClient\n"
        "AssisterrClient(api_key='k', base_url='http://127.0.0.1:9')\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_status_is_an_api_status_error(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(status=409, body="conflict")
    with pytest.raises(APIStatusError) as caught:
        api.call("create_session", HANDLE)
    assert type(caught.value) is APIStatusError and caught.value.status_code == 409


LIFECYCLE_SCRIPT = """
import asyncio, gc, os, sys, warnings
warnings.simplefilter("always")
from assisterr_core import AsyncAssisterrClient
url, key, case = sys.argv[1], sys.argv[2], sys.argv[3]

def fds():
    return len(os.listdir("/proc/self/fd"))

if case == "idle-default-loop":  # what LlamaIndex's asyncio_run does: the loop stays open
    client = AsyncAssisterrClient(base_url=url, api_key=key)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for _ in range(2):
        loop.run_until_complete(client.chat("h", "hi"))
elif case == "clients-dropped-while-running":  # one client per tenant key, then dropped
    async def main():
        before = fds()
        for tenant in range(80):
            client = AsyncAssisterrClient(base_url=url, api_key=key)
            await client.chat("h", f"tenant {tenant}")
            del client
            gc.collect()
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        assert fds() - before < 10, (before, fds())
    asyncio.run(main())
print("done", flush=True)
"""


@pytest.mark.parametrize("case", ["idle-default-loop", "clients-dropped-while-running"])
def test_async_sessions_are_closed_however_loops_and_clients_end(
    assisterr_emulator: EmulatorServer, case: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", LIFECYCLE_SCRIPT, assisterr_emulator.base_url,
         assisterr_emulator.api_key, case],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done"
    assert "Unclosed" not in done.stderr and "ResourceWarning" not in done.stderr, done.stderr


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy stand-in: answers every request itself and notes the target."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.seen.append(self.path)
        body = json.dumps({"message": "via proxy"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_proxy_from_the_environment_is_used(
    client_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Proxy.seen = []
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.setenv("NO_PROXY", "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plain http to a non-loopback name warns
            client_class = AssisterrClient if client_kind == "sync" else AsyncAssisterrClient
            api = ClientDriver(client_class(base_url="http://assisterr.test", api_key="k"))
        assert api.call("chat", HANDLE, "hi").text == "via proxy"
        if isinstance(api.client, AssisterrClient):
            api.client.close()
        assert _Proxy.seen == [f"http://assisterr.test/api/v1/slm/{HANDLE}/chat/"]
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_422_that_names_the_key_header_is_an_authentication_error(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    """A FastAPI service answers a missing key header with 422 naming it: the fix is the key.
    A 422 about the body stays a bad request."""
    detail = [{"type": "missing", "loc": ["header", "x-api-key"], "msg": "Field required",
               "input": None}]
    assisterr_emulator.inject(status=422, body=json.dumps({"detail": detail}))
    with pytest.raises(AuthenticationError) as caught:
        api.call("chat", "test-slm", "hi")
    assert caught.value.status_code == 422
    body_problem = [{"type": "missing", "loc": ["body", "query"], "msg": "Field required"}]
    assisterr_emulator.inject(status=422, body=json.dumps({"detail": body_problem}))
    with pytest.raises(BadRequestError):
        api.call("chat", "test-slm", "hi")


def test_a_session_list_of_bare_ids_parses_into_sessions(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    """One public client reads the list as an array of id strings: take that shape too."""
    assisterr_emulator.inject(malformed=True, body='["65a1f0c2e4b0a1b2c3d4e5f6", 1234567891234]',
                              path_contains="/session/list")
    sessions = api.call("list_sessions", "test-slm")
    assert [s.id for s in sessions] == ["65a1f0c2e4b0a1b2c3d4e5f6", "1234567891234"]
    assert all(s.created_at is None and not s.is_deleted for s in sessions)
