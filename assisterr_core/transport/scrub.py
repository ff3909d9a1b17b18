"""Masks the API key wherever an error holds it, whole or in pieces: a server may echo the
key, and the excerpts we quote of what it sent may cut the key anywhere.

Any run of :data:`FRAGMENT_CHARS` characters of the key is masked (for a key shorter than twice
that, runs of half the key but at least :data:`MIN_FRAGMENT_CHARS`, so that the pieces of a
short test key such as ``anything`` are not everyday words), in the key as written raw,
JSON-escaped, percent-encoded or in a ``repr``. The scan is linear: a search for any of the
key's runs of that size, each match then extended while the text goes on with the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

MASK = "**********"
FRAGMENT_CHARS = 8
MIN_FRAGMENT_CHARS = 6


def fragment_chars(secret: str) -> int:
    """How many of the key's characters in a row give part of it away."""
    if len(secret) >= 2 * FRAGMENT_CHARS:
        return FRAGMENT_CHARS
    return min(len(secret), max(MIN_FRAGMENT_CHARS, len(secret) // 2))


def scrub_secret(error: BaseException, secret: str) -> None:
    """Mask ``secret``, and every fragment of it, wherever ``error`` holds it as text: its
    args and every attribute, in nested dicts, lists and tuples too."""
    if not secret:
        return
    fragments = KeyFragments.of(secret)
    error.args = fragments.masked(error.args)
    for name, value in list(vars(error).items()):
        masked = fragments.masked(value)
        if masked is not value:
            setattr(error, name, masked)


@dataclass(frozen=True)
class KeyFragments:
    """The runs of a key's characters that are long enough to give part of it away."""

    size: int
    runs: frozenset[str]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, secret: str) -> KeyFragments:
        size = fragment_chars(secret)
        forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), repr(secret)[1:-1]}
        runs = frozenset(form[i:i + size] for form in forms for i in range(len(form) - size + 1))
        alternatives = "|".join(re.escape(run) for run in sorted(runs))
        return cls(size, runs, re.compile(alternatives))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` holds fragments of the key: merged (start, end) spans, in order."""
        spans: list[tuple[int, int]] = []
        size, runs, length = self.size, self.runs, len(text)
        pos = 0
        while (match := self.pattern.search(text, pos)) is not None:
            start, end = match.span()
            while end < length and text[end - size + 1:end + 1] in runs:
                end += 1  # the key goes on
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
            pos = end - size + 1  # a run may start inside the last one and go past it
        return spans

    def masked(self, value: Any) -> Any:
        """``value`` with every fragment masked; the same object when it held none."""
        if isinstance(value, str):
            spans = self.spans(value)
            if not spans:
                return value
            parts, pos = [], 0
            for start, end in spans:
                parts += [value[pos:start], MASK]
                pos = end
            parts.append(value[pos:])
            return "".join(parts)
        if isinstance(value, bytes | bytearray):
            text = value.decode("utf-8", "replace")
            masked_text = self.masked(text)
            return value if masked_text is text else masked_text.encode("utf-8")
        if isinstance(value, Mapping):
            items = [(self.masked(k), self.masked(v)) for k, v in value.items()]
            if all(k is a and v is b for (k, v), (a, b) in zip(items, value.items(), strict=True)):
                return value
            return dict(items)
        if isinstance(value, list | tuple):
            masked = [self.masked(item) for item in value]
            if all(m is item for m, item in zip(masked, value, strict=True)):
                return value
            return type(value)(masked) if type(value) in (list, tuple) else masked
        return value
