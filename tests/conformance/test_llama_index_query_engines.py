"""LlamaIndex query engines over a vector index, the first pattern of its docs."""

from __future__ import annotations

import json

from llama_index.core.query_engine import SubQuestionQueryEngine
from llama_index.core.question_gen import LLMQuestionGenerator
from llama_index.core.tools import QueryEngineTool

from assisterr_emulator import EmulatorServer, ScriptedResponder

from ._llama_index import FRANCE, HANDLE, SLMS, make_index, make_llm
from .conftest import pattern

QUESTION = "Which city is the capital of France?"
GROUNDED = f"Hello from {HANDLE}! From the context: {FRANCE}"


@pattern("LlamaIndex", "query engine, compact", "retrieved chunks packed into one prompt")
def test_compact(assisterr_emulator: EmulatorServer) -> None:
    engine = make_index(FRANCE, SLMS).as_query_engine(
        llm=make_llm(assisterr_emulator), response_mode="compact", similarity_top_k=2)

    response = engine.query(QUESTION)

    assert str(response) == GROUNDED
    assert {node.text for node in response.source_nodes} == {FRANCE, SLMS}
    (sent,) = assisterr_emulator.chat_requests()
    assert FRANCE in (sent.query or "") and SLMS in (sent.query or "")


@pattern("LlamaIndex", "query engine, refine",
         "one call per chunk, the answer so far refined with the next (replies scripted)")
def test_refine(assisterr_emulator: EmulatorServer) -> None:
    # the local server's default replies do not rewrite an existing answer: a script does
    script = ScriptedResponder(["Paris.", "Paris is the capital of France."])
    assisterr_emulator.set_responder(script)
    engine = make_index(FRANCE, SLMS).as_query_engine(
        llm=make_llm(assisterr_emulator), response_mode="refine", similarity_top_k=2)

    response = engine.query(QUESTION)

    assert str(response) == "Paris is the capital of France."
    first, second = script.queries
    assert "Paris." in second and QUESTION in first and QUESTION in second  # the answer so far
    assert {FRANCE in first, FRANCE in second} == {True, False}  # one chunk each
    assert {SLMS in first, SLMS in second} == {True, False}


@pattern("LlamaIndex", "query engine, tree_summarize", "chunks summarized bottom-up")
def test_tree_summarize(assisterr_emulator: EmulatorServer) -> None:
    engine = make_index(FRANCE, SLMS).as_query_engine(
        llm=make_llm(assisterr_emulator), response_mode="tree_summarize", similarity_top_k=2)

    response = engine.query(QUESTION)

    assert str(response) == GROUNDED
    (sent,) = assisterr_emulator.chat_requests()
    assert "multiple sources" in (sent.query or "")  # LlamaIndex's summary prompt


@pattern("LlamaIndex", "query engine, streaming", "response_gen yields the tokens as they come")
def test_streaming(assisterr_emulator: EmulatorServer) -> None:
    engine = make_index(FRANCE).as_query_engine(llm=make_llm(assisterr_emulator), streaming=True)

    response = engine.query(QUESTION)
    tokens = list(response.response_gen)  # type: ignore[union-attr]

    assert "".join(tokens) == GROUNDED
    assert tokens[:3] == ["Hello", " from", f" {HANDLE}!"]  # word by word, as the server sent
    assert assisterr_emulator.chat_requests()[-1].path.endswith("/chat/stream/")


@pattern("LlamaIndex", "query engine, async", "aquery on aiohttp")
async def test_async(assisterr_emulator: EmulatorServer) -> None:
    engine = make_index(FRANCE).as_query_engine(llm=make_llm(assisterr_emulator))

    response = await engine.aquery(QUESTION)

    assert str(response) == GROUNDED
    assert [node.text for node in response.source_nodes] == [FRANCE]


@pattern("LlamaIndex", "SubQuestionQueryEngine, LLM question generator",
         "the sub-questions read from the SLM's JSON (scripted), each answered over its own "
         "index, then combined")
def test_sub_question_query_engine(assisterr_emulator: EmulatorServer) -> None:
    # LlamaIndex's question generator asks for its own JSON: scripted, as a model would answer
    plan = json.dumps({"items": [
        {"sub_question": "What is the capital of France?", "tool_name": "france"},
        {"sub_question": "What does Assisterr build?", "tool_name": "assisterr"}]})
    script = ScriptedResponder([f"```json\n{plan}\n```", "Paris.", "Small language models.",
                                "Paris; small language models."])
    assisterr_emulator.set_responder(script)
    llm = make_llm(assisterr_emulator)
    tools = [QueryEngineTool.from_defaults(make_index(FRANCE).as_query_engine(llm=llm),
                                           name="france", description="Facts about France"),
             QueryEngineTool.from_defaults(make_index(SLMS).as_query_engine(llm=llm),
                                           name="assisterr", description="Facts about Assisterr")]
    engine = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=tools, llm=llm, question_gen=LLMQuestionGenerator.from_defaults(llm=llm),
        use_async=False, verbose=False)

    response = engine.query("What is the capital of France, and what does Assisterr build?")

    assert str(response) == "Paris; small language models."
    planning, france, assisterr, combined = script.queries
    assert '"france": "Facts about France"' in planning
    assert FRANCE in france and SLMS in assisterr and SLMS not in france
    assert "Paris." in combined and "Small language models." in combined
