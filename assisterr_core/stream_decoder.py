"""Turns the bytes of a streamed reply into text deltas, whatever the framing. No I/O.

The stream format of the Assisterr API is not pinned down, so the framing is detected from
the first bytes:

- Server-sent events (``data:``, ``event:``, ``id:``, ``retry:`` lines and ``:`` comments),
  whose data is JSON (``{"message"|"content"|"delta"|"text"|"token": ...}`` or a JSON
  string) or plain text; ``[DONE]`` ends the stream.
- Bare JSON values with no framing: concatenated objects or NDJSON, ending with the body.
- Anything else: plain text, passed through.

Feed bytes split anywhere (a UTF-8 character may straddle two reads); each event is a
delta. ``close()`` flushes what is left and raises if the stream ended half-way.
"""

from __future__ import annotations

import codecs
import json
import re
from enum import Enum
from typing import Any

from .errors import MalformedResponseError, StreamErrorEvent

TEXT_KEYS = ("message", "content", "delta", "text", "token")
ERROR_KEYS = ("error", "detail")
SSE_FIELD_PREFIXES = ("data:", "event:", "id:", "retry:", ":", "data\n", "data\r")
MAX_PENDING_CHARS = 64 * 1024 * 1024
# Re-parsing a large unfinished JSON value on every read would cost O(n^2): past this size,
# retry only once the buffer has grown by half.
EAGER_RETRY_CHARS = 64 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_JSON = json.JSONDecoder()


class Framing(Enum):
    SSE = "sse"
    JSON = "json"
    TEXT = "text"


