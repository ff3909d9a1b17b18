"""Faults through ChatAssisterr and the LlamaIndex LLM, sync and async.

Each fault is injected in the local server; the adapters must surface the core's typed
error (not a wrapper that hides it), retry only what is safe, keep streamed text, never
hang and leave no socket or thread behind. Time bounds are generous upper limits (a hang
would blow through them), never speed targets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from assisterr_core import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrError,
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr

from ._adapters import HANDLE, KINDS, Adapter, build, echo, open_fds

HTML_500 = (
    "<!DOCTYPE html><html><head><title>500</title><style>body{color:red}</style></head>"
    "<body><h1>Internal Server Error</h1><p>The upstream model crashed.</p></body></html>"
)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def adapters(assisterr_emulator: EmulatorServer) -> Iterator[Any]:
    made: list[Adapter] = []

    def make(kind: str, **options: Any) -> Adapter:
        adapter = build(kind, assisterr_emulator, **options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


def no_transport_leak(error: BaseException) -> None:
    """The error and its whole chain are ours: no requests/aiohttp/json exception inside."""
    seen: BaseException | None = error
    while seen is not None:
        module = type(seen).__module__
        assert not module.startswith(("requests", "urllib3", "aiohttp", "json")), repr(seen)
        assert not isinstance(seen, json.JSONDecodeError)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


# -- transient faults, then success -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after"), [(503, None), (502, None), (429, None), (429, "0"), (503, "0")]
)
@pytest.mark.parametrize("streaming", [False, True], ids=["call", "stream"])
def test_transient_fault_then_success(
    kind: str, status: int, retry_after: str | None, streaming: bool,
    assisterr_emulator: EmulatorServer, adapters: Any, fast_backoff: Any,
) -> None:
    adapter = adapters(kind)
    fast_backoff(adapter)
    assisterr_emulator.inject(status=status, retry_after=retry_after, times=2)
    if streaming:
        pieces, error = adapter.stream("hi there")
        assert error is None and "".join(pieces) == echo("hi there")
    else:
        assert adapter.ask("hi there") == echo("hi there")
    assert len(assisterr_emulator.chat_requests()) == 3  # two faults, then the answer


@pytest.mark.parametrize("status", [503, 429])
def test_retries_run_out_with_the_typed_error(
    kind: str, status: int, assisterr_emulator: EmulatorServer, adapters: Any,
    fast_backoff: Any,
) -> None:
    adapter = adapters(kind, max_retries=1)
    fast_backoff(adapter)
    assisterr_emulator.inject(status=status, retry_after="0", times=5)
    with pytest.raises(RateLimitError if status == 429 else ServerError) as caught:
        adapter.ask("hi")
    assert caught.value.status_code == status
    assert len(assisterr_emulator.chat_requests()) == 2


def test_max_retries_zero_makes_one_request(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind, max_retries=0)
    assisterr_emulator.inject(status=503, retry_after="0", times=3)
    with pytest.raises(ServerError):
        adapter.ask("hi")
    assert len(assisterr_emulator.chat_requests()) == 1
    pieces, error = adapter.stream("hi")
    assert pieces == [] and isinstance(error, ServerError)
    assert len(assisterr_emulator.chat_requests()) == 2


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make backoff without ``Retry-After`` quick on the clients an adapter (or a history)
    really uses; ChatAssisterr shares them between models, so the fixture restores them."""
    from assisterr_core.transport.retry import RetryPolicy

    def apply(*targets: Any) -> None:
        clients = [c for t in targets for c in (_clients_of(t) if isinstance(t, Adapter) else [t])]
        for client in clients:
            policy = RetryPolicy(max_retries=client.retry_policy.max_retries, initial_delay=0.01)
            monkeypatch.setattr(client, "retry_policy", policy)

    return apply


def _clients_of(adapter: Adapter) -> list[Any]:
    model = adapter.model
    if isinstance(model, ChatAssisterr):
        return [model._client, model._async_client]
    return [model.client, model.async_client]


# -- permanent faults ---------------------------------------------------------------------

PERMANENT = [
    (400, json.dumps({"detail": "query is too long for this SLM"}), "application/json",
     BadRequestError, "query is too long for this SLM"),
    (401, json.dumps({"error": "bad key"}), "application/json", AuthenticationError, "bad key"),
    (403, json.dumps({"message": "not your SLM"}), "application/json", AuthenticationError,
     "not your SLM"),
    (404, json.dumps({"detail": "SLM 'x' not found"}), "application/json", NotFoundError,
     "SLM 'x' not found"),
    (422, json.dumps({"detail": [{"loc": ["body", "query"], "msg": "Field required"}]}),
     "application/json", BadRequestError, "Field required"),
    (500, HTML_500, "text/html", ServerError, "Internal Server Error The upstream model crashed."),
    (500, '{"detail": "trunc', "application/json", ServerError, '{"detail": "trunc'),
]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error_type", "excerpt"),
    PERMANENT, ids=[f"{p[0]}-{p[2].split('/')[1]}" for p in PERMANENT],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["call", "stream"])
