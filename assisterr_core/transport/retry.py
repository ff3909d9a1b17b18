"""The retry policy: which failures are retried, and how long to wait. Pure code, no I/O.

What a resend may do is a property of the request (:class:`Replay`, set by the request
spec). Whatever the request, a failure before it was sent, a 429 and a 503 (the service
refused it before doing anything) are retried. A gateway's 502 or 504 may come after its
upstream received the request, and so may a reset or a read timeout: a request that
records something (a session chat, ``create_session``) is never resent after those, as it
could record the turn twice. A stateless chat records nothing, so it is resent after a 502
or 504 (the model may then answer twice; only one answer is returned), but not after a
reset or a read timeout, when the model may still be working on it. Reads and deletes are
resent after any of these.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from .settings import DEFAULT_MAX_RETRIES

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0

NOT_PROCESSED_STATUSES = frozenset({429, 503})  # the service refused before doing anything
GATEWAY_STATUSES = frozenset({502, 504})  # the upstream may have the request


class Replay(enum.Enum):
    """What sending a request a second time can do on the server."""

    IDEMPOTENT = "idempotent"
    """Reads and deletes: the same effect however often it arrives."""
    STATELESS = "stateless"
    """A stateless chat: records nothing, but the model answers each arrival."""
    RECORDS = "records"
    """A session chat or a new session: each arrival is recorded."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` honoured up to ``max_retry_after``."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER

    def delay_after_status(
        self, retries_done: int, status: int, retry_after: float | None, *, replay: Replay
    ) -> float | None:
        """Seconds to wait before retrying an error status, or None to give up."""
        retryable = status in NOT_PROCESSED_STATUSES or (
            status in GATEWAY_STATUSES and replay is not Replay.RECORDS
        )
        if retries_done >= self.max_retries or not retryable:
            return None
        return self.backoff(retries_done, retry_after)

    def delay_after_failure(
        self, retries_done: int, *, request_sent: bool, replay: Replay
    ) -> float | None:
        """Seconds to wait before retrying a connection failure, or None to give up."""
        if retries_done >= self.max_retries:
            return None
        if request_sent and replay is not Replay.IDEMPOTENT:
            return None
        return self.backoff(retries_done, None)

    def backoff(self, retries_done: int, retry_after: float | None) -> float:
        """The server's ``Retry-After`` if given (capped), else jittered exponential backoff."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        delay = min(self.initial_delay * 2.0**retries_done, self.max_delay)
        return delay * (1.0 - 0.25 * random.random())


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return seconds / 1000.0
    value = lowered.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    seconds = _number(value)
    if seconds is not None:
        return seconds
    current = time.time() if now is None else now
    try:
        return max(parsedate_to_datetime(value).timestamp() - current, 0.0)
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None  # not a date, or one out of range


def _number(text: str) -> float | None:
    """``text`` as a number >= 0 (negative means now), or None when it is not a number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else max(value, 0.0)
