"""Turns the bytes of a streamed reply into text deltas, whatever the framing. No I/O.

The framing is decided once per stream: from the Content-Type where it is specific
(``text/plain``: plain text; ``application/json``, ``application/x-ndjson``: bare JSON;
``text/html``: refused), otherwise from the first bytes. ``text/event-stream`` is not
specific enough, since the service is believed to send bare JSON objects under it.

- Server-sent events (``data:``, ``event:``, ``id:``, ``retry:`` lines and ``:`` comments).
  Whether their data is JSON (``{"message"|"content"|"delta"|"text"|"token": ...}`` or a
  JSON string) or plain text is decided by the first data event, then holds for the whole
  stream; ``[DONE]`` ends it; ``event: error`` raises.
- Bare JSON values with no framing: concatenated objects or NDJSON, ending with the body.
- Plain text, passed through as it comes.

Feed bytes split anywhere (a UTF-8 character may straddle two reads); each event is a
delta. Every byte is scanned a bounded number of times, however an event is split.
``close()`` flushes what is left and raises if the stream ended half-way, carried no
event at all, or only JSON events without text (``[DONE]`` or not).
"""

from __future__ import annotations

import codecs
import json
import re
from enum import Enum
from typing import Any

from .bounded_json import MAX_DEPTH, JSONTooDeepError, loads, raw_decode
from .errors import MalformedResponseError, StreamErrorEvent

TEXT_KEYS = ("message", "content", "delta", "text", "token")
ERROR_KEYS = ("error", "detail")
SSE_FIELD_PREFIXES = ("data:", "event:", "id:", "retry:", ":", "data\n", "data\r")
HTML_PREFIXES = ("<!doctype html", "<html", "<head", "<body")
MAX_PENDING_CHARS = 64 * 1024 * 1024
WHITESPACE = " \t\r\n"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_VALUE_START = re.compile(r"[^ \t\r\n\ufeff]")  # a stray BOM between values is blank too
_JSON_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_STOP = re.compile(r'["\\]')
_PROBE_CHARS = 16  # enough of the body's start to tell the framings apart


class Framing(Enum):
    SSE = "sse"
    JSON = "json"
    TEXT = "text"


_FRAMING_BY_MEDIA_TYPE = {
    "text/plain": Framing.TEXT,
    "application/json": Framing.JSON,
    "application/x-ndjson": Framing.JSON,
    "application/ndjson": Framing.JSON,
    "application/jsonl": Framing.JSON,
    "application/x-jsonlines": Framing.JSON,
}
_HTML_MEDIA_TYPES = ("text/html", "application/xhtml+xml")


