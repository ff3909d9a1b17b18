"""Tool calling and JSON answers over an API that has neither. Pure code.

The Assisterr API takes one query and returns text, so tools travel as instructions in the
query and calls come back as JSON in the text. :func:`tool_instructions` writes the
protocol (overridable: pass your own ``template``); :func:`parse_tool_reply` reads a reply
forgivingly (code fences, prose around the JSON, one or several calls) and sorts each call
into valid or invalid, never raising on what the model wrote.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._bounded_json import JSONTooDeepError, loads, raw_decode, value_end

TOOL_PROTOCOL = """You can use these tools:

{tools}

{choice}
To call tools, reply with only this JSON object and nothing else:
{{"tool_calls": [{{"name": "<tool name>", "arguments": {{<arguments as JSON>}}}}]}}
List several calls in "tool_calls" to call several tools at once.
Tool results come back in the conversation as "Tool result" lines: use them to answer."""

CHOICES = {
    "auto": "Call a tool when it helps; otherwise answer the user directly in plain text.",
    "any": "You must call at least one of the tools now.",
    "required": "You must call at least one of the tools now.",
}

JSON_PROTOCOL = """Answer with only a JSON value that matches this JSON schema, and nothing else:
{schema}"""

JSON_OBJECT_PROTOCOL = "Answer with only a JSON object, and nothing else."
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


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: a name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for, with arguments that fit the tool's schema."""

    name: str
    arguments: dict[str, Any]
    id: str


@dataclass(frozen=True)
class InvalidToolCall:
    """A call that names an unknown tool or carries unusable arguments."""

    name: str | None
    arguments: str
    id: str
    error: str


@dataclass(frozen=True)
class ToolReply:
    """A reply split into its prose and the calls it contains."""

    text: str
    calls: list[ToolCall]
    invalid: list[InvalidToolCall]


def tool_instructions(
    tools: Sequence[ToolSpec], tool_choice: str | None = None, template: str = TOOL_PROTOCOL
) -> str:
    """The protocol text for ``tools``; ``tool_choice`` is auto, any/required or a tool name.

    Each tool is one item of the listing: its description is put on one line.
    """
    listing = "\n".join(
        f"- {tool.name}: {' '.join(tool.description.split()) or '(no description)'}\n"
        f"  arguments (JSON schema): {json.dumps(dict(tool.parameters), sort_keys=True)}"
        for tool in tools
    )
    choice = CHOICES.get(tool_choice or "auto")
    if choice is None:
        choice = f'You must call the tool "{tool_choice}" now.'
    return template.format(tools=listing, choice=choice)


def json_instructions(schema: Mapping[str, Any], template: str = JSON_PROTOCOL) -> str:
    """The instruction that asks for a JSON answer matching ``schema``."""
    return template.format(schema=json.dumps(dict(schema), sort_keys=True))


def render_tool_calls(calls: Sequence[Mapping[str, Any]]) -> str:
    """Earlier calls written back in the protocol's own form, for the next turn's transcript."""
    payload = [{"name": c["name"], "arguments": c.get("args", c.get("arguments", {}))}
               for c in calls]
    return json.dumps({"tool_calls": payload}, ensure_ascii=False)


def parse_tool_reply(text: str, tools: Sequence[ToolSpec]) -> ToolReply:
    """Split a reply into prose and tool calls; what cannot be used lands in ``invalid``."""
    raw_calls: list[Any] = []
    prose_parts: list[str] = []
    pos = 0
    for value, start, end in _json_candidates(text):
        calls_here = _as_calls(value)
        if calls_here is None:
            continue
        raw_calls += calls_here  # several call objects in one reply: keep every call
        prose_parts.append(text[pos:start])
        pos = end
    if not raw_calls:
        return ToolReply(text=text, calls=[], invalid=[])
    prose_parts.append(text[pos:])
    prose = " ".join(part.strip() for part in prose_parts if part.strip())
    known = {tool.name: tool for tool in tools}
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        name, arguments = _name_and_arguments(raw)
        error = _call_problem(name, arguments, known)
        if error is None and isinstance(name, str) and isinstance(arguments, dict):
            calls.append(ToolCall(name=name, arguments=arguments, id=call_id))
        else:
            shown = arguments if isinstance(arguments, str) else json.dumps(arguments)
            invalid.append(InvalidToolCall(
                name=name if isinstance(name, str) else None,
                arguments=shown, id=call_id, error=error or "unusable call",
            ))
    return ToolReply(text=prose, calls=calls, invalid=invalid)


def json_values(text: str) -> list[Any]:
    """Every JSON object or array in a reply: fenced blocks if any, else those among prose."""
    return [value for value, _, _ in _json_candidates(text)]


def parse_json_answer(text: str, accept: Callable[[Any], object] | None = None) -> Any:
    """The first JSON value in a reply that ``accept`` takes (any, by default).

    ``accept`` may return a converted value or raise to refuse a candidate, so that a
    stray ``[1]`` before the real answer is skipped. ValueError if no candidate is taken.
    """
    problems: list[str] = []
    for value in json_values(text):
        if accept is None:
            return value
        try:
            return accept(value)
        except Exception as exc:  # a refused candidate: try the next one
            problems.append(f"{type(exc).__name__}: {exc}"[:300])
    detail = f" ({problems[0]})" if problems else ""
    raise ValueError(f"no JSON value in the reply could be used{detail}: {text[:200]!r}")


def _json_candidates(text: str) -> list[tuple[Any, int, int]]:
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


def _as_calls(value: Any) -> list[Any] | None:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        return list(value["tool_calls"])
    if isinstance(value, dict) and "name" in value and _arguments_key(value):
        return [value]
    if isinstance(value, list) and value and all(
        isinstance(item, dict) and "name" in item for item in value
    ):
        return value
    return None


def _arguments_key(raw: Mapping[str, Any]) -> str | None:
    for key in ("arguments", "args", "parameters", "input"):
        if key in raw:
            return key
    return None


def _name_and_arguments(raw: Any) -> tuple[Any, Any]:
    if not isinstance(raw, dict):
        return None, json.dumps(raw)
    if isinstance(raw.get("function"), dict):  # the OpenAI shape, in case a model copies it
        raw = raw["function"]
    key = _arguments_key(raw)
    arguments = raw.get(key, {}) if key else {}
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # unusable arguments are reported as such
            arguments = loads(arguments) if arguments.strip() else {}
    return raw.get("name"), arguments


def _call_problem(name: Any, arguments: Any, known: Mapping[str, ToolSpec]) -> str | None:
    if not isinstance(name, str) or not name:
        return "the call has no tool name"
    if name not in known:
        return f"unknown tool {name!r}; available: {', '.join(sorted(known)) or 'none'}"
    if not isinstance(arguments, dict):
        return f"arguments of {name!r} are not a JSON object"
    return schema_problem(arguments, known[name].parameters)


def schema_problem(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """A light check of an argument object: required keys and top-level JSON types."""
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
