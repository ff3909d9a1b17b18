"""LlamaIndex chat messages to the core's role/text turns, and from there to one query.

Pure code. Text is all the API carries: images, audio, video and documents raise
:class:`~assisterr_core.UnsupportedContentError` instead of being dropped silently. Earlier
tool calls are written back in the JSON the tool instructions ask for and tool results become "tool"
turns named after their tool, so the next query shows the model what it asked and got.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from assisterr_core import ChatTurn, QueryTemplate, UnsupportedContentError, render_query
from assisterr_core.chat import render_tool_calls, session_query


def to_turns(messages: Sequence[ChatMessage], system_prompt: str | None = None) -> list[ChatTurn]:
    """One turn per message; ``system_prompt`` goes first unless a system message exists."""
    tool_names: dict[str, str] = {}  # call id -> tool name, to label the results
    turns: list[ChatTurn] = []
    for index, message in enumerate(messages):
        text = _message_text(message, index)
        calls = _tool_calls(message)
        for call in calls:
            if call.get("id"):
                tool_names[call["id"]] = call["name"]
        if calls:
            rendered = render_tool_calls(calls, f"messages[{index}]")
            text = "\n".join(part for part in (text.strip(), rendered) if part)
        turns.append(ChatTurn(message.role.value, text, _name(message, tool_names)))
    if system_prompt and not any(turn.role in ("system", "developer") for turn in turns):
        turns.insert(0, ChatTurn("system", system_prompt))
    return turns


def chat_query(
    messages: Sequence[ChatMessage],
    template: QueryTemplate,
    *,
    system_prompt: str | None = None,
    in_session: bool = False,
    instructions: str | None = None,
) -> str:
    """The query for a chat call: the rendered conversation, ``instructions`` (tools or a
    JSON answer asked for) after the system text. A server-side session holds the earlier
    user and assistant turns but no system text: it gets the system text and the turns
    since the model's last reply (without system text or instructions, the newest user
    message alone, as is)."""
    turns = to_turns(messages, system_prompt)
    if in_session:
        return session_query(turns, template, instructions=instructions)
    if instructions is not None:
        at = next((i for i, turn in enumerate(turns) if turn.role not in ("system", "developer")),
                  len(turns))
        turns.insert(at, ChatTurn("system", instructions))
    return render_query(turns, template)


def prompt_hook_template(
    messages_to_prompt: Callable[[Sequence[ChatMessage]], str],
) -> QueryTemplate:
    """A query template that hands the turns to a LlamaIndex ``messages_to_prompt`` as chat
    messages (a tool result keeps its tool's name under ``additional_kwargs["name"]``)."""

    def render(turns: Sequence[ChatTurn]) -> str:
        return messages_to_prompt([
            ChatMessage(role=turn.role,
                        content=turn.text,
                        additional_kwargs={"name": turn.name} if turn.name else {})
            for turn in turns
        ])

    return render


def completion_query(
    prompt: str,
    template: QueryTemplate,
    *,
    system_prompt: str | None = None,
) -> str:
    """The query for a completion call whose prompt is not yet formatted."""
    turns = [ChatTurn("system", system_prompt)] if system_prompt else []
    turns.append(ChatTurn("user", prompt))
    return render_query(turns, template)


def _message_text(message: ChatMessage, index: int) -> str:
    parts = [_block_text(block, f"messages[{index}]") for block in message.blocks]
    return "\n".join(part for part in parts if part is not None)


def _block_text(block: object, where: str) -> str | None:
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, CachePoint | ThinkingBlock):
        return None  # a provider cache hint, or a model's earlier reasoning: nothing to send
    if isinstance(block, CitableBlock):
        texts = [_block_text(inner, where) for inner in block.content]
        return "\n".join(text for text in texts if text is not None)
    if isinstance(block, CitationBlock):
        return _block_text(block.cited_content, where)
    if isinstance(block, ToolCallBlock):
        return None  # rendered with the message's other calls, as the instructions ask
    kind = getattr(block, "block_type", type(block).__name__)
    raise UnsupportedContentError(
        where, f"{kind} content is not supported: the Assisterr API accepts text only"
    )


def _tool_calls(message: ChatMessage) -> list[dict[str, Any]]:
    """The calls an assistant message made: its ``ToolCallBlock``s, else the OpenAI-shaped
    ``additional_kwargs["tool_calls"]`` another LLM left (dicts or SDK objects)."""
    if message.role.value != "assistant":
        return []
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if blocks:
        return [{"id": block.tool_call_id, "name": block.tool_name,
                 "arguments": block.tool_kwargs} for block in blocks]
    calls = []
    for call in message.additional_kwargs.get("tool_calls") or []:
        entry = call if isinstance(call, Mapping) else getattr(call, "__dict__", {})
        function = entry.get("function")
        function = function if isinstance(function, Mapping) else getattr(function, "__dict__", {})
        if isinstance(function.get("name"), str):
            calls.append({"id": entry.get("id"), "name": function["name"],
                          "arguments": function.get("arguments")})
    return calls


def _name(message: ChatMessage, tool_names: Mapping[str, str]) -> str | None:
    """A message's name; a tool result is named after the tool whose call it answers."""
    kwargs = message.additional_kwargs
    if isinstance(kwargs.get("name"), str):
        return str(kwargs["name"])
    call_id = kwargs.get("tool_call_id")
    if message.role.value == "tool" and isinstance(call_id, str):
        return tool_names.get(call_id, call_id)
    return None
