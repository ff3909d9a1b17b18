"""From Assisterr replies and text deltas to LlamaIndex responses. Pure code, no I/O.

Streamed responses carry the text so far in ``text`` / ``message.content`` (agents and the
end-of-stream events read the last chunk) and the new piece in ``delta``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import aclosing, closing
from typing import Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)

from assisterr_core import ChatReply
from assisterr_core.stop import StopSequenceCutter, cut_at_stop, cut_stream

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


def stop_cut(deltas: Iterator[str], stop: Sequence[str] | None) -> Iterator[str]:
    """Deltas cut before the first stop sequence; the upstream is closed on the way out."""
    with closing(_closable(deltas)):
        yield from cut_stream(deltas, stop)


async def astop_cut(deltas: AsyncIterator[str], stop: Sequence[str] | None) -> AsyncIterator[str]:
    """The async twin of :func:`stop_cut` (the core ships only the sync one)."""
    cutter = StopSequenceCutter(stop)
    async with aclosing(_aclosable(deltas)):
        async for delta in deltas:
            emitted = cutter.feed(delta)
            if emitted:
                yield emitted
            if cutter.stopped:
                return
    tail = cutter.flush()
    if tail:
        yield tail


class _NoClose:
    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _closable(iterator: Any) -> Any:
    return iterator if hasattr(iterator, "close") else _NoClose()


def _aclosable(iterator: Any) -> Any:
    return iterator if hasattr(iterator, "aclose") else _NoClose()
