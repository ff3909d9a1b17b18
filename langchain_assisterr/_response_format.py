"""``response_format``, as OpenAI-style code binds it, read into the JSON answer the query asks
for; and the reply's JSON answer picked out of what the SLM wrote. Pure code.

Accepted: ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` (what
``ProviderStrategy`` binds), ``{"type": "json_object"}``, ``{"type": "text"}`` (no JSON),
``{"name", "schema"}``, a JSON schema, a pydantic model or a TypedDict. ``strict`` cannot be
enforced by a text-only API: the schema is asked for and the reply is checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assisterr_core import InvalidRequestError
from assisterr_core.chat import answer_problem, parse_json_answer

_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean")
_SHAPES = ('{"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}, '
           '{"type": "json_object"}, {"type": "text"}, a JSON schema or a pydantic model')


@dataclass(frozen=True)
class JsonAnswer:
    """A JSON answer asked of the model: one that fits ``schema``, or any JSON object."""

    schema: Mapping[str, Any] | None = None

    @classmethod
    def from_response_format(cls, response_format: Any) -> JsonAnswer | None:
        """The JSON answer a ``response_format`` asks for; None for none (or plain text)."""
        if response_format is None:
            return None
        if isinstance(response_format, type):  # a pydantic model or a TypedDict
            from langchain_core.utils.function_calling import convert_to_json_schema

            try:
                return cls(convert_to_json_schema(response_format))
            except (ValueError, TypeError) as error:
                raise _refused(response_format) from error
        if not isinstance(response_format, Mapping):
            raise _refused(response_format)
        kind = response_format.get("type")
        if kind == "text":
            return None
        if kind == "json_object":
            return cls(None)
        if kind == "json_schema":
            nested = response_format.get("json_schema", response_format)  # or our flat shape
            schema = nested.get("schema") if isinstance(nested, Mapping) else None
            if not isinstance(schema, Mapping):
                raise InvalidRequestError(
                    "response_format", 'a "json_schema" format needs json_schema.schema, '
                    "a JSON schema object")
            return cls(schema)
        if isinstance(response_format.get("schema"), Mapping) and "name" in response_format:
            return cls(response_format["schema"])
        if kind in _JSON_TYPES or (kind is None and "properties" in response_format):
            return cls(response_format)  # a JSON schema itself
        raise _refused(response_format)

    def fits(self, value: Any) -> str | None:
        """What keeps ``value`` from being the answer (light check), or None when it fits."""
        return answer_problem(value, self.schema)

    def answer_text(self, reply: str) -> str | None:
        """The reply's first JSON value that fits, as JSON text (the reply itself when it is
        exactly that); None when the reply holds none."""
        def accept(value: Any) -> Any:
            if problem := self.fits(value):
                raise ValueError(problem)
            return value

        try:
            value = parse_json_answer(reply, accept=accept)
        except ValueError:
            return None
        try:
            if json.loads(reply) == value:
                return reply.strip()
        except ValueError:
            pass
        return json.dumps(value, ensure_ascii=False)


def _refused(response_format: Any) -> InvalidRequestError:
    shown = repr(response_format)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return InvalidRequestError("response_format", f"{shown} is not understood; use {_SHAPES}")
