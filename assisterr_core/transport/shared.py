"""The clients a model, a history or a session helper uses: the ones the caller gave, or clients
shared by everything in the process that connects with equal settings. One policy for both
integrations:

- Clients are built on first use (the async one imports ``aiohttp`` only then).
- They are shared per settings: models made per call (``configurable_fields``,
  ``with_config``, one model per tenant) reuse one connection pool. A shared client lives as
  long as something uses it (the cache holds it weakly), and nobody closes a client that
  another user still holds: :meth:`SharedClients.close` closes it only when it was the last.
- Given clients are the caller's: used as they are, never closed here.
- A holder pickles and copies as its settings (and its given clients, which travel as their
  settings): the copy builds its own clients when first used, in its own process. After
  ``fork``, each client opens its own connections.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from .errors import InvalidRequestError, UnpicklableError
from .settings import ClientSettings

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from ._base import BaseClient
    from .async_client import AsyncAssisterrClient
    from .settings import SettingsFields
    from .sync_client import AssisterrClient

_lock = threading.Lock()
_shared: weakref.WeakValueDictionary[tuple[bool, ClientSettings], BaseClient] = (
    weakref.WeakValueDictionary()
)
# Who uses each shared client, by id: holders compare by settings, not by identity.
_holders: weakref.WeakKeyDictionary[BaseClient, weakref.WeakValueDictionary[int, SharedClients]] = (
    weakref.WeakKeyDictionary()
)


class TravelsAsSettings:
    """Mixed into a pydantic model that holds :class:`SharedClients`, before the model's base.

    It pickles as its settings, except that a ``rate_limiter`` refuses to travel: it counts the
    calls of one process, and a copy in each worker would multiply the budget
    (:class:`UnpicklableError` says what to do instead). Deep copies share the limiter, as
    copies in one process share its budget.
    """

    def __getstate__(self) -> dict[Any, Any]:
        if getattr(self, "rate_limiter", None) is not None:
            raise UnpicklableError.for_rate_limiter(type(self).__name__)
        state: dict[Any, Any] = super().__getstate__()  # type: ignore[misc]
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        memo = {} if memo is None else memo
        limiter = getattr(self, "rate_limiter", None)
        if limiter is not None:
            memo[id(limiter)] = limiter
        copied: Self = super().__deepcopy__(memo)  # type: ignore[misc]
        return copied


class SharedClients:
    """The sync and async clients of one connection (see the module's docs)."""

    __slots__ = ("__weakref__", "_async", "_given", "_given_async", "_sync", "settings")

    def __init__(
        self,
        settings: ClientSettings,
        *,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
    ) -> None:
        self.settings = settings
        self._given = client
        self._given_async = async_client
        self._sync: AssisterrClient | None = client
        self._async: AsyncAssisterrClient | None = async_client

    @classmethod
    def connect(
        cls,
        *,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
        settings: ClientSettings | None = None,
        **fields: Unpack[SettingsFields],
    ) -> SharedClients:
        """The given clients (their settings for the other kind), else clients for
        ``settings``, else for the fields resolved as :meth:`ClientSettings.resolve` does."""
        _check_given("client", client, is_async=False)
        _check_given("async_client", async_client, is_async=True)
        given = client or async_client
        chosen = given.settings if given is not None else settings
        return cls(chosen or ClientSettings.resolve(**fields), client=client,
                   async_client=async_client)

    @property
    def client(self) -> AssisterrClient:
        """The sync client: the given one, else the one shared for these settings."""
        if self._sync is None:
            self._sync = _acquire(self, is_async=False)
        return self._sync

    @property
    def async_client(self) -> AsyncAssisterrClient:
        """The async client: the given one, else the one shared for these settings."""
        if self._async is None:
            self._async = _acquire(self, is_async=True)
        return self._async

    def close(self) -> None:
        """Give back the shared clients, closing each one nobody else uses: the sync pool,
        and the async client's sessions on every event loop (at once where the loop is
        idle, soon where it runs). Given clients stay open. Using this holder again opens
        new connections."""
        sync, async_ = self._give_back()
        if sync is not None:
            sync.close()
        if async_ is not None:
            async_.close_sessions()

    async def aclose(self) -> None:
        """:meth:`close`, where the running loop's session is closed before this returns."""
        sync, async_ = self._give_back()
        if sync is not None:
            sync.close()
        if async_ is not None:
            await async_.aclose()
            async_.close_sessions()

    def _give_back(self) -> tuple[AssisterrClient | None, AsyncAssisterrClient | None]:
        """This holder's shared clients that no other holder uses, each forgotten here."""
        sync = None if self._sync is self._given else self._sync
        async_ = None if self._async is self._given_async else self._async
        self._sync, self._async = self._given, self._given_async
        return (sync if sync is not None and _release(self, sync) else None,
                async_ if async_ is not None and _release(self, async_) else None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.settings, self._given, self._given_async))

    def __eq__(self, other: object) -> bool:
        """Equal when they connect the same way: equal settings, clients given alike."""
        if not isinstance(other, SharedClients):
            return NotImplemented
        return self.settings == other.settings and _settings_of(self._given) == _settings_of(
            other._given) and _settings_of(self._given_async) == _settings_of(other._given_async)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SharedClients({self.settings!r})"


def _settings_of(client: BaseClient | None) -> ClientSettings | None:
    return None if client is None else client.settings


def _rebuild(
    settings: ClientSettings, client: AssisterrClient | None,
    async_client: AsyncAssisterrClient | None,
) -> SharedClients:
    return SharedClients(settings, client=client, async_client=async_client)


def _acquire(holder: SharedClients, *, is_async: bool) -> Any:
    """The shared client of the holder's settings, built if nobody holds one; ``holder`` now
    uses it."""
    settings = holder.settings
    with _lock:
        client = _shared.get((is_async, settings))
        if client is None:
            client = _client_class(is_async)(settings=settings)
            _shared[is_async, settings] = client
        _holders.setdefault(client, weakref.WeakValueDictionary())[id(holder)] = holder
        return client


def _release(holder: SharedClients, client: BaseClient) -> bool:
    """``holder`` stops using ``client``; True when nothing else uses it."""
    with _lock:
        users = _holders.get(client)
        if users is None:
            return True
        users.pop(id(holder), None)
        return not users


def _check_given(name: str, client: object, *, is_async: bool) -> None:
    """A given client must be one of ours (imported here only when one is given)."""
    if client is None:
        return
    expected = _client_class(is_async)
    if not isinstance(client, expected):
        raise InvalidRequestError(
            name, f"must be an {expected.__name__}, got {type(client).__name__}"
        )


def _client_class(is_async: bool) -> type[BaseClient]:
    """The async or the sync client class, imported only now: each loads its transport."""
    if is_async:
        from .async_client import AsyncAssisterrClient

        return AsyncAssisterrClient
    from .sync_client import AssisterrClient

    return AssisterrClient


def _forget_lock_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it when the process forked


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_lock_after_fork)