def test_permanent_fault_is_one_request_and_a_typed_error(
    kind: str, status: int, body: str, content_type: str, error_type: type[APIStatusError],
    excerpt: str, streaming: bool, assisterr_emulator: EmulatorServer, adapters: Any,
) -> None:
    adapter = adapters(kind)
    assisterr_emulator.inject(status=status, body=body, content_type=content_type, times=5)
    if streaming:
        pieces, error = adapter.stream("hi")
        assert pieces == []
    else:
        with pytest.raises(AssisterrError) as caught:
            adapter.ask("hi")
        error = caught.value
    assert type(error) is error_type, repr(error)  # not wrapped by the framework
    assert isinstance(error, APIStatusError) and error.status_code == status
    assert excerpt in error.detail and excerpt in str(error)
    assert "<" not in str(error)  # HTML pages are reduced to their text
    no_transport_leak(error)
    assert len(assisterr_emulator.chat_requests()) == 1


# -- timeouts, stalls, cut streams, truncated bodies --------------------------------------


def test_read_timeout_is_typed_and_prompt(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind, timeout=0.5)
    assisterr_emulator.inject(delay=5, times=5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        adapter.ask("hi")
    assert time.monotonic() - started < 4
    assert isinstance(caught.value, TimeoutError)
    no_transport_leak(caught.value)
    assert len(assisterr_emulator.chat_requests()) == 1  # may have been answered: not resent


def test_headers_then_stall_through_a_stream(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind, timeout=0.5)
    assisterr_emulator.inject(stall=5, path_contains="/chat/stream")
    started = time.monotonic()
    pieces, error = adapter.stream("hi")
    assert time.monotonic() - started < 4
    assert pieces == [] and isinstance(error, APITimeoutError), repr(error)
    no_transport_leak(error)
    assert len(assisterr_emulator.chat_requests()) == 1


def test_stream_cut_midway_keeps_the_text_already_streamed(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind, timeout=5.0)
    assisterr_emulator.inject(drop_after_chunks=3, path_contains="/chat/stream")
    started = time.monotonic()
    pieces, error = adapter.stream("one two three four five")
    assert time.monotonic() - started < 5
    assert isinstance(error, StreamInterruptedError), repr(error)
    assert "".join(pieces) == "Hello from test-slm!"  # the three chunks sent before the cut
    no_transport_leak(error)
    assert len(assisterr_emulator.chat_requests()) == 1  # text was produced: never resent


def test_text_held_back_as_a_possible_stop_sequence_is_delivered_before_the_error(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    """The last text could begin a stop sequence, so it waits for the next delta; when
    the stream is cut instead, it arrived all the same: the consumer gets it, then the
    error."""
    adapter = adapters(kind, timeout=5.0)
    assisterr_emulator.inject(drop_after_chunks=3, path_contains="/chat/stream")
    pieces, error = adapter.stream("one two three four five", stop=" test-slm! I stop")
    assert isinstance(error, StreamInterruptedError), repr(error)
    assert "".join(pieces) == "Hello from test-slm!"  # " test-slm!" was held back


def test_stream_stalls_after_some_text(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    assisterr_emulator.config.chunk_delay = 3.0
    adapter = adapters(kind, timeout=0.5)
    started = time.monotonic()
    pieces, error = adapter.stream("hi")
    assert time.monotonic() - started < 4
    assert isinstance(error, APITimeoutError), repr(error)
    assert "".join(pieces) == "Hello"  # the first chunk goes at once, then the gap
    assert len(assisterr_emulator.chat_requests()) == 1


@pytest.mark.parametrize("streaming", [False, True], ids=["call", "stream"])
def test_truncated_json_body(
    kind: str, streaming: bool, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind)
    assisterr_emulator.inject(malformed=True, body='{"message": "Hello, wor', times=5)
    if streaming:
        _, error = adapter.stream("hi")
    else:
        with pytest.raises(AssisterrError) as caught:
            adapter.ask("hi")
        error = caught.value
    assert isinstance(error, MalformedResponseError), repr(error)
    no_transport_leak(error)
    assert len(assisterr_emulator.chat_requests()) == 1


def test_chat_body_cut_off(kind: str, assisterr_emulator: EmulatorServer, adapters: Any) -> None:
    adapter = adapters(kind)
    assisterr_emulator.inject(drop_after_chunks=0, path_contains="/chat/", times=5)
    with pytest.raises(APIConnectionError) as caught:
        adapter.ask("hi")
    no_transport_leak(caught.value)
    assert len(assisterr_emulator.chat_requests()) == 1


def test_connection_refused(
    kind: str, assisterr_emulator: EmulatorServer, adapters: Any, fast_backoff: Any
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nobody listens there
    adapter = adapters(kind, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    fast_backoff(adapter)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        adapter.ask("hi")
    assert caught.value.request_sent is False
    no_transport_leak(caught.value)
    pieces, error = adapter.stream("hi")
    assert pieces == [] and isinstance(error, APIConnectionError)
    assert time.monotonic() - started < 10


# -- no duplicate turns -------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["call", "stream"])
def test_session_reply_that_times_out_is_not_resent(
    kind: str, streaming: bool, assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    adapter = adapters(kind, timeout=0.5)
    sid = _new_session(assisterr_emulator)
    if streaming:
        assisterr_emulator.inject(stall=3, path_contains="/chat/stream")
    else:
        assisterr_emulator.inject(delay=3, path_contains="/chat/")
    with pytest.raises(APITimeoutError):
        if streaming:
            _, error = adapter.stream("remember me", session_id=sid)
            raise error or AssertionError("the stream did not fail")
        adapter.chat("remember me", session_id=sid)
    assert assisterr_emulator.history(sid) == [
        ("user", "remember me"), ("assistant", echo("remember me"))
    ]  # recorded once, never resent
    assert len(assisterr_emulator.chat_requests()) == 1
    assert adapter.chat("and now?", session_id=sid) == echo("and now?")
    assert [role for role, _ in assisterr_emulator.history(sid)] == ["user", "assistant"] * 2


def _new_session(server: EmulatorServer) -> str:
    from assisterr_core import AssisterrClient

    with AssisterrClient(api_key=server.api_key, base_url=server.base_url) as client:
        sid = client.create_session(HANDLE)
    server.state.requests.clear()
    return sid


# -- leaks --------------------------------------------------------------------------------


def test_no_fd_or_thread_leak_after_adapter_faults(
    assisterr_emulator: EmulatorServer, adapters: Any
) -> None:
    made = [adapters(kind, timeout=0.3, max_retries=0) for kind in KINDS]

    def round_of_faults() -> None:
        for adapter in made:
            faults: list[dict[str, Any]] = [
                {"status": 500}, {"drop_after_chunks": 1}, {"stall": 2}, {"malformed": True}
            ]
            for fault in faults:
                assisterr_emulator.inject(**fault)
                _, error = adapter.stream("x")
                assert isinstance(error, AssisterrError), (adapter.kind, fault, error)
            assisterr_emulator.inject(delay=2)
            with pytest.raises(APITimeoutError):
                adapter.ask("x")
            assert adapter.ask("fine") == echo("fine")

    round_of_faults()  # warm up: imports, pools, the server's connections
    time.sleep(0.3)
    fds, threads = open_fds(), threading.active_count()
    round_of_faults()
    time.sleep(0.3)
    assert open_fds() <= fds
    assert threading.active_count() <= threads


# -- the LangChain history ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_history_reads_retry_transient_faults_and_stalls(
    kind: str, assisterr_emulator: EmulatorServer, fast_backoff: Any
) -> None:
    from langchain_assisterr import AssisterrChatMessageHistory

    history = AssisterrChatMessageHistory(
        HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url,
        timeout=0.5,
    )
    fast_backoff(history._client, history._async_client)
    assisterr_emulator.state.requests.clear()
    assisterr_emulator.inject(status=503, retry_after="0", path_contains="/history")
    assisterr_emulator.inject(stall=3, path_contains="/history")  # a GET may be resent

    import asyncio

    read = history.messages if kind == "sync" else asyncio.run(history.aget_messages())
    assert read == []
    assert [r.path.endswith("/history/") for r in assisterr_emulator.requests] == [True] * 3


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_history_permanent_faults_are_typed(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    import asyncio

    from langchain_assisterr import AssisterrChatMessageHistory

    history = AssisterrChatMessageHistory(
        HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )
    assisterr_emulator.state.requests.clear()
    assisterr_emulator.inject(status=500, body=HTML_500, content_type="text/html")
    with pytest.raises(ServerError) as caught:
        if kind == "sync":
            history.messages  # noqa: B018
        else:
            asyncio.run(history.aget_messages())
    assert "The upstream model crashed." in str(caught.value)
    no_transport_leak(caught.value)
    assert len(assisterr_emulator.requests) == 1
    history.clear()
    with pytest.raises(NotFoundError):
        history.messages  # noqa: B018
