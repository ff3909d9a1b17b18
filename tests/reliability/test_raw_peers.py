"""Both clients against peers that misbehave at the byte level (see ``raw_peer``).

Cut responses, lost answers, bodies nobody reads, bytes dripped one by one, a pool with
one busy connection, redirects to nowhere. Every failure must be one of our typed errors,
every wait bounded, and the number of requests must follow the retry policy exactly.
Time bounds are generous upper limits (a hang would blow through them), never speed
targets.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from assisterr_core import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrClient,
    AssisterrError,
    AsyncAssisterrClient,
    NotFoundError,
    Timeout,
)

from ..assisterr_core.conftest import ClientDriver
from ._adapters import HANDLE, chat_model
from .mock_clock import MockClock
from .raw_peer import Conn, RawPeer, response_head

KEY = "raw-peer-key"
REPLY = json.dumps({"message": "fine"}).encode()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_on(kind: str) -> Iterator[Callable[..., ClientDriver]]:
    """Build a driver of the ``kind`` client on a peer, with other settings."""
    made: list[Any] = []

    def build(peer: RawPeer, **options: Any) -> ClientDriver:
        cls = AssisterrClient if kind == "sync" else AsyncAssisterrClient
        client = cls(api_key=KEY, base_url=peer.base_url, clock=MockClock(), **options)
        made.append(client)
        return ClientDriver(client)

    yield build
    for client in made:
        if isinstance(client, AssisterrClient):
            client.close()


def cut_inside_headers(conn: Conn) -> None:
    while conn.read_request() is not None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        return


def test_a_response_cut_inside_its_headers_is_a_connection_error(
    client_on: Callable[..., ClientDriver],
) -> None:
    with RawPeer(cut_inside_headers) as peer:
        api = client_on(peer, max_retries=0)
        deltas, error = api.stream(HANDLE, "hi")
        assert deltas == [] and isinstance(error, APIConnectionError), error
        with pytest.raises(APIConnectionError):
            api.call("delete_session", HANDLE, "s1")
        with pytest.raises(APIConnectionError):
            api.call("chat", HANDLE, "hi")
        assert len(peer.requests) == 3


def test_chat_model_stream_cut_inside_headers_raises() -> None:
    with RawPeer(cut_inside_headers) as peer:
        model = chat_model(model=HANDLE, api_key=KEY, base_url=peer.base_url, max_retries=0)
        with pytest.raises(APIConnectionError):
            "".join(str(chunk.content) for chunk in model.stream("hi"))


MALFORMED = {
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "bad-status": b"HTTP/1.1 2x0 Odd\r\nContent-Length: 0\r\n\r\n",
    "huge-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    "bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    "short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"message\": \"cu",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    "bad-gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n"
                b"not gzip!",
}


def test_malformed_http_is_always_one_of_our_errors(
    client_on: Callable[..., ClientDriver],
) -> None:
    """Whatever bytes come back, a call ends in our error tree, never another exception."""
    for name, answer in MALFORMED.items():

        def misbehaves(conn: Conn, answer: bytes = answer) -> None:
            if conn.read_request() is not None:
                conn.send(answer)

        with RawPeer(misbehaves) as peer:
            api = client_on(peer, max_retries=0)
            with pytest.raises(AssisterrError):
                api.call("chat", HANDLE, name)
            _, error = api.stream(HANDLE, name)
            assert isinstance(error, AssisterrError), (name, error)


# -- interim (1xx) responses ---------------------------------------------------------------


def interim_then_answer(conn: Conn) -> None:
    """Every request: a 102 and a 103 with headers, then the real answer to that request
    (a session that is not there is a 404; a stream and a chat echo the query)."""
    while (request := conn.read_request()) is not None:
        conn.send(b"HTTP/1.1 102 Processing\r\n\r\n"
                  b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        if request.method == "DELETE":
            conn.respond(404, b'{"detail": "Session not found"}')
        else:
            query = json.loads(request.body)["query"]
            conn.respond(200, json.dumps({"message": f"answer to {query}"}).encode())


def test_interim_responses_are_skipped_and_replies_never_cross(
    client_on: Callable[..., ClientDriver],
) -> None:
    """A 102 or 103 before the answer is not the answer: each call, on one kept-alive
    connection, gets the answer to its own request."""
    with RawPeer(interim_then_answer) as peer:
        api = client_on(peer, max_retries=0)
        first, deleted, second = in_one_loop(api, ("chat", (HANDLE, "question A")),
                                             ("delete_session", (HANDLE, "gone")),
                                             ("chat", (HANDLE, "question B")))
        assert getattr(first, "text", first) == "answer to question A"
        assert isinstance(deleted, NotFoundError), deleted
        assert getattr(second, "text", second) == "answer to question B"
        assert peer.connections == 1
        deltas, error = api.stream(HANDLE, "question D")
        assert error is None and "".join(deltas) == "answer to question D", (deltas, error)


def switches_protocols_then_answers(conn: Conn) -> None:
    """On the first connection, a 101 then bytes that answer nothing; later connections
    answer every request."""
    if conn.index == 0:
        if conn.read_request() is not None:
            conn.send(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\n\r\n")
            conn.respond(200, b'{"message": "after the switch"}')
            conn.hold(5)
        return
    while conn.read_request() is not None:
        conn.respond(200, b'{"message": "a real answer"}')


def test_a_switch_of_protocols_is_refused_and_its_connection_never_reused(
    client_on: Callable[..., ClientDriver],
) -> None:
    """The API never switches protocols: a 101 is an error status (a delete did not
    succeed), and what came after it on that connection is never read as an answer."""
    with RawPeer(switches_protocols_then_answers) as peer:
        api = client_on(peer, max_retries=0)
        switched, after = in_one_loop(api, ("delete_session", (HANDLE, "s1")),
                                      ("chat", (HANDLE, "hi")))
        assert isinstance(switched, APIStatusError) and switched.status_code == 101, switched
        assert getattr(after, "text", after) == "a real answer", after
        assert peer.connections == 2


# -- requests sent: exactly what the retry policy says ------------------------------------


def answers_first_request_per_connection(conn: Conn) -> None:
    """Answer the first request of a connection (kept alive), lose the answer to the next."""
    if conn.read_request() is None:
        return
    conn.respond(200, b"[]")
    conn.read_request()  # then close without answering


def in_one_loop(api: ClientDriver, *calls: tuple[str, tuple[Any, ...]]) -> list[Any]:
    """Make the calls one after the other (on one event loop, for the async client, so
    that they share its connections); each result, or the error it raised."""

    async def run_async() -> list[Any]:
        results: list[Any] = []
        for method, args in calls:
            try:
                results.append(await getattr(api.client, method)(*args))
            except AssisterrError as exc:
                results.append(exc)
        return results

    if api.is_async:
        return asyncio.run(run_async())
    results: list[Any] = []
    for method, args in calls:
        try:
            results.append(getattr(api.client, method)(*args))
        except AssisterrError as exc:
            results.append(exc)
    return results


@pytest.mark.parametrize("max_retries", [0, 2])
def test_requests_sent_follow_the_retry_policy_exactly(
    client_on: Callable[..., ClientDriver], max_retries: int
) -> None:
    with RawPeer(answers_first_request_per_connection) as peer:
        for method, args in (("list_sessions", (HANDLE,)), ("get_history", (HANDLE, "s1")),
                             ("delete_session", (HANDLE, "s1"))):
            api = client_on(peer, max_retries=max_retries)  # its own pool
            sent = len(peer.requests)
            # The first call opens a connection, kept alive; the answer to the second,
            # sent on it, is lost.
            first, second = in_one_loop(api, (method, args), (method, args))
            assert not isinstance(first, AssisterrError), first
            if max_retries == 0:
                assert isinstance(second, APIConnectionError) and second.request_sent, second
                assert len(peer.requests) == sent + 2, method  # never resent by a transport
            else:
                assert not isinstance(second, AssisterrError), second  # resent by the policy
                assert len(peer.requests) == sent + 3, method


def delete_answer_lost_then_gone(conn: Conn) -> None:
    """The first DELETE is done but its answer lost; after that, the session is gone."""
    while (request := conn.read_request()) is not None:
        if conn.index == 0:
            return
        conn.respond(404, json.dumps({"detail": f"Session {request.path} not found"}).encode())


def test_a_resent_delete_that_finds_the_session_gone_succeeded(
    client_on: Callable[..., ClientDriver],
) -> None:
    with RawPeer(delete_answer_lost_then_gone) as peer:
        api = client_on(peer, max_retries=1)
        assert api.call("delete_session", HANDLE, "s1") is True
        assert [r.method for r in peer.requests] == ["DELETE", "DELETE"]
        with pytest.raises(NotFoundError):  # a first answer of 404 is still "not found"
            api.call("delete_session", HANDLE, "s2")


# -- every wait bounded ---------------------------------------------------------------------


def never_reads(conn: Conn) -> None:
    conn.hold(30)


def test_a_body_the_peer_never_reads_times_out(
    client_on: Callable[..., ClientDriver],
) -> None:
    with RawPeer(never_reads, receive_buffer=4096) as peer:
        api = client_on(peer, timeout=(1.0, 2.0), max_retries=0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            api.call("chat", HANDLE, "é" * 2_000_000)  # 4 MB of UTF-8
        assert time.monotonic() - started < 10


def drips(conn: Conn) -> None:
    """Headers then body, one byte a second: no read ever waits longer than a second."""
    request = conn.read_request()
    if request is None:
        return
    if "/stream/" in request.path:
        first = json.dumps({"message": "Hello"}).encode()
        conn.send(response_head(200, content_type="text/event-stream") + first)
        conn.drip(json.dumps({"message": " world, slowly"}).encode(), 1.0)
    else:
        conn.drip(response_head(200, length=len(REPLY)) + REPLY, 1.0)


def test_a_total_timeout_bounds_a_dripping_peer(client_on: Callable[..., ClientDriver]) -> None:
    with RawPeer(drips) as peer:
        api = client_on(peer, timeout=(1.0, 5.0, 1.5), max_retries=0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="total timeout"):
            api.call("chat", HANDLE, "hi")  # dripped headers
        assert time.monotonic() - started < 8
        started = time.monotonic()
        deltas, error = api.stream(HANDLE, "hi")  # dripped body, after some text
        assert deltas == ["Hello"] and isinstance(error, APITimeoutError), (deltas, error)
        assert time.monotonic() - started < 8


def test_a_total_timeout_only_ever_cuts_its_own_call() -> None:
    """Threads share one sync client and its pool: calls past their deadline have their
    socket shut down, and that must never reach a connection another call now uses."""
    def answers_near_the_deadline(conn: Conn) -> None:
        while (request := conn.read_request()) is not None:
            if b"slow" in request.body:  # answered about when the deadline passes
                conn.hold(0.2 + 0.1 * random.random())
            conn.respond(200, REPLY)

    with RawPeer(answers_near_the_deadline) as peer:
        client = AssisterrClient(api_key=KEY, base_url=peer.base_url, max_retries=0,
                                 timeout=(1.0, 5.0, 0.25), max_connections=4)

        def calls(thread: int) -> list[str]:
            outcomes = []
            for index in range(15):
                slow = (thread + index) % 3 == 0
                try:
                    client.chat(HANDLE, "slow" if slow else "fast")
                    outcomes.append("ok")
                except APITimeoutError:
                    outcomes.append("ok" if slow else "fast cut")
                except AssisterrError as exc:
                    outcomes.append(f"{'slow' if slow else 'fast'} {exc}")
            return outcomes

        with ThreadPoolExecutor(8) as pool:
            outcomes = [o for batch in pool.map(calls, range(8)) for o in batch]
        client.close()
    assert [o for o in outcomes if o != "ok"] == []


def holds_slow_queries(conn: Conn) -> None:
    while (request := conn.read_request()) is not None:
        if b"slow" in request.body:
            conn.hold(6)
        conn.respond(200, REPLY)


def test_waiting_for_a_pooled_connection_is_bounded() -> None:
    """The async pool's only connection is busy: the next call gives up after the pool
    timeout (the request was not sent). The sync pool never waits: it opens another."""
    with RawPeer(holds_slow_queries) as peer:
        client = AsyncAssisterrClient(api_key=KEY, base_url=peer.base_url, max_connections=1,
                                      max_retries=0,
                                      timeout=Timeout(connect=1.0, read=10.0, pool=1.0))

        async def busy_then_call() -> tuple[BaseException | None, float]:
            busy = asyncio.create_task(client.chat(HANDLE, "slow"))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            try:
                await client.chat(HANDLE, "fast")
            except AssisterrError as exc:
                return exc, time.monotonic() - started
            finally:
                busy.cancel()
            return None, time.monotonic() - started

        error, waited = asyncio.run(busy_then_call())
        assert isinstance(error, APITimeoutError) and not error.request_sent, error
        assert waited < 4


def test_a_fan_out_wider_than_the_pool_queues_instead_of_failing() -> None:
    """With the default pool wait (the read timeout), calls beyond ``max_connections`` wait
    their turn, even past the connect timeout: a batch is not a connect failure."""
    with RawPeer(holds_slow_queries) as peer:
        client = AsyncAssisterrClient(api_key=KEY, base_url=peer.base_url, max_connections=1,
                                      max_retries=0, timeout=(1.0, 10.0))

        async def fan_out() -> list[object]:
            return list(await asyncio.gather(client.chat(HANDLE, "slow"),
                                             client.chat(HANDLE, "fast"),
                                             return_exceptions=True))

        results = asyncio.run(fan_out())
    assert all(not isinstance(result, BaseException) for result in results), results


# -- redirects to nowhere -------------------------------------------------------------------


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "http://[::1/x"])
def test_a_redirect_to_an_unusable_location_is_typed(
    client_on: Callable[..., ClientDriver], location: str
) -> None:
    def redirects(conn: Conn) -> None:
        while conn.read_request() is not None:
            conn.respond(307, headers=[("Location", location)])

    with RawPeer(redirects) as peer:
        api = client_on(peer, max_retries=0)
        with pytest.raises(APIStatusError, match="unusable location"):
            api.call("chat", HANDLE, "hi")
        _, error = api.stream(HANDLE, "hi")
        assert isinstance(error, APIStatusError)
