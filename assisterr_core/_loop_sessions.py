"""aiohttp sessions, one per event loop, closed whatever way their loop or client ends.

An ``aiohttp.ClientSession`` belongs to the loop that created it and must be closed on
that loop. A client keeps one session per loop; each session is closed

- when its loop shuts down (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio, Jupyter's
  loop at exit): loops ``aclose()`` live async generators then, and a watcher generator
  closes the session;
- when its client is garbage-collected while the loop runs (a task closes it then);
- at interpreter exit, for loops that were left open but idle (as LlamaIndex's
  ``asyncio_run`` leaves the default loop).

Only a loop closed by hand without ``shutdown_asyncgens()`` escapes all three: close the
client yourself (``await client.close()``) before closing such a loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, Callable

import aiohttp

_registry_lock = threading.Lock()
_open: set[_LoopSession] = set()  # every session not yet closed, whoever owns it
_closing: set[asyncio.Task[None]] = set()


class _LoopSession:
    """One session and the async generator that its loop finalizes at shutdown."""

    def __init__(self, session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop) -> None:
        self.session = session
        self.loop = loop
        self._watcher: AsyncGenerator[None, None] | None = None

    async def watch_loop(self) -> None:
        self._watcher = self._close_on_shutdown()
        await self._watcher.asend(None)

    async def _close_on_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._close_session()

    async def close(self) -> None:
        if self._watcher is not None:
            await self._watcher.aclose()
        else:
            await self._close_session()

    async def _close_session(self) -> None:
        with _registry_lock:
            _open.discard(self)
        await self.session.close()


class LoopSessions:
    """The sessions of one client, by event loop."""

    def __init__(self, factory: Callable[[], aiohttp.ClientSession]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
            weakref.WeakKeyDictionary()
        )

    def bind_to(self, owner: object) -> None:
        """Close the running loops' sessions when ``owner`` is garbage-collected."""
        weakref.finalize(owner, _close_soon, self._by_loop)

    async def current(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is not None and not entry.session.closed:
                return entry.session
            entry = _LoopSession(self._factory(), loop)
            self._by_loop[loop] = entry
        with _registry_lock:
            _open.add(entry)
        await entry.watch_loop()
        return entry.session

    async def close_current(self) -> None:
        """Close the running loop's session now."""
        with self._lock:
            entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.close()


def _close_soon(by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession]
                ) -> None:
    """The client is gone: close its sessions on loops that still run (others at exit)."""
    for loop, entry in list(by_loop.items()):
        if loop.is_running() and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_start_close, entry)


def _start_close(entry: _LoopSession) -> None:
    task = entry.loop.create_task(entry.close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


@atexit.register
def _close_idle_loops_at_exit() -> None:
    """Sessions left on open, idle loops: close them there before the interpreter goes."""
    with _registry_lock:
        leftovers = list(_open)
    for entry in leftovers:
        loop = entry.loop
        if loop.is_closed() or loop.is_running():
            continue
        # Best effort at exit: never turn interpreter shutdown into a crash.
        with contextlib.suppress(Exception):
            loop.run_until_complete(entry.close())
