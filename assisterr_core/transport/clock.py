"""The time source of retries, injectable so that tests about waiting do not wait.

A client waits between attempts, and reads the date a ``Retry-After`` is measured from,
only through its ``clock``; a test passes one whose ``sleep`` returns at once and moves
its time on (trio's ``MockClock`` idea). Timeouts stay on real time: they bound real I/O.
"""

from __future__ import annotations

import time


class Clock:
    """Real time. ``wall`` is the epoch time HTTP dates are compared with."""

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # the sync path never needs it

        await asyncio.sleep(seconds)


SYSTEM_CLOCK = Clock()
