"""One instance across event loops, concurrency, clients built once, and import cost."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import warnings

import pytest
from llama_index.core.base.llms.types import ChatMessage

from assisterr_core import AssisterrClient, AsyncAssisterrClient
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from .conftest import HANDLE, make_llm


async def use_every_async_method(llm: Assisterr, round_: int) -> list[str]:
    messages = [ChatMessage(content=f"round {round_}")]
    texts = [
        (await llm.achat(messages)).message.content or "",
        (await llm.acomplete(f"round {round_}")).text,
    ]
    chat_stream = await llm.astream_chat(messages)
    texts.append("".join([chunk.delta or "" async for chunk in chat_stream]))
    completion_stream = await llm.astream_complete(f"round {round_}")
    texts.append("".join([chunk.delta or "" async for chunk in completion_stream]))
    return texts


def test_same_instance_in_three_asyncio_runs(
    llm: Assisterr, assisterr_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for round_ in range(3):
            texts = asyncio.run(use_every_async_method(llm, round_))
            assert texts == [f"Hello from {HANDLE}! You said: round {round_}"] * 4
        client = llm.async_client
        del texts
        gc.collect()

    assert llm.async_client is client  # built once, reused by every loop
    assert len(assisterr_emulator.chat_requests()) == 12
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [w for w in caught if "nclosed" in str(w.message)]
    assert not [r for r in caplog.records if "nclosed" in r.getMessage()]


def test_stream_abandoned_halfway_leaves_nothing_open(
    llm: Assisterr, caplog: pytest.LogCaptureFixture
) -> None:
    async def read_one_chunk() -> str | None:
        stream = await llm.astream_chat([ChatMessage(content="a long question")])
        async for chunk in stream:
            return chunk.delta
        return None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = [asyncio.run(read_one_chunk()) for _ in range(2)]
        gc.collect()

    assert first == ["Hello", "Hello"]
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [r for r in caplog.records if "nclosed" in r.getMessage()]


async def test_concurrent_calls_share_one_instance(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    replies = await asyncio.gather(*(llm.acomplete(f"question {i}") for i in range(10)))

    assert [r.text for r in replies] == [
        f"Hello from {HANDLE}! You said: question {i}" for i in range(10)
    ]
    assert len(assisterr_emulator.chat_requests()) == 10


def test_clients_are_built_once_and_injectable(assisterr_emulator: EmulatorServer) -> None:
    options = {"base_url": assisterr_emulator.base_url, "api_key": assisterr_emulator.api_key}
    with AssisterrClient(**options) as client:
        async_client = AsyncAssisterrClient(**options)
        llm = Assisterr(model=HANDLE, client=client, async_client=async_client)

        assert llm.complete("hi").text == f"Hello from {HANDLE}! You said: hi"
        assert asyncio.run(llm.acomplete("hi")).text == f"Hello from {HANDLE}! You said: hi"
        assert llm.client is client and llm.async_client is async_client
        llm.close()  # an injected client belongs to the caller: still usable
        assert client.chat(HANDLE, "still open").text.endswith("still open")

    own = make_llm(assisterr_emulator)
    assert own.client is own.client
    own.close()


def test_import_does_not_load_aiohttp() -> None:
    code = (
        "import sys, llama_index_assisterr; "
        "print('aiohttp' in sys.modules, hasattr(llama_index_assisterr, 'Assisterr'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "True"]