class StreamDecoder:
    """Incremental decoder: ``feed(bytes) -> [delta, ...]``, then ``close() -> [delta, ...]``.

    ``content_type`` is the response's Content-Type header, if any.
    """

    def __init__(self, content_type: str | None = None) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._at_start = True  # a byte order mark there is not part of the first event
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        self._refusal: str | None = None
        if media_type in _HTML_MEDIA_TYPES:
            self._refusal = f"the stream is an HTML page ({media_type}), not a reply"
        self._framing = _FRAMING_BY_MEDIA_TYPE.get(media_type)
        if self._framing is None and media_type.endswith("+json"):
            self._framing = Framing.JSON
        self._done = False
        self._events = 0
        self._json_events = 0
        self._text_events = 0
        # Until the framing is known: the text so far, and its start without whitespace.
        self._head: list[str] = []
        self._head_chars = 0
        self._probe = ""
        # SSE: the unfinished line, whether it followed a CR, the event being assembled,
        # and whether the stream's data is JSON (decided by its first data event).
        self._line: list[str] = []
        self._line_chars = 0
        self._after_cr = False
        self._data_lines: list[str] = []
        self._event = ""
        self._sse_json: bool | None = None
        # Bare JSON: the pieces of a value that is still arriving, and the scan of it.
        self._value: list[str] = []
        self._value_chars = 0
        self._value_scan: _ValueScan | None = None

    @property
    def framing(self) -> Framing | None:
        """The framing, once known (from the Content-Type, or from the first bytes)."""
        return self._framing

    @property
    def done(self) -> bool:
        """True once an explicit end marker (``[DONE]``) was seen."""
        return self._done

    def feed(self, data: bytes) -> list[str]:
        """Decode a piece of the body; return the complete deltas it finished."""
        if self._refusal is not None:
            raise MalformedResponseError(self._refusal)
        if self._done or not data:
            return []
        return self._take(self._decode(data, final=False), final=False)

    def close(self) -> list[str]:
        """The body ended: flush the last deltas, or raise if it ended inside an event,
        carried no event at all (an empty body is no reply), or JSON events none of which
        held text (even if ``[DONE]`` ended them)."""
        if self._refusal is not None:
            raise MalformedResponseError(self._refusal)
        deltas: list[str] = []
        if not self._done:  # else it ended at [DONE]: what came after is ignored
            deltas = self._take(self._decode(b"", final=True), final=True)
            self._done = True
        if not self._events:
            raise MalformedResponseError("the stream ended without any event")
        if self._json_events and not self._text_events:
            raise MalformedResponseError(
                f"the stream's {self._json_events} JSON event(s) carried no text"
            )
        return deltas

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            text = self._utf8.decode(data, final)
        except UnicodeDecodeError as exc:
            where = "ended inside a UTF-8 character" if final else "is not valid UTF-8"
            raise MalformedResponseError(f"stream {where}: {exc.reason}") from None
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        return text

    def _take(self, text: str, *, final: bool) -> list[str]:
        if self._framing is None:
            text = self._detect(text, final)
            if self._framing is None:
                return []
        if self._framing is Framing.SSE:
            return self._take_sse(text, final)
        if self._framing is Framing.JSON:
            return self._take_json(text, final)
        if not text:
            return []
        self._events += 1
        return [text]

    def _detect(self, text: str, final: bool) -> str:
        """Hold the body's start until it shows its framing; then all of it, to decode."""
        self._head.append(text)
        self._head_chars += len(text)
        probe = self._probe + text if self._probe else text.lstrip(WHITESPACE)
        self._probe = probe[:_PROBE_CHARS]
        self._framing = _framing_of_start(self._probe, final=final)
        if self._framing is None:
            if self._head_chars > MAX_PENDING_CHARS:
                raise MalformedResponseError("the stream starts with too much blank space")
            return ""
        held, self._head, self._head_chars = "".join(self._head), [], 0
        return held

    # -- server-sent events -------------------------------------------------------------

    def _take_sse(self, text: str, final: bool) -> list[str]:
        deltas: list[str] = []
        if not text and not final:
            return deltas
        pos = 0
        if self._after_cr and text.startswith("\n"):
            pos = 1  # the LF of a CRLF that was split between two reads
        self._after_cr = False
        for match in _LINE_BREAK.finditer(text, pos):
            piece = text[pos : match.start()]
            if self._line:
                self._line.append(piece)
                piece, self._line, self._line_chars = "".join(self._line), [], 0
            self._sse_line(piece, deltas)
            pos = match.end()
            if self._done:
                return deltas
        self._after_cr = text.endswith("\r")
        if pos < len(text):
            self._line.append(text[pos:])
            self._line_chars += len(text) - pos
            if self._line_chars > MAX_PENDING_CHARS:
                raise MalformedResponseError("an event line in the stream is too long")
        if final:
            if self._line:
                line, self._line = "".join(self._line), []
                self._sse_line(line, deltas)
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
        if not self._data_lines or self._done:
            self._data_lines, self._event = [], ""
            return
        data, event = "\n".join(self._data_lines), self._event
        self._data_lines, self._event = [], ""
        self._events += 1
        if len(data) < 16 and data.strip() == "[DONE]":
            self._done = True
            return
        if event == "error":
            raise StreamErrorEvent(f"the stream reported an error: {_error_text(data)}")
        delta = self._text_of_sse_data(data)
        if delta:
            deltas.append(delta)

    def _text_of_sse_data(self, data: str) -> str | None:
        if self._sse_json is False:
            return data
        if self._sse_json is None and not data.strip():
            return None  # a blank event (a ping) says nothing about the data's kind
        try:
            value = loads(data)
        except JSONTooDeepError:
            raise MalformedResponseError(
                f"an SSE event nests JSON too deeply: {_excerpt(data, 0)}"
            ) from None
        except ValueError:
            if self._sse_json:
                raise MalformedResponseError(
                    f"an SSE event is not JSON in a stream of JSON events: {_excerpt(data, 0)}"
                ) from None
            self._sse_json = False  # the first event is text: so is every later one
            return data
        if self._sse_json is None:
            # JSON scalars (a bare number, true) are more likely text than events
            self._sse_json = isinstance(value, dict | list | str)
            if not self._sse_json:
                return data
        return self._event_text(value)

    # -- bare JSON ----------------------------------------------------------------------

    def _take_json(self, text: str, final: bool) -> list[str]:
        deltas: list[str] = []
        pos = 0
        if self._value_scan is not None:
            # A value is still arriving: scan only the new text for its end.
            self._value.append(text)
            self._value_chars += len(text)
            if self._value_chars > MAX_PENDING_CHARS:
                raise MalformedResponseError("a JSON value in the stream is too big")
            if self._value_scan.end_in(text) is None:
                if final:
                    raise MalformedResponseError(
                        f"stream ended inside a JSON value: {_excerpt(self._value[0], 0)}"
                    )
                return deltas
            text, self._value, self._value_chars = "".join(self._value), [], 0
            self._value_scan = None
        end = len(text)
        while pos < end:
            if text[pos] not in '{["':
                start = _VALUE_START.search(text, pos)  # blank space between values
                if start is None:
                    break
                pos = start.start()
                if text[pos] not in '{["':
                    raise MalformedResponseError(
                        f"unexpected text in a JSON stream: {_excerpt(text, pos)}"
                    )
            try:
                value, pos = raw_decode(text, pos)
            except JSONTooDeepError:
                raise MalformedResponseError(
                    f"a JSON event nests too deeply: {_excerpt(text, pos)}"
                ) from None
            except ValueError:
                self._wait_for_value(text, pos, final)
                break
            self._events += 1
            delta = self._event_text(value)
            if delta:
                deltas.append(delta)
        return deltas

    def _wait_for_value(self, text: str, pos: int, final: bool) -> None:
        """A value at ``pos`` did not parse: keep it if it is unfinished, else raise."""
        scan = _ValueScan()
        if scan.end_in(text, pos) is not None:
            raise MalformedResponseError(f"invalid JSON in the stream: {_excerpt(text, pos)}")
        if final:
            raise MalformedResponseError(
                f"stream ended inside a JSON value: {_excerpt(text, pos)}"
            )
        self._value_scan = scan
        self._value = [text[pos:]]
        self._value_chars = len(self._value[0])

    def _event_text(self, value: Any) -> str | None:
        """The text of a JSON event, counting events and those that carried text."""
        self._json_events += 1
        text = text_of_event(value)
        if text is not None:
            self._text_events += 1
        return text


