"""JSON parsing with a nesting limit, for every JSON value that comes from the network.

Python's ``json`` recurses once per nesting level, and so do ``repr``, ``json.dumps`` and
our own readers of the values it returns: a deeply nested body would exhaust the stack
(``RecursionError``) wherever it is first walked. Values nested deeper than
:data:`MAX_DEPTH` are refused here, with a ``ValueError`` like any other unusable JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 128
"""Deepest nesting accepted (serde_json's default limit); real replies nest a few levels."""

# A whole string (escapes included), or one bracket: strings are skipped in one match, so
# brackets inside them do not count. Exact on valid JSON, which is all it is run on.
_NESTING_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_DECODER = json.JSONDecoder()


class JSONTooDeepError(ValueError):
    """A JSON value nests deeper than :data:`MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested more than {MAX_DEPTH} levels deep")


def loads(document: str | bytes) -> Any:
    """``json.loads``, refusing values nested deeper than :data:`MAX_DEPTH`."""
    text = _as_text(document)
    try:
        value = json.loads(text)
    except RecursionError:  # json's own guard: deeper than the stack allows
        raise JSONTooDeepError() from None
    check_depth(text, 0, len(text))
    return value


def raw_decode(text: str, pos: int = 0) -> tuple[Any, int]:
    """``JSONDecoder.raw_decode`` at ``pos``, refusing values nested deeper than the limit."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise JSONTooDeepError() from None
    if text.count("[", pos, end) + text.count("{", pos, end) > MAX_DEPTH:  # else cannot be
        check_depth(text, pos, end)
    return value, end


def check_depth(text: str, start: int, end: int) -> None:
    """Raise :class:`JSONTooDeepError` if the JSON text in ``text[start:end]`` nests too deep.

    One pass, no recursion. Parsing first and checking the parsed span after keeps the
    common case to two C-level counts: a span with few brackets cannot nest deeply.
    """
    if text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH:
        return
    depth = 0
    for match in _NESTING_TOKEN.finditer(text, start, end):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise JSONTooDeepError()
        elif char != '"':
            depth -= 1


def value_end(text: str, start: int) -> int:
    """Where the value opening with the bracket at ``start`` closes (the text's end if never).

    Brackets are counted and strings skipped, without parsing: it finds the end of a value
    that was refused for its depth, so that nothing inside it is read again.
    """
    depth = 0
    for match in _NESTING_TOKEN.finditer(text, start):
        char = text[match.start()]
        if char in "[{":
            depth += 1
        elif char != '"':
            depth -= 1
            if depth <= 0:
                return match.end()
    return len(text)


def _as_text(document: str | bytes) -> str:
    if isinstance(document, str):
        return document
    # What json.loads does with bytes: UTF-8, -16 or -32 detected, a UTF-8 BOM dropped.
    return document.decode(json.detect_encoding(document), "surrogatepass")
