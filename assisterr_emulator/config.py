"""The emulator's settings, its injectable faults, and its record of received requests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assisterr_core.transport import API_KEY_HEADER

from .framing import BUILT_IN_STYLES, StreamStyle

if TYPE_CHECKING:
    from .replay import ReplayProfile

STREAM_FORMATS = ("json", "ndjson", "sse-json", "sse-text", "sse-json-string", "text")


@dataclass
class EmulatorConfig:
    """How the emulator behaves; every field can be changed while it runs.

    ``api_key`` None accepts any non-empty key. ``stream_format`` "json" (the default, our
    best reading of the real service) sends bare ``{"message": delta}`` objects, one per
    HTTP chunk, under a ``text/event-stream`` content type. ``chunk_delay`` separates
    chunks (the first goes at once); ``latency`` delays every answer after the turn has
    been recorded. ``history_order`` is "newest-first" as the API documentation shows.
    ``replay`` (see :mod:`.replay`) makes it answer as a recorded service did, its recorded
    gaps between stream chunks multiplied by ``replay_time_scale`` (0: no waiting).
    """

    # Long and random-looking like a real key: clients mask any 8-character run of the key
    # in their errors, which a short, wordy key would turn into masked ordinary words.
    api_key: str | None = "emu-key-6f1c2a9d4b7e8035"
    stream_format: str = "json"
    chunk_delay: float = 0.0
    latency: float = 0.0
    history_order: str = "newest-first"
    handles: frozenset[str] | None = None
    replay: ReplayProfile | None = None
    replay_time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.stream_format not in STREAM_FORMATS:
            raise ValueError(f"stream_format must be one of {STREAM_FORMATS}")
        if self.history_order not in ("newest-first", "oldest-first"):
            raise ValueError("history_order must be 'newest-first' or 'oldest-first'")
        if not 0 <= self.replay_time_scale < math.inf:  # infinite: every pause for ever
            raise ValueError("replay_time_scale must be a finite number >= 0")

    def stream_style(self) -> StreamStyle:
        """The framing of streamed replies: the replayed one, else ``stream_format``'s."""
        if self.replay is not None and self.replay.stream_style is not None:
            return self.replay.stream_style
        return BUILT_IN_STYLES[self.stream_format]

    def effective_history_order(self) -> str:
        if self.replay is not None and self.replay.history_order is not None:
            return self.replay.history_order
        return self.history_order


@dataclass
class Fault:
    """One injected misbehaviour, used by the next ``times`` requests whose path matches.

    - ``status``: answer this status with ``body`` (JSON ``{"detail": ...}`` by default)
      and ``retry_after`` as the ``Retry-After`` header; nothing is recorded.
    - ``drop_after_chunks``: send that many chunks of the reply, then cut the connection.
    - ``stall``: wait this many seconds before answering; a stream sends its headers
      first, then stalls.
    - ``delay``: record the turn, then wait this many seconds before answering.
    - ``malformed``: answer 200 with ``body`` (truncated JSON by default).
    """

    status: int | None = None
    body: str | None = None
    content_type: str = "application/json"
    retry_after: str | None = None
    drop_after_chunks: int | None = None
    stall: float | None = None
    delay: float | None = None
    malformed: bool = False
    path_contains: str = ""
    method: str | None = None
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.path_contains in path
            and (self.method is None or self.method.upper() == method)
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class ReceivedRequest:
    """What a request carried, as the emulator saw it (for tests to check)."""

    method: str
    path: str
    handle: str | None
    session_id: str | None
    query: str | None
    body: Any
    headers: dict[str, str] = field(repr=False)

    @property
    def api_key(self) -> str | None:
        return self.headers.get(API_KEY_HEADER)
