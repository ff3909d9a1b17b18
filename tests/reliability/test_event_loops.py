"""Event loops come and go; a client must not keep them, nor their sessions, alive.

Thousands of ``asyncio.run(client.chat(...))``: every closed loop can be collected and
the live loop sessions stay bounded, without an "Unclosed client session" warning. The
same for loops closed by hand, and for the clients ``ChatAssisterr`` shares: they live as
long as a model uses them, and their sessions close when they are collected.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
import weakref
from collections.abc import Iterator

import aiohttp
import pytest

from assisterr_core import AsyncAssisterrClient
from assisterr_emulator import EmulatorServer
from langchain_assisterr import AssisterrChatMessageHistory, ChatAssisterr

from ._adapters import HANDLE, chat_model, echo

LOOPS = 2000


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[list[warnings.WarningMessage]]:
    """Fail if anything warns or logs a warning (unclosed sessions warn when collected)."""
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def open_sessions() -> int:
    gc.collect()
    return sum(
        1 for obj in gc.get_objects() if isinstance(obj, aiohttp.ClientSession) and not obj.closed
    )


def test_closed_loops_are_collected(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    client = AsyncAssisterrClient(api_key=assisterr_emulator.api_key,
                                  base_url=assisterr_emulator.base_url)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def ask(index: int) -> str:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return (await client.chat(HANDLE, f"loop {index}")).text

    for index in range(LOOPS):
        assert asyncio.run(ask(index)) == echo(f"loop {index}")
    gc.collect()
    assert sum(ref() is not None for ref in loops) <= 1
    assert open_sessions() == 0


def test_loops_closed_by_hand_do_not_accumulate(assisterr_emulator: EmulatorServer) -> None:
    """Closed without ``shutdown_asyncgens()``: the client cannot close their sessions, but
    drops them when it next opens one, so the loops do not live on."""
    client = AsyncAssisterrClient(api_key=assisterr_emulator.api_key,
                                  base_url=assisterr_emulator.base_url)
    loops = []
    with warnings.catch_warnings():
        # Their sockets are released when collected, with a ResourceWarning: the price of
        # closing a loop by hand (the module documents it).
        warnings.simplefilter("ignore", ResourceWarning)
        for index in range(200):
            loop = asyncio.new_event_loop()
            loops.append(weakref.ref(loop))
            assert loop.run_until_complete(client.chat(HANDLE, f"{index}")).text == echo(f"{index}")
            loop.close()
        del loop
        asyncio.run(client.chat(HANDLE, "on a loop that shuts down well"))  # drops the last
        gc.collect()
    assert sum(ref() is not None for ref in loops) == 0


def test_shared_clients_live_as_long_as_a_model_uses_them(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage]
) -> None:
    settings = {"model": HANDLE, "api_key": assisterr_emulator.api_key,
                "base_url": assisterr_emulator.base_url}
    model, twin = chat_model(**settings), chat_model(**settings)

    async def use(*models: ChatAssisterr) -> None:
        for each in models:
            await each.ainvoke("hi")

    asyncio.run(use(model, twin))
    assert model._client is twin._client and model._async_client is twin._async_client
    sync_ref, async_ref = weakref.ref(model._client), weakref.ref(model._async_client)
    del model
    gc.collect()
    assert sync_ref() is not None and async_ref() is not None  # the twin still uses them
    del twin
    gc.collect()
    assert sync_ref() is None and async_ref() is None


def test_a_collected_model_closes_its_sessions(
    assisterr_emulator: EmulatorServer, quiet: list[warnings.WarningMessage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> int:
        for index in range(20):  # one model per tenant key, then dropped
            model = chat_model(model=HANDLE, api_key=f"tenant-{index}",
                               base_url=assisterr_emulator.base_url)
            await model.ainvoke("hi")
            del model
            gc.collect()
            await asyncio.sleep(0)
        await asyncio.sleep(0.1)  # the sessions' closing tasks run
        return open_sessions()

    monkeypatch.setattr(assisterr_emulator.config, "api_key", None)  # any key is accepted
    assert asyncio.run(main()) == 0


def test_a_history_keeps_its_async_client(assisterr_emulator: EmulatorServer) -> None:
    """A history with a client of its own gets one async twin for as long as it lives."""
    history = AssisterrChatMessageHistory(
        HANDLE, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
    )
    given = AssisterrChatMessageHistory(HANDLE, history.session_id, client=history._client)
    assert given._async_client is given._async_client
    assert history._async_client is given._async_client
