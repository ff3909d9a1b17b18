"""A deadline on the running asyncio task, which can be moved while it runs.

``asyncio.timeout_at`` does this from Python 3.11 only; this small equivalent works from
3.10 and tells its own cancellation apart from any other (which it lets through).
"""

from __future__ import annotations

import asyncio
import sys
from types import TracebackType


class TaskDeadline:
    """``with TaskDeadline(when):`` raises ``asyncio.TimeoutError`` if the block is still
    running at ``when`` (loop time; None: no deadline until :meth:`move` sets one)."""

    __slots__ = ("_cancelling", "_handle", "_loop", "_task", "_when", "fired")

    def __init__(self, when: float | None) -> None:
        self._when = when
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._cancelling = 0
        self.fired = False

    def __enter__(self) -> TaskDeadline:
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        if self._task is not None and sys.version_info >= (3, 11):
            self._cancelling = self._task.cancelling()
        self.move(self._when)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.fired and exc_type is asyncio.CancelledError and self._only_ours():
            raise asyncio.TimeoutError from None

    def move(self, when: float | None) -> None:
        """Fire at ``when`` instead (None: not at all). Any task of the loop may call it."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if when is not None and self._loop is not None and not self.fired:
            self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if self._task is not None:
            self.fired = True
            self._task.cancel()

    def _only_ours(self) -> bool:
        """Whether the cancellation came from this deadline alone (not also from outside)."""
        if sys.version_info >= (3, 11) and self._task is not None:
            return self._task.uncancel() <= self._cancelling
        return True
