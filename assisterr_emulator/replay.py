"""Turns a probe recording into a replay profile, so the local server speaks as the service did.

Pure: the profile says how to frame and pace streams, which bodies to answer errors with, the
history order, the session id form, the list shape and what a path without its slash gets;
the app gives those answers, and its responder still writes the replies.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assisterr_core.transport import API_KEY_HEADER, bounded_json_loads
from assisterr_probe import wire
from assisterr_probe.exchanges import WRONG_KEY
from assisterr_probe.recording import (
    REDACTED,
    Exchange,
    RecordedResponse,
    Recording,
    RecordingError,
    load,
)

from .framing import ChunkPattern, StreamStyle

# The probe's error exchanges, and the situation whose answer each one recorded.
REFUSALS = {"wrong_key": "auth", "unknown_session": "not_found", "missing_query": "invalid_body"}
_ID_KEYS = ("session_id", "_id", "id")


@dataclass(frozen=True)
class CannedAnswer:
    """A recorded answer, given as it was: status, content type, body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def of(cls, response: RecordedResponse) -> CannedAnswer:
        return cls(response.status, response.content_type, response.body)


@dataclass(frozen=True)
class ReplayProfile:
    """What the local server answers differently when it replays a recording.

    Every field left at its default keeps the server's own behaviour. ``refusals`` maps
    "auth", "not_found" and "invalid_body" to the recorded answers; ``slashless`` is the
    answer to a path without its trailing slash (None: served like the documented path),
    and a redirect there points to the same path with the slash.
    """

    source: str = "a recording"
    stream_style: StreamStyle | None = None
    stream_patterns: tuple[ChunkPattern, ...] = ()
    history_order: str | None = None
    session_id_form: str | None = None
    session_id_length: int = 24
    created_template: Any = None  # how session/create wraps the id: None for a bare string
    created_key: str | None = None
    session_list: str = "objects"
    refusals: Mapping[str, CannedAnswer] = field(default_factory=dict)
    deleted: CannedAnswer | None = None
    slashless: CannedAnswer | None = None
    slashless_location_absolute: bool = False

    def session_created_json(self, session_id: str) -> Any:
        """The body of session/create, in the recorded shape."""
        if self.created_template == "number" and session_id.isdigit():
            return int(session_id)
        if isinstance(self.created_template, dict) and self.created_key:
            return {**self.created_template, self.created_key: session_id}
        return session_id

    def new_session_id(self, taken: Collection[str]) -> str:
        """A fresh id of the recorded form (digits, 24-hex, uuid) and length."""
        while True:
            if self.session_id_form == "digits":
                length = max(1, self.session_id_length)
                candidate = str(secrets.randbelow(9) + 1) + "".join(
                    str(secrets.randbelow(10)) for _ in range(length - 1))
            elif self.session_id_form == "uuid":
                candidate = str(uuid.uuid4())
            else:
                candidate = secrets.token_hex((self.session_id_length + 1) // 2)[
                    : self.session_id_length]
            if candidate not in taken:
                return candidate


def load_profile(source: str | Path | Recording | ReplayProfile) -> ReplayProfile:
    """A profile from a recording file, a loaded recording, or a profile (returned as is).

    A file that is not a readable recording, or a recording that cannot be replayed (one
    that holds an API key, answers that cannot be sent), raises
    :class:`assisterr_probe.RecordingError`.
    """
    if isinstance(source, ReplayProfile):
        return source
    if isinstance(source, Recording):
        recording, name, label = source, "the recording", ""
    else:
        recording, name, label = load(source), str(source), str(source)
    created = _created(recording)
    _check_replayable(recording, name, created[1])
    return profile_from(recording, label, created)


MAX_SESSION_ID_CHARS = 4096
"""The longest session id a replay gives out: it must fit in a request line (8 KiB)."""
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_replayable(recording: Recording, source: str, session_id: str | None) -> None:
    """Refuse what a probe recording never holds, and answers the server cannot give.

    ``session_id`` is the id the recording's create_session answer gives out, if any.
    """
    for exchange in recording.exchanges:
        # every spelling of the header: one redacted spelling must not hide another
        if any(k.lower() == API_KEY_HEADER.lower() and v not in (REDACTED, WRONG_KEY)
               for k, v in exchange.request_headers.items()):
            raise RecordingError(
                f"{source} holds an API key in the {API_KEY_HEADER} header of "
                f"{exchange.name!r}; a probe recording never does: redact it before replaying")
        for response in (*exchange.redirects, exchange.response):
            if response is not None and _CONTROL.search(response.content_type):
                raise RecordingError(
                    f"{source}: the Content-Type of {exchange.name!r} holds a control "
                    "character, which the local server cannot send")
    if session_id is not None and len(session_id) > MAX_SESSION_ID_CHARS:
        raise RecordingError(
            f"{source}: its session id is {len(session_id)} characters long; the local "
            f"server replays ids of up to {MAX_SESSION_ID_CHARS}")


