"""What one ChatAssisterr call sends and how its answer becomes LangChain output. Pure code.

The sync and async paths of the model differ only in how they move bytes: both build a
:class:`ChatRequest` here and feed the reply (or the stream's deltas) back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assisterr_core import ChatReply, QueryTemplate, render_query
from assisterr_core.prompt import latest_user_text
from assisterr_core.stop import StopSequenceCutter, cut_at_stop

from ._messages import to_chat_turns

PROVIDER = "assisterr"


def merge_stop(*stops: Sequence[str] | None) -> list[str]:
    """Stop sequences of the model and of the call together, in order, without repeats."""
    merged: list[str] = []
    for stop in stops:
        merged += [s for s in stop or () if s and s not in merged]
    return merged


@dataclass(frozen=True)
class ChatRequest:
    """One chat call: the SLM, the query, the session (if any) and the stop sequences."""

    handle: str
    query: str
    session_id: str | None
    stop: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        messages: Sequence[BaseMessage],
        *,
        handle: str,
        session_id: str | None,
        template: QueryTemplate | None,
        stop: Sequence[str] = (),
    ) -> ChatRequest:
        """Stateless: the whole conversation in one query. Session: only the newest message."""
        turns = to_chat_turns(messages)
        in_session = session_id is not None
        query = latest_user_text(turns) if in_session else render_query(turns, template)
        return cls(handle, query, session_id, tuple(stop))

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """``response_metadata`` of a finished reply."""
        metadata: dict[str, Any] = {
            "model_provider": PROVIDER,
            "model_name": self.handle,
            "finish_reason": "stop",
        }
        if self.session_id is not None:
            metadata["session_id"] = self.session_id
        metadata.update({k: v for k, v in extra.items() if v is not None})
        return metadata

    def result(self, reply: ChatReply) -> ChatResult:
        """A whole reply as a chat result, cut before the first stop sequence."""
        text, _ = cut_at_stop(reply.text, self.stop)
        message_at = reply.message_at.isoformat() if reply.message_at else None
        message = AIMessage(content=text, response_metadata=self.metadata(message_at=message_at))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def chunks(self) -> StreamAssembler:
        """A fresh assembler for this request's stream."""
        return StreamAssembler(self)


@dataclass
class StreamAssembler:
    """Turns a stream's text deltas into chunks: stop sequences cut, metadata on the last."""

    request: ChatRequest
    _cutter: StopSequenceCutter = field(init=False)

    def __post_init__(self) -> None:
        self._cutter = StopSequenceCutter(self.request.stop)

    @property
    def stopped(self) -> bool:
        """A stop sequence was reached: the caller should stop reading."""
        return self._cutter.stopped

    def feed(self, delta: str) -> ChatGenerationChunk | None:
        """The chunk to emit for ``delta`` now, if any text is safe to show."""
        text = self._cutter.feed(delta)
        if not text:
            return None
        message = AIMessageChunk(content=text, response_metadata={"model_provider": PROVIDER})
        return ChatGenerationChunk(message=message)

    def finish(self) -> ChatGenerationChunk:
        """The final chunk: held-back text, the reply's metadata, ``chunk_position="last"``."""
        message = AIMessageChunk(
            content=self._cutter.flush(),
            response_metadata=self.request.metadata(),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)
