"""Tool calling over the text-only API, against the local server.

The server's generic tool player (or a scripted reply, where the exact model text matters)
plays the model; the tests check what ChatAssisterr sends and how it reads the reply.
"""

from __future__ import annotations

import functools
import json
import operator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from assisterr_core import InvalidRequestError
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21 degrees in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def _calls(*calls: dict[str, Any]) -> str:
    return json.dumps({"tool_calls": list(calls)})


def test_agent_runs_a_full_tool_loop(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    agent = create_agent(chat, tools=[get_weather, add])
    state = agent.invoke({"messages": [HumanMessage("What is the weather in 'Paris'?")]})
    messages = state["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[1].tool_calls[0]["name"] == "get_weather"
    assert messages[1].tool_calls[0]["args"] == {"city": "Paris"}
    assert messages[2].content == "sunny and 21 degrees in Paris"
    assert "sunny and 21 degrees in Paris" in messages[3].content
    first, last = (r.query for r in assisterr_emulator.chat_requests())
    assert "- get_weather: Get the current weather in a city." in first
    assert "- add: Add two integers." in first
    assert first.endswith("What is the weather in 'Paris'?")
    assert last.endswith(
        "User: What is the weather in 'Paris'?\n"
        'Assistant: {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}\n'
        "Tool result (get_weather): sunny and 21 degrees in Paris"
    )


def test_agent_runs_two_calls_at_once(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder([
        _calls(_call("get_weather", city="Oslo"), _call("add", a=2, b=3)),
        "Oslo is sunny, and 2 + 3 = 5.",
    ])
    agent = create_agent(chat, tools=[get_weather, add])
    state = agent.invoke({"messages": [HumanMessage("Weather in Oslo, and 2 + 3?")]})
    results = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
    assert results == ["sunny and 21 degrees in Oslo", "5"]
    assert state["messages"][-1].content == "Oslo is sunny, and 2 + 3 = 5."
    query = assisterr_emulator.chat_requests()[-1].query
    assert "Tool result (get_weather): sunny and 21 degrees in Oslo\nTool result (add): 5" in query


PARSING = {
    "fenced": (
        f"```json\n{_calls(_call('add', a=1, b=2))}\n```",
        "", [("add", {"a": 1, "b": 2})], [],
    ),
    "prose around": (
        f"Let me add them. {_calls(_call('add', a=1, b=2))} One moment.",
        "Let me add them. One moment.", [("add", {"a": 1, "b": 2})], [],
    ),
    "two calls": (
        _calls(_call("add", a=1, b=2), _call("get_weather", city="Rome")),
        "", [("add", {"a": 1, "b": 2}), ("get_weather", {"city": "Rome"})], [],
    ),
    "bare call object": (
        '{"name": "get_weather", "arguments": {"city": "Rome"}}',
        "", [("get_weather", {"city": "Rome"})], [],
    ),
    "unknown tool": (
        _calls(_call("get_time", zone="UTC")), "", [], [("get_time", "unknown tool")],
    ),
    "bad arguments": (
        _calls(_call("add", a="one", b=2)), "", [], [("add", "should be integer")],
    ),
    "missing argument": (
        _calls(_call("add", a=1)), "", [], [("add", "missing required")],
    ),
    "no call": ("It is 3.", "It is 3.", [], []),
}


@pytest.mark.parametrize("case", PARSING)
def test_replies_are_parsed_the_same_streamed_or_not(
    case: str, chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    reply, content, calls, invalid = PARSING[case]
    assisterr_emulator.set_responder(lambda _: reply)
    model = chat.bind_tools([add, get_weather])

    message = model.invoke("What is 1 + 2?")
    chunks = list(model.stream("What is 1 + 2?"))

    assert len(chunks) == 1 and isinstance(chunks[0], AIMessageChunk)
    for result in (message, chunks[0]):
        assert result.content == content
        assert [(c["name"], c["args"]) for c in result.tool_calls] == calls
        assert all(c["id"] and c["type"] == "tool_call" for c in result.tool_calls)
        assert len(result.invalid_tool_calls) == len(invalid)
        for got, (name, error) in zip(result.invalid_tool_calls, invalid, strict=True):
            assert got["name"] == name and error in (got["error"] or "")
    assert [(c["name"], json.loads(c["args"] or "{}")) for c in chunks[0].tool_call_chunks
            if c["name"] in {name for name, _ in calls}] == calls


async def test_async_invoke_and_stream_agree(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    model = chat.bind_tools([add, get_weather], tool_choice="add")
    message = await model.ainvoke("Please add 4 and 5")
    full: AIMessageChunk | None = None
    async for chunk in model.astream("Please add 4 and 5"):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("add", {"a": 4, "b": 5})]
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("add", {"a": 4, "b": 5})]


@pytest.mark.parametrize(
    ("tool_choice", "sentence"),
    [
        (None, "Call a tool when it helps"),
        ("auto", "Call a tool when it helps"),
        ("any", "You must call at least one of the tools now."),
        ("required", "You must call at least one of the tools now."),
        ("add", 'You must call the tool "add" now.'),
        ({"type": "function", "function": {"name": "add"}}, 'You must call the tool "add" now.'),
    ],
)
def test_tool_choice_is_rendered(
    tool_choice: Any, sentence: str, chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    chat.bind_tools([add, get_weather], tool_choice=tool_choice).invoke("Hello")
    assert sentence in assisterr_emulator.chat_requests()[-1].query


def test_tool_choice_none_offers_no_tools_and_unknown_names_are_refused(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    reply = chat.bind_tools([add], tool_choice="none").invoke("Hello")
    assert reply.content == "Hello from test-slm! You said: Hello"
    assert assisterr_emulator.chat_requests()[-1].query == "Hello"
    with pytest.raises(ValueError, match="names no offered tool"):
        chat.bind_tools([add], tool_choice="multiply")


def test_instructions_join_the_system_text_and_the_template_can_change(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    template = "Tools:\n{tools}\n{choice}\nAnswer {{\"tool_calls\": [...]}} to call."
    model = ChatAssisterr(model="test-slm", tool_prompt_template=template, **conn)
    model.bind_tools([add], tool_choice=True).invoke([("system", "Be brief."), ("human", "Hi")])
    query = assisterr_emulator.chat_requests()[-1].query
    assert query.startswith('Be brief.\n\nTools:\n- add: Add two integers.\n')
    assert 'You must call the tool "add" now.\nAnswer {"tool_calls": [...]} to call.\n\nHi' in query


def test_session_sends_instructions_with_the_turns_since_the_last_reply(
    chat: ChatAssisterr, session_id: str, assisterr_emulator: EmulatorServer
) -> None:
    model = chat.bind_tools([get_weather], session_id=session_id)
    question = HumanMessage("What is the weather in 'Lima'?")
    call = model.invoke([question])
    assert isinstance(call, AIMessage)
    result = get_weather.invoke(call.tool_calls[0])
    answer = model.invoke([question, call, result])
    first, second = (r.query for r in assisterr_emulator.chat_requests())
    assert first.endswith("\n\nWhat is the weather in 'Lima'?")
    assert second.endswith("Tool result (get_weather): sunny and 21 degrees in Lima")
    assert "User:" not in second  # the server already holds the question
    assert "sunny and 21 degrees in Lima" in answer.content
    assert len(assisterr_emulator.history(session_id)) == 4


def test_session_without_new_turns_is_refused_without_tools(
    chat: ChatAssisterr, session_id: str
) -> None:
    with pytest.raises(InvalidRequestError, match="last message must come from the user"):
        chat.invoke([HumanMessage("hi"), AIMessage("hello")], session_id=session_id)


INVALID_CALLS = {
    "unknown tool": (_calls(_call("nope", city="Paris")), "nope", "unknown tool 'nope'"),
    "missing argument": (_calls(_call("get_weather")), "get_weather",
                         "missing required argument(s): city"),
}


def _invalid_only(message: AIMessage, name: str) -> None:
    assert message.tool_calls == []
    assert [c["name"] for c in message.invalid_tool_calls] == [name]


@pytest.mark.parametrize("case", INVALID_CALLS)
def test_invalid_calls_stay_invalid_however_the_reply_is_read(
    case: str, conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    reply, name, error = INVALID_CALLS[case]
    assisterr_emulator.set_responder(lambda _: reply)
    plain = ChatAssisterr(model="test-slm", **conn).bind_tools([get_weather])
    streaming = ChatAssisterr(model="test-slm", streaming=True, **conn).bind_tools([get_weather])

    invoked = plain.invoke("Weather?")
    _invalid_only(invoked, name)
    assert error in (invoked.invalid_tool_calls[0]["error"] or "")
    streamed_invoke = streaming.invoke("Weather?")  # langchain-core adds the chunks
    _invalid_only(streamed_invoke, name)
    assert error in (streamed_invoke.invalid_tool_calls[0]["args"] or "")
    chunks = list(plain.stream("Weather?"))
    _invalid_only(chunks[-1], name)
    assert chunks[-1].invalid_tool_calls[0]["error"] == invoked.invalid_tool_calls[0]["error"]
    added = functools.reduce(operator.add, chunks, AIMessageChunk(content=""))
    _invalid_only(added, name)

    agent = create_agent(ChatAssisterr(model="test-slm", **conn), tools=[get_weather])
    states = [event for mode, event in agent.stream(
        {"messages": [HumanMessage("Weather?")]}, stream_mode=["messages", "values"]
    ) if mode == "values"]
    final = states[-1]["messages"]
    assert [type(m) for m in final] == [HumanMessage, AIMessage]  # no tool was called
    _invalid_only(final[-1], name)
    assert len(assisterr_emulator.chat_requests()) == 4  # the agent asked once


@pytest.mark.parametrize("case", INVALID_CALLS)
async def test_a_streaming_generate_reparses_the_whole_reply(
    case: str, conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    reply, name, error = INVALID_CALLS[case]
    assisterr_emulator.set_responder(lambda _: reply)
    model = ChatAssisterr(model="test-slm", streaming=True, **conn)
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }}]
    messages: list[Any] = [HumanMessage("Weather?")]
    results = [model._generate(messages, tools=tools),
               await model._agenerate(messages, tools=tools)]
    for result in results:
        message = result.generations[0].message
        assert isinstance(message, AIMessage)
        _invalid_only(message, name)
        assert error in (message.invalid_tool_calls[0]["error"] or "")
        assert message.invalid_tool_calls[0]["args"] == json.dumps(
            json.loads(reply)["tool_calls"][0]["arguments"])


def test_tools_passed_to_a_call_are_taken_in_any_form_bind_tools_takes(
    chat: ChatAssisterr,
) -> None:
    for tools in ([add], [convert_to_openai_tool(add)]):
        reply = chat.invoke("What is 2 plus 40?", tools=tools)
        assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("add", {"a": 2, "b": 40})]
    with pytest.raises(InvalidRequestError, match="tools: a tool needs a name"):
        chat.invoke("hi", tools=[{"description": "nameless"}])
