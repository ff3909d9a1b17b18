"""Where each LangChain entry point connects: the clients it is given (on the sync and the async
path alike), the transport options it is given, and what closing it releases.

Given clients point at a second local server, the entry point's own settings at the first:
every request must land on the second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from assisterr_core import AssisterrClient, AsyncAssisterrClient
from assisterr_emulator import EmulatorServer
from langchain_assisterr import (
    AssisterrChatMessageHistory,
    ChatAssisterr,
    adelete_sessions_older_than,
    alist_sessions,
    delete_sessions_older_than,
    list_sessions,
)

from ..conftest import HANDLE


@pytest.fixture
def elsewhere() -> Iterator[EmulatorServer]:
    """A second local server, where the given clients point."""
    with EmulatorServer() as server:
        yield server


def clients_for(server: EmulatorServer) -> dict[str, Any]:
    options = {"base_url": server.base_url, "api_key": server.api_key}
    return {"client": AssisterrClient(**options), "async_client": AsyncAssisterrClient(**options)}


def test_the_chat_model_calls_through_the_clients_it_is_given(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, elsewhere: EmulatorServer
) -> None:
    model = ChatAssisterr(model=HANDLE, **conn, **clients_for(elsewhere))

    async def async_calls() -> None:
        await model.ainvoke("async")
        async for _ in model.astream("async stream"):
            pass

    model.invoke("sync")
    list(model.stream("sync stream"))
    asyncio.run(async_calls())
    assert [r.query for r in elsewhere.chat_requests()] == [
        "sync", "sync stream", "async", "async stream"]
    assert assisterr_emulator.requests == []


def test_the_history_reads_through_the_clients_it_is_given(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, elsewhere: EmulatorServer
) -> None:
    given = clients_for(elsewhere)
    created = asyncio.run(AssisterrChatMessageHistory.acreate(HANDLE, **conn, **given))
    given["client"].chat(HANDLE, "remember me", session_id=created.session_id)
    history = AssisterrChatMessageHistory(HANDLE, created.session_id, **conn, **given)
    assert [m.text for m in history.messages] == [
        "remember me", "Hello from test-slm! You said: remember me"]
    assert len(asyncio.run(history.aget_messages())) == 2
    asyncio.run(history.aclear())
    assert assisterr_emulator.requests == []
    assert [r.method for r in elsewhere.requests] == ["POST", "POST", "GET", "GET", "DELETE"]


def test_the_session_helpers_use_the_clients_they_are_given(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, elsewhere: EmulatorServer
) -> None:
    given = clients_for(elsewhere)
    sid = given["client"].create_session(HANDLE)
    assert [s.id for s in list_sessions(HANDLE, **conn, **given)] == [sid]
    assert [s.id for s in asyncio.run(alist_sessions(HANDLE, **conn, **given))] == [sid]
    assert delete_sessions_older_than(HANDLE, timedelta(days=1), **conn, **given) == []
    assert asyncio.run(adelete_sessions_older_than(HANDLE, timedelta(0), **conn, **given)) \
        == [sid]
    assert assisterr_emulator.requests == []
    given["client"].chat(HANDLE, "the helpers left my client open")


def test_transport_options_reach_the_clients(proxy: EmulatorServer) -> None:
    model = ChatAssisterr(model=HANDLE, api_key="k", base_url="http://assisterr.localhost:9",
                          proxy=proxy.base_url, max_connections=7, max_retries=0)
    assert model.invoke("via the proxy").content.endswith("via the proxy")
    assert asyncio.run(model.ainvoke("async too")).content.endswith("async too")
    assert model._connection().settings.max_connections == 7
    assert "proxy" not in model.model_dump() and proxy.base_url not in repr(model)


def test_close_and_aclose_release_what_the_model_opened(conn: dict[str, Any]) -> None:
    model = ChatAssisterr(model=HANDLE, **conn, timeout=(1, 31))  # settings of its own
    model.invoke("hi")
    pools = model._client._http.adapters["http://"].poolmanager.pools
    assert len(pools) == 1
    model.close()
    assert len(pools) == 0

    async def use_then_close() -> tuple[bool, bool]:
        await model.ainvoke("hi")
        session = await model._async_client._sessions.current()
        await model.aclose()
        return session.closed, model.invoke("reopens").content.endswith("reopens")

    assert asyncio.run(use_then_close()) == (True, True)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A second local server used as an HTTP proxy (no proxy variables around)."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with EmulatorServer(api_key=None) as server:
        yield server
