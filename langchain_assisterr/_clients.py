"""Transport clients shared by every model and history with the same connection settings.

``configurable_fields``, ``with_config`` and friends build a new model per call; sharing the
clients keeps one connection pool per settings instead of one per call. The cache is weak:
models and histories hold their sync client, the async client of the same settings lives
as long as that sync client, and a client nobody uses any more is collected (closing its
connections). The async client is imported on first use, so the sync path never imports
``aiohttp``.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from pydantic import SecretStr

from assisterr_core import ClientSettings
from assisterr_core.transport import TimeoutLike

if TYPE_CHECKING:
    from assisterr_core import AssisterrClient, AsyncAssisterrClient

_lock = threading.Lock()
_sync_clients: weakref.WeakValueDictionary[ClientSettings, AssisterrClient] = (
    weakref.WeakValueDictionary()
)
# Clients given by the caller (a history's ``client=``), so that their async twin can live
# as long as they do.
_given_clients: weakref.WeakValueDictionary[ClientSettings, AssisterrClient] = (
    weakref.WeakValueDictionary()
)
# The async client of a sync client's settings, alive as long as that sync client.
_async_clients: weakref.WeakKeyDictionary[AssisterrClient, AsyncAssisterrClient] = (
    weakref.WeakKeyDictionary()
)


def resolve_settings(
    *,
    api_key: str | SecretStr | None,
    base_url: str | None,
    timeout: TimeoutLike | None,
    max_retries: int | None,
) -> ClientSettings:
    """Connection settings, with the environment and the core's defaults filling gaps."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    return ClientSettings.resolve(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


def sync_client(settings: ClientSettings) -> AssisterrClient:
    """The pooled sync client for ``settings`` (the caller must hold it to keep it)."""
    from assisterr_core.transport import AssisterrClient

    with _lock:
        client = _sync_clients.get(settings)
        if client is None:
            client = _sync_clients[settings] = AssisterrClient(settings=settings)
        return client


def async_client(settings: ClientSettings) -> AsyncAssisterrClient:
    """The async client for ``settings`` (one aiohttp session per event loop inside).

    It lives as long as the sync client of the same settings that a model or history
    holds; without one, the caller gets a client of its own.
    """
    from assisterr_core.transport import AsyncAssisterrClient

    with _lock:
        anchor = _sync_clients.get(settings) or _given_clients.get(settings)
        client = None if anchor is None else _async_clients.get(anchor)
        if client is None:
            client = AsyncAssisterrClient(settings=settings)
            if anchor is not None:
                _async_clients[anchor] = client
        return client


def connect(
    *,
    client: AssisterrClient | None = None,
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: TimeoutLike | None = None,
    max_retries: int | None = None,
) -> AssisterrClient:
    """The given client, or the shared one for these settings."""
    if client is not None:
        with _lock:
            _given_clients.setdefault(client.settings, client)
        return client
    settings = resolve_settings(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )
    return sync_client(settings)