class _ValueScan:
    """Follows one JSON value through text that arrives in pieces, without parsing it.

    It only tracks strings and brackets, which is enough to know where a valid value
    ends; the value is parsed once, whole. Nesting past ``MAX_DEPTH`` is refused early.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._in_string = False
        self._escaped = False

    def end_in(self, text: str, pos: int = 0) -> int | None:
        """Where in ``text`` (continuing the text scanned before) the value ends, if it does."""
        end = len(text)
        while pos < end:
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                    pos += 1
                    continue
                match = _STRING_STOP.search(text, pos)
                if match is None:
                    return None
                pos = match.end()
                if text[match.start()] == "\\":
                    self._escaped = True
                    continue
                self._in_string = False
                if self._depth == 0:
                    return pos
                continue
            match = _JSON_STRUCTURE.search(text, pos)
            if match is None:
                return None
            pos = match.end()
            char = text[match.start()]
            if char == '"':
                self._in_string = True
            elif char in "[{":
                self._depth += 1
                if self._depth > MAX_DEPTH:
                    raise MalformedResponseError("a JSON event nests too deeply")
            else:
                self._depth -= 1
                if self._depth <= 0:
                    return pos
        return None


def text_of_event(value: Any) -> str | None:
    """The text delta carried by one decoded JSON event, None if it carries none.

    Walked without recursion; a list's text is its items' texts joined, and counts only
    if it is not empty.
    """
    if type(value) is dict:  # the common event, {"message": "..."}: no walk needed
        inner = _text_field(value)
        if type(inner) is str:
            return inner
    parts: list[str] = []
    found = False  # an explicit text (possibly empty) reached outside any list
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    while stack:
        item, depth, in_list = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedResponseError("a stream event nests too deeply")
        if isinstance(item, str):
            parts.append(item)
            found = found or not in_list
        elif isinstance(item, list):
            stack.extend((inner, depth + 1, True) for inner in reversed(item))
        elif isinstance(item, dict):
            inner = _text_field(item)
            if inner is not None:
                stack.append((inner, depth + 1, in_list))
    text = "".join(parts)
    return text if text or found else None


def _text_field(value: dict[str, Any]) -> Any:
    """What holds the text in one event object, None if nothing does."""
    for key in TEXT_KEYS:
        inner = value.get(key)
        if inner is None:
            continue
        if isinstance(inner, str | dict | list):
            return inner
        raise MalformedResponseError(
            f"stream event has a non-text {key!r}: {json.dumps(inner)[:100]}"
        )
    choices = value.get("choices")
    if isinstance(choices, list) and choices:
        return choices[0]
    for key in ERROR_KEYS:
        if value.get(key):
            raise StreamErrorEvent(f"the stream reported an error: {_error_text(value[key])}")
    return None


def _framing_of_start(start: str, *, final: bool) -> Framing | None:
    """The framing a body starting with ``start`` (blank space removed) has; None: wait."""
    if not start:
        return None
    if start[0] in '{["':
        return Framing.JSON
    lowered = start.lower()
    if lowered.startswith(HTML_PREFIXES):
        raise MalformedResponseError(f"the stream is an HTML page, not a reply: {start!r}")
    if start.startswith(SSE_FIELD_PREFIXES):
        return Framing.SSE
    if not final and any(p.startswith(lowered) for p in (*SSE_FIELD_PREFIXES, *HTML_PREFIXES)):
        return None  # too short to tell "data: ..." or "<html" from plain text yet
    return Framing.TEXT


def _error_text(value: Any) -> str:
    """The readable message of an error event (a JSON text or a decoded value)."""
    if isinstance(value, str):
        text: str = value
        try:
            value = loads(text)
        except ValueError:  # not JSON, or nested too deeply to read: show it as it is
            return text[:500]
    for _ in range(MAX_DEPTH):
        if not isinstance(value, dict):
            break
        key = next((k for k in ("message", "detail", "error") if k in value), None)
        if key is None:
            break
        value = value[key]
    if isinstance(value, str):
        return value[:500]
    return json.dumps(value)[:500]


def _excerpt(text: str, pos: int) -> str:
    snippet = text[pos : pos + 80]
    return repr(snippet + ("…" if len(text) > pos + 80 else ""))
