"""The emulator playing a tool-using model: it reads the tool protocol in a query and answers it.

No model runs here, and nothing is tuned to any particular prompt: when a query carries
the protocol of :mod:`assisterr_core.tools`, the reply is derived from the schemas alone.

- Tools offered, no tool result since the user's last message: call the tool whose name
  and description share the most words with the message (the one named by the tool
  choice, or the first tool when a call is required), with arguments made from the
  message: quoted text for strings (else the message itself), its numbers in order for
  numbers, ``true`` for booleans.
- Tool results since the user's last message: a plain-text answer that quotes them.
- A JSON schema asked for: an instance of the schema made the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

_TOOL_LINE = re.compile(r"^- (\S+): (.*)\n  arguments \(JSON schema\): (\{.*\})$", re.M)
_PROTOCOL_END = 'Tool results come back in the conversation as "Tool result" lines'
_JSON_ASK = "Answer with only a JSON value that matches this JSON schema"
_MUST_CALL = re.compile(r'You must call the tool "([^"]+)" now\.')
_MUST_CALL_ANY = "You must call at least one of the tools now."
_QUOTED = re.compile(r"(?<!\w)'([^']+)'(?!\w)|\"([^\"]+)\"|“([^”]+)”")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z0-9]+")


def play(query: str, handle: str) -> str | None:
    """The reply a tool-using model would give, or None when the query has no protocol."""
    if _JSON_ASK in query:
        return _answer_with_json(query)
    if _PROTOCOL_END not in query:
        return None
    message, results = _last_user_message_and_results(query)
    if results:
        return f"Hello from {handle}! The tool returned: " + "; ".join(results)
    tools = [(m.group(1), m.group(2), json.loads(m.group(3))) for m in _TOOL_LINE.finditer(query)]
    forced = _MUST_CALL.search(query)
    chosen = choose_tool(tools, message, forced=forced.group(1) if forced else None,
                         required=_MUST_CALL_ANY in query)
    if chosen is None:
        return f"Hello from {handle}! You said: {message}"
    name, _, schema = chosen
    arguments = instance_of(schema, message)
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]},
                      ensure_ascii=False)


def instance_of(schema: Mapping[str, Any], message: str) -> Any:
    """A value matching ``schema``, filled from ``message``."""
    return _Filler(schema, message).value(schema)


def _answer_with_json(query: str) -> str:
    start = query.index(_JSON_ASK)
    brace = query.index("{", start)
    schema, end = json.JSONDecoder().raw_decode(query, brace)
    message = query[end:].strip().splitlines()[-1].removeprefix("User: ") if query[end:].strip() \
        else query[:start].strip()
    return json.dumps(instance_of(schema, message), ensure_ascii=False)


def _last_user_message_and_results(query: str) -> tuple[str, list[str]]:
    """The user's newest message, and the tool results that came after it."""
    lines = query.splitlines()
    user_at = max((i for i, line in enumerate(lines) if line.startswith("User: ")), default=-1)
    if user_at < 0:  # no transcript: a lone message (or tool results) after the instructions
        tail = query.split(_PROTOCOL_END, 1)[1].split("\n", 1)
        rest = tail[1] if len(tail) > 1 else ""
        return rest.strip(), _results(rest.splitlines())
    return lines[user_at].removeprefix("User: "), _results(lines[user_at + 1 :])


def _results(lines: list[str]) -> list[str]:
    return [line.split(": ", 1)[1] for line in lines
            if line.startswith("Tool result") and ": " in line]


Tool = tuple[str, str, Any]
"""A tool as listed in a prompt: name, description, JSON schema of its arguments."""


def choose_tool(
    tools: list[Tool], message: str, *, forced: str | None = None, required: bool = False
) -> Tool | None:
    """The tool a model would call for ``message``: the ``forced`` one if named, else the
    best fit to the message's words; None when none fits and no call is ``required``."""
    if not tools:
        return None
    if forced:
        return next((tool for tool in tools if tool[0] == forced), tools[0])
    wanted = _words(message)
    scored = [(len(wanted & (_words(name.replace("_", " ")) | _words(desc))), tool)
              for tool in tools for name, desc in [tool[:2]]]
    best_score, best = max(scored, key=lambda item: item[0])
    if best_score == 0:
        return tools[0] if required else None
    return best


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


class _Filler:
    """Walks a JSON schema and fills it from a message: quoted text, numbers, the message."""

    def __init__(self, root: Mapping[str, Any], message: str) -> None:
        self.root = root
        self.message = message
        quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(message)]
        self._strings: Iterator[str] = iter(quoted)
        self._numbers: Iterator[str] = iter(_NUMBER.findall(message))

    def value(self, schema: Mapping[str, Any]) -> Any:
        schema = self._resolve(schema)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [s for s in schema[key] if self._resolve(s).get("type") != "null"]
                return self.value(options[0] if options else {"type": "null"})
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            properties = schema.get("properties", {})
            return {key: self.value(sub) for key, sub in properties.items()}
        if kind == "array":
            return [self.value(schema.get("items", {"type": "string"}))]
        if kind in ("integer", "number"):
            text = next(self._numbers, "0")
            number = float(text)
            return int(number) if kind == "integer" else number
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return next(self._strings, self.message)

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part]
        return dict(target)
