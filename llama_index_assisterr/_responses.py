"""From Assisterr replies and text deltas to LlamaIndex responses. Pure code, no I/O.

``raw`` is always a plain JSON-able dict, as the API sent it: a reply's ``message``,
``message_at`` (ISO text) and ``is_user`` (with the ``session_id`` it was asked in), or a
stream event's ``message`` delta. LlamaIndex reads ``raw`` as a mapping (token counting).
Streamed responses carry the text so far in ``text`` / ``message.content`` (agents and the
end-of-stream events read the last chunk) and the new piece in ``delta``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)

from assisterr_core import ChatReply
from assisterr_core.chat import cut_at_stop

from ._tools import ToolRequest

R = TypeVar("R", ChatResponse, CompletionResponse)
R_co = TypeVar("R_co", ChatResponse, CompletionResponse, covariant=True)
# Where a tool call may begin: from there on, streamed text is held back until the end.
_CALL_OPENERS = ("{", "[", "```")


def reply_raw(reply: ChatReply) -> dict[str, Any]:
    """A reply's fields as the API sent them, plus the session it was asked in."""
    return {
        "message": reply.text,
        "message_at": reply.message_at.isoformat() if reply.message_at else None,
        "is_user": reply.is_user,
        "session_id": reply.session_id,
    }


def completion_response(reply: ChatReply, stop: Sequence[str] | None) -> CompletionResponse:
    return CompletionResponse(text=cut_at_stop(reply.text, stop)[0], raw=reply_raw(reply))


def chat_response(
    reply: ChatReply, stop: Sequence[str] | None, tools: ToolRequest | None = None
) -> ChatResponse:
    """The reply, cut at the first stop sequence; with tools, its calls parsed."""
    text = cut_at_stop(reply.text, stop)[0]
    return ChatResponse(message=_message(text, tools), raw=reply_raw(reply))


def _message(text: str, tools: ToolRequest | None) -> ChatMessage:
    if tools is None:
        return ChatMessage(role=MessageRole.ASSISTANT, content=text)
    return tools.message(text)


class Assembler(Protocol[R_co]):
    """Turns a stream's deltas into responses: one per delta, and maybe a last one."""

    def feed(self, delta: str) -> R_co: ...

    def finish(self) -> R_co | None: ...


@dataclass
class CompletionAssembler:
    """Completion chunks; a single empty one if the reply was empty."""

    text: str = ""

    def feed(self, delta: str) -> CompletionResponse:
        self.text += delta
        return CompletionResponse(text=self.text, delta=delta, raw={"message": delta})

    def finish(self) -> CompletionResponse | None:
        # LlamaIndex's end-of-stream event needs a last response
        return None if self.text else CompletionResponse(text="", delta="", raw={"message": ""})


@dataclass
class ChatAssembler:
    """Chat chunks. With tools, text streams until something that may open a call (``{``,
    ``[`` or a code fence); the rest is held back and the last chunk carries the parsed
    reply: its calls as ``ToolCallBlock``s, and as delta whatever prose was not yet shown.
    The text's last characters wait for the next delta while they may begin an opener (a
    fence's first backticks), so an opener split across deltas is not shown either.
    Without tools all the text is shown as it comes, and ``shown`` is not kept."""

    tools: ToolRequest | None = None
    text: str = ""
    shown: str = ""
    _held: bool = field(default=False, repr=False)

    def feed(self, delta: str) -> ChatResponse:
        self.text += delta
        if self.tools is None:
            message = ChatMessage(role=MessageRole.ASSISTANT, content=self.text)
            return ChatResponse(message=message, delta=delta, raw={"message": delta})
        if self._held:
            shown_delta = ""
        else:
            openers = [i for i in (self.text.find(o, len(self.shown)) for o in _CALL_OPENERS)
                       if i >= 0]
            self._held = bool(openers)
            end = min(openers) if openers else len(self.text) - _opener_start(self.text)
            shown_delta = self.text[len(self.shown):end]
        self.shown += shown_delta
        message = ChatMessage(role=MessageRole.ASSISTANT, content=self.shown)
        return ChatResponse(message=message, delta=shown_delta, raw={"message": delta})

    def finish(self) -> ChatResponse | None:
        if self.tools is None:
            if self.text:
                return None
            return ChatResponse(message=_message("", None), delta="", raw={"message": ""})
        message = self.tools.message(self.text)
        content = message.content or ""
        rest = content[len(self.shown):] if content.startswith(self.shown) else ""
        return ChatResponse(message=message, delta=rest, raw={"message": ""})


def _opener_start(text: str) -> int:
    """How many of ``text``'s last characters begin an opener without completing it."""
    return max((n for opener in _CALL_OPENERS for n in range(1, len(opener))
                if text.endswith(opener[:n])), default=0)


def responses(deltas: Iterator[str], assembler: Assembler[R]) -> Generator[R, None, None]:
    """The responses for a stream of deltas."""
    for delta in deltas:
        yield assembler.feed(delta)
    if (last := assembler.finish()) is not None:
        yield last


async def aresponses(
    deltas: AsyncIterator[str], assembler: Assembler[R]
) -> AsyncGenerator[R, None]:
    """The async twin of :func:`responses`."""
    async for delta in deltas:
        yield assembler.feed(delta)
    if (last := assembler.finish()) is not None:
        yield last
