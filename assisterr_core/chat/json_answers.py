"""JSON answers over an API that returns text: the instruction that asks for one, and the one
forgiving reader of JSON in a reply that both integrations use. Pure code.

A reply may fence its JSON, wrap it in prose, or hold several values; :func:`parse_json_answer`
takes the first one that a validator accepts, so a stray ``[1]`` before the answer is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..transport.bounded_json import JSONTooDeepError, loads, raw_decode, value_end
from .caller_json import caller_json

T = TypeVar("T")

JSON_PROMPT_TEMPLATE = (
    "Answer with only a JSON value that matches this JSON schema, and nothing else:\n{schema}"
)
"""The instruction for a JSON answer: a ``str.format`` template with ``{schema}``."""

JSON_OBJECT_PROMPT = "Answer with only a JSON object, and nothing else."
"""JSON mode without a schema: the prompt itself describes the shape."""

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_VALUE_OPENER = re.compile(r"[\[{]")
_FIRST_WINDOW = 256
_CUT_MARGIN = 64  # a parse error this close to a window's end may be the cut's, not the text's
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class NoJSONAnswerError(ValueError):
    """No JSON value in a reply was taken. ``refusal``: the validator's error for the first
    candidate (None when the reply held no JSON value at all)."""

    def __init__(self, text: str, refusal: Exception | None) -> None:
        self.refusal = refusal
        detail = f" ({f'{type(refusal).__name__}: {refusal}'[:300]})" if refusal else ""
        super().__init__(f"no JSON value in the reply could be used{detail}: {text[:200]!r}")


def json_instructions(schema: Mapping[str, Any], template: str = JSON_PROMPT_TEMPLATE) -> str:
    """The instruction that asks for a JSON answer matching ``schema``."""
    return template.format(schema=caller_json(dict(schema), "schema", sort_keys=True))


def parse_json_answer(text: str, accept: Callable[[Any], T] | None = None) -> T | Any:
    """The first JSON value in a reply that ``accept`` takes (any, by default).

    ``accept`` returns the answer (a converted value, a model instance) or raises to refuse
    a candidate. :class:`NoJSONAnswerError` when no candidate is taken.
    """
    refusal: Exception | None = None
    for value in json_values(text):
        if accept is None:
            return value
        try:
            return accept(value)
        except Exception as exc:  # a refused candidate: try the next one
            refusal = refusal or exc
    raise NoJSONAnswerError(text, refusal)


def answer_problem(value: Any, schema: Mapping[str, Any] | None) -> str | None:
    """What keeps ``value`` from being the answer ``schema`` asks for (a light check), or
    None when it fits. No schema: any JSON object."""
    if schema is None:
        return None if isinstance(value, dict) else (
            f"expected a JSON object, got {type(value).__name__}")
    if schema.get("type", "object") != "object":
        return None
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    return schema_problem(value, schema)


def schema_problem(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """A light check of an object: required keys and top-level JSON types."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    missing = [key for key in schema.get("required", []) if key not in arguments]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    if schema.get("additionalProperties") is False:
        extra = [key for key in arguments if key not in properties]
        if extra:
            return f"unexpected argument(s): {', '.join(extra)}"
    for key, value in arguments.items():
        sub = properties.get(key)  # JSON Schema allows true/false as a property schema
        expected = sub.get("type") if isinstance(sub, dict) else None
        names = expected if isinstance(expected, list) else [expected] if expected else []
        allowed = tuple(t for n in names for t in _JSON_TYPES.get(n, ()))
        if allowed and not isinstance(value, allowed):
            return f"argument {key!r} should be {' or '.join(names)}"
        if allowed and isinstance(value, bool) and bool not in allowed:
            return f"argument {key!r} should be {' or '.join(names)}"
    return None


def json_values(text: str) -> list[Any]:
    """Every JSON object or array in a reply: fenced blocks if any, else those among prose."""
    return [value for value, _, _ in json_candidates(text)]


def json_candidates(text: str) -> list[tuple[Any, int, int]]:
    """JSON values in ``text`` with their spans: fenced blocks first, then bare ones."""
    found: list[tuple[Any, int, int]] = []
    for match in _FENCE.finditer(text):
        try:
            found.append((loads(match.group(1)), match.start(), match.end()))
        except ValueError:  # not JSON, or nested too deeply: unusable either way
            continue
    if found:
        return found
    pos = 0
    while (opener := _VALUE_OPENER.search(text, pos)) is not None:
        start = opener.start()
        try:
            value, end = _decode_at(text, start)
        except JSONTooDeepError:
            # Skipped whole, with the values inside it: nothing in it is read twice.
            pos = value_end(text, start)
            continue
        except ValueError:
            pos = start + 1
            continue
        found.append((value, start, end))
        pos = end
    return found


def _decode_at(text: str, start: int) -> tuple[Any, int]:
    """The JSON value opening at ``start``, and where it ends; ValueError if there is none.

    Parsed on growing windows of the text: json's errors count the lines before the error,
    so a failure on the whole text would cost the whole text at every bracket of the prose.
    """
    window = _FIRST_WINDOW
    while True:
        stop = start + window
        piece = text[start:stop]
        try:
            value, end = raw_decode(piece)
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(piece) - _CUT_MARGIN or exc.msg.startswith("Unterminated")
            if stop >= len(text) or not cut_short:
                raise
            window *= 4
            continue
        return value, start + end
