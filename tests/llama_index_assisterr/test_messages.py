"""Pure conversion of LlamaIndex messages into the one query (no server needed)."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from assisterr_core import (
    ChatTurn,
    InvalidRequestError,
    UnsupportedContentError,
    transcript_template,
)
from llama_index_assisterr._messages import chat_query, completion_query, to_turns


def test_roles_blocks_and_names_become_turns() -> None:
    messages = [
        ChatMessage(role=MessageRole.DEVELOPER, content="Rules."),
        ChatMessage(role=MessageRole.USER, blocks=[TextBlock(text="a"), TextBlock(text="b")]),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[ThinkingBlock(content="hmm"), CachePoint(cache_control=CacheControl(type="x")),
                    ToolCallBlock(tool_name="add", tool_kwargs={"x": 1})],
        ),
        ChatMessage(role=MessageRole.TOOL, content="2", additional_kwargs={"name": "add"}),
    ]

    assert to_turns(messages, system_prompt="ignored: a system message exists") == [
        ChatTurn("developer", "Rules."),
        ChatTurn("user", "a\nb"),
        ChatTurn("assistant", '{"tool_calls": [{"name": "add", "arguments": {"x": 1}}]}'),
        ChatTurn("tool", "2", "add"),
    ]


def test_system_prompt_is_prepended_when_missing() -> None:
    turns = to_turns([ChatMessage(content="hi")], system_prompt="Be brief.")

    assert turns == [ChatTurn("system", "Be brief."), ChatTurn("user", "hi")]


@pytest.mark.parametrize(
    "block", [DocumentBlock(data=b"%PDF-1.4"), VideoBlock(url="https://example.com/v.mp4")]
)
def test_non_text_blocks_are_refused_with_their_position(block: object) -> None:
    messages = [ChatMessage(content="hi"), ChatMessage(blocks=[block])]

    with pytest.raises(UnsupportedContentError, match=r"messages\[1\]"):
        chat_query(messages, transcript_template)


def test_session_mode_takes_the_newest_user_message_and_needs_one() -> None:
    messages = [ChatMessage(content="old"), ChatMessage(role="assistant", content="x"),
                ChatMessage(content="new")]

    assert chat_query(messages, transcript_template, in_session=True) == "new"
    with pytest.raises(InvalidRequestError):
        chat_query(messages[:2], transcript_template, in_session=True)


def test_completion_query_keeps_a_lone_prompt_verbatim() -> None:
    assert completion_query("  exact  ", transcript_template) == "  exact  "
    assert completion_query("q", transcript_template, system_prompt="S") == "S\n\nq"


def test_earlier_calls_are_rendered_as_instructed_and_results_named_after_their_tool() -> None:
    openai_shaped = {"id": "c2", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
    messages = [
        ChatMessage(content="Weather in Rome, and 6 times 7?"),
        ChatMessage(role="assistant", blocks=[
            TextBlock(text="Checking."),
            ToolCallBlock(tool_call_id="c1", tool_name="multiply", tool_kwargs={"a": 6, "b": 7}),
        ]),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c1"}),
        # calls another LLM left in memory, as OpenAI-shaped dicts
        ChatMessage(role="assistant", additional_kwargs={"tool_calls": [openai_shaped]}),
        ChatMessage(role="tool", content="Sunny", additional_kwargs={"tool_call_id": "c2"}),
    ]

    assert to_turns(messages)[1:] == [
        ChatTurn("assistant", 'Checking.\n{"tool_calls": [{"name": "multiply", '
                              '"arguments": {"a": 6, "b": 7}}]}'),
        ChatTurn("tool", "42", "multiply"),
        ChatTurn("assistant", '{"tool_calls": [{"name": "get_weather", '
                              '"arguments": {"city": "Rome"}}]}'),
        ChatTurn("tool", "Sunny", "get_weather"),
    ]
