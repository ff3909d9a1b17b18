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

from assisterr_core import ChatReply, ChatTurn, QueryTemplate, render_query
from assisterr_core.chat import (
    StopSequenceCutter,
    ToolSpec,
    cut_at_stop,
    session_query,
    stop_sequences,
)

from ._messages import to_chat_turns
from ._response_format import JsonAnswer
from ._tools import CallInstructions, last_chunk, tool_call_fields

PROVIDER = "assisterr"


def merge_stop(*stops: object) -> list[str]:
    """Stop sequences of the model and of the call together, in order, without repeats (a
    string is one sequence; anything but strings and lists of them is refused)."""
    merged: list[str] = []
    for stop in stops:
        merged += [s for s in stop_sequences(stop) if s not in merged]
    return merged


@dataclass(frozen=True)
class ChatRequest:
    """One chat call: the SLM, the query, the session (if any), the stop sequences, the
    tools whose calls the reply may carry (several, or one), and the JSON answer it should
    hold."""

    handle: str
    query: str
    session_id: str | None
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] | None = None
    json_answer: JsonAnswer | None = None
    parallel: bool = True

    @classmethod
    def build(
        cls,
        messages: Sequence[BaseMessage],
        *,
        handle: str,
        session_id: str | None,
        template: QueryTemplate | None,
        stop: Sequence[str] = (),
        instructions: CallInstructions | None = None,
    ) -> ChatRequest:
        """Stateless: the whole conversation in one query. Session: what the server lacks.

        The call's instructions (tools, a JSON answer) join the system text. A session holds
        the earlier user and assistant turns but no system text, so the system text is sent
        each time with the turns since the model's last reply (the newest user message, or,
        with tools, the tool results it asked for); a lone new user message is sent as is.
        """
        asked = instructions or CallInstructions()
        turns = to_chat_turns(messages)
        if session_id is None:
            query = render_query(_with_system(turns, asked.text), template)
        else:
            query = session_query(turns, template, instructions=asked.text)
        return cls(handle, query, session_id, tuple(stop), asked.tools, asked.json_answer,
                   asked.parallel)

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
        return self.text_result(text, self.metadata(message_at=message_at))

    @property
    def holds_back(self) -> bool:
        """Whether a stream must wait for the whole reply: calls and JSON answers are only
        told apart from prose once it has ended."""
        return self.tools is not None or self.json_answer is not None

    def reply_fields(self, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A whole (already cut) reply's ``content`` and tool calls, and metadata to add.

        When a JSON answer was asked for and no tool was called, the content is the answer's
        JSON alone (as a provider's native structured output would be: ``json.loads`` reads
        it), and the reply as written goes under ``response_metadata["reply_text"]``.
        """
        fields = tool_call_fields(text, self.tools, parallel=self.parallel)
        if self.json_answer is None or fields["tool_calls"] or fields["invalid_tool_calls"]:
            return fields, {}
        answer = self.json_answer.answer_text(text)
        if answer is None or answer == text:
            return fields, {}
        return {**fields, "content": answer}, {"reply_text": text}

    def text_result(self, text: str, metadata: dict[str, Any]) -> ChatResult:
        """The chat result of a reply's (already cut) text, its tool calls parsed."""
        fields, extra = self.reply_fields(text)
        message = AIMessage(**fields, response_metadata={**metadata, **extra})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def chunks(self) -> StreamAssembler:
        """A fresh assembler for this request's stream."""
        return StreamAssembler(self)


def _with_system(turns: list[ChatTurn], text: str | None) -> list[ChatTurn]:
    """``turns`` with ``text`` as a system turn after the leading system turns."""
    if text is None:
        return turns
    at = next((i for i, turn in enumerate(turns) if turn.role != "system"), len(turns))
    return [*turns[:at], ChatTurn("system", text), *turns[at:]]


@dataclass
class StreamAssembler:
    """Turns a stream's text deltas into chunks: stop sequences cut, metadata on the last.

    With tools or a JSON answer asked for, the text is held back and arrives in the last
    chunk, parsed (see :meth:`ChatRequest.reply_fields`). After :meth:`finish`,
    :meth:`result` is the whole reply read like a non-streamed one.
    """

    request: ChatRequest
    _cutter: StopSequenceCutter = field(init=False)
    _text: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._cutter = StopSequenceCutter(self.request.stop)

    @property
    def stopped(self) -> bool:
        """A stop sequence was reached: the caller should stop reading."""
        return self._cutter.stopped

    def feed(self, delta: str) -> ChatGenerationChunk | None:
        """The chunk to emit for ``delta`` now, if any text is safe to show."""
        text = self._cutter.feed(delta)
        self._text.append(text)
        if self.request.holds_back or not text:
            return None
        return _emit(text)

    def interrupted(self) -> ChatGenerationChunk | None:
        """The stream failed: a chunk of the text held back as a possible stop sequence's
        start, to deliver before the error (it arrived). A reply held back whole (tools, a
        JSON answer) stays held: it is only read once it has ended."""
        text = self._cutter.flush()
        if self.request.holds_back or not text:
            return None
        self._text.append(text)
        return _emit(text)

    def finish(self) -> ChatGenerationChunk:
        """The final chunk: held-back text, the reply's metadata, ``chunk_position="last"``."""
        text = self._cutter.flush()
        self._text.append(text)
        metadata = self.request.metadata()
        if self.request.holds_back:
            fields, extra = self.request.reply_fields("".join(self._text))
            message = last_chunk(fields, {**metadata, **extra})
        else:
            message = AIMessageChunk(content=text, response_metadata=metadata,
                                     chunk_position="last")
        return ChatGenerationChunk(message=message)

    def result(self) -> ChatResult:
        """The streamed reply as one result, parsed from its whole text (as ``invoke`` does),
        not from added chunks: adding re-derives calls without the tools' schemas."""
        return self.request.text_result("".join(self._text), self.request.metadata())


def _emit(text: str) -> ChatGenerationChunk:
    """A chunk showing ``text`` as it streams (the reply's metadata comes on the last)."""
    message = AIMessageChunk(content=text, response_metadata={"model_provider": PROVIDER})
    return ChatGenerationChunk(message=message)
