"""LangChain conformance: tools and agents, from a hand-written tool loop to LangGraph."""

from __future__ import annotations

import json
import warnings
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import LLMToolSelectorMiddleware
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from assisterr_emulator import EmulatorServer

from ._langchain import HANDLE, model_on
from .conftest import pattern


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 degrees in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class WeatherReport(BaseModel):
    """A weather report for the user."""

    city: str
    degrees: int


def kinds(messages: list[Any]) -> list[type]:
    return [type(message) for message in messages]


@pattern("LangChain", "bind_tools with a manual tool loop",
         "the call comes back in tool_calls; ToolMessages go back in the next query")
def test_bind_tools_with_a_manual_tool_loop(assisterr_emulator: EmulatorServer) -> None:
    llm = model_on(assisterr_emulator).bind_tools([add, multiply])
    messages: list[Any] = [HumanMessage("What is 2 plus 40?")]
    reply = llm.invoke(messages)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("add", {"a": 2, "b": 40})]
    messages.append(reply)
    tools = {"add": add, "multiply": multiply}
    messages += [tools[call["name"]].invoke(call) for call in reply.tool_calls]
    final = llm.invoke(messages)
    assert final.text == f"Hello from {HANDLE}! The tool returned: 42" and not final.tool_calls
    second = assisterr_emulator.chat_requests()[1].query
    assert 'Assistant: {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]}' \
        in second and "Tool result (add): 42" in second


@pattern("LangChain", "create_agent with tools", "langchain.agents: the matching tool, "
         "arguments from the question, then an answer from its result")
def test_create_agent_with_tools(assisterr_emulator: EmulatorServer) -> None:
    agent = create_agent(model_on(assisterr_emulator), tools=[get_weather, add])
    state = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
    messages = state["messages"]
    assert kinds(messages) == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[1].tool_calls[0]["name"] == "get_weather"
    assert messages[1].tool_calls[0]["args"] == {"city": "Paris"}
    assert messages[-1].text == (
        f"Hello from {HANDLE}! The tool returned: Sunny, 21 degrees in Paris")
    assert len(assisterr_emulator.chat_requests()) == 2


@pattern("LangChain", "create_agent with ToolStrategy",
         "the schema as a tool the model must call once the other tools have answered")
def test_create_agent_with_tool_strategy(assisterr_emulator: EmulatorServer) -> None:
    agent = create_agent(model_on(assisterr_emulator), tools=[get_weather],
                         response_format=ToolStrategy(WeatherReport))
    state = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
    assert state["structured_response"] == WeatherReport(city="Paris", degrees=21)
    calls = [m.tool_calls[0]["name"] for m in state["messages"] if isinstance(m, AIMessage)]
    assert calls == ["get_weather", "WeatherReport"]
    assert len(assisterr_emulator.chat_requests()) == 2


@pattern("LangChain", "create_agent with ProviderStrategy", "response_format reaches the "
         "query as a JSON schema; the final message is the bare JSON the strategy parses")
def test_create_agent_with_provider_strategy(assisterr_emulator: EmulatorServer) -> None:
    agent = create_agent(model_on(assisterr_emulator), tools=[get_weather],
                         response_format=ProviderStrategy(WeatherReport))
    state = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
    assert state["structured_response"] == WeatherReport(city="Paris", degrees=21)
    final = state["messages"][-1]
    assert json.loads(final.text) == {"city": "Paris", "degrees": 21} and not final.tool_calls
    first, second = (r.query for r in assisterr_emulator.chat_requests())
    schema_ask = "Answer with only a JSON value that matches this JSON schema"
    assert schema_ask in first and schema_ask in second and '"title": "WeatherReport"' in first


@pattern("LangChain", "langgraph create_react_agent", "the prebuilt ReAct graph over bind_tools")
def test_langgraph_create_react_agent(assisterr_emulator: EmulatorServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langgraph points to create_agent
        from langgraph.prebuilt import create_react_agent

        agent = create_react_agent(model_on(assisterr_emulator), tools=[get_weather, add])
    state = agent.invoke({"messages": [("user", "What is 2 plus 40?")]})
    messages = state["messages"]
    assert kinds(messages) == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[1].tool_calls[0]["args"] == {"a": 2, "b": 40} and messages[2].text == "42"
    assert messages[-1].text == f"Hello from {HANDLE}! The tool returned: 42"


@pattern("LangChain", "bind_tools with a hand-written ToolMessage",
         "ToolMessage(content, tool_call_id=...) without a name: the result is labelled with "
         "the tool its call id answers")
def test_bind_tools_with_a_hand_written_tool_message(assisterr_emulator: EmulatorServer) -> None:
    llm = model_on(assisterr_emulator).bind_tools([add, multiply])
    messages: list[Any] = [HumanMessage("What is 2 plus 40?")]
    reply = llm.invoke(messages)
    messages.append(reply)
    for call in reply.tool_calls:  # as the docs write it: the id, not the name
        messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))
    final = llm.invoke(messages)
    assert final.text == f"Hello from {HANDLE}! The tool returned: 42"
    second = assisterr_emulator.chat_requests()[1].query
    assert "Tool result (add): 42" in second and reply.tool_calls[0]["id"] not in second


