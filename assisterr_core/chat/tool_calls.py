"""Tool calling over an API that has none: tools offered as instructions in the query, calls
read back from the reply's text. Pure code.

:func:`tool_instructions` writes the instructions (overridable: pass your own ``template``);
:func:`parse_tool_reply` reads a reply forgivingly (code fences, prose around the JSON, one or
several calls) and sorts each call into valid or invalid, never raising on what the model
wrote. :func:`tool_choice_name` reads a framework's ``tool_choice`` for both integrations.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..transport.bounded_json import loads
from ..transport.errors import InvalidRequestError
from .caller_json import caller_json, check_nesting, read_arguments
from .json_answers import json_candidates, schema_problem

TOOL_PROMPT_TEMPLATE = """You can use these tools:

{tools}

{choice}
To call tools, reply with only this JSON object and nothing else:
{{"tool_calls": [{{"name": "<tool name>", "arguments": {{<arguments as JSON>}}}}]}}
{calls}
Tool results come back in the conversation as "Tool result" lines: use them to answer."""
"""The instructions for offered tools: a ``str.format`` template with ``{tools}`` (one
:data:`TOOL_LISTING` per tool), ``{choice}`` (a sentence of :data:`TOOL_CHOICE_SENTENCES`)
and, optionally, ``{calls}`` (a sentence of :data:`TOOL_CALLS_SENTENCES`: several calls
at once or one); literal braces doubled."""

TOOL_LISTING = "- {name}: {description}\n  arguments (JSON schema): {parameters}"
"""One tool in the instructions' list (its description on one line)."""

TOOL_CHOICE_SENTENCES = {
    "auto": "Call a tool when it helps; otherwise answer the user directly in plain text.",
    "any": "You must call at least one of the tools now.",
    "named": 'You must call the tool "{name}" now.',
}
"""What the instructions say for each tool choice ("named": one tool, by ``{name}``)."""

TOOL_CALLS_SENTENCES = {
    "parallel": 'List several calls in "tool_calls" to call several tools at once.',
    "single": 'Put only one call in "tool_calls": call one tool at a time.',
}
"""What the instructions say about several calls in one reply: allowed ("parallel"), or
not ("single": a framework's ``parallel_tool_calls=False``)."""

NO_DESCRIPTION = "(no description)"


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: a name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_openai(cls, tool: Mapping[str, Any]) -> ToolSpec:
        """A spec from an OpenAI-shaped tool (``{"type": "function", "function": {...}}``, or
        the function dict itself), as both frameworks can hand tools over."""
        function = tool.get("function", tool)
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            shown = sorted(map(str, function)) if isinstance(function, Mapping) else type(
                function).__name__  # not its repr: a hostile value may nest too deep for it
            raise InvalidRequestError("tools", f"a tool needs a name; got {shown}"[:300])
        return cls(
            name=function["name"],
            description=function.get("description") or "",
            parameters=function.get("parameters") or {"type": "object", "properties": {}},
        )


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
    tools: Sequence[ToolSpec], tool_choice: str | None = None,
    template: str = TOOL_PROMPT_TEMPLATE, *, parallel: bool = True,
) -> str:
    """The instructions that offer ``tools``; ``tool_choice`` is auto, any/required or a name;
    ``parallel=False`` asks for one call per reply."""
    listing = "\n".join(
        TOOL_LISTING.format(
            name=tool.name,
            description=" ".join(tool.description.split()) or NO_DESCRIPTION,
            parameters=caller_json(dict(tool.parameters), f"tools: {tool.name}",
                                   sort_keys=True),
        )
        for tool in tools
    )
    mode = "any" if tool_choice == "required" else tool_choice or "auto"
    choice = TOOL_CHOICE_SENTENCES.get(mode) or TOOL_CHOICE_SENTENCES["named"].format(name=mode)
    calls = TOOL_CALLS_SENTENCES["parallel" if parallel else "single"]
    return template.format(tools=listing, choice=choice, calls=calls)


def tool_choice_name(tool_choice: object, names: Sequence[str], *, required: bool = False) -> str:
    """A framework's ``tool_choice`` in the instructions' terms: "auto", "any", "none" or the
    name of one of ``names``.

    Takes None/False/"auto" ("any" when a call is ``required``), "any"/"required", True (the
    only tool, else any), "none", a tool name, and dicts that name a function or a mode
    (OpenAI's and Anthropic's shapes). A name that no tool has is refused.
    """
    choice = tool_choice
    if isinstance(choice, Mapping):
        function = choice.get("function")
        named = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        choice = named if named is not None else choice.get("type")
    if choice is None or choice is False or choice == "auto":
        return "any" if required else "auto"
    if choice is True:
        return names[0] if len(names) == 1 else "any"
    if choice in ("any", "required"):
        return "any"
    if choice == "none" or (isinstance(choice, str) and choice in names):
        return str(choice)
    raise InvalidRequestError(
        "tool_choice",
        f"{tool_choice!r} names no offered tool; tools: {', '.join(names) or 'none'}",
    )


def render_tool_calls(calls: Sequence[Mapping[str, Any]], field: str = "messages") -> str:
    """Earlier calls written back as the instructions ask for them, for the next transcript.

    Arguments may be a JSON value or text (text that holds JSON is read, other text kept);
    arguments nested too deeply to write are refused, naming ``field``.
    """
    where = f"{field}: tool call arguments"
    payload = []
    for call in calls:
        arguments = read_arguments(call.get("args", call.get("arguments")), where)
        check_nesting(arguments, where)
        payload.append({"name": call["name"], "arguments": arguments})
    return json.dumps({"tool_calls": payload}, ensure_ascii=False)


def parse_tool_reply(text: str, tools: Sequence[ToolSpec]) -> ToolReply:
    """Split a reply into prose and tool calls; what cannot be used lands in ``invalid``."""
    raw_calls: list[Any] = []
    prose_parts: list[str] = []
    pos = 0
    for value, start, end in json_candidates(text):
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
