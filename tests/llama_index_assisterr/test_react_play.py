"""The local server plays LlamaIndex's ReAct format from the tools listed in the prompt."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.react import ReActChatFormatter
from llama_index.core.agent.workflow import ReActAgent, ToolCallResult
from llama_index.core.base.llms.types import MessageRole
from llama_index.core.tools import FunctionTool

from assisterr_core import Llama3Template
from assisterr_emulator import EmulatorServer
from assisterr_emulator.play.react_player import play

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


async def run(agent: ReActAgent, question: str) -> tuple[str, list[tuple[str, Any, str]]]:
    handler = agent.run(question)
    results = [(e.tool_name, e.tool_kwargs, e.tool_output.content)
               async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    return str(await handler), results


async def test_a_react_agent_calls_the_fitting_tool_then_answers_from_its_observation(
    assisterr_emulator: EmulatorServer,
) -> None:
    setups: list[dict[str, Any]] = [
        {},  # the transcript template, observations as user turns
        {"query_template": Llama3Template()},
        {"formatter": ReActChatFormatter.from_defaults(observation_role=MessageRole.TOOL)},
    ]
    for setup in setups:
        formatter = setup.pop("formatter", None)
        agent = ReActAgent(tools=TOOLS, llm=make_llm(assisterr_emulator, **setup),
                           **({"formatter": formatter} if formatter else {}))

        answer, results = await run(agent, "What is the weather in 'Paris'?")

        assert results == [("get_weather", {"city": "Paris"}, "Sunny in Paris")], setup
        assert answer == f"Hello from {HANDLE}! The tool returned: Sunny in Paris"
    answer, results = await run(ReActAgent(tools=TOOLS, llm=make_llm(assisterr_emulator)),
                                "Please multiply 12 and 3")
    assert results == [("multiply", {"a": 12, "b": 3}, "36")]
    assert answer == f"Hello from {HANDLE}! The tool returned: 36"


async def test_a_question_no_tool_fits_is_answered_directly(
    assisterr_emulator: EmulatorServer,
) -> None:
    answer, results = await run(ReActAgent(tools=TOOLS, llm=make_llm(assisterr_emulator)),
                                "Tell me a joke")

    assert (answer, results) == (f"Hello from {HANDLE}! You said: Tell me a joke", [])


def test_only_react_prompts_are_played() -> None:
    assert play("What do Thought: and Answer: mean in ReAct?", HANDLE) is None
    listing = ("> Tool Name: echo\nTool Description: Echo text.\n"
               'Tool Args: {"properties": {"text": {"type": "string"}}, "type": "object"}\n')
    steps = "\n".join(f"{marker} ..." for marker in
                      ("Thought:", "Action:", "Action Input:", "Observation:", "Answer:"))
    fenced = f"Tools:\n{listing}\n```\n{steps}\n```\n\nPlease echo 'hi'"

    assert play(fenced, HANDLE) == ("Thought: I need to use a tool to help me answer the "
                                   'question.\nAction: echo\nAction Input: {"text": "hi"}')
