"""Function calling for ``Assisterr`` by prompt, with the core's tool instructions. Pure code.

LlamaIndex tools become :class:`~assisterr_core.chat.ToolSpec`s and instructions in the
query; a reply becomes an assistant message whose calls are ``ToolCallBlock``s (what
LlamaIndex's agents and programs read), mirrored as OpenAI-shaped dicts under
``additional_kwargs["tool_calls"]`` for the code that looks there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ToolCallBlock
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.tools.types import BaseTool

from assisterr_core.chat import (
    ToolSpec,
    parse_tool_reply,
    read_arguments,
    tool_choice_name,
    tool_instructions,
)

ToolLike = BaseTool | ToolSpec | Mapping[str, Any]
"""A tool as ``chat(..., tools=...)`` takes it: a LlamaIndex tool, a core spec, or an
OpenAI-shaped dict (what ``chat_with_tools`` passes on)."""


def openai_tool(tool: BaseTool) -> dict[str, Any]:
    """A LlamaIndex tool as a JSON-able OpenAI-shaped dict (it shows in events as such)."""
    metadata = tool.metadata
    return {
        "type": "function",
        "function": {
            "name": metadata.get_name(),
            "description": metadata.description,
            "parameters": metadata.get_parameters_dict(),
        },
    }


def tool_spec(tool: ToolLike) -> ToolSpec:
    """The core's spec of one tool."""
    if isinstance(tool, ToolSpec):
        return tool
    return ToolSpec.from_openai(openai_tool(tool) if isinstance(tool, BaseTool) else tool)


@dataclass(frozen=True)
class ToolRequest:
    """The tools a chat call offers, how the model must use them, and how many calls to keep."""

    tools: tuple[ToolSpec, ...]
    choice: str = "auto"
    parallel: bool = True

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> ToolRequest | None:
        """Read ``tools``, ``tool_choice``, ``tool_required`` and ``parallel_tool_calls``;
        None when no tool is offered (none given, or ``tool_choice="none"``: the reply is
        prose, streamed as it comes and not read for calls)."""
        if not kwargs.get("tools"):
            return None
        tools = tuple(tool_spec(tool) for tool in kwargs["tools"])
        choice = tool_choice_name(kwargs.get("tool_choice"), [tool.name for tool in tools],
                                  required=bool(kwargs.get("tool_required")))
        if choice == "none":
            return None
        return cls(tools, choice, bool(kwargs.get("parallel_tool_calls", True)))

    def instructions(self, template: str) -> str:
        """The instructions for the query."""
        return tool_instructions(self.tools, self.choice, template, parallel=self.parallel)

    def message(self, text: str) -> ChatMessage:
        """The reply as an assistant message: its prose, then one block per call it holds.

        Calls that name an unknown tool or carry arguments off the schema are kept (the
        agent runs them and hands the tool's error back to the model) and also listed,
        with the reason, under ``additional_kwargs["invalid_tool_calls"]``.
        """
        reply = parse_tool_reply(text, self.tools)
        calls: list[tuple[str, str, dict[str, Any] | str, str | None]]
        calls = [(call.id, call.name, call.arguments, None) for call in reply.calls]
        calls += [(call.id, call.name or "", _loads_object(call.arguments), call.error)
                  for call in reply.invalid]
        if not self.parallel:
            calls = calls[:1]  # the first valid call, else the first invalid one
        blocks: list[Any] = [TextBlock(text=reply.text)]
        blocks += [ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=arguments)
                   for call_id, name, arguments, _ in calls]
        extra: dict[str, Any] = {}
        if calls:
            extra["tool_calls"] = [_openai_call(call_id, name, arguments)
                                   for call_id, name, arguments, _ in calls]
        refused = [{"id": call_id, "name": name, "arguments": arguments, "error": error}
                   for call_id, name, arguments, error in calls if error is not None]
        if refused:
            extra["invalid_tool_calls"] = refused
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def tool_selections(message: ChatMessage, *, strict: bool) -> list[ToolSelection]:
    """The calls of an assistant message, as LlamaIndex runs them.

    ``strict`` (``error_on_no_tool_call``): a ValueError unless the message holds at least
    one call and every call fits its tool, naming what is wrong. Otherwise every call is
    returned as the model wrote it; arguments that are not a JSON object become ``{}``.
    """
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    selections = [
        ToolSelection(
            tool_id=block.tool_call_id or block.tool_name,
            tool_name=block.tool_name,
            tool_kwargs=block.tool_kwargs if isinstance(block.tool_kwargs, dict) else {},
        )
        for block in blocks
    ]
    if not strict:
        return selections
    refused = message.additional_kwargs.get("invalid_tool_calls") or []
    if refused:
        reasons = "; ".join(f"{call.get('name') or '(no name)'}: {call.get('error')}"
                            for call in refused)
        raise ValueError(f"The model's tool call cannot be used: {reasons}")
    if not selections:
        raise ValueError(
            f"Expected at least one tool call, but the reply has none: {message.content!r:.300}"
        )
    return selections


def _loads_object(arguments: str) -> dict[str, Any] | str:
    """An invalid call's arguments: the object they hold, else the text as written (also
    when it nests too deeply to read)."""
    with contextlib.suppress(ValueError):
        value = read_arguments(arguments, "arguments")
        if isinstance(value, dict):
            return value
    return arguments


def _openai_call(call_id: str, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}
