"""The retry policy: which failures are retried, and how long to wait. Pure code, no I/O.

A chat may record a turn on the server as soon as the request reaches it, so a request is
retried only when it cannot have been processed: the connection failed before it was sent,
or the server answered 429, 502 or 503. A 504 (the gateway gave up waiting: the service may
still be answering) is retried only for read-only (GET) requests, which are also retried
after ambiguous failures such as a reset or a read timeout.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)

RETRYABLE_STATUSES = frozenset({429, 502, 503})
RETRYABLE_IF_IDEMPOTENT = frozenset({504})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` honoured up to ``max_retry_after``."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER

    def delay_after_status(
        self, retries_done: int, status: int, retry_after: float | None, *, idempotent: bool = False
    ) -> float | None:
        """Seconds to wait before retrying an error status, or None to give up."""
        retryable = status in RETRYABLE_STATUSES or (
            idempotent and status in RETRYABLE_IF_IDEMPOTENT
        )
        if retries_done >= self.max_retries or not retryable:
            return None
        return self.backoff(retries_done, retry_after)

    def delay_after_failure(
        self, retries_done: int, *, request_sent: bool, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying a connection failure, or None to give up."""
        if retries_done >= self.max_retries or (request_sent and not idempotent):
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
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)
