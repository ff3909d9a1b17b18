"""How the local server puts a streamed reply on the wire: the framing, and the writes it makes.

A :class:`StreamStyle` frames each delta (bare JSON, NDJSON, SSE with JSON or text data, plain
text); a :class:`ChunkPattern` says how the reply is cut into deltas and spread over writes.
The built-in formats and a replayed recording are both expressed this way. No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StreamStyle:
    """The framing of one stream.

    ``framing`` is "json" (bare JSON values, ``separator`` after each), "sse" or "text";
    ``data`` is "object" (``template`` with ``text_key`` set to the delta), "string" (a JSON
    string) or "text". ``prologue`` and ``epilogue`` go before the first and after the last
    frame (an end marker such as ``data: [DONE]``).
    """

    content_type: str
    framing: str
    data: str = "object"
    text_key: str = "message"
    template: Mapping[str, Any] = field(default_factory=dict)
    separator: str = ""
    line_break: str = "\n"
    data_prefix: str = "data: "
    event_name: str | None = None
    json_separators: tuple[str, str] = (", ", ": ")
    ensure_ascii: bool = True
    prologue: bytes = b""
    epilogue: bytes = b""

    def frame(self, delta: str) -> bytes:
        """One delta, framed."""
        if self.framing == "text":
            return delta.encode()
        if self.data == "text":
            payload_lines = delta.split("\n")
        else:
            value: Any = delta
            if self.data == "object":
                value = dict(self.template)
                value[self.text_key] = delta
            payload_lines = [json.dumps(value, separators=self.json_separators,
                                        ensure_ascii=self.ensure_ascii)]
        if self.framing == "json":
            return (payload_lines[0] + self.separator).encode()
        lines = [f"event: {self.event_name}"] if self.event_name else []
        lines += [self.data_prefix + line for line in payload_lines]
        return "".join(line + self.line_break for line in lines).encode() \
            + self.line_break.encode()

    def units(self, deltas: Sequence[str]) -> list[bytes]:
        """The stream as units: the prologue, each framed delta, the epilogue."""
        framed = [self.frame(delta) for delta in deltas]
        return [unit for unit in (self.prologue, *framed, self.epilogue) if unit]


_DONE = b"data: [DONE]\n\n"
BUILT_IN_STYLES: dict[str, StreamStyle] = {
    "json": StreamStyle("text/event-stream", "json"),
    "ndjson": StreamStyle("application/x-ndjson", "json", separator="\n"),
    "sse-json": StreamStyle("text/event-stream", "sse", epilogue=_DONE),
    "sse-json-string": StreamStyle("text/event-stream", "sse", data="string", epilogue=_DONE),
    "sse-text": StreamStyle("text/event-stream", "sse", data="text", epilogue=_DONE),
    "text": StreamStyle("text/plain", "text", data="text"),
}
"""The local server's stream formats (``EmulatorConfig.stream_format``)."""


@dataclass(frozen=True)
class ChunkPattern:
    """How a reply is cut and sent. Every sequence is used in turn, from the start again.

    ``delta_chars``: characters per delta (empty: the responder's own cut, word by word).
    ``units_per_write``: units per write; or ``bytes_per_write`` when writes cut through
    frames. ``first_gap`` (before the first write) and ``gaps`` (between writes) in seconds.
    """

    delta_chars: tuple[int, ...] = ()
    units_per_write: tuple[int, ...] = (1,)
    bytes_per_write: tuple[int, ...] = ()
    first_gap: float = 0.0
    gaps: tuple[float, ...] = ()

    def deltas(self, text: str) -> list[str]:
        """``text`` cut into deltas of the pattern's sizes (whole, if it has none)."""
        if not any(size > 0 for size in self.delta_chars):
            return [text]
        return [text[part] for part in _slices(len(text), self.delta_chars)] or [text]

    def writes(self, units: Sequence[bytes]) -> list[bytes]:
        """The units grouped (or their bytes cut) into the writes the pattern makes."""
        if any(size > 0 for size in self.bytes_per_write):
            body = b"".join(units)
            return [body[part] for part in _slices(len(body), self.bytes_per_write)]
        return [b"".join(units[part]) for part in _slices(len(units), self.units_per_write)]

    def gap_before(self, index: int) -> float:
        """Seconds to wait before write ``index``."""
        if index == 0:
            return self.first_gap
        return self.gaps[(index - 1) % len(self.gaps)] if self.gaps else 0.0


def _slices(length: int, sizes: Sequence[int]) -> list[slice]:
    """Consecutive slices of ``length`` items, of the given sizes in turn (one each if none)."""
    usable = [size for size in sizes if size > 0] or [1]
    slices, pos, turn = [], 0, 0
    while pos < length:
        size = usable[turn % len(usable)]
        slices.append(slice(pos, pos + size))
        pos, turn = pos + size, turn + 1
    return slices
