"""``Assisterr`` as a LlamaIndex ``FunctionCallingLLM``: tools offered by prompt, with the core's
instructions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ToolCallBlock
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.tools import FunctionTool

from assisterr_core import AssisterrClient, InvalidRequestError
from assisterr_core.chat import render_tool_calls, tool_instructions
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr
from llama_index_assisterr._tools import tool_spec

from .conftest import HANDLE, make_llm

# llama-index-workflows inspects the agent's pydantic attributes, tripping their deprecations.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny in {city}"


TOOLS = [FunctionTool.from_defaults(multiply), FunctionTool.from_defaults(get_weather)]
WEATHER_QUESTION = "What is the weather in 'Paris'?"


def call(name: str, arguments: dict[str, Any]) -> str:
    return render_tool_calls([{"name": name, "arguments": arguments}])


def instructions(choice: str | None = None, *, parallel: bool = False) -> str:
    """The tool instructions; one call per reply unless ``parallel`` (chat_with_tools'
    default is allow_parallel_tool_calls=False, a FunctionAgent's True)."""
    return tool_instructions([tool_spec(tool) for tool in TOOLS], choice, parallel=parallel)


def calls_of(llm: Assisterr, response: ChatResponse) -> list[tuple[str, dict[str, Any]]]:
    selections = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    return [(c.tool_name, c.tool_kwargs) for c in selections]


def test_the_four_tool_methods_send_the_instructions_and_read_the_call(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    async def asynchronous() -> list[ChatResponse]:
        whole = await llm.achat_with_tools(TOOLS, user_msg=WEATHER_QUESTION)
        stream = await llm.astream_chat_with_tools(TOOLS, user_msg=WEATHER_QUESTION)
        return [whole, [chunk async for chunk in stream][-1]]

    responses = [
        llm.chat_with_tools(TOOLS, user_msg=WEATHER_QUESTION),
        list(llm.stream_chat_with_tools(TOOLS, user_msg=WEATHER_QUESTION))[-1],
        *asyncio.run(asynchronous()),
    ]

    for response in responses:
        assert calls_of(llm, response) == [("get_weather", {"city": "Paris"})]
        (block,) = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        (mirrored,) = response.message.additional_kwargs["tool_calls"]
        assert mirrored == {"id": block.tool_call_id, "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        assert response.message.content == ""
    assert {r.query for r in assisterr_emulator.chat_requests()} == {
        f"{instructions()}\n\n{WEATHER_QUESTION}"
    }


def test_tool_choice_and_tool_required_reach_the_query(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    llm.chat_with_tools(TOOLS, user_msg="hi", tool_required=True)
    llm.chat_with_tools(TOOLS, user_msg="hi", tool_choice="get_weather")
    llm.chat_with_tools(TOOLS, user_msg="hi", tool_choice={"type": "function",
                                                           "function": {"name": "multiply"}})
    llm.chat_with_tools(TOOLS, user_msg="hi", tool_choice="none")

    assert [r.query for r in assisterr_emulator.chat_requests()] == [
        f"{instructions('any')}\n\nhi", f"{instructions('get_weather')}\n\nhi",
        f"{instructions('multiply')}\n\nhi", "hi",
    ]
    with pytest.raises(InvalidRequestError, match="'nope' names no offered tool"):
        llm.chat_with_tools(TOOLS, user_msg="hi", tool_choice="nope")
    assert len(assisterr_emulator.chat_requests()) == 4  # refused before anything was sent


def test_a_session_gets_the_instructions_and_the_tool_results_it_has_not_seen(
    assisterr_emulator: EmulatorServer,
) -> None:
    with AssisterrClient(base_url=assisterr_emulator.base_url,
                         api_key=assisterr_emulator.api_key) as client:
        sid = client.create_session(HANDLE)
    assisterr_emulator.set_responder(lambda request: "ok")
    llm = make_llm(assisterr_emulator, session_id=sid)
    earlier = ChatMessage(role="assistant", blocks=[
        ToolCallBlock(tool_call_id="c1", tool_name="multiply", tool_kwargs={"a": 6, "b": 7})])
    result = ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c1"})

    llm.chat_with_tools(TOOLS, chat_history=[ChatMessage(content="6 times 7?"), earlier, result])

    assert assisterr_emulator.chat_requests()[-1].query == (
        f"{instructions()}\n\nConversation so far:\nTool result (multiply): 42"
    )


def test_a_function_agent_sees_its_earlier_calls_and_their_results(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    agent = FunctionAgent(tools=TOOLS, llm=llm)

    async def run() -> tuple[str, list[ToolCallResult]]:
        handler = agent.run("Multiply 6 by 7")
        results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
        return str(await handler), results

    answer, results = asyncio.run(run())

    assert [(r.tool_name, r.tool_kwargs, r.tool_output.content) for r in results] == [
        ("multiply", {"a": 6, "b": 7}, "42")]
    assert answer == f"Hello from {HANDLE}! The tool returned: 42"
    second = assisterr_emulator.chat_requests()[-1].query
    assert second == (f"{instructions(parallel=True)}\n\nConversation so far:\n"
                      "User: Multiply 6 by 7\n"
                      f"Assistant: {call('multiply', {'a': 6, 'b': 7})}\n"
                      "Tool result (multiply): 42")


CALL_REPLY = ["Let", " me", " check.", " {\"tool_calls\": [{\"name\": \"multiply\", ",
              "\"arguments\": {\"a\": 6, \"b\": 7}}]}"]


def test_a_streamed_tool_reply_shows_its_text_then_ends_with_the_calls(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda request: CALL_REPLY)

    chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg="6 times 7?"))

    assert [c.delta for c in chunks] == ["Let", " me", " check.", " ", "", ""]
    assert [c.message.content for c in chunks[:3]] == ["Let", "Let me", "Let me check."]
    assert [calls_of(llm, c) for c in chunks] == [[]] * 5 + [[("multiply", {"a": 6, "b": 7})]]
    assert chunks[-1].message.content == "Let me check."


def test_streamed_prose_with_braces_is_all_shown(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    text = "Write {name} where the name goes, then [done]."
    assisterr_emulator.set_responder(lambda request: text)

    chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg="How do templates work?"))

    assert "".join(c.delta for c in chunks) == text
    assert chunks[-1].message.content == text and calls_of(llm, chunks[-1]) == []


TWO_CALLS = json.dumps({"tool_calls": [{"name": "multiply", "arguments": {"a": 1, "b": 2}},
                                       {"name": "get_weather", "arguments": {"city": "Rome"}}]})


def test_parallel_calls_are_kept_only_when_allowed(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda request: TWO_CALLS)

    single = llm.chat_with_tools(TOOLS, user_msg="go")
    both = llm.chat_with_tools(TOOLS, user_msg="go", allow_parallel_tool_calls=True)
    streamed = list(llm.stream_chat_with_tools(TOOLS, user_msg="go"))[-1]

    assert calls_of(llm, single) == calls_of(llm, streamed) == [("multiply", {"a": 1, "b": 2})]
    assert calls_of(llm, both) == [("multiply", {"a": 1, "b": 2}),
                                   ("get_weather", {"city": "Rome"})]


UNKNOWN_TOOL = call("divide", {"a": 6, "b": 7})
OFF_SCHEMA = call("multiply", {"a": 6})


def test_calls_that_do_not_fit_are_returned_and_listed_with_the_reason(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder([UNKNOWN_TOOL, OFF_SCHEMA])

    unknown = llm.chat_with_tools(TOOLS, user_msg="6 / 7?")
    off_schema = llm.chat_with_tools(TOOLS, user_msg="6 * 7?")

    assert calls_of(llm, unknown) == [("divide", {"a": 6, "b": 7})]
    assert calls_of(llm, off_schema) == [("multiply", {"a": 6})]
    (refused,) = unknown.message.additional_kwargs["invalid_tool_calls"]
    assert refused["name"] == "divide" and "unknown tool 'divide'" in refused["error"]
    (refused,) = off_schema.message.additional_kwargs["invalid_tool_calls"]
    assert "missing required argument(s): b" in refused["error"]
    with pytest.raises(ValueError, match="divide: unknown tool 'divide'"):
        llm.get_tool_calls_from_response(unknown, error_on_no_tool_call=True)


async def test_a_function_agent_recovers_from_calls_that_do_not_fit(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    final = "6 times 7 is 42."
    assisterr_emulator.set_responder([UNKNOWN_TOOL, OFF_SCHEMA,
                                      call("multiply", {"a": 6, "b": 7}), final])
    agent = FunctionAgent(tools=TOOLS, llm=llm, streaming=True)

    handler = agent.run("What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = await handler

    assert str(answer) == final
    assert [(r.tool_name, r.tool_output.is_error) for r in results] == [
        ("divide", True), ("multiply", True), ("multiply", False)]
    # each failure went back to the model as a tool result it could act on
    queries = [r.query or "" for r in assisterr_emulator.chat_requests()]
    assert "Tool result (divide): Tool divide not found." in queries[1]
    assert ("Tool result (multiply): multiply() missing 1 required positional argument: 'b'"
            in queries[2])


async def test_a_function_agent_takes_prose_as_the_answer(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(["I can answer that myself: 42."])

    answer = await FunctionAgent(tools=TOOLS, llm=llm).run("What is 6 times 7?")

    assert str(answer) == "I can answer that myself: 42." and answer.tool_calls == []


def test_predict_and_call_says_why_a_reply_cannot_be_called(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder([UNKNOWN_TOOL, "Just prose."])

    with pytest.raises(ValueError, match="unknown tool 'divide'; available: get_weather, multiply"):
        llm.predict_and_call(TOOLS, "6 / 7?")
    with pytest.raises(ValueError, match=r"Expected at least one tool call.*Just prose"):
        llm.predict_and_call(TOOLS, "6 / 7?")


def test_tool_selections_come_from_tool_call_blocks(llm: Assisterr) -> None:
    message = ChatMessage(role="assistant", blocks=[
        ToolCallBlock(tool_call_id="c1", tool_name="multiply", tool_kwargs={"a": 1, "b": 2}),
        ToolCallBlock(tool_name="get_weather", tool_kwargs="not json")])

    assert llm.get_tool_calls_from_response(ChatResponse(message=message)) == [
        ToolSelection(tool_id="c1", tool_name="multiply", tool_kwargs={"a": 1, "b": 2}),
        ToolSelection(tool_id="get_weather", tool_name="get_weather", tool_kwargs={}),
    ]


PROSE = "Let me check."
FENCED_CALL = PROSE + "\n```json\n" + call("multiply", {"a": 6, "b": 7}) + "\n```"


def _splits(text: str) -> list[list[str]]:
    """``text`` cut in two at every position, and in chunks of one to four characters."""
    halves = [[text[:at], text[at:]] for at in range(1, len(text))]
    pieces = [[text[at:at + size] for at in range(0, len(text), size)] for size in range(1, 5)]
    return halves + pieces


def test_a_fenced_call_split_anywhere_across_chunks_is_never_shown(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    for chunks in _splits(FENCED_CALL):
        assisterr_emulator.set_responder(lambda request, chunks=chunks: chunks)

        streamed = list(llm.stream_chat_with_tools(TOOLS, user_msg="6 times 7?"))

        shown = "".join(c.delta or "" for c in streamed)
        assert shown.rstrip() == PROSE, chunks
        assert not [mark for mark in ("`", "{", "json", "multiply") if mark in shown], chunks
        assert calls_of(llm, streamed[-1]) == [("multiply", {"a": 6, "b": 7})], chunks


@pytest.mark.parametrize("chunks", [["Use `", "x` and ``", "y``."], ["It ends in `", "`"]])
def test_backticks_held_at_a_chunks_end_are_shown_when_they_open_no_call(
    llm: Assisterr, assisterr_emulator: EmulatorServer, chunks: list[str]
) -> None:
    assisterr_emulator.set_responder(lambda request: chunks)

    streamed = list(llm.stream_chat_with_tools(TOOLS, user_msg="Inline code?"))

    assert "".join(c.delta or "" for c in streamed) == "".join(chunks)
    assert calls_of(llm, streamed[-1]) == []