class StreamDecoder:
    """Incremental decoder: ``feed(bytes) -> [delta, ...]``, then ``close() -> [delta, ...]``."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._framing: Framing | None = None
        self._pending = ""
        self._done = False
        self._data_lines: list[str] = []
        self._event = ""
        self._retry_at = 0
        self._json_events = 0
        self._text_events = 0

    @property
    def framing(self) -> Framing | None:
        """The framing detected so far (None until enough bytes arrived)."""
        return self._framing

    @property
    def done(self) -> bool:
        """True once an explicit end marker (``[DONE]``) was seen."""
        return self._done

    def feed(self, data: bytes) -> list[str]:
        """Decode a piece of the body; return the complete deltas it finished."""
        if self._done or not data:
            return []
        try:
            self._pending += self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise MalformedResponseError(f"stream is not valid UTF-8: {exc.reason}") from None
        return self._drain(final=False)

    def close(self) -> list[str]:
        """The body ended: flush the last deltas, or raise if it stopped inside an event."""
        if self._done:
            return []
        try:
            self._pending += self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise MalformedResponseError("stream ended inside a UTF-8 character") from None
        deltas = self._drain(final=True)
        self._done = True
        if self._json_events and not self._text_events:
            raise MalformedResponseError(
                f"the stream's {self._json_events} JSON event(s) carried no text"
            )
        return deltas

    def _text_of_sse_data(self, data: str) -> str | None:
        stripped = data.strip()
        if stripped[:1] in ("{", '"', "["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError:
                return data  # text that merely starts like JSON
            return self._event_text(value)
        return data

    def _event_text(self, value: Any) -> str | None:
        """The text of a JSON event, counting events and those that carried text."""
        self._json_events += 1
        text = text_of_event(value)
        if text is not None:
            self._text_events += 1
        return text

    def _drain(self, *, final: bool) -> list[str]:
        if self._framing is None:
            self._framing = _detect_framing(self._pending, final=final)
            if self._framing is None:
                return []
        if self._framing is Framing.SSE:
            return self._drain_sse(final)
        if self._framing is Framing.JSON:
            return self._drain_json(final)
        text, self._pending = self._pending, ""
        return [text] if text else []

    def _drain_json(self, final: bool) -> list[str]:
        deltas: list[str] = []
        text, pos, end = self._pending, 0, len(self._pending)
        if not final and end < self._retry_at:
            return deltas
        self._retry_at = 0
        while True:
            while pos < end and text[pos] in " \t\r\n\ufeff":
                pos += 1
            if pos >= end:
                break
            if text[pos] not in '{["':
                raise MalformedResponseError(
                    f"unexpected text in a JSON stream: {_excerpt(text, pos)}"
                )
            try:
                value, pos_after = _JSON.raw_decode(text, pos)
            except json.JSONDecodeError:
                if final:
                    raise MalformedResponseError(
                        f"stream ended inside a JSON value: {_excerpt(text, pos)}"
                    ) from None
                if end - pos > MAX_PENDING_CHARS:
                    raise MalformedResponseError("a JSON value in the stream is too big") from None
                waiting = end - pos
                self._retry_at = 0 if waiting < EAGER_RETRY_CHARS else waiting + waiting // 2
                break
            pos = pos_after
            delta = self._event_text(value)
            if delta:
                deltas.append(delta)
        self._pending = text[pos:]
        return deltas

    def _drain_sse(self, final: bool) -> list[str]:
        deltas: list[str] = []
        text, pos = self._pending, 0
        for match in _LINE_BREAK.finditer(text):
            if match.group() == "\r" and match.end() == len(text) and not final:
                break  # a CR at the end may be the first half of a CRLF
            self._sse_line(text[pos : match.start()], deltas)
            pos = match.end()
            if self._done:
                return deltas
        self._pending = text[pos:]
        if len(self._pending) > MAX_PENDING_CHARS:
            raise MalformedResponseError("an event line in the stream is too long")
        if final:
            if self._pending:
                self._sse_line(self._pending, deltas)
                self._pending = ""
            self._dispatch(deltas)  # be lenient with a last event that lacks its blank line
        return deltas

    def _sse_line(self, line: str, deltas: list[str]) -> None:
        if not line:
            self._dispatch(deltas)
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data_lines.append(value)
        elif name == "event":
            self._event = value

    def _dispatch(self, deltas: list[str]) -> None:
        data, event = "\n".join(self._data_lines), self._event
        had_data = bool(self._data_lines)
        self._data_lines, self._event = [], ""
        if not had_data or self._done:
            return
        if data.strip() == "[DONE]":
            self._done = True
            return
        if event == "error":
            raise StreamErrorEvent(f"the stream reported an error: {_error_text(data)}")
        delta = self._text_of_sse_data(data)
        if delta:
            deltas.append(delta)


def text_of_event(value: Any) -> str | None:
    """The text delta carried by one decoded JSON event, None if it carries none."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [text_of_event(item) for item in value]
        return "".join(part for part in parts if part) or None
    if not isinstance(value, dict):
        return None
    for key in TEXT_KEYS:
        if key in value and value[key] is not None:
            inner = value[key]
            if isinstance(inner, str):
                return inner
            if isinstance(inner, dict | list):
                return text_of_event(inner)
            raise MalformedResponseError(
                f"stream event has a non-text {key!r}: {json.dumps(inner)[:100]}"
            )
    choices = value.get("choices")
    if isinstance(choices, list) and choices:
        return text_of_event(choices[0])
    for key in ERROR_KEYS:
        if value.get(key):
            raise StreamErrorEvent(f"the stream reported an error: {_error_text(value[key])}")
    return None


def _detect_framing(text: str, *, final: bool) -> Framing | None:
    start = text.lstrip(" \t\r\n\ufeff")
    if not start:
        return Framing.TEXT if final and text else None
    if start[0] in '{["':
        return Framing.JSON
    if start.startswith(SSE_FIELD_PREFIXES):
        return Framing.SSE
    if not final and any(prefix.startswith(start) for prefix in SSE_FIELD_PREFIXES):
        return None  # too short to tell "data: ..." from plain text yet
    return Framing.TEXT


def _error_text(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)[:500]
    if isinstance(value, dict):
        for key in ("message", "detail", "error"):
            if key in value:
                inner = value[key]
                return _error_text(inner) if not isinstance(inner, str) else str(inner[:500])
    return json.dumps(value)[:500]


def _excerpt(text: str, pos: int) -> str:
    snippet = text[pos : pos + 80]
    return repr(snippet + ("…" if len(text) > pos + 80 else ""))
