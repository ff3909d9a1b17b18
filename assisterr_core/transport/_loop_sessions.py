"""aiohttp sessions, one per event loop, closed whatever way their loop or client ends.

An ``aiohttp.ClientSession`` belongs to the loop that created it and must be closed on
that loop. A client keeps one session per loop; each session is closed, and leaves the
client's map (so that the loop it holds can be collected),

- when its loop shuts down (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio, Jupyter's
  loop at exit): loops ``aclose()`` live async generators then, and a watcher generator
  closes the session;
- when its client is garbage-collected while the loop runs (a task closes it then);
- at interpreter exit, for loops that were left open but idle (as LlamaIndex's
  ``asyncio_run`` leaves the default loop).

A loop closed by hand without ``shutdown_asyncgens()`` escapes all three: its entry is
dropped when a client next opens a session, but its sockets are only released when
collected. Close the client yourself (``await client.close()``) before closing such a loop.

Sessions belong to the process that opened them: a forked child abandons its copies
(see :mod:`._process`) and opens its own.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Callable

import aiohttp

from ._process import abandon, track

_registry_lock = threading.Lock()
_open: set[_LoopSession] = set()  # every session not yet closed, whoever owns it
_closing: set[asyncio.Task[None]] = set()


class _SessionMap:
    """A client's sessions by event loop, and the process they belong to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_loop: dict[asyncio.AbstractEventLoop, _LoopSession] = {}
        self.pid = os.getpid()

    def forget(self, entry: _LoopSession) -> None:
        with self.lock:
            if self.by_loop.get(entry.loop) is entry:
                del self.by_loop[entry.loop]


class _LoopSession:
    """One session and the async generator that its loop finalizes at shutdown."""

    def __init__(
        self, session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop, owner: _SessionMap
    ) -> None:
        self.session = session
        self.loop = loop
        self.owner = owner
        self.pid = owner.pid
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
        if self.pid != os.getpid():
            return  # the parent's session, run down by a forked child: leave it be
        self.owner.forget(self)
        with _registry_lock:
            _open.discard(self)
        await self.session.close()


class LoopSessions:
    """The sessions of one client, by event loop."""

    def __init__(self, factory: Callable[[], aiohttp.ClientSession]) -> None:
        self._factory = factory
        self._map = _SessionMap()
        track(self)

    def bind_to(self, owner: object) -> None:
        """Close the running loops' sessions when ``owner`` is garbage-collected."""
        weakref.finalize(owner, _close_soon, self._map)

    async def current(self) -> aiohttp.ClientSession:
        """The running loop's session, created on first use."""
        loop = asyncio.get_running_loop()
        state = self._map
        if state.pid != os.getpid():
            self._after_fork()
        entry = state.by_loop.get(loop)
        if entry is not None and not entry.session.closed:
            return entry.session
        with state.lock:
            entry = _LoopSession(self._factory(), loop, state)
            state.by_loop[loop] = entry
        with _registry_lock:
            # Entries of loops closed by hand (no shutdown_asyncgens): drop them, or their
            # loops would live as long as the process.
            stale = [old for old in _open if old.loop.is_closed()]
            _open.difference_update(stale)
            _open.add(entry)
        for old in stale:
            old.owner.forget(old)
            _release_on_closed_loop(old.session)
        await entry.watch_loop()
        return entry.session

    async def close_current(self) -> None:
        """Close the running loop's session now."""
        with self._map.lock:
            entry = self._map.by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.close()

    def close_all(self) -> None:
        """Close every loop's session: at once on a loop that is idle, soon on one that runs
        (another thread's, or this one's), and give up those of closed loops."""
        if self._map.pid != os.getpid():
            self._after_fork()  # the parent's sessions are not this process's to close
        with self._map.lock:
            entries = list(self._map.by_loop.values())
            self._map.by_loop.clear()
        for entry in entries:
            loop = entry.loop
            if loop.is_closed():
                with _registry_lock:
                    _open.discard(entry)
                _release_on_closed_loop(entry.session)
            elif loop.is_running():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_start_close, entry)
            else:
                loop.run_until_complete(entry.close())

    def _after_fork(self) -> None:
        """In a forked child: abandon the parent's sessions (the map object stays, as the
        client's finalizer holds it)."""
        state = self._map
        state.lock = threading.Lock()
        abandon(*state.by_loop.values())
        state.by_loop = {}
        state.pid = os.getpid()


def _release_on_closed_loop(session: aiohttp.ClientSession) -> None:
    """Mark a session of a loop closed by hand as closed, so that it does not warn when
    collected. Nothing can run on that loop any more: its closing is started here (which
    marks it closed) and then dropped; its sockets close when collected."""
    closing = session.close()
    try:
        closing.send(None)
    except StopIteration:
        return
    except Exception:  # best effort for a loop that is gone
        return
    closing.close()


def _close_soon(state: _SessionMap) -> None:
    """The client is gone: close its sessions on loops that still run (others at exit)."""
    if state.pid != os.getpid():
        return
    for loop, entry in list(state.by_loop.items()):
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
        leftovers = [entry for entry in _open if entry.pid == os.getpid()]
    for entry in leftovers:
        loop = entry.loop
        if loop.is_closed() or loop.is_running():
            continue
        # Best effort at exit: never turn interpreter shutdown into a crash.
        with contextlib.suppress(Exception):
            loop.run_until_complete(entry.close())


def _forget_inherited() -> None:
    """In a forked child: the parent's open sessions and closing tasks are not ours."""
    global _registry_lock
    _registry_lock = threading.Lock()
    abandon(*_open, *_closing)
    _open.clear()
    _closing.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited)
