"""LlamaIndex agents, tool calls and routers: the ReAct text format and function calling
by prompt."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import (
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCallResult,
)
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.query_engine import RouterQueryEngine
from llama_index.core.selectors import LLMSingleSelector, PydanticSingleSelector
from llama_index.core.tools import FunctionTool, QueryEngineTool

from assisterr_emulator import EmulatorServer, ScriptedResponder
from llama_index_assisterr import Assisterr

from ._llama_index import FRANCE, HANDLE, SLMS, get_weather, make_index, make_llm, multiply
from .conftest import pattern

# llama-index-workflows inspects the agents' pydantic attributes, tripping their deprecations.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOOLS = [FunctionTool.from_defaults(multiply), FunctionTool.from_defaults(get_weather)]


def calls(*pairs: tuple[str, dict[str, Any]]) -> str:
    """A reply in the tool instructions' JSON, calling each (name, arguments)."""
    return json.dumps({"tool_calls": [{"name": n, "arguments": a} for n, a in pairs]})


@pattern("LlamaIndex", "ReActAgent", "Thought/Action/Observation as text; the local server "
         "plays the format from the tools in the prompt")
async def test_react_agent(assisterr_emulator: EmulatorServer) -> None:
    agent = ReActAgent(tools=TOOLS, llm=make_llm(assisterr_emulator))

    handler = agent.run("What is the weather in 'Paris'?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = await handler

    assert [(r.tool_name, r.tool_kwargs, r.tool_output.content) for r in results] == [
        ("get_weather", {"city": "Paris"}, "Sunny in Paris")]
    assert str(answer) == f"Hello from {HANDLE}! The tool returned: Sunny in Paris"
    first, second = (r.query or "" for r in assisterr_emulator.chat_requests())
    assert "> Tool Name: get_weather" in first
    assert "Action: get_weather" in second and second.endswith("Observation: Sunny in Paris")


@pattern("LlamaIndex", "FunctionAgent", "tools by prompt; streamed events, calls read "
         "from the reply")
async def test_function_agent(assisterr_emulator: EmulatorServer) -> None:
    agent = FunctionAgent(tools=TOOLS, llm=make_llm(assisterr_emulator), streaming=True)

    handler = agent.run("Multiply 6 by 7")
    events = [e async for e in handler.stream_events()]
    answer = await handler

    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [(r.tool_name, r.tool_kwargs, r.tool_output.content) for r in results] == [
        ("multiply", {"a": 6, "b": 7}, "42")]
    assert str(answer) == f"Hello from {HANDLE}! The tool returned: 42"
    streamed = [e for e in events if isinstance(e, AgentStream)]
    assert "".join(e.delta for e in streamed).endswith(str(answer))  # the answer streamed
    assert streamed[-1].response == str(answer)


@pattern("LlamaIndex", "AgentWorkflow", "function agents handing off to each other "
         "(handoff scripted)")
async def test_agent_workflow(assisterr_emulator: EmulatorServer) -> None:
    # the handoff target is a name from the prompt's agent list: scripted, as a model would
    script = ScriptedResponder([
        calls(("handoff", {"to_agent": "calculator", "reason": "This is arithmetic."})),
        calls(("multiply", {"a": 6, "b": 7})),
        "6 times 7 is 42.",
    ])
    assisterr_emulator.set_responder(script)
    llm = make_llm(assisterr_emulator)
    workflow = AgentWorkflow(
        agents=[
            FunctionAgent(name="weather", description="Answers questions about the weather.",
                          tools=[get_weather], llm=llm, can_handoff_to=["calculator"]),
            FunctionAgent(name="calculator", description="Does arithmetic.",
                          tools=[multiply], llm=llm),
        ],
        root_agent="weather",
    )

    handler = workflow.run(user_msg="What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = await handler

    assert [(r.tool_name, r.tool_kwargs) for r in results] == [
        ("handoff", {"to_agent": "calculator", "reason": "This is arithmetic."}),
        ("multiply", {"a": 6, "b": 7})]
    assert results[-1].tool_output.content == "42"
    assert (str(answer), answer.current_agent_name) == ("6 times 7 is 42.", "calculator")
    weather_query, calculator_query, _ = script.queries
    assert "- handoff: " in weather_query and "- get_weather: " in weather_query
    assert "- multiply: " in calculator_query and "- get_weather: " not in calculator_query


@pattern("LlamaIndex", "predict_and_call", "one prompted tool call, run by LlamaIndex")
def test_predict_and_call(assisterr_emulator: EmulatorServer) -> None:
    response = make_llm(assisterr_emulator).predict_and_call(
        TOOLS, "What is the weather in 'Rome'?")

    assert response.response == "Sunny in Rome"
    (source,) = response.sources
    assert (source.tool_name, source.raw_input["kwargs"]) == ("get_weather", {"city": "Rome"})


def router(
    llm: Assisterr, selector: LLMSingleSelector | PydanticSingleSelector
) -> RouterQueryEngine:
    tools = [
        QueryEngineTool.from_defaults(make_index(SLMS).as_query_engine(llm=llm),
                                      description="Facts about Assisterr and its language models"),
        QueryEngineTool.from_defaults(make_index(FRANCE).as_query_engine(llm=llm),
                                      description="Facts about France and its cities"),
    ]
    return RouterQueryEngine(selector=selector, query_engine_tools=tools, llm=llm)


@pattern("LlamaIndex", "RouterQueryEngine, LLM selector", "the selector's JSON choice routes "
         "the question (choice scripted)")
def test_router_with_an_llm_selector(assisterr_emulator: EmulatorServer) -> None:
    # LlamaIndex's selector asks for its own JSON list: scripted, as a model would answer
    script = ScriptedResponder(['[{"choice": 2, "reason": "It is about France."}]', "Paris."])
    assisterr_emulator.set_responder(script)
    llm = make_llm(assisterr_emulator)

    response = router(llm, LLMSingleSelector.from_defaults(llm=llm)).query("Capital of France?")

    assert str(response) == "Paris."
    assert response.metadata["selector_result"].ind == 1
    selection, answer = script.queries
    assert "(1 to 2)" in selection and "Capital of France?" in selection
    assert FRANCE in answer and SLMS not in answer


@pattern("LlamaIndex", "RouterQueryEngine, pydantic selector",
         "a prompted call of SingleSelection picks the engine (call scripted)")
def test_router_with_a_pydantic_selector(assisterr_emulator: EmulatorServer) -> None:
    # the index to pick is read from the choices listed in the prompt: scripted
    script = ScriptedResponder([
        calls(("SingleSelection", {"index": 2, "reason": "It is about France."})), "Paris."])
    assisterr_emulator.set_responder(script)
    llm = make_llm(assisterr_emulator)

    response = router(llm, PydanticSingleSelector.from_defaults(llm=llm)).query(
        "Capital of France?")

    assert str(response) == "Paris."
    assert response.metadata["selector_result"].ind == 1
    selection, answer = script.queries
    assert "- SingleSelection: " in selection
    assert "You must call at least one of the tools now." in selection
    assert FRANCE in answer and SLMS not in answer


@pattern("LlamaIndex", "FunctionAgent with ChatMemoryBuffer", "memory= across runs: the "
         "second run's query carries the first run's turns, tool call and result included")
async def test_function_agent_with_memory(assisterr_emulator: EmulatorServer) -> None:
    agent = FunctionAgent(tools=TOOLS, llm=make_llm(assisterr_emulator))
    memory = ChatMemoryBuffer.from_defaults(token_limit=2000)

    first = await agent.run("Multiply 6 by 7", memory=memory)
    second = await agent.run("What was my first question?", memory=memory)

    assert str(first) == f"Hello from {HANDLE}! The tool returned: 42"
    assert str(second) == 'Your first question was: "Multiply 6 by 7"'
    last = assisterr_emulator.chat_requests()[-1].query or ""
    assert "Tool result (multiply): 42" in last
    assert last.endswith("User: What was my first question?")
    assert [m.role.value for m in memory.get_all()] == [
        "user", "assistant", "tool", "assistant", "user", "assistant"]


@pattern("LlamaIndex", 'chat_with_tools(tool_choice="none")', "no tool offered: the answer "
         "streams as it comes, braces and all, and is not read for calls")
def test_chat_with_tools_and_tool_choice_none(assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.set_responder([f"Use {calls(('multiply', {'a': 6, 'b': 7}))}."] * 2)
    llm = make_llm(assisterr_emulator)

    told = llm.chat_with_tools(TOOLS, "How do I multiply?", tool_choice="none")
    streamed = list(llm.stream_chat_with_tools(TOOLS, "How do I multiply?", tool_choice="none"))

    assert llm.get_tool_calls_from_response(told, error_on_no_tool_call=False) == []
    assert str(told.message.content).startswith('Use {"tool_calls"')
    assert [r.delta for r in streamed][:2] == ["Use", ' {"tool_calls":']
    assert "You can use these tools" not in (assisterr_emulator.chat_requests()[0].query or "")
