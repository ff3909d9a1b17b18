"""One client-lifetime policy for everything built on the core: clients made on first use,
shared per settings, closed when their last user lets go, never when the caller gave them."""

from __future__ import annotations

import asyncio
import copy
import gc
import pickle

import aiohttp
import pytest

from assisterr_core import AssisterrClient, AsyncAssisterrClient, ClientSettings
from assisterr_core.transport import SharedClients
from assisterr_emulator import EmulatorServer

HANDLE = "test-slm"


@pytest.fixture
def settings(assisterr_emulator: EmulatorServer) -> ClientSettings:
    return ClientSettings.resolve(api_key=assisterr_emulator.api_key,
                                  base_url=assisterr_emulator.base_url)


def open_sessions() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects()
               if isinstance(obj, aiohttp.ClientSession) and not obj.closed)


def test_holders_of_equal_settings_share_clients_built_on_first_use(
    settings: ClientSettings,
) -> None:
    first, second = SharedClients(settings), SharedClients(settings)
    assert first._sync is None and first._async is None  # nothing built yet
    assert first.client is second.client
    assert first.async_client is second.async_client
    other = SharedClients(ClientSettings.resolve(api_key="another-key",
                                                 base_url=settings.base_url))
    assert other.client is not first.client


def test_given_clients_are_used_as_they_are_and_never_closed(settings: ClientSettings) -> None:
    with AssisterrClient(settings=settings) as client:
        given = AsyncAssisterrClient(settings=settings)
        holder = SharedClients.connect(client=client, async_client=given)
        assert holder.client is client and holder.async_client is given
        holder.close()
        assert client.chat(HANDLE, "still mine").text.endswith("still mine")
    only_async = SharedClients.connect(async_client=given, api_key="ignored")
    assert only_async.settings == settings  # the given client's settings, for the other kind


def test_close_gives_back_and_closes_only_what_nobody_else_uses(
    settings: ClientSettings, assisterr_emulator: EmulatorServer
) -> None:
    first, second = SharedClients(settings), SharedClients(settings)
    client = first.client
    assert second.client is client
    client.chat(HANDLE, "opens the pool")
    first.close()
    assert client._http is not None and client._http.adapters["http://"].poolmanager.pools
    assert second.client.chat(HANDLE, "still shared").text.endswith("still shared")
    second.close()  # the last user: the pool goes
    assert not client._http.adapters["http://"].poolmanager.pools
    assert first.client.chat(HANDLE, "again").text.endswith("again")  # reopened on use


def test_close_from_sync_code_closes_the_async_sessions_of_every_loop(
    settings: ClientSettings,
) -> None:
    holder = SharedClients(settings)
    loops = [asyncio.new_event_loop() for _ in range(2)]
    try:
        for loop in loops:  # left open and idle, as a notebook or LlamaIndex leaves its loop
            loop.run_until_complete(holder.async_client.chat(HANDLE, "hi"))
        assert open_sessions() == 2
        holder.close()
        assert open_sessions() == 0
    finally:
        for loop in loops:
            loop.close()


def test_aclose_closes_the_running_loops_session_before_it_returns(
    settings: ClientSettings,
) -> None:
    async def use_then_close() -> int:
        holder = SharedClients(settings)
        await holder.async_client.chat(HANDLE, "hi")
        await holder.aclose()
        return open_sessions()

    assert asyncio.run(use_then_close()) == 0


def test_a_holder_travels_as_its_settings_and_given_clients(settings: ClientSettings) -> None:
    holder = SharedClients.connect(settings=settings)
    holder.client.chat(HANDLE, "builds the pool")
    pickled = pickle.dumps(holder)
    for clone in (pickle.loads(pickled), copy.deepcopy(holder)):
        assert clone == holder and clone._sync is None  # its clients are built on use
        assert clone.client.chat(HANDLE, "a copy").text.endswith("a copy")
    assert b"requests" not in pickled and b"aiohttp" not in pickled
