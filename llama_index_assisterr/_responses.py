"""From Assisterr replies and text deltas to LlamaIndex responses. Pure code, no I/O.

Streamed responses carry the text so far in ``text`` / ``message.content`` (agents and the
end-of-stream events read the last chunk) and the new piece in ``delta``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)

from assisterr_core import ChatReply
from assisterr_core.stop import cut_at_stop

R = TypeVar("R", ChatResponse, CompletionResponse)
ChunkFactory = Callable[[str, str], R]


def completion_chunk(text: str, delta: str) -> CompletionResponse:
    return CompletionResponse(text=text, delta=delta)


def chat_chunk(text: str, delta: str) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)


def completion_response(reply: ChatReply, stop: Sequence[str] | None) -> CompletionResponse:
    return CompletionResponse(text=cut_at_stop(reply.text, stop)[0], raw=reply)


def chat_response(reply: ChatReply, stop: Sequence[str] | None) -> ChatResponse:
    text = cut_at_stop(reply.text, stop)[0]
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw=reply)


def responses(deltas: Iterator[str], make: ChunkFactory[R]) -> Generator[R, None, None]:
    """One response per delta; a single empty one if the reply was empty."""
    text = ""
    for delta in deltas:
        text += delta
        yield make(text, delta)
    if not text:
        yield make("", "")  # LlamaIndex's end-of-stream event needs a last response


async def aresponses(
    deltas: AsyncIterator[str], make: ChunkFactory[R]
) -> AsyncGenerator[R, None]:
    """The async twin of :func:`responses`."""
    text = ""
    async for delta in deltas:
        text += delta
        yield make(text, delta)
    if not text:
        yield make("", "")
