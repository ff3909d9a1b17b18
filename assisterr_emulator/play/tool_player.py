"""The local server playing a tool-using model: it reads the core's tool and JSON instructions in
a query and answers them. No model runs here, and nothing is tuned to a particular prompt.

- Tools offered and no result yet: call the tool whose name, description and parameters
  share the most word stems with the user's message (the one named by the tool choice;
  the best fit, else the first, when a call is required), with arguments filled from the
  message by :mod:`.schema_filler`; when none fits and none is required, no call: the
  default reply answers.
- Tool results since the message: when a call is still required, call a tool not called
  yet (a structured-output tool, say) from the message and the results; else answer with a
  JSON value when one is asked for, or in plain text quoting the results.
- A JSON value asked for (a schema, or "a JSON object" whose keys the message names in
  quotes or backticks): an instance made the same way, from the tool results first.

Every marker it looks for is derived from the core's templates, never copied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assisterr_core.chat import (
    JSON_OBJECT_PROMPT,
    JSON_PROMPT_TEMPLATE,
    TOOL_CHOICE_SENTENCES,
    TOOL_LISTING,
    TOOL_PROMPT_TEMPLATE,
    json_values,
)

from .question import stems
from .schema_filler import SchemaFiller
from .transcript import split_transcript, template_pattern

_TOOLS_START = TOOL_PROMPT_TEMPLATE.split("{tools}", 1)[0].strip()
_TOOLS_END = TOOL_PROMPT_TEMPLATE.rsplit("\n", 1)[1]
_JSON_ASK = JSON_PROMPT_TEMPLATE.split("{schema}", 1)[0].strip()
_MUST_CALL_ANY = TOOL_CHOICE_SENTENCES["any"]
_MUST_CALL = re.compile(template_pattern(TOOL_CHOICE_SENTENCES["named"], name='[^"]+'))
_TOOL_LINE = re.compile(
    "^" + template_pattern(TOOL_LISTING, name=r"\S+", description=".*", parameters=r"\{.*\}")
    + "$", re.M)
_QUOTED_KEY = re.compile(r"(?<!\w)['\"“`]([A-Za-z_]\w*)['\"”`](?!\w)")

Tool = tuple[str, str, Any]
"""A tool as listed in a prompt: name, description, JSON schema of its arguments."""


def play(query: str, handle: str) -> str | None:
    """The reply a tool-using model would give, or None when the query has no instructions
    or asks nothing of them (tools offered, none fitting: a plain answer is the caller's)."""
    asked = _read(query)
    if asked is None:
        return None
    # After tool calls, their results come first: the answer is in them, the question may
    # hold other values ("What is 2 plus 40?" answered 42).
    both = " ".join([*asked.results, asked.message])
    if asked.tools:
        call = _next_call(asked)
        if call is not None:
            name, _, schema = call
            arguments = instance_of(schema, both if asked.results else asked.message)
            return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]},
                              ensure_ascii=False)
    if asked.schema is not None:
        return json.dumps(instance_of(asked.schema, both), ensure_ascii=False)
    if asked.object_keys is not None:
        return json.dumps(_json_object(asked.object_keys, both), ensure_ascii=False)
    if asked.results:
        return f"Hello from {handle}! The tool returned: " + "; ".join(asked.results)
    return None


def choose_tool(
    tools: list[Tool], message: str, *, forced: str | None = None, required: bool = False
) -> Tool | None:
    """The tool a model would call for ``message``: the ``forced`` one if named, else the
    one whose words fit the message best (ties: the one whose arguments the message fills,
    then the first listed); when no word fits, the first tool if a call is ``required``,
    else None."""
    if not tools:
        return None
    if forced:
        return next((tool for tool in tools if tool[0] == forced), tools[0])
    wanted = stems(message)
    scores = [_word_score(tool, wanted) for tool in tools]
    if max(scores) == 0:
        return tools[0] if required else None
    fitting = [(score, -_guesses(tool, message), -index, tool)
               for index, (score, tool) in enumerate(zip(scores, tools, strict=True)) if score]
    return max(fitting, key=lambda item: item[:3])[3]


def instance_of(schema: Mapping[str, Any], message: str) -> Any:
    """A value matching ``schema``, filled from ``message``."""
    return SchemaFiller(schema, message).value(schema)


@dataclass(frozen=True)
class _Asked:
    """What a query asks of the model, and the conversation's newest turn."""

    tools: list[Tool]
    forced: str | None
    required: bool
    schema: Mapping[str, Any] | None
    object_keys: list[str] | None  # "a JSON object": the keys the message names
    message: str
    results: list[str]
    called: set[str]


