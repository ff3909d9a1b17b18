"""``raw`` is a plain dict, so LlamaIndex's ``TokenCountingHandler`` counts every call and
retrieval pipelines answer with it installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.memory import ChatMemoryBuffer

from assisterr_emulator import EmulatorServer

from .conftest import HANDLE, make_llm, run_method

METHODS = ["complete", "stream_complete", "acomplete", "astream_complete",
           "chat", "stream_chat", "achat", "astream_chat"]
QUESTION = "how are you"
REPLY = f"Hello from {HANDLE}! You said: {QUESTION}"


def argument_for(method: str) -> object:
    return [ChatMessage(role="user", content=QUESTION)] if "chat" in method else QUESTION


def text_of(response: ChatResponse | CompletionResponse) -> str:
    return response.text if isinstance(response, CompletionResponse) else str(response.message)


@pytest.fixture
def counter() -> Iterator[TokenCountingHandler]:
    """A token counter installed as LlamaIndex users do: in ``Settings.callback_manager``."""
    saved_manager, saved_llm = Settings._callback_manager, Settings._llm
    handler = TokenCountingHandler()
    Settings.callback_manager = CallbackManager([handler])
    yield handler
    Settings._callback_manager, Settings._llm = saved_manager, saved_llm


def test_raw_is_the_reply_as_a_json_dict_on_every_response_and_chunk(
    assisterr_emulator: EmulatorServer,
) -> None:
    llm = make_llm(assisterr_emulator)
    for method in METHODS:
        responses = run_method(llm, method, argument_for(method))

        for response in responses:
            assert isinstance(response.raw, dict)
            json.dumps(response.raw)  # plain values only
        if "stream" in method:
            assert [r.raw for r in responses] == [{"message": r.delta} for r in responses]
        else:
            (raw,) = [r.raw for r in responses]
            assert raw["message"] == REPLY and raw["is_user"] is False
            assert raw["session_id"] is None
            assert datetime.fromisoformat(raw["message_at"]).tzinfo is not None


def test_token_counting_handler_counts_each_of_the_eight_methods(
    assisterr_emulator: EmulatorServer,
) -> None:
    handler = TokenCountingHandler()
    llm = make_llm(assisterr_emulator, callback_manager=CallbackManager([handler]))
    for method in METHODS:
        handler.reset_counts()

        responses = run_method(llm, method, argument_for(method))

        (counted,) = handler.llm_token_counts
        # no usage in the API's replies: the handler's tokenizer counts the whole texts
        assert counted.completion == text_of(responses[-1])
        assert REPLY in counted.completion  # the whole reply, also for streams
        assert counted.completion_token_count == len(handler.tokenizer(counted.completion))
        assert counted.prompt_token_count >= len(handler.tokenizer(QUESTION)) > 0
        assert counted.total_token_count == (counted.prompt_token_count
                                             + counted.completion_token_count)


DOCS = [Document(text="Assisterr builds small language models. Paris is the capital of France.")]


@pytest.mark.parametrize("response_mode", ["compact", "refine"])
def test_query_engines_answer_with_token_counting_installed(
    assisterr_emulator: EmulatorServer, counter: TokenCountingHandler, response_mode: str
) -> None:
    Settings.llm = make_llm(assisterr_emulator)
    index = VectorStoreIndex.from_documents(DOCS, embed_model=MockEmbedding(embed_dim=8))

    answer = index.as_query_engine(response_mode=response_mode).query("Which city is the capital?")

    assert str(answer) == f"Hello from {HANDLE}! From the context: Paris is the capital of France."
    assert counter.total_llm_token_count > 0


def test_a_context_chat_engine_answers_with_token_counting_installed(
    assisterr_emulator: EmulatorServer, counter: TokenCountingHandler
) -> None:
    Settings.llm = make_llm(assisterr_emulator)
    index = VectorStoreIndex.from_documents(DOCS, embed_model=MockEmbedding(embed_dim=8))
    engine = index.as_chat_engine(chat_mode="context",
                                  memory=ChatMemoryBuffer.from_defaults(token_limit=2000))

    answer = engine.chat("My name is Ada.")

    assert str(answer) == f"Hello from {HANDLE}! You said: My name is Ada."
    assert "Paris is the capital of France." in (assisterr_emulator.chat_requests()[-1].query or "")
    assert len(counter.llm_token_counts) == 1 and counter.total_llm_token_count > 0
