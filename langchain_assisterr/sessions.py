"""Housekeeping for Assisterr sessions: list a handle's sessions and delete old ones.

Each helper connects as ``AssisterrChatMessageHistory`` does: ``client`` / ``async_client``
(yours, never closed), else ``settings``, else the connection settings as keywords
(``api_key``, ``base_url``, ``timeout``, ...; the environment fills the rest). Clients it
had to open are given back when it returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from assisterr_core import SessionInfo
from assisterr_core.transport import ClientSettings, SharedClients

from .chat_message_histories import connected

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from assisterr_core import AssisterrClient, AsyncAssisterrClient
    from assisterr_core.transport import SettingsFields

__all__ = [
    "adelete_sessions_older_than",
    "alist_sessions",
    "delete_sessions_older_than",
    "list_sessions",
    "sessions_older_than",
]


def list_sessions(
    handle_name: str,
    *,
    client: AssisterrClient | None = None,
    async_client: AsyncAssisterrClient | None = None,
    settings: ClientSettings | None = None,
    **fields: Unpack[SettingsFields],
) -> list[SessionInfo]:
    """The sessions of ``handle_name`` that the API key can see."""
    with _connected(client, async_client, settings, fields) as clients:
        return clients.client.list_sessions(handle_name)


async def alist_sessions(
    handle_name: str,
    *,
    client: AssisterrClient | None = None,
    async_client: AsyncAssisterrClient | None = None,
    settings: ClientSettings | None = None,
    **fields: Unpack[SettingsFields],
) -> list[SessionInfo]:
    """Async :func:`list_sessions`."""
    async with _aconnected(client, async_client, settings, fields) as clients:
        return await clients.async_client.list_sessions(handle_name)


def sessions_older_than(
    sessions: Iterable[SessionInfo], age: timedelta | datetime, *, now: datetime | None = None
) -> list[SessionInfo]:
    """Sessions last updated (else created) before the cutoff; undated ones are kept.

    ``age`` is a cutoff datetime (naive means UTC) or a timedelta counted back from ``now``.
    """
    now = now or datetime.now(timezone.utc)
    cutoff = now - age if isinstance(age, timedelta) else age
    if cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=timezone.utc)
    old = []
    for session in sessions:
        stamp = session.updated_at or session.created_at
        if stamp is not None and not session.is_deleted and stamp < cutoff:
            old.append(session)
    return old


def delete_sessions_older_than(
    handle_name: str,
    age: timedelta | datetime,
    *,
    client: AssisterrClient | None = None,
    async_client: AsyncAssisterrClient | None = None,
    settings: ClientSettings | None = None,
    **fields: Unpack[SettingsFields],
) -> list[str]:
    """Delete the sessions of ``handle_name`` idle since before ``age``; return their ids."""
    with _connected(client, async_client, settings, fields) as clients:
        old = sessions_older_than(clients.client.list_sessions(handle_name), age)
        for session in old:
            clients.client.delete_session(handle_name, session.id)
    return [session.id for session in old]


async def adelete_sessions_older_than(
    handle_name: str,
    age: timedelta | datetime,
    *,
    client: AssisterrClient | None = None,
    async_client: AsyncAssisterrClient | None = None,
    settings: ClientSettings | None = None,
    **fields: Unpack[SettingsFields],
) -> list[str]:
    """Async :func:`delete_sessions_older_than` (one deletion after another)."""
    async with _aconnected(client, async_client, settings, fields) as clients:
        old = sessions_older_than(await clients.async_client.list_sessions(handle_name), age)
        for session in old:
            await clients.async_client.delete_session(handle_name, session.id)
    return [session.id for session in old]


@contextmanager
def _connected(
    client: AssisterrClient | None, async_client: AsyncAssisterrClient | None,
    settings: ClientSettings | None, fields: SettingsFields,
) -> Iterator[SharedClients]:
    clients = connected(client, async_client, settings, fields)
    try:
        yield clients
    finally:
        clients.close()  # gives back what this call opened, if nothing else uses it


@asynccontextmanager
async def _aconnected(
    client: AssisterrClient | None, async_client: AsyncAssisterrClient | None,
    settings: ClientSettings | None, fields: SettingsFields,
) -> AsyncIterator[SharedClients]:
    clients = connected(client, async_client, settings, fields)
    try:
        yield clients
    finally:
        await clients.aclose()
