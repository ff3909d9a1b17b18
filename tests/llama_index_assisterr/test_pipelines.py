"""Real LlamaIndex pipelines on ``Assisterr``: query engines, Settings, chat engines."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatInProgressEvent
from llama_index.core.memory import ChatMemoryBuffer

from assisterr_core import AssisterrClient, StreamInterruptedError
from assisterr_emulator import EmulatorServer
from assisterr_emulator.responders import ResponderRequest, default_responder
from llama_index_assisterr import Assisterr

from .conftest import make_llm

DOCS = [
    Document(text="Assisterr builds small language models for communities."),
    Document(text="The capital of France is Paris."),
]
QUESTION = "Which city is the capital of France?"
ANSWER = "From the context, the capital is Paris."


def answer_from_context(request: ResponderRequest) -> str:
    """Plays a model that answers only when the context and the question reached it."""
    if "The capital of France is Paris." in request.query and QUESTION in request.query:
        return ANSWER
    return default_responder(request)


@pytest.fixture
def index() -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(DOCS, embed_model=MockEmbedding(embed_dim=8))


@pytest.fixture
def rag_server(assisterr_emulator: EmulatorServer) -> EmulatorServer:
    assisterr_emulator.set_responder(answer_from_context)
    return assisterr_emulator


def assert_one_rag_query(server: EmulatorServer) -> None:
    """One query was sent, carrying the system prompt, the retrieved context and the question."""
    (received,) = server.chat_requests()
    assert received.query is not None
    assert received.query.startswith("You are an expert Q&A system")
    assert "Assisterr builds small language models" in received.query


def test_query_engine_query(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer
) -> None:
    response = index.as_query_engine(llm=llm).query(QUESTION)

    assert str(response) == ANSWER
    assert len(response.source_nodes) == 2
    assert_one_rag_query(rag_server)


async def test_query_engine_aquery(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer
) -> None:
    response = await index.as_query_engine(llm=llm).aquery(QUESTION)

    assert str(response) == ANSWER
    assert_one_rag_query(rag_server)


def test_query_engine_streaming_yields_every_token(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer,
    events: list[BaseEvent],
) -> None:
    rag_server.config.chunk_delay = 0.02

    response = index.as_query_engine(llm=llm, streaming=True).query(QUESTION)
    tokens = list(response.response_gen)  # type: ignore[union-attr]

    assert len(tokens) > 5 and "".join(tokens) == ANSWER
    assert tokens[0] == "From"
    progress = [e for e in events if isinstance(e, LLMChatInProgressEvent)]
    assert [e.response.delta for e in progress] == tokens
    assert_one_rag_query(rag_server)


async def test_query_engine_async_streaming_yields_every_token(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer
) -> None:
    rag_server.config.chunk_delay = 0.02

    response = await index.as_query_engine(llm=llm, streaming=True).aquery(QUESTION)
    tokens = [token async for token in response.async_response_gen()]  # type: ignore[union-attr]

    assert len(tokens) > 5 and "".join(tokens) == ANSWER
    assert_one_rag_query(rag_server)


def test_streamed_tokens_arrive_while_the_server_is_still_sending(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer
) -> None:
    # The server sends three words and then drops the connection: it never finishes the
    # response. Tokens that reach the caller before the failure were passed on as they came.
    rag_server.config.chunk_delay = 0.02
    rag_server.inject(drop_after_chunks=3)
    response = index.as_query_engine(llm=llm, streaming=True).query(QUESTION)
    received: list[str] = []

    with pytest.raises(StreamInterruptedError):
        for token in response.response_gen:  # type: ignore[union-attr]
            received.append(token)

    assert received == ["From", " the", " context,"]


async def test_async_streamed_tokens_arrive_while_the_server_is_still_sending(
    index: VectorStoreIndex, llm: Assisterr, rag_server: EmulatorServer
) -> None:
    rag_server.inject(drop_after_chunks=2)
    response = await index.as_query_engine(llm=llm, streaming=True).aquery(QUESTION)
    received: list[str] = []

    with pytest.raises(StreamInterruptedError):
        async for token in response.async_response_gen():  # type: ignore[union-attr]
            received.append(token)

    assert received == ["From", " the"]


def test_settings_llm(
    index: VectorStoreIndex, rag_server: EmulatorServer, restore_settings_llm: None
) -> None:
    Settings.llm = make_llm(rag_server)

    response = index.as_query_engine().query(QUESTION)

    assert isinstance(Settings.llm, Assisterr)
    assert str(response) == ANSWER
    assert_one_rag_query(rag_server)


CHAT_MODES = ["simple", "context", "condense_plus_context"]
FIRST = "My name is Ada."
RECALL = "What was my first question?"
REMEMBERED = f'Your first question was: "{FIRST}"'


def chat_engine(index: VectorStoreIndex, llm: Assisterr, mode: str) -> Any:
    # The default ``Memory`` opens an aiosqlite connection it never closes (a ResourceWarning
    # with any LLM, MockLLM included); a plain buffer keeps the warning check meaningful.
    memory = ChatMemoryBuffer.from_defaults(token_limit=2000)
    return index.as_chat_engine(chat_mode=mode, llm=llm, memory=memory)


@pytest.mark.parametrize("mode", CHAT_MODES)
def test_chat_engine_sync(
    index: VectorStoreIndex, llm: Assisterr, assisterr_emulator: EmulatorServer, mode: str
) -> None:
    engine = chat_engine(index, llm, mode)

    first = engine.chat(FIRST)
    second = engine.chat(RECALL)

    assert str(first).endswith(FIRST)
    assert str(second) == REMEMBERED  # the transcript was rendered into the query
    assert f"User: {FIRST}" in (assisterr_emulator.chat_requests()[-1].query or "")


@pytest.mark.parametrize("mode", CHAT_MODES)
def test_chat_engine_streaming(
    index: VectorStoreIndex, llm: Assisterr, assisterr_emulator: EmulatorServer, mode: str
) -> None:
    engine = chat_engine(index, llm, mode)

    first = "".join(engine.stream_chat(FIRST).response_gen)
    second_tokens = list(engine.stream_chat(RECALL).response_gen)

    assert first.endswith(FIRST)
    assert len(second_tokens) > 1 and "".join(second_tokens) == REMEMBERED


@pytest.mark.parametrize("mode", CHAT_MODES)
async def test_chat_engine_async(
    index: VectorStoreIndex, llm: Assisterr, assisterr_emulator: EmulatorServer, mode: str
) -> None:
    engine = chat_engine(index, llm, mode)

    first = await engine.achat(FIRST)
    second = await engine.achat(RECALL)

    assert str(first).endswith(FIRST)
    assert str(second) == REMEMBERED


@pytest.mark.parametrize("mode", CHAT_MODES)
async def test_chat_engine_async_streaming(
    index: VectorStoreIndex, llm: Assisterr, assisterr_emulator: EmulatorServer, mode: str
) -> None:
    engine = chat_engine(index, llm, mode)

    first = await engine.astream_chat(FIRST)
    first_text = "".join([token async for token in first.async_response_gen()])
    second = await engine.astream_chat(RECALL)
    second_tokens = [token async for token in second.async_response_gen()]

    assert first_text.endswith(FIRST)
    assert len(second_tokens) > 1 and "".join(second_tokens) == REMEMBERED


async def test_a_context_chat_engine_in_a_session_sends_the_retrieved_text(
    index: VectorStoreIndex, rag_server: EmulatorServer
) -> None:
    with AssisterrClient(base_url=rag_server.base_url, api_key=rag_server.api_key) as client:
        sid = client.create_session("test-slm")
    llm = make_llm(rag_server, session_id=sid)
    engine = chat_engine(index, llm, "context")

    assert str(engine.chat(FIRST)).endswith(FIRST)
    assert str(await engine.achat(QUESTION)) == ANSWER
    first, second = (r.query or "" for r in rag_server.chat_requests())
    for query, question in ((first, FIRST), (second, QUESTION)):
        assert "The capital of France is Paris." in query
        assert query.endswith(f"\n\n{question}")
        assert "Ada" not in query.replace(FIRST, "")  # earlier turns stay on the server
    assert [role for role, _ in rag_server.history(sid)] == ["user", "assistant"] * 2
