"""Transport clients shared by every model and history with the same connection settings.

``configurable_fields``, ``with_config`` and friends build a new model per call; sharing the
clients keeps one connection pool per settings instead of one per call. The async client
is imported on first use, so the sync path never imports ``aiohttp``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import SecretStr

from assisterr_core import ClientSettings

if TYPE_CHECKING:
    from assisterr_core import AssisterrClient, AsyncAssisterrClient


def resolve_settings(
    *,
    api_key: str | SecretStr | None,
    base_url: str | None,
    timeout: float | tuple[float, float] | None,
    max_retries: int | None,
) -> ClientSettings:
    """Connection settings, with the environment and the core's defaults filling gaps."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    return ClientSettings.resolve(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


@lru_cache(maxsize=64)
def sync_client(settings: ClientSettings) -> AssisterrClient:
    """The pooled sync client for ``settings``."""
    from assisterr_core.sync_client import AssisterrClient

    return AssisterrClient(settings=settings)


@lru_cache(maxsize=64)
def async_client(settings: ClientSettings) -> AsyncAssisterrClient:
    """The async client for ``settings`` (one aiohttp session per event loop inside)."""
    from assisterr_core.async_client import AsyncAssisterrClient

    return AsyncAssisterrClient(settings=settings)


def connect(
    *,
    client: AssisterrClient | None = None,
    api_key: str | SecretStr | None = None,
    base_url: str | None = None,
    timeout: float | tuple[float, float] | None = None,
    max_retries: int | None = None,
) -> AssisterrClient:
    """The given client, or the shared one for these settings."""
    if client is not None:
        return client
    settings = resolve_settings(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )
    return sync_client(settings)
