"""LangChain messages to the core's role-and-text turns, and recorded turns back to messages.

The Assisterr API takes text only: images, audio and files are refused with
:class:`~assisterr_core.UnsupportedContentError` rather than dropped; an earlier model's
reasoning blocks are not part of the conversation and are left out. Earlier tool calls
are written back as the tool instructions ask for them and tool results become "tool" turns
named after their tool, so the next query shows the model what it asked for and what came
back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from assisterr_core import ChatTurn, HistoryMessage, UnsupportedContentError
from assisterr_core.chat import render_tool_calls

_TEXT_BLOCK_TYPES = ("text", "text-plain")
# Blocks of an AI message that are not sent: its tool calls (rendered from ``tool_calls``)
# and a model's reasoning (langchain's v1 blocks, Anthropic's thinking), which is not part
# of the conversation; LlamaIndex's ThinkingBlock is skipped likewise.
_SKIPPED_AI_BLOCK_TYPES = ("tool_call", "tool_call_chunk", "invalid_tool_call", "tool_use",
                           "function_call", "reasoning", "thinking", "redacted_thinking")


def to_chat_turns(messages: Sequence[BaseMessage]) -> list[ChatTurn]:
    """Convert a conversation, message by message, keeping the order. A tool result without
    a name is named after the tool whose call its ``tool_call_id`` answers."""
    tool_names: dict[str, str] = {}  # call id -> tool name, to label the results
    turns: list[ChatTurn] = []
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            for call in [*message.tool_calls, *message.invalid_tool_calls]:
                if call["id"] and call["name"]:
                    tool_names[call["id"]] = call["name"]
        turn = to_chat_turn(message, index)
        if isinstance(message, ToolMessage) and not message.name:
            turn = ChatTurn("tool", turn.text,
                            tool_names.get(message.tool_call_id, message.tool_call_id))
        turns.append(turn)
    return turns


def to_chat_turn(message: BaseMessage, index: int = 0) -> ChatTurn:
    """One message as a turn; raises for content the API cannot carry. A tool result is
    named after its tool, else its call id (:func:`to_chat_turns` finds the tool)."""
    for message_type, convert in _CONVERTERS:
        if isinstance(message, message_type):
            return convert(message, index)
    raise UnsupportedContentError(
        f"messages[{index}]", f"message type {type(message).__name__} is not supported"
    )


def message_text(message: BaseMessage, index: int = 0) -> str:
    """The text of a message whose content is a string or a list of text blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    skipped = _SKIPPED_AI_BLOCK_TYPES if isinstance(message, AIMessage) else ()
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") in _TEXT_BLOCK_TYPES:
            parts.append(_block_text(block, index))
        elif isinstance(block, dict) and block.get("type") in skipped:
            continue
        else:
            raise UnsupportedContentError(
                f"messages[{index}]",
                f"{_describe(block)} content is not supported: the Assisterr API takes text only",
            )
    return "".join(parts)


def _block_text(block: dict[str, Any], index: int) -> str:
    """A text block's text; one without a string ``text`` (a file's bytes or URL) is refused."""
    text = block.get("text")
    if not isinstance(text, str):
        raise UnsupportedContentError(
            f"messages[{index}]",
            f"a {block.get('type')!r} block without a string 'text' is not supported: "
            "the Assisterr API takes text only, so give the text itself",
        )
    return text


def from_history(message: HistoryMessage) -> BaseMessage:
    """A recorded turn as a Human/AI message, with its id and timestamp kept."""
    metadata: dict[str, Any] = {"session_id": message.session_id}
    if message.created_at is not None:
        metadata["created_at"] = message.created_at.isoformat()
    cls = HumanMessage if message.is_user else AIMessage
    return cls(content=message.text, id=message.id or None, response_metadata=metadata)


def _system(message: BaseMessage, index: int) -> ChatTurn:
    return ChatTurn("system", message_text(message, index))


def _human(message: BaseMessage, index: int) -> ChatTurn:
    return ChatTurn("user", message_text(message, index), message.name)


def _ai(message: BaseMessage, index: int) -> ChatTurn:
    """The reply's text, then its tool calls in the JSON the tool instructions ask for."""
    text = message_text(message, index)
    if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
        calls: list[dict[str, Any]] = [{"name": call["name"], "args": call["args"]}
                                       for call in message.tool_calls]
        calls += [{"name": call["name"] or "", "args": call["args"]}
                  for call in message.invalid_tool_calls]
        rendered = render_tool_calls(calls, f"messages[{index}]")
        text = "\n".join(part for part in (text.strip(), rendered) if part)
    return ChatTurn("assistant", text, message.name)


def _tool(message: BaseMessage, index: int) -> ChatTurn:
    name = message.name or getattr(message, "tool_call_id", None)
    return ChatTurn("tool", message_text(message, index), name)


def _chat(message: BaseMessage, index: int) -> ChatTurn:
    assert isinstance(message, ChatMessage)
    return ChatTurn(message.role, message_text(message, index), message.name)


_CONVERTERS: tuple[tuple[type[BaseMessage], Callable[[BaseMessage, int], ChatTurn]], ...] = (
    (SystemMessage, _system),
    (HumanMessage, _human),
    (AIMessage, _ai),
    (ToolMessage, _tool),
    (FunctionMessage, _tool),
    (ChatMessage, _chat),
)


def _describe(block: object) -> str:
    if isinstance(block, dict):
        return repr(block.get("type", "untyped"))
    return type(block).__name__