def _read(query: str) -> _Asked | None:
    spans: list[tuple[int, int]] = []
    tools: list[Tool] = []
    start = query.find(_TOOLS_START)
    end = query.find(_TOOLS_END, max(start, 0))
    if start >= 0 and end >= 0:
        spans.append((start, end + len(_TOOLS_END)))
        listing = query[start:end]
        tools = [(m[1], m[2], json.loads(m[3])) for m in _TOOL_LINE.finditer(listing)]
    schema, ask_span = _schema_asked(query)
    if schema is not None:
        spans.append(ask_span)
    object_asked_at = query.find(JSON_OBJECT_PROMPT)
    if object_asked_at >= 0:
        spans.append((object_asked_at, object_asked_at + len(JSON_OBJECT_PROMPT)))
    if not spans:
        return None
    after = query[max(end for _, end in spans):].strip()
    message, results, called = _newest_turn(after or query[:min(s for s, _ in spans)].strip())
    forced = _MUST_CALL.search(query)
    object_keys = _QUOTED_KEY.findall(message) if object_asked_at >= 0 else None
    return _Asked(tools, forced[1] if forced else None, _MUST_CALL_ANY in query, schema,
                  object_keys, message, results, called)


def _schema_asked(query: str) -> tuple[Mapping[str, Any] | None, tuple[int, int]]:
    """The JSON schema the query asks the answer to fit, and where the ask is."""
    ask = query.find(_JSON_ASK)
    brace = query.find("{", ask) if ask >= 0 else -1
    if brace < 0:
        return None, (-1, -1)
    try:
        schema, end = json.JSONDecoder().raw_decode(query, brace)
    except ValueError:  # the words with no schema after them: not the instructions
        return None, (-1, -1)
    return (schema, (ask, end)) if isinstance(schema, Mapping) else (None, (-1, -1))


def _newest_turn(conversation: str) -> tuple[str, list[str], set[str]]:
    """The user's newest message, the tool results after it and the tools it called.

    A lone message comes unlabelled; a transcript labels its turns.
    """
    preamble, turns = split_transcript(conversation)
    users = [i for i, (role, _) in enumerate(turns) if role == "user"]
    message = turns[users[-1]][1] if users else preamble
    since = turns[users[-1] + 1:] if users else turns
    results = [text for role, text in since if role == "tool"]
    called = {call.get("name") for role, text in since if role == "assistant"
              for value in json_values(text) if isinstance(value, dict)
              for call in value.get("tool_calls", []) if isinstance(call, dict)}
    return message.strip(), results, {name for name in called if isinstance(name, str)}


def _next_call(asked: _Asked) -> Tool | None:
    """The tool to call now, if any (see the module docs)."""
    if not asked.results:
        return choose_tool(asked.tools, asked.message, forced=asked.forced,
                           required=asked.required)
    if asked.forced and asked.forced not in asked.called:
        return choose_tool(asked.tools, asked.message, forced=asked.forced)
    if asked.required and not asked.forced:
        uncalled = [tool for tool in asked.tools if tool[0] not in asked.called]
        both = " ".join([asked.message, *asked.results])
        return choose_tool(uncalled, both, required=True)
    return None


def _word_score(tool: Tool, wanted: set[str]) -> int:
    """Stems shared with the message: two points in the tool's name, one elsewhere."""
    name, description, schema = tool
    named = stems(name)
    described = stems(description) | _parameter_words(schema)
    return sum(2 if word in named else 1 if word in described else 0 for word in wanted)


def _parameter_words(schema: Any) -> set[str]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    words: set[str] = set()
    for key, sub in (properties or {}).items():
        words |= stems(key)
        if isinstance(sub, Mapping):
            words |= stems(str(sub.get("description", "")))
            words |= {w for option in sub.get("enum", []) for w in stems(str(option))}
    return words


def _guesses(tool: Tool, message: str) -> int:
    """How many required arguments the message cannot fill (made-up values)."""
    filler = SchemaFiller(tool[2], message)
    filler.value(tool[2])
    return filler.guesses


def _json_object(keys: Sequence[str], message: str) -> Any:
    """A JSON object for a prompt that names its keys in quotes (else one "answer")."""
    keys = list(dict.fromkeys(keys)) or ["answer"]
    unquoted = _QUOTED_KEY.sub(" ", message)
    schema = {"type": "object", "properties": {key: {"type": "string"} for key in keys},
              "required": keys}
    return instance_of(schema, unquoted)
