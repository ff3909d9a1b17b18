"""LlamaIndex chat engines, each with LlamaIndex's default ``Memory``."""

from __future__ import annotations

from assisterr_emulator import EmulatorServer

from ._llama_index import FRANCE, HANDLE, make_index, make_llm, sql_memory
from .conftest import pattern

FIRST = "My name is Ada."
RECALL = "What was my first question?"
REMEMBERED = f'Your first question was: "{FIRST}"'


@pattern("LlamaIndex", "chat engine, simple, with Memory", "the transcript goes in each query")
def test_simple(assisterr_emulator: EmulatorServer) -> None:
    with sql_memory(token_limit=2000) as memory:
        engine = make_index(FRANCE).as_chat_engine(
            chat_mode="simple", llm=make_llm(assisterr_emulator), memory=memory)

        first, second = engine.chat(FIRST), engine.chat(RECALL)

        assert str(first) == f"Hello from {HANDLE}! You said: {FIRST}"
        assert str(second) == REMEMBERED
        assert [m.content for m in memory.get_all()] == [FIRST, str(first), RECALL, REMEMBERED]
    assert f"User: {FIRST}\nAssistant: {first}" in (assisterr_emulator.chat_requests()[-1].query
                                                     or "")


@pattern("LlamaIndex", "chat engine, context, with Memory",
         "retrieved text in the system prompt, then the conversation")
def test_context(assisterr_emulator: EmulatorServer) -> None:
    with sql_memory(token_limit=2000) as memory:
        engine = make_index(FRANCE).as_chat_engine(
            chat_mode="context", llm=make_llm(assisterr_emulator), memory=memory)

        engine.chat(FIRST)
        second = engine.chat(RECALL)

    assert str(second) == REMEMBERED
    assert [node.text for node in second.source_nodes] == [FRANCE]
    query = assisterr_emulator.chat_requests()[-1].query or ""
    assert query.index(FRANCE) < query.index(f"User: {FIRST}") < query.index(f"User: {RECALL}")


@pattern("LlamaIndex", "chat engine, condense_plus_context, with Memory",
         "the follow-up is condensed with the history, then answered over retrieved text")
def test_condense_plus_context(assisterr_emulator: EmulatorServer) -> None:
    with sql_memory(token_limit=2000) as memory:
        engine = make_index(FRANCE).as_chat_engine(
            chat_mode="condense_plus_context", llm=make_llm(assisterr_emulator), memory=memory)

        engine.chat(FIRST)
        second = engine.chat(RECALL)

    assert str(second) == REMEMBERED
    condense, answer = (r.query or "" for r in assisterr_emulator.chat_requests()[1:])
    assert FIRST in condense and RECALL in condense  # the history went into the condensing
    assert FRANCE in answer and f"User: {FIRST}" in answer
