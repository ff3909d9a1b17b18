"""What the service sent, described from a recording: stream framing, ids, list and history shapes.

Pure functions over recorded bytes. The verdict reports these facts; the local server's replay
builds its answers from them.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from assisterr_core.transport import (
    TEXT_KEYS,
    AssisterrError,
    bounded_json_loads,
    bounded_json_raw_decode,
    parse_timestamp,
    text_of_event,
)

from .recording import Chunk, Exchange, RecordedResponse

STREAM_FORMATS = ("json", "ndjson", "sse-json", "sse-json-string", "sse-text", "text")
"""The stream formats the local server speaks; a recording may show any of them."""

_LINE = re.compile(rb"\r\n|\r|\n")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_JSON_STYLES = ((", ", ": ", True), (",", ":", True), (", ", ": ", False), (",", ":", False))


@dataclass(frozen=True)
class JsonStyle:
    """How the service writes JSON: separators and whether non-ASCII is escaped."""

    item_separator: str = ", "
    key_separator: str = ": "
    ensure_ascii: bool = True

    def dumps(self, value: Any) -> str:
        return json.dumps(value, separators=(self.item_separator, self.key_separator),
                          ensure_ascii=self.ensure_ascii)


@dataclass(frozen=True)
class StreamWire:
    """A recorded stream, taken apart: its framing, its events and its timing.

    ``units_per_chunk`` counts, per chunk, the units it carried (the bytes before the first
    text event, each text event with what follows it, the bytes after the last one); it is
    None when chunks cut through events, and then ``chunk_sizes`` is the pattern.
    """

    format: str  # one of STREAM_FORMATS, or "html", "empty", "unreadable"
    content_type: str
    deltas: tuple[str, ...] = ()
    text_key: str | None = None
    template: Mapping[str, Any] | None = None  # the first text event, when it is an object
    json_style: JsonStyle = JsonStyle()
    separator: str = ""  # after each bare JSON value
    line_break: str = "\n"
    data_prefix: str = "data: "
    event_name: str | None = None
    prologue: bytes = b""
    epilogue: bytes = b""
    event_ends: tuple[int, ...] = ()  # the byte offset where each text event's unit ends
    units_per_chunk: tuple[int, ...] | None = None
    chunk_sizes: tuple[int, ...] = ()
    first_gap_ms: float = 0.0
    gaps_ms: tuple[float, ...] = ()
    problem: str | None = None

    def summary(self) -> str:
        """One line for people: the framing, its end marker and how it was chunked."""
        key = json.dumps(self.text_key)
        shape = {
            "json": f"bare JSON objects {{{key}: ...}}, one after another"
            if self.text_key else "bare JSON strings, one after another",
            "ndjson": f"NDJSON lines {{{key}: ...}}",
            "sse-json": f"SSE, data: {{{key}: ...}}",
            "sse-json-string": "SSE, data: a JSON string",
            "sse-text": "SSE, data: plain text",
            "text": "plain text",
        }.get(self.format, self.problem or self.format)
        parts = [f"{self.format}: {shape}" if self.format in STREAM_FORMATS else shape]
        if self.event_name:
            parts.append(f"event: {self.event_name}")
        if self.problem and self.format in STREAM_FORMATS:
            parts.append(self.problem)
        elif self.epilogue.strip():
            parts.append(f"ends with {_show(self.epilogue)}")
        elif self.format in STREAM_FORMATS:
            parts.append("no end marker")
        if self.line_break == "\r\n" and self.format.startswith("sse"):
            parts.append("CRLF line breaks")
        parts.append(f"Content-Type {self.content_type or '(none)'}")
        return "; ".join(parts)

    def chunking(self) -> str:
        """How events were spread over chunks (a structure, not a timing)."""
        if self.format not in STREAM_FORMATS or not self.chunk_sizes:
            return "-"
        if self.units_per_chunk is None:
            return "chunks cut through events"
        counts = sorted(set(self.units_per_chunk))
        if counts == [1]:
            return "one event per chunk"
        return "events per chunk: " + ", ".join(str(c) for c in counts)


def describe_stream(response: RecordedResponse) -> StreamWire:
    """Take a recorded stream apart; what cannot be read is described, never raised."""
    chunks = response.pieces
    body = response.body
    content_type = response.content_type
    timing = _timing(response.headers_ms, chunks)
    if not body.strip():
        return StreamWire("empty", content_type, problem="an empty body", **timing)
    if "html" in content_type.lower() or body.lstrip()[:15].lower().startswith(
            (b"<!doctype html", b"<html")):
        return StreamWire("html", content_type, problem="an HTML page, not a stream", **timing)
    start = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    try:
        if start in (b"{", b"[", b'"'):
            wire = _bare_json(body, content_type)
        elif _SSE_START.match(body.lstrip(b" \t\r\n")):
            wire = _sse(body, content_type)
        else:
            wire = _plain_text(chunks, content_type)
    except (ValueError, AssisterrError) as exc:  # broken JSON or UTF-8, an error event
        return StreamWire("unreadable", content_type, problem=f"unreadable: {exc}", **timing)
    return _with_units(wire, chunks, timing)


_SSE_START = re.compile(rb"(data|event|id|retry)(:|\r|\n)|:")


@dataclass(frozen=True)
class _Block:
    """One framed value or SSE event: its byte span, its text delta (if any), its raw data."""

    start: int
    end: int
    delta: str | None
    value: Any = None
    raw: str = ""
    event: str = ""


def _bare_json(body: bytes, content_type: str) -> StreamWire:
    text = body.decode("utf-8")
    blocks: list[_Block] = []
    separator: str | None = None
    pos = _skip_space(text, 0)
    byte = len(text[:pos].encode())
    problem = None
    while pos < len(text):
        try:
            value, after = bounded_json_raw_decode(text, pos)
        except ValueError:
            problem = f"ends inside a JSON value at byte {byte}"
            break
        following = _skip_space(text, after)
        end = byte + len(text[pos:following].encode())
        blocks.append(_Block(byte, end, text_of_event(value), value, text[pos:after]))
        if separator is None:
            separator = text[after:following]
        pos, byte = following, end
    name = "ndjson" if "\n" in (separator or "") else "json"
    return _from_blocks(name, content_type, body, blocks, problem=problem,
                        separator="\n" if name == "ndjson" else separator or "")


def _sse(body: bytes, content_type: str) -> StreamWire:
    blocks: list[_Block] = []
    kind: str | None = None
    for start, end, data, event in _sse_blocks(body):
        if data is None or data.strip() == "[DONE]":
            continue
        value: Any = data
        if kind is None:  # the first event decides, as the client's decoder does
            kind = "sse-text"
            if data.strip()[:1] in ("{", '"', "["):
                try:
                    value = bounded_json_loads(data)
                    kind = "sse-json-string" if isinstance(value, str) else "sse-json"
                except ValueError:
                    pass
        elif kind != "sse-text":
            value = bounded_json_loads(data)
        delta = value if kind == "sse-text" else text_of_event(value)
        blocks.append(_Block(start, end, delta or None, value, data.strip(), event))
    prefix = "data:" if re.search(rb"(^|[\r\n])data:[^ ]", body) else "data: "
    return _from_blocks(kind or "sse-text", content_type, body, blocks,
                        line_break="\r\n" if b"\r\n" in body else "\n", data_prefix=prefix)


def _sse_blocks(body: bytes) -> list[tuple[int, int, str | None, str]]:
    """SSE events as (start, end, data or None, event name); a block ends at a blank line."""
    blocks: list[tuple[int, int, str | None, str]] = []
    start: int | None = None
    data: list[str] = []
    event = ""
    pos = 0
    lines = [(m.start(), m.end()) for m in _LINE.finditer(body)]
    if not lines or lines[-1][1] < len(body):
        lines.append((len(body), len(body)))  # a last line without its line break
    for line_end, next_start in lines:
        line = body[pos:line_end]
        start = pos if start is None else start
        if line.startswith(b":"):
            pass
        elif line:
            name, _, value = line.decode("utf-8").partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
        if not line or next_start == len(body):
            blocks.append((start, next_start, "\n".join(data) if data else None, event))
            start, data, event = None, [], ""
        pos = next_start
    return blocks


def _plain_text(chunks: Sequence[Chunk], content_type: str) -> StreamWire:
    blocks, pos = [], 0
    for chunk in chunks:
        blocks.append(_Block(pos, pos + len(chunk.data), chunk.data.decode("utf-8", "ignore")))
        pos += len(chunk.data)
    return _from_blocks("text", content_type, b"".join(c.data for c in chunks), blocks)


def _from_blocks(
    name: str, content_type: str, body: bytes, blocks: list[_Block], **fields: Any
) -> StreamWire:
    """The wire seen as units: the bytes before the first text event, each text event
    (with any non-text events after it), and the bytes after the last one."""
    texts = [b for b in blocks if b.delta]
    if not texts:
        return StreamWire(name, content_type, prologue=body, **fields)
    first = texts[0]
    ends = [following.start for following in texts[1:]] + [texts[-1].end]
    return StreamWire(
        name, content_type,
        deltas=tuple(str(b.delta) for b in texts),
        text_key=_text_key(first.value),
        template=first.value if isinstance(first.value, dict) else None,
        json_style=_json_style(first.value, first.raw) if name != "text" else JsonStyle(),
        event_name=first.event or None,
        prologue=body[:first.start],
        epilogue=body[texts[-1].end:],
        event_ends=tuple(ends),
        **fields,
    )


def _with_units(wire: StreamWire, chunks: Sequence[Chunk], timing: dict[str, Any]) -> StreamWire:
    """Add how the units were spread over the chunks, when chunk ends fall between units."""
    total = sum(len(c.data) for c in chunks)
    unit_ends = ([len(wire.prologue)] if wire.prologue else []) + list(wire.event_ends)
    if wire.epilogue:
        unit_ends.append(total)
    chunk_ends, pos = [], 0
    for chunk in chunks:
        pos += len(chunk.data)
        chunk_ends.append(pos)
    units: tuple[int, ...] | None = None
    if wire.deltas and set(chunk_ends) <= set(unit_ends):
        unit_ends.sort()
        counts, seen = [], 0
        for end in chunk_ends:  # the units that end in this chunk
            reached = bisect.bisect_right(unit_ends, end, lo=seen)
            counts.append(reached - seen)
            seen = reached
        units = tuple(counts)
    return replace(wire, units_per_chunk=units, **timing)


def _timing(headers_ms: float, chunks: Sequence[Chunk]) -> dict[str, Any]:
    times = [c.at_ms for c in chunks]
    return {
        "chunk_sizes": tuple(len(c.data) for c in chunks),
        "first_gap_ms": max(0.0, times[0] - headers_ms) if times else 0.0,
        "gaps_ms": tuple(max(0.0, b - a) for a, b in itertools.pairwise(times)),
    }


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _text_key(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in TEXT_KEYS if isinstance(value.get(k), str)), None)
    return None


def _json_style(value: Any, raw: str) -> JsonStyle:
    """The serialisation options that reproduce ``raw`` exactly (the default if none does)."""
    for items, keys, ascii_only in _JSON_STYLES:
        style = JsonStyle(items, keys, ascii_only)
        if style.dumps(value) == raw:
            return style
    return JsonStyle()


def _show(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= 40 else text[:39] + "…")


def session_id_form(session_id: str) -> str:
    """"digits", "24-hex" (a MongoDB ObjectId), "uuid" or "other"."""
    if session_id.isdigit():
        return "digits"
    if len(session_id) == 24 and all(c in "0123456789abcdefABCDEF" for c in session_id):
        return "24-hex"
    if _UUID.fullmatch(session_id):
        return "uuid"
    return "other"


def history_order(payload: Any) -> str:
    """"newest first", "oldest first" or "unknown", from the entries' timestamps."""
    if not isinstance(payload, list):
        return "unknown"
    stamps = []
    for item in payload:
        try:
            stamp = parse_timestamp(item.get("created_at")) if isinstance(item, dict) else None
        except ValueError:
            stamp = None
        if stamp is not None:
            stamps.append(stamp)
    if len(stamps) < 2 or stamps[0] == stamps[-1]:
        return "unknown"
    return "newest first" if stamps[0] > stamps[-1] else "oldest first"


