"""Housekeeping for Assisterr sessions: list a handle's sessions and delete old ones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import SecretStr

from assisterr_core import SessionInfo, TimeoutLike

from . import _clients

if TYPE_CHECKING:
    from assisterr_core import AssisterrClient

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
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: TimeoutLike | None = None,
) -> list[SessionInfo]:
    """The sessions of ``handle_name`` that the API key can see."""
    sync = _clients.connect(client=client, api_key=api_key, base_url=base_url, timeout=timeout)
    return sync.list_sessions(handle_name)


async def alist_sessions(
    handle_name: str,
    *,
    client: AssisterrClient | None = None,
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: TimeoutLike | None = None,
) -> list[SessionInfo]:
    """Async :func:`list_sessions`."""
    sync = _clients.connect(client=client, api_key=api_key, base_url=base_url, timeout=timeout)
    return await _clients.async_client(sync.settings).list_sessions(handle_name)


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
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: TimeoutLike | None = None,
) -> list[str]:
    """Delete the sessions of ``handle_name`` idle since before ``age``; return their ids."""
    sync = _clients.connect(client=client, api_key=api_key, base_url=base_url, timeout=timeout)
    old = sessions_older_than(sync.list_sessions(handle_name), age)
    for session in old:
        sync.delete_session(handle_name, session.id)
    return [session.id for session in old]


async def adelete_sessions_older_than(
    handle_name: str,
    age: timedelta | datetime,
    *,
    client: AssisterrClient | None = None,
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: TimeoutLike | None = None,
) -> list[str]:
    """Async :func:`delete_sessions_older_than` (one deletion after another)."""
    sync = _clients.connect(client=client, api_key=api_key, base_url=base_url, timeout=timeout)
    aclient = _clients.async_client(sync.settings)
    old = sessions_older_than(await aclient.list_sessions(handle_name), age)
    for session in old:
        await aclient.delete_session(handle_name, session.id)
    return [session.id for session in old]