def profile_from(recording: Recording, source: str = "",
                 created: tuple[Any, str | None] | None = None) -> ReplayProfile:
    """What the recording shows, as answers to give; what it does not show stays default.

    ``created`` is the recording's ``_created(recording)``, when the caller has it already.
    """
    fields: dict[str, Any] = {"source": source or f"a recording of {recording.base_url}"}
    streams = [w for w in (_stream_wire(e) for e in recording.exchanges if e.stream) if w]
    if streams:
        fields["stream_style"] = _style(streams[0])
        fields["stream_patterns"] = tuple(_pattern(w) for w in streams)
    answer, session_id = created if created is not None else _created(recording)
    if session_id is not None:
        fields["session_id_form"] = wire.session_id_form(session_id)
        fields["session_id_length"] = len(session_id)
        if isinstance(answer, int):
            fields["created_template"] = "number"
        elif isinstance(answer, dict):
            fields["created_template"] = answer
            fields["created_key"] = next(k for k in _ID_KEYS if k in answer)
    order = wire.history_order(_json_of(recording, "history"))
    if order != "unknown":
        fields["history_order"] = order.replace(" ", "-")
    if wire.list_shape(_json_of(recording, "list_sessions")) == "id strings":
        fields["session_list"] = "ids"
    fields["refusals"] = {
        situation: CannedAnswer.of(exchange.response)
        for name, situation in REFUSALS.items()
        if (exchange := recording.exchange(name)) is not None
        and exchange.response is not None and exchange.response.status >= 400
    }
    deleted = recording.exchange("delete_session")
    if deleted is not None and deleted.response is not None and (
            200 <= deleted.response.status < 300):
        fields["deleted"] = CannedAnswer.of(deleted.response)
    fields.update(_slashless(recording))
    return ReplayProfile(**fields)


def _stream_wire(exchange: Exchange) -> wire.StreamWire | None:
    response = exchange.response
    if exchange.error or response is None or response.status >= 300:
        return None
    described = wire.describe_stream(response)
    if described.format not in wire.STREAM_FORMATS or described.problem or not described.deltas:
        return None
    return described


def _style(described: wire.StreamWire) -> StreamStyle:
    kind = described.format
    framing = "sse" if kind.startswith("sse") else "text" if kind == "text" else "json"
    if kind in ("sse-text", "text"):
        data = "text"
    else:
        data = "object" if described.template is not None else "string"
    style = described.json_style
    return StreamStyle(
        content_type=described.content_type,
        framing=framing,
        data=data,
        text_key=described.text_key or "message",
        template=dict(described.template or {}),
        separator=described.separator,
        line_break=described.line_break,
        data_prefix=described.data_prefix,
        event_name=described.event_name,
        json_separators=(style.item_separator, style.key_separator),
        ensure_ascii=style.ensure_ascii,
        prologue=described.prologue,
        epilogue=described.epilogue,
    )


def _pattern(described: wire.StreamWire) -> ChunkPattern:
    units = described.units_per_chunk
    return ChunkPattern(
        delta_chars=tuple(len(delta) for delta in described.deltas),
        units_per_write=units or (1,),
        bytes_per_write=() if units else described.chunk_sizes,
        first_gap=described.first_gap_ms / 1000,
        gaps=tuple(gap / 1000 for gap in described.gaps_ms),
    )


def _slashless(recording: Recording) -> dict[str, Any]:
    exchange = recording.exchange("no_trailing_slash")
    if exchange is None:
        return {}
    if exchange.redirects and 300 <= exchange.redirects[0].status < 400:
        first = exchange.redirects[0]
        location = first.header("Location") or ""
        return {"slashless": CannedAnswer.of(first),
                "slashless_location_absolute": location.startswith(("http://", "https://"))}
    if exchange.response is not None and exchange.response.status >= 400:
        return {"slashless": CannedAnswer.of(exchange.response)}
    return {}


def _json_of(recording: Recording, name: str) -> Any:
    exchange = recording.exchange(name)
    if exchange is None or exchange.response is None or exchange.response.status >= 300:
        return None
    try:
        return bounded_json_loads(exchange.response.body)
    except ValueError:
        return None


def _created(recording: Recording) -> tuple[Any, str | None]:
    """The create_session answer's JSON (``None`` if none) and the session id it gives."""
    created = _json_of(recording, "create_session")
    return created, _created_id(created)


def _created_id(created: Any) -> str | None:
    if isinstance(created, dict):
        created = next((created[k] for k in _ID_KEYS if k in created), None)
    if isinstance(created, bool) or not isinstance(created, str | int):
        return None
    return str(created) or None