def list_shape(payload: Any) -> str:
    """"objects", "id strings", "empty" or "other"."""
    if not isinstance(payload, list):
        return "other"
    if not payload:
        return "empty"
    if all(isinstance(item, dict) for item in payload):
        return "objects"
    if all(isinstance(item, str | int) and not isinstance(item, bool) for item in payload):
        return "id strings"
    return "other"


def slash_handling(exchange: Exchange) -> str:
    """What the service does with a path that lacks its trailing slash."""
    if exchange.redirects:
        first = exchange.redirects[0]
        location = first.header("Location") or ""
        try:
            target = urlsplit(location).path
        except ValueError:  # not a URL at all (an unclosed IPv6 bracket)
            target = location
        where = "the path with its slash" if target == exchange.path + "/" else repr(target)
        return f"redirects ({first.status}) to {where}"
    if exchange.response is None:
        return f"no answer ({exchange.error or exchange.skipped})"
    status = exchange.response.status
    return "accepted" if status < 300 else f"refused (HTTP {status})"


def body_shape(response: RecordedResponse) -> str:
    """A short description of a body's form, e.g. 'JSON {"detail": list}'."""
    text = response.body.strip()
    if not text:
        return "empty body"
    try:
        value = bounded_json_loads(text)
    except ValueError:
        if "html" in response.content_type.lower() or text[:1] == b"<":
            return "HTML page"
        return "plain text"
    if isinstance(value, dict):
        fields = ", ".join(f'"{k}": {_kind(v)}' for k, v in list(value.items())[:3])
        return "JSON {" + fields + ("" if len(value) <= 3 else ", ...") + "}"
    return f"JSON {_kind(value)}"


def rate_limit_headers(responses: Sequence[RecordedResponse]) -> list[str]:
    """Every distinct header that speaks of rate limits (names only, values vary)."""
    names: dict[str, None] = {}
    for response in responses:
        for name, _ in response.headers:
            lowered = name.lower()
            if "ratelimit" in lowered or "rate-limit" in lowered or lowered == "retry-after":
                names.setdefault(lowered)
    return list(names)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "number", float: "number", str: "string", list: "list",
            dict: "object"}.get(type(value), type(value).__name__)
