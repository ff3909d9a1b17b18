"""Pure parts: message conversion, request building, stream assembly, recorded-turn checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from assisterr_core import (
    ChatReply,
    ChatTurn,
    HistoryMessage,
    InvalidRequestError,
    Llama3Template,
    UnsupportedContentError,
)
from langchain_assisterr._messages import from_history, to_chat_turns
from langchain_assisterr._recorded import MessageNotRecordedError, check_recorded
from langchain_assisterr._request import ChatRequest, merge_stop


def test_roles_and_text_blocks() -> None:
    turns = to_chat_turns(
        [
            SystemMessage("be brief"),
            HumanMessage([{"type": "text", "text": "a"}, "b"], name="ann"),
            AIMessage("c"),
            ToolMessage("42", tool_call_id="call-1"),
            ChatMessage(role="user", content="d"),
        ]
    )
    assert turns == [
        ChatTurn("system", "be brief"),
        ChatTurn("user", "ab", "ann"),
        ChatTurn("assistant", "c"),
        ChatTurn("tool", "42", "call-1"),
        ChatTurn("user", "d"),
    ]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "image", "url": "https://example.com/a.png"},
        {"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"},
        {"type": "file", "base64": "AAAA", "mime_type": "application/pdf"},
    ],
)
def test_non_text_content_is_refused(block: dict[str, object]) -> None:
    message = HumanMessage([{"type": "text", "text": "look"}, block])
    with pytest.raises(UnsupportedContentError, match="text only"):
        to_chat_turns([message])


@pytest.mark.parametrize(
    "block",
    [
        {"type": "text", "text": None},
        {"type": "text-plain", "base64": "aGVsbG8=", "mime_type": "text/plain"},
    ],
)
def test_a_text_block_without_its_text_is_refused_not_sent_as_none(
    block: dict[str, object],
) -> None:
    message = HumanMessage([{"type": "text", "text": "read this: "}, block])
    with pytest.raises(UnsupportedContentError, match="without a string 'text'"):
        to_chat_turns([message])


def test_tool_calls_are_rendered_back_as_the_instructions_json() -> None:
    message = AIMessage(
        [{"type": "text", "text": "Let me see."}, {"type": "tool_use", "id": "1", "name": "f"}],
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "1"}],
    )
    turn = to_chat_turns([HumanMessage("hi"), message])[1]
    assert turn == ChatTurn(
        "assistant", 'Let me see.\n{"tool_calls": [{"name": "f", "arguments": {"x": 1}}]}'
    )


def test_stateless_request_renders_the_conversation() -> None:
    messages = [SystemMessage("S"), HumanMessage("a"), AIMessage("b"), HumanMessage("c")]
    request = ChatRequest.build(messages, handle="h", session_id=None, template=None)
    assert request.query == "S\n\nConversation so far:\nUser: a\nAssistant: b\n\nUser: c"
    llama = ChatRequest.build(messages, handle="h", session_id=None, template=Llama3Template())
    assert llama.query.startswith("<|start_header_id|>system<|end_header_id|>\n")


def test_lone_message_and_session_request_send_one_message_verbatim() -> None:
    lone = ChatRequest.build([HumanMessage("  hi  ")], handle="h", session_id=None, template=None)
    assert lone.query == "  hi  "
    messages = [HumanMessage("a"), AIMessage("b"), HumanMessage("c")]
    session = ChatRequest.build(messages, handle="h", session_id="s1", template=None)
    assert (session.query, session.session_id) == ("c", "s1")
    with pytest.raises(InvalidRequestError, match="last message must come from the user"):
        ChatRequest.build([HumanMessage("a"), AIMessage("b")], handle="h", session_id="s1",
                          template=None)


def test_merge_stop_keeps_order_and_drops_repeats() -> None:
    assert merge_stop(["a", "b"], None, ["b", "", "c"]) == ["a", "b", "c"]


def test_result_cuts_at_stop_and_reports_metadata() -> None:
    at = datetime(2024, 12, 11, 19, 1, 16, tzinfo=timezone.utc)
    request = ChatRequest("h", "q", "s1", ("END",))
    message = request.result(ChatReply("one END two", at)).generations[0].message
    assert message.content == "one "
    assert message.response_metadata == {
        "model_provider": "assisterr",
        "model_name": "h",
        "finish_reason": "stop",
        "session_id": "s1",
        "message_at": at.isoformat(),
    }
    assert getattr(message, "usage_metadata", None) is None


def test_stream_assembler_puts_metadata_on_the_last_chunk_only() -> None:
    assembler = ChatRequest("h", "q", None, ("STOP",)).chunks()
    emitted = [assembler.feed(d) for d in ["one ", "two ST", "OP three"]]
    assert assembler.stopped
    chunks = [c for c in emitted if c is not None]
    last = assembler.finish()
    assert [c.text for c in chunks] == ["one ", "two "]
    assert all(c.message.response_metadata == {"model_provider": "assisterr"} for c in chunks)
    assert isinstance(last.message, AIMessageChunk)
    assert last.message.chunk_position == "last"
    merged = chunks[0].message + chunks[1].message + last.message
    assert merged.response_metadata == {
        "model_provider": "assisterr", "model_name": "h", "finish_reason": "stop",
    }


def _recorded(*turns: tuple[bool, str]) -> list[HistoryMessage]:
    return [HistoryMessage(str(i), text, is_user) for i, (is_user, text) in enumerate(turns)]


def test_check_recorded_accepts_the_tail_and_a_stop_cut_reply() -> None:
    recorded = _recorded((True, "a"), (False, "b"), (True, "c"), (False, "d and more"))
    check_recorded([HumanMessage("c"), AIMessageChunk(content="d")], recorded, "s")
    check_recorded([], recorded, "s")


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("a"), AIMessage("b")],  # recorded, but not the latest turns
        [HumanMessage("new")],
        [HumanMessage("x"), HumanMessage("a"), AIMessage("b"), HumanMessage("c"),
         AIMessage("d and more")],  # longer than the history
        [SystemMessage("c"), AIMessage("d and more")],
    ],
)
def test_check_recorded_refuses_what_the_server_has_not_recorded(
    messages: list[BaseMessage],
) -> None:
    recorded = _recorded((True, "a"), (False, "b"), (True, "c"), (False, "d and more"))
    with pytest.raises(MessageNotRecordedError):
        check_recorded(messages, recorded, "s")


def test_history_messages_keep_ids_and_timestamps() -> None:
    at = datetime(2024, 12, 11, tzinfo=timezone.utc)
    human = from_history(HistoryMessage("id1", "hi", True, at, "s1"))
    ai = from_history(HistoryMessage("id2", "yo", False, None, "s1"))
    assert isinstance(human, HumanMessage) and isinstance(ai, AIMessage)
    assert (human.id, human.response_metadata) == (
        "id1", {"session_id": "s1", "created_at": at.isoformat()}
    )
    assert (ai.id, ai.response_metadata) == ("id2", {"session_id": "s1"})
