"""Where ``Assisterr`` connects: the clients it is given (sync and async paths alike), the
transport options it is given, and what closing it releases (its async connections too)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import aiohttp
import pytest
from llama_index.core.base.llms.types import ChatMessage

from assisterr_core import AssisterrClient, AsyncAssisterrClient
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from .conftest import HANDLE


@pytest.fixture
def elsewhere() -> Iterator[EmulatorServer]:
    """A second local server, where the given clients point."""
    with EmulatorServer() as server:
        yield server


def open_sessions() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects()
               if isinstance(obj, aiohttp.ClientSession) and not obj.closed)


def test_the_llm_calls_through_the_clients_it_is_given(
    assisterr_emulator: EmulatorServer, elsewhere: EmulatorServer
) -> None:
    options = {"base_url": elsewhere.base_url, "api_key": elsewhere.api_key}
    llm = Assisterr(model=HANDLE, base_url=assisterr_emulator.base_url,
                    api_key=assisterr_emulator.api_key, client=AssisterrClient(**options),
                    async_client=AsyncAssisterrClient(**options))

    async def async_calls() -> None:
        await llm.acomplete("async")
        await llm.achat([ChatMessage(content="async chat")])

    llm.complete("sync")
    list(llm.stream_chat([ChatMessage(content="sync stream")]))
    asyncio.run(async_calls())
    assert [r.query for r in elsewhere.chat_requests()] == [
        "sync", "sync stream", "async", "async chat"]
    assert assisterr_emulator.requests == []


def test_close_releases_the_async_connections_too(assisterr_emulator: EmulatorServer) -> None:
    llm = Assisterr(model=HANDLE, base_url=assisterr_emulator.base_url,
                    api_key=assisterr_emulator.api_key, timeout=(1, 32))  # settings of its own
    before = open_sessions()
    loop = asyncio.new_event_loop()  # left open and idle, as LlamaIndex's asyncio_run leaves it
    try:
        loop.run_until_complete(llm.acomplete("hi"))
        assert open_sessions() == before + 1
        llm.close()
        assert open_sessions() == before
    finally:
        loop.close()


def test_transport_options_reach_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with EmulatorServer(api_key=None) as proxy:
        llm = Assisterr(model=HANDLE, api_key="k", base_url="http://assisterr.localhost:9",
                        proxy=proxy.base_url, max_connections=7, max_retries=0)
        assert llm.complete("via the proxy").text.endswith("via the proxy")
        assert asyncio.run(llm.acomplete("async too")).text.endswith("async too")
        assert llm.client.settings.max_connections == 7
        assert proxy.base_url not in llm.to_json() + repr(llm)
        llm.close()
