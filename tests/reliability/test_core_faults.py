"""Adversarial faults against both core clients: stalls, slow servers, huge bodies, leaks.

Time bounds here are generous upper limits (a hang would blow through them), never
speed targets.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from assisterr_core import (
    APIConnectionError,
    APITimeoutError,
    AssisterrClient,
    AssisterrError,
    AsyncAssisterrClient,
    MalformedResponseError,
)
from assisterr_core.transport.retry import RetryPolicy
from assisterr_emulator import AppThread, EmulatorServer

from ..assisterr_core.conftest import ClientDriver, make_client
from .mock_clock import MockClock

HANDLE = "test-slm"


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def driver(kind: str, server: EmulatorServer, **kwargs: Any) -> ClientDriver:
    return ClientDriver(make_client(kind, server, **kwargs))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_retry_after_http_date_is_honoured(kind: str, assisterr_emulator: EmulatorServer) -> None:
    clock = MockClock()
    when = datetime.fromtimestamp(clock.wall(), timezone.utc) + timedelta(seconds=30)
    assisterr_emulator.inject(status=503, retry_after=format_datetime(when, usegmt=True))
    api = driver(kind, assisterr_emulator, clock=clock)
    assert api.call("chat", HANDLE, "hi").text.endswith("hi")
    (waited,) = clock.sleeps
    assert 29 <= waited <= 30  # HTTP dates have 1 s resolution
    assert len(assisterr_emulator.requests) == 2


def test_retry_after_seconds_is_honoured(kind: str, assisterr_emulator: EmulatorServer) -> None:
    clock = MockClock()
    assisterr_emulator.inject(status=429, retry_after="7")
    api = driver(kind, assisterr_emulator, clock=clock)
    api.call("chat", HANDLE, "hi")
    assert clock.sleeps == [7.0]
    assert len(assisterr_emulator.requests) == 2


def test_retry_after_is_capped(kind: str, assisterr_emulator: EmulatorServer) -> None:
    clock = MockClock()
    assisterr_emulator.inject(status=503, retry_after="3600")
    api = driver(kind, assisterr_emulator, clock=clock)
    api.call("chat", HANDLE, "hi")
    assert clock.sleeps == [RetryPolicy().max_retry_after]
    assert len(assisterr_emulator.requests) == 2


def test_headers_then_stall_times_out(kind: str, assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.inject(stall=10, path_contains="/chat/stream")
    api = driver(kind, assisterr_emulator, timeout=(2.0, 0.5))
    started = time.monotonic()
    deltas, error = api.stream(HANDLE, "hi")
    assert deltas == [] and isinstance(error, APITimeoutError)
    assert time.monotonic() - started < 5
    assert len(assisterr_emulator.requests) == 1  # a stream that may have been recorded


def test_slow_answer_times_out(kind: str, assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.config.latency = 5
    api = driver(kind, assisterr_emulator, timeout=(2.0, 0.5))
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        api.call("chat", HANDLE, "hi")
    assert time.monotonic() - started < 4


def test_idempotent_reads_are_retried_after_a_timeout(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    with make_client("sync", assisterr_emulator) as setup:
        sid = setup.create_session(HANDLE)
    assisterr_emulator.inject(stall=3, path_contains="/history", times=1)
    api = driver(kind, assisterr_emulator, timeout=(2.0, 0.5))
    assert api.call("get_history", HANDLE, sid) == []
    assert [r.path.endswith("/history/") for r in assisterr_emulator.requests[1:]] == [True, True]


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen backlog is full: new connections hang in SYN, then time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def test_connect_timeout(kind: str, assisterr_emulator: EmulatorServer, full_backlog: int) -> None:
    api = driver(kind, assisterr_emulator, base_url=f"http://127.0.0.1:{full_backlog}",
                 timeout=(0.5, 5.0), max_retries=0)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        api.call("chat", HANDLE, "hi")
    assert caught.value.request_sent is False
    assert time.monotonic() - started < 4


def answering_always(body: bytes, hits: list[int]) -> AppThread:
    """A purpose-built loopback server that answers every request with one fixed body."""

    async def handler(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return AppThread(app)


def test_ten_megabyte_garbage_body(kind: str, assisterr_emulator: EmulatorServer) -> None:
    hits: list[int] = []
    with answering_always(b"<" + b"x" * (10 * 1024 * 1024), hits) as odd:
        api = driver(kind, assisterr_emulator, base_url=odd.base_url)
        with pytest.raises(MalformedResponseError):
            api.call("chat", HANDLE, "hi")
        assert len(hits) == 1


def test_ten_megabyte_reply_round_trips(kind: str, assisterr_emulator: EmulatorServer) -> None:
    text = "é" * (5 * 1024 * 1024)
    assisterr_emulator.set_responder(lambda request: text)
    api = driver(kind, assisterr_emulator)
    assert api.call("chat", HANDLE, "big").text == text
    deltas, error = api.stream(HANDLE, "big")
    assert error is None and "".join(deltas) == text


def test_no_socket_or_thread_leak_after_faults(assisterr_emulator: EmulatorServer) -> None:
    def round_of_faults() -> None:
        with AssisterrClient(base_url=assisterr_emulator.base_url,
                             api_key=assisterr_emulator.api_key, max_retries=0,
                             timeout=(1.0, 0.3)) as client:
            for fault in ({"status": 500}, {"drop_after_chunks": 1}, {"stall": 1},
                          {"malformed": True}):
                assisterr_emulator.inject(**fault)
                with pytest.raises(AssisterrError):
                    list(client.stream(HANDLE, "x"))
            client.chat(HANDLE, "fine")
        aclient = AsyncAssisterrClient(base_url=assisterr_emulator.base_url,
                                       api_key=assisterr_emulator.api_key, max_retries=0,
                                       timeout=(1.0, 0.3))

        async def faults() -> None:
            for fault in ({"status": 500}, {"drop_after_chunks": 1}, {"stall": 1}):
                assisterr_emulator.inject(**fault)
                with pytest.raises(AssisterrError):
                    [d async for d in aclient.stream(HANDLE, "x")]
            await aclient.chat(HANDLE, "fine")

        asyncio.run(faults())

    round_of_faults()  # warm up: imports, emulator connections
    time.sleep(0.5)
    fds, threads = open_fds(), threading.active_count()
    for _ in range(3):
        round_of_faults()
    time.sleep(0.5)
    assert open_fds() <= fds
    assert threading.active_count() <= threads
