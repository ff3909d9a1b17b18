"""The examples of ``ChatAssisterr``'s and ``Assisterr``'s docstrings run as a user pastes them:
every Python block, in order, in one namespace (top-level ``await`` included), against the
local server that the environment points to."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import textwrap
from typing import Any

import pytest

from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

PYTHON_BLOCK = re.compile(r"^([ \t]*)```python\n(.*?)^\1```", re.M | re.S)


def python_blocks(docstring: str | None) -> list[str]:
    return [textwrap.dedent(match[2]) for match in PYTHON_BLOCK.finditer(docstring or "")]


def run_blocks(blocks: list[str]) -> dict[str, Any]:
    """Run each block as a notebook cell would; the namespace they shared."""
    namespace: dict[str, Any] = {"__name__": "__docstring_example__"}
    for index, source in enumerate(blocks):
        code = compile(source, f"<example {index + 1}>", "exec",
                       flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # the docstrings' own examples, nothing else
        if inspect.iscoroutine(result):
            asyncio.run(result)
    return namespace


@pytest.fixture
def pointed_at_the_local_server(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> EmulatorServer:
    monkeypatch.setenv("ASSISTERR_BASE_URL", assisterr_emulator.base_url)
    monkeypatch.setenv("ASSISTERR_API_KEY", assisterr_emulator.api_key)
    return assisterr_emulator


def test_the_chat_models_examples_run(pointed_at_the_local_server: EmulatorServer) -> None:
    blocks = python_blocks(ChatAssisterr.__doc__)
    assert len(blocks) >= 8  # instantiate, invoke, stream, async, tools, structured, ...
    namespace = run_blocks(blocks)
    assert namespace["model_with_tools"].invoke(
        "What is the weather like in Paris?").tool_calls[0]["name"] == "GetWeather"
    assert isinstance(namespace["structured_model"].invoke("A joke about cats"),
                      namespace["Joke"])
    assert {r.handle for r in pointed_at_the_local_server.chat_requests()} == {"my-slm"}


def test_the_llms_examples_run(pointed_at_the_local_server: EmulatorServer) -> None:
    blocks = python_blocks(Assisterr.__doc__)
    assert len(blocks) >= 5  # complete and stream, chat, async, tools, structured, session
    namespace = run_blocks(blocks)
    assert str(namespace["response"]) == "12"
    assert isinstance(namespace["song"], namespace["Song"])
    assert {r.handle for r in pointed_at_the_local_server.chat_requests()} == {"my-slm"}
