"""Transport state belongs to the process that opened it: what a client does after ``fork``.

A forked child shares its parent's pooled sockets (and, for asyncio, its selector). A
client used in another process than the one that built its transport abandons that state
and opens its own. Abandoned state is kept referenced, never closed or collected: closing
it in the child could act on the parent's connections (a TLS close_notify, a selector
unregistering the parent's sockets) and collecting it would warn about unclosed sessions.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

_inherited: list[object] = []  # a child's copy of its parent's transport state, left alone


class ForkAware(Protocol):
    def _after_fork(self) -> None:
        """Forget inherited transport state (called in the child, with one thread running)."""


_tracked: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def track(owner: ForkAware) -> None:
    """Call ``owner._after_fork()`` in every child forked while ``owner`` lives."""
    _tracked.add(owner)


def abandon(*state: object) -> None:
    """Keep ``state`` alive and untouched for the rest of this process."""
    _inherited.extend(item for item in state if item is not None)


def _reset_in_child() -> None:
    for owner in list(_tracked):
        owner._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_reset_in_child)
