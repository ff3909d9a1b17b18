"""Many callers on one adapter instance: threads, a wide asyncio fan-out, several loops.

Every reply must belong to its own request (the default responder echoes the query), and
nothing may warn: no warning, no log record at WARNING or above.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

from ._adapters import HANDLE, chat_model, echo

THREADS = 16
CALLS_PER_THREAD = 25
FAN_OUT = 500


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[list[warnings.WarningMessage]]:
    """Record every warning and log record; fail the test if any shows up."""
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()  # unclosed sessions and sockets warn when collected
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_threads_share_one_chat_model(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    model = chat_model(
        model=HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )

    def worker(thread: int) -> list[tuple[str, str]]:
        pairs = []
        for call in range(CALLS_PER_THREAD):
            query = f"thread {thread} call {call}"
            if call % 5 == 4:
                reply = "".join(str(chunk.content) for chunk in model.stream(query))
            else:
                reply = str(model.invoke(query).content)
            pairs.append((query, reply))
        return pairs

    with ThreadPoolExecutor(THREADS) as pool:
        results = [pair for pairs in pool.map(worker, range(THREADS)) for pair in pairs]

    assert len(results) == THREADS * CALLS_PER_THREAD
    assert all(reply == echo(query) for query, reply in results)
    received = sorted(r.query or "" for r in assisterr_emulator.chat_requests())
    assert received == sorted(query for query, _ in results)  # each sent once


def test_threads_share_one_llamaindex_llm(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    llm = Assisterr(
        model=HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )

    def worker(thread: int) -> list[tuple[str, str]]:
        pairs = []
        for call in range(CALLS_PER_THREAD):
            query = f"thread {thread} call {call}"
            if call % 5 == 4:
                reply = "".join(r.delta or "" for r in llm.stream_complete(query))
            else:
                reply = llm.complete(query).text
            pairs.append((query, reply))
        return pairs

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = [pair for pairs in pool.map(worker, range(THREADS)) for pair in pairs]
    finally:
        llm.close()
    assert len(results) == THREADS * CALLS_PER_THREAD
    assert all(reply == echo(query) for query, reply in results)


async def _fan_out_chat(model: ChatAssisterr, round_: int) -> list[tuple[str, str]]:
    queries = [f"round {round_} call {n}" for n in range(FAN_OUT)]

    async def one(query: str, n: int) -> str:
        if n % 10 == 9:
            return "".join([str(chunk.content) async for chunk in model.astream(query)])
        return str((await model.ainvoke(query)).content)

    replies = await asyncio.gather(*(one(q, n) for n, q in enumerate(queries)))
    return list(zip(queries, replies, strict=True))


async def _fan_out_llm(llm: Assisterr, round_: int) -> list[tuple[str, str]]:
    queries = [f"round {round_} call {n}" for n in range(FAN_OUT)]

    async def one(query: str, n: int) -> str:
        if n % 10 == 9:
            stream = await llm.astream_complete(query)
            return "".join([r.delta or "" async for r in stream])
        return str((await llm.acomplete(query)).text)

    replies = await asyncio.gather(*(one(q, n) for n, q in enumerate(queries)))
    return list(zip(queries, replies, strict=True))


def test_fan_out_on_one_chat_model_across_three_loops(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    model = chat_model(
        model=HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )
    for round_ in range(3):
        pairs = asyncio.run(_fan_out_chat(model, round_))
        assert all(reply == echo(query) for query, reply in pairs)
    assert len(assisterr_emulator.chat_requests()) == 3 * FAN_OUT


def test_fan_out_on_one_llamaindex_llm_across_three_loops(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    llm = Assisterr(
        model=HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )
    for round_ in range(3):
        pairs = asyncio.run(_fan_out_llm(llm, round_))
        assert all(reply == echo(query) for query, reply in pairs)
    assert len(assisterr_emulator.chat_requests()) == 3 * FAN_OUT


def test_session_turns_from_many_tasks_are_each_recorded_once(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    from assisterr_core import AssisterrClient

    with AssisterrClient(
        api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    ) as client:
        sid = client.create_session(HANDLE)
    model = chat_model(
        model=HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url,
        session_id=sid,
    )

    async def many() -> list[str]:
        replies = await asyncio.gather(*(model.ainvoke(f"turn {n}") for n in range(50)))
        return [str(r.content) for r in replies]

    assert asyncio.run(many()) == [echo(f"turn {n}") for n in range(50)]
    history = assisterr_emulator.history(sid)
    assert sorted(text for role, text in history if role == "user") == sorted(
        f"turn {n}" for n in range(50)
    )
    assert len(history) == 100