@pattern("LangChain", "bind_tools(parallel_tool_calls=False)",
         "one call per reply: the instructions ask for one, and only the first call is kept")
def test_bind_tools_without_parallel_tool_calls(assisterr_emulator: EmulatorServer) -> None:
    both = json.dumps({"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}},
                                      {"name": "multiply", "arguments": {"a": 6, "b": 7}}]})
    assisterr_emulator.set_responder([both, both, both])
    model = model_on(assisterr_emulator)
    parallel = model.bind_tools([add, multiply]).invoke("2 plus 40, and 6 times 7?")
    single = model.bind_tools([add, multiply], parallel_tool_calls=False)
    one = single.invoke("2 plus 40, and 6 times 7?")
    streamed = [chunk for chunk in single.stream("2 plus 40, and 6 times 7?")]
    assert [c["name"] for c in parallel.tool_calls] == ["add", "multiply"]
    assert [c["name"] for c in one.tool_calls] == ["add"]
    assert [c["name"] for chunk in streamed for c in chunk.tool_calls] == ["add"]
    queries = [r.query for r in assisterr_emulator.chat_requests()]
    assert "one tool at a time" not in queries[0] and "one tool at a time" in queries[1]


@pattern("LangChain", "create_agent with a checkpointer",
         "a thread's second turn sees the first, tool call and result included")
def test_create_agent_with_a_checkpointer(assisterr_emulator: EmulatorServer) -> None:
    agent = create_agent(model_on(assisterr_emulator), tools=[get_weather, add],
                         checkpointer=InMemorySaver())
    thread: Any = {"configurable": {"thread_id": "ada"}}
    agent.invoke({"messages": [("user", "What is 2 plus 40?")]}, thread)
    state = agent.invoke({"messages": [("user", "What was my first question?")]}, thread)
    assert state["messages"][-1].text == 'Your first question was: "What is 2 plus 40?"'
    assert kinds(state["messages"]) == [HumanMessage, AIMessage, ToolMessage, AIMessage,
                                        HumanMessage, AIMessage]
    last = assisterr_emulator.chat_requests()[-1].query
    assert "Tool result (add): 42" in last and last.endswith("User: What was my first question?")


@pattern("LangChain", "create_agent with LLMToolSelectorMiddleware",
         "before each model call a structured answer picks the tools (a choice of described "
         "constants); only those are offered")
def test_create_agent_with_a_tool_selector(assisterr_emulator: EmulatorServer) -> None:
    model = model_on(assisterr_emulator)
    agent = create_agent(model, tools=[get_weather, add, multiply],
                         middleware=[LLMToolSelectorMiddleware(model=model, max_tools=1)])
    state = agent.invoke({"messages": [("user", "What is 2 plus 40?")]})
    assert state["messages"][1].tool_calls[0]["args"] == {"a": 2, "b": 40}
    assert state["messages"][-1].text == f"Hello from {HANDLE}! The tool returned: 42"
    queries = [r.query for r in assisterr_emulator.chat_requests()]  # a selection per step
    assert len(queries) == 4 and all("select the most relevant tools" in q for q in queries[::2])
    for offered in queries[1::2]:
        assert "- add: " in offered and "- get_weather: " not in offered
        assert "- multiply: " not in offered


@pattern("LangChain", "langgraph create_react_agent with response_format",
         "a last structured call reads the answer from the tool results")
def test_create_react_agent_with_response_format(assisterr_emulator: EmulatorServer) -> None:
    class Sum(BaseModel):
        result: int

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import create_react_agent

        agent = create_react_agent(model_on(assisterr_emulator), tools=[add],
                                   response_format=Sum)
    state = agent.invoke({"messages": [("user", "What is 2 plus 40?")]})
    assert state["structured_response"] == Sum(result=42)
    assert len(assisterr_emulator.chat_requests()) == 3


@pattern("LangChain", 'bind_tools(tool_choice="none")', "no tool offered: the answer streams "
         "token by token and is not read for calls")
def test_bind_tools_with_tool_choice_none(assisterr_emulator: EmulatorServer) -> None:
    call = '{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]}'
    assisterr_emulator.set_responder([f"The format is {call} and more.", "Forty two."])
    llm = model_on(assisterr_emulator).bind_tools([add], tool_choice="none")
    told = llm.invoke("How do I call add?")
    chunks = [chunk.text for chunk in llm.stream("What is 2 plus 40?")]
    assert told.text == f"The format is {call} and more." and not told.tool_calls
    assert chunks[:2] == ["Forty", " two."]
    assert "You can use these tools" not in assisterr_emulator.chat_requests()[0].query
