"""Tool calling for ChatAssisterr: ``bind_tools`` arguments to the core's tool instructions,
and replies back to LangChain tool calls. Pure code.

``bind_tools`` binds OpenAI-shaped tool dicts as ``tools=`` and a normalized
``tool_choice=``; each call turns them (and a ``response_format=`` for JSON answers) into
instructions with :mod:`assisterr_core.chat` and reads the reply with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessageChunk, InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from assisterr_core import InvalidRequestError
from assisterr_core.chat import (
    JSON_OBJECT_PROMPT,
    ToolSpec,
    json_instructions,
    parse_tool_reply,
    tool_choice_name,
    tool_instructions,
)

from ._response_format import JsonAnswer


@dataclass(frozen=True)
class CallInstructions:
    """What a call asks of the model beyond the conversation (tools, a JSON answer): the
    instructions to send, and what to look for in the reply."""

    text: str | None = None
    tools: tuple[ToolSpec, ...] | None = None
    """The tools to look for in the reply; None when no tools are offered (also with
    ``tool_choice="none"``)."""
    json_answer: JsonAnswer | None = None
    """The JSON answer a ``response_format`` asks for; None when none is."""
    parallel: bool = True
    """Whether a reply may carry several calls (``parallel_tool_calls=False``: one)."""

    @classmethod
    def from_kwargs(
        cls, kwargs: Mapping[str, Any], *, tool_template: str, json_template: str
    ) -> CallInstructions:
        """Read the ``tools``/``tool_choice``/``parallel_tool_calls`` and ``response_format``
        bound to a call."""
        parts: list[str] = []
        tools = None
        parallel = kwargs.get("parallel_tool_calls") is not False
        if kwargs.get("tools"):
            tools = tuple(_tool_spec(tool) for tool in kwargs["tools"])
            choice = tool_choice_name(kwargs.get("tool_choice"), [t.name for t in tools])
            if choice == "none":  # no tool offered: the reply is prose, streamed as it comes
                tools = None
            else:
                parts.append(tool_instructions(tools, choice, tool_template, parallel=parallel))
        answer = JsonAnswer.from_response_format(kwargs.get("response_format"))
        if answer is not None:
            parts.append(JSON_OBJECT_PROMPT if answer.schema is None
                         else json_instructions(answer.schema, json_template))
        return cls("\n\n".join(parts) or None, tools, answer, parallel)


def _tool_spec(tool: Any) -> ToolSpec:
    """A tool as ``bind_tools`` binds it (an OpenAI-shaped dict), or as a call may pass it
    itself: a LangChain tool, a pydantic model, a function."""
    if isinstance(tool, Mapping):
        return ToolSpec.from_openai(tool)
    from langchain_core.utils.function_calling import convert_to_openai_tool

    try:
        return ToolSpec.from_openai(convert_to_openai_tool(tool))
    except (ValueError, TypeError, AttributeError) as error:
        raise InvalidRequestError(
            "tools", f"{type(tool).__name__} is not a tool: {error}"[:300]) from error


def tool_call_fields(
    text: str, tools: Sequence[ToolSpec] | None, *, parallel: bool = True
) -> dict[str, Any]:
    """An AI message's ``content``, ``tool_calls`` and ``invalid_tool_calls`` for a reply
    (no calls are looked for when ``tools`` is None). Without ``parallel``, only the first
    call is kept: the first valid one, else the first invalid one (as LlamaIndex's
    ``allow_parallel_tool_calls=False`` does)."""
    if tools is None:
        return {"content": text, "tool_calls": [], "invalid_tool_calls": []}
    reply = parse_tool_reply(text, tools)
    calls: list[ToolCall] = [tool_call(name=c.name, args=c.arguments, id=c.id)
                             for c in reply.calls]
    invalid: list[InvalidToolCall] = [
        invalid_tool_call(name=c.name, args=c.arguments, id=c.id, error=c.error)
        for c in reply.invalid
    ]
    if not parallel:
        calls, invalid = calls[:1], ([] if calls else invalid[:1])
    return {"content": reply.text, "tool_calls": calls, "invalid_tool_calls": invalid}


def last_chunk(fields: Mapping[str, Any], metadata: dict[str, Any]) -> AIMessageChunk:
    """A whole reply's :func:`tool_call_fields` as one last stream chunk, built so that
    adding chunks keeps it true.

    ``chunk + chunk`` re-derives the calls from ``tool_call_chunks`` with no schema at hand:
    any chunk whose ``args`` parse to a JSON object becomes a valid call. So valid calls
    get their arguments as JSON, and invalid ones get ``args`` that never parse (the error,
    then the arguments): after adding they stay invalid, only without their ``error``.
    """
    chunks = [tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"])
              for c in fields["tool_calls"]]
    chunks += [tool_call_chunk(name=c["name"], args=unparsable_args(c), id=c["id"])
               for c in fields["invalid_tool_calls"]]
    message = AIMessageChunk(content=fields["content"], tool_call_chunks=chunks,
                             response_metadata=metadata, chunk_position="last")
    # The validator derived the calls from the chunks; this chunk alone keeps the errors.
    message.invalid_tool_calls = fields["invalid_tool_calls"]
    return message


def unparsable_args(call: InvalidToolCall) -> str:
    """An invalid call's ``args`` for a tool call chunk: not JSON, whatever the arguments."""
    return f"(invalid call: {call['error']}) {call['args'] or ''}".rstrip()
