"""What LlamaIndex users watch: token counts and instrumentation events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core import Settings
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
)
from llama_index.core.instrumentation.events.query import QueryEndEvent, QueryStartEvent
from llama_index.core.instrumentation.events.retrieval import RetrievalEndEvent
from llama_index.core.instrumentation.events.synthesis import SynthesizeEndEvent

from assisterr_emulator import EmulatorServer

from ._llama_index import FRANCE, HANDLE, make_index, make_llm, recorded_events
from .conftest import pattern

QUESTION = "Which city is the capital of France?"
ANSWER = f"Hello from {HANDLE}! From the context: {FRANCE}"


@pytest.fixture
def token_counter() -> Iterator[TokenCountingHandler]:
    """A counter in ``Settings.callback_manager``, as LlamaIndex's docs install it."""
    saved_manager, saved_llm = Settings._callback_manager, Settings._llm
    counter = TokenCountingHandler()
    Settings.callback_manager = CallbackManager([counter])
    yield counter
    Settings._callback_manager, Settings._llm = saved_manager, saved_llm


@pattern("LlamaIndex", "TokenCountingHandler", "counted with the tokenizer (the API reports "
         "no usage); streamed replies counted whole")
def test_token_counting_handler(
    assisterr_emulator: EmulatorServer, token_counter: TokenCountingHandler
) -> None:
    Settings.llm = make_llm(assisterr_emulator)
    index = make_index(FRANCE)

    assert str(index.as_query_engine().query(QUESTION)) == ANSWER
    streamed_answer = index.as_query_engine(streaming=True).query(QUESTION)
    assert "".join(streamed_answer.response_gen) == ANSWER  # type: ignore[union-attr]

    whole, streamed = token_counter.llm_token_counts
    for counted in (whole, streamed):
        assert ANSWER in counted.completion and FRANCE in counted.prompt
        assert counted.completion_token_count == len(token_counter.tokenizer(counted.completion))
        assert counted.prompt_token_count > len(token_counter.tokenizer(QUESTION))
    assert whole.completion_token_count == streamed.completion_token_count
    assert token_counter.total_llm_token_count == whole.total_token_count * 2


@pattern("LlamaIndex", "instrumentation events", "start, one in-progress event per streamed "
         "chunk, end; inside the query's span tree")
def test_instrumentation_events(assisterr_emulator: EmulatorServer) -> None:
    engine = make_index(FRANCE).as_query_engine(llm=make_llm(assisterr_emulator), streaming=True)

    with recorded_events() as events:
        tokens = list(engine.query(QUESTION).response_gen)  # type: ignore[union-attr]

    kinds = [type(e) for e in events]
    for kind in (QueryStartEvent, RetrievalEndEvent, LLMChatStartEvent, LLMChatEndEvent,
                 SynthesizeEndEvent, QueryEndEvent):
        assert kinds.count(kind) == 1, kind
    (start,) = [e for e in events if isinstance(e, LLMChatStartEvent)]
    assert start.model_dict["model_name"] == HANDLE and "api_key" not in start.model_dict
    progress = [e for e in events if isinstance(e, LLMChatInProgressEvent)]
    assert [e.response.delta for e in progress] == tokens
    (end,) = [e for e in events if isinstance(e, LLMChatEndEvent)]
    assert end.response is not None and end.response.message.content == ANSWER
    assert kinds.index(QueryStartEvent) < kinds.index(LLMChatStartEvent)
    assert {e.span_id for e in [start, *progress, end]} == {start.span_id}
