"""A clock for the clients whose time moves only when they sleep: waits cost no wall time.

Pass ``clock=MockClock()`` to a client; every retry wait returns at once and is recorded in
``sleeps``, and the clock's date (what ``Retry-After`` dates are measured from) moves on by
as much.
"""

from __future__ import annotations

import time

from assisterr_core.transport.clock import Clock


class MockClock(Clock):
    """Starts at the real date; ``sleep`` and ``asleep`` advance it instead of waiting."""

    def __init__(self) -> None:
        self._wall = time.time()
        self.sleeps: list[float] = []

    def wall(self) -> float:
        return self._wall

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._wall += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
