"""LlamaIndex chat messages to the core's role/text turns, and from there to one query.

Pure code. Text is all the API carries: images, audio, video and documents raise
:class:`~assisterr_core.UnsupportedContentError` instead of being dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

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
from assisterr_core.prompt import session_query


def to_turns(messages: Sequence[ChatMessage], system_prompt: str | None = None) -> list[ChatTurn]:
    """One turn per message; ``system_prompt`` goes first unless a system message exists."""
    turns = [
        ChatTurn(message.role.value, _message_text(message, index), _name(message))
        for index, message in enumerate(messages)
    ]
    if system_prompt and not any(turn.role in ("system", "developer") for turn in turns):
        turns.insert(0, ChatTurn("system", system_prompt))
    return turns


def chat_query(
    messages: Sequence[ChatMessage],
    template: QueryTemplate,
    *,
    system_prompt: str | None = None,
    in_session: bool = False,
) -> str:
    """The query for a chat call: the rendered conversation. A server-side session holds the
    earlier user and assistant turns but no system text: it gets the system text and the
    newest user message, rendered (that message alone, as is, without system text)."""
    turns = to_turns(messages, system_prompt)
    return session_query(turns, template) if in_session else render_query(turns, template)


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
        kwargs = block.tool_kwargs
        arguments = kwargs if isinstance(kwargs, str) else json.dumps(kwargs, default=str)
        return f"Tool call: {block.tool_name}({arguments})"
    kind = getattr(block, "block_type", type(block).__name__)
    raise UnsupportedContentError(
        where, f"{kind} content is not supported: the Assisterr API accepts text only"
    )


def _name(message: ChatMessage) -> str | None:
    name = message.additional_kwargs.get("name")
    return name if isinstance(name, str) else None
