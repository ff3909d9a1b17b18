"""Timeouts wherever one is taken: refused when unusable, and a total that bounds a call.

``timeout`` takes seconds, ``(connect, read)``, ``(connect, read, total)`` or a
``Timeout``, in the core and in both adapters. A non-finite, zero or negative value is
refused at construction, naming the field. A total ends any call, through either adapter,
sync or async, in ``APITimeoutError``, a stream's text up to then delivered first. Time
bounds are generous upper limits, never speed targets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from assisterr_core import (
    APITimeoutError,
    AssisterrClient,
    AsyncAssisterrClient,
    ClientSettings,
    Timeout,
)
from assisterr_emulator import EmulatorServer
from langchain_assisterr import (
    AssisterrChatMessageHistory,
    ChatAssisterr,
    alist_sessions,
    list_sessions,
)
from llama_index_assisterr import Assisterr

from ._adapters import HANDLE, KINDS, build, echo

URL = "http://127.0.0.1:9"
BUILDERS: dict[str, Callable[[Any], object]] = {
    "ClientSettings": lambda value: ClientSettings.resolve(api_key="k", timeout=value),
    "AssisterrClient": lambda value: AssisterrClient(api_key="k", base_url=URL, timeout=value),
    "AsyncAssisterrClient": lambda value: AsyncAssisterrClient(
        api_key="k", base_url=URL, timeout=value),
    "ChatAssisterr": lambda value: ChatAssisterr(
        model=HANDLE, api_key="k", base_url=URL, timeout=value),  # type: ignore[call-arg]
    "AssisterrChatMessageHistory": lambda value: AssisterrChatMessageHistory(
        HANDLE, "s1", api_key="k", base_url=URL, timeout=value),
    "Assisterr": lambda value: Assisterr(HANDLE, api_key="k", base_url=URL, timeout=value),
}
INF, NAN = float("inf"), float("nan")
UNUSABLE = [(INF, "timeout"), (NAN, "timeout"), (0, "timeout"), (-1, "timeout"),
            ((INF, 5), "timeout.connect"), ((1, 0), "timeout.read"),
            ((1, 5, -2), "timeout.total"), ((1, 5, INF), "timeout.total")]


def test_unusable_timeouts_are_refused_naming_the_field() -> None:
    for value, field in UNUSABLE:
        with pytest.raises(ValueError, match=field.replace(".", r"\.")):
            Timeout.coerce(value)


@pytest.mark.parametrize("entry", list(BUILDERS))
def test_every_entry_point_checks_its_timeout_and_takes_a_total(entry: str) -> None:
    with pytest.raises(ValueError, match=r"timeout\.total"):
        BUILDERS[entry]((1, 5, INF))
    BUILDERS[entry]((1, 5, 30))


def test_the_session_helpers_take_a_timeout(assisterr_emulator: EmulatorServer) -> None:
    connection = {"api_key": assisterr_emulator.api_key, "base_url": assisterr_emulator.base_url}
    with pytest.raises(ValueError, match=r"timeout\.connect"):
        list_sessions(HANDLE, timeout=(INF, 5), **connection)
    assert list_sessions(HANDLE, timeout=(1, 5, 30), **connection) == []
    assert asyncio.run(alist_sessions(HANDLE, timeout=(1, 5, 30), **connection)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_total_timeout_ends_a_call_through_each_adapter(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    adapter = build(kind, assisterr_emulator, timeout=(2.0, 5.0, 1.0), max_retries=0)
    assisterr_emulator.config.chunk_delay = 0.25  # each chunk within the read timeout
    query = " ".join(f"word{index}" for index in range(30))
    started = time.monotonic()
    pieces, error = adapter.stream(query)
    assert isinstance(error, APITimeoutError), error
    assert pieces and echo(query).startswith("".join(pieces))  # the text before it, kept
    assert time.monotonic() - started < 6
    assisterr_emulator.config.latency = 2.0  # an answer slower than the total
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        adapter.ask("hi")
    assert time.monotonic() - started < 6
    adapter.close()
