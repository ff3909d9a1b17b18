"""A ReAct agent on ``Assisterr``: the local server's scripted responder plays the model."""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import AgentStream, ReActAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

TOOL_CALL = (
    "Thought: I need to use a tool to help me answer the question.\n"
    "Action: multiply\n"
    'Action Input: {"a": 6, "b": 7}'
)
FINAL = "Thought: I can answer without using any more tools.\nAnswer: 6 times 7 is 42."
tool_calls: list[tuple[int, int]] = []

# llama-index-workflows inspects the agent's pydantic attributes, tripping their deprecations.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    tool_calls.append((a, b))
    return a * b


@pytest.mark.parametrize("streaming", [True, False])
async def test_react_agent_calls_a_tool_then_answers(
    llm: Assisterr, assisterr_emulator: EmulatorServer, streaming: bool
) -> None:
    tool_calls.clear()
    assisterr_emulator.set_responder([TOOL_CALL, FINAL])
    agent = ReActAgent(
        tools=[FunctionTool.from_defaults(fn=multiply)], llm=llm, streaming=streaming
    )

    handler = agent.run(user_msg="What is 6 times 7?")
    results: list[ToolCallResult] = []
    deltas: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append(event)
        elif isinstance(event, AgentStream):
            deltas.append(event.delta)
    output = await handler

    assert str(output) == "6 times 7 is 42."
    assert tool_calls == [(6, 7)]
    assert [(r.tool_name, r.tool_output.content) for r in results] == [("multiply", "42")]
    first, second = assisterr_emulator.chat_requests()
    assert first.path.endswith("/chat/stream/" if streaming else "/chat/")
    assert first.query is not None and "multiply" in first.query  # the tools were described
    assert "What is 6 times 7?" in first.query
    # the tool call and its result were rendered into the next query
    assert second.query is not None
    assert "Assistant: Thought: I need to use a tool" in second.query
    assert "Action: multiply\nAction Input: {'a': 6, 'b': 7}" in second.query
    assert second.query.endswith("User: Observation: 42")
    if streaming:
        assert "".join(deltas) == TOOL_CALL + FINAL
