"""The eight ``Assisterr`` methods against the local server: replies, deltas, events, stop."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)

from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr, Llama3Template

from .conftest import HANDLE, make_llm, run_method

CHAT_METHODS = ["chat", "stream_chat", "achat", "astream_chat"]
COMPLETION_METHODS = ["complete", "stream_complete", "acomplete", "astream_complete"]
LLM_EVENTS = (
    LLMChatStartEvent, LLMChatInProgressEvent, LLMChatEndEvent,
    LLMCompletionStartEvent, LLMCompletionInProgressEvent, LLMCompletionEndEvent,
)
WORDS = ["Hello", " from", f" {HANDLE}!", " You", " said:", " how", " are", " you"]
REPLY = "".join(WORDS)


def text_of(response: ChatResponse | CompletionResponse) -> str:
    if isinstance(response, ChatResponse):
        return response.message.content or ""
    return response.text


def argument_for(method: str, text: str) -> object:
    return [ChatMessage(role="user", content=text)] if "chat" in method else text


def llm_events(events: list[BaseEvent]) -> list[BaseEvent]:
    return [event for event in events if isinstance(event, LLM_EVENTS)]


@pytest.mark.parametrize("method", CHAT_METHODS + COMPLETION_METHODS)
def test_each_method_answers_over_http(
    llm: Assisterr, assisterr_emulator: EmulatorServer, method: str
) -> None:
    responses = run_method(llm, method, argument_for(method, "how are you"))

    assert text_of(responses[-1]) == REPLY
    (received,) = assisterr_emulator.chat_requests()
    assert received.query == "how are you"
    assert received.path.endswith("/chat/stream/" if "stream" in method else "/chat/")
    if "chat" in method:
        assert all(r.message.role.value == "assistant" for r in responses)


@pytest.mark.parametrize("method", [m for m in CHAT_METHODS + COMPLETION_METHODS if "stream" in m])
def test_streams_set_delta_on_every_chunk(llm: Assisterr, method: str) -> None:
    chunks = run_method(llm, method, argument_for(method, "how are you"))

    assert [chunk.delta for chunk in chunks] == WORDS
    # text / message.content carry the reply so far, so the last chunk is the whole reply
    assert [text_of(chunk) for chunk in chunks] == [
        "".join(WORDS[: i + 1]) for i in range(len(WORDS))
    ]


@pytest.mark.parametrize("method", CHAT_METHODS + COMPLETION_METHODS)
def test_each_method_fires_one_start_progress_end_sequence(
    llm: Assisterr, events: list[BaseEvent], method: str
) -> None:
    chunks = run_method(llm, method, argument_for(method, "how are you"))

    seen = llm_events(events)
    is_chat = "chat" in method
    start, progress, end = (
        (LLMChatStartEvent, LLMChatInProgressEvent, LLMChatEndEvent)
        if is_chat
        else (LLMCompletionStartEvent, LLMCompletionInProgressEvent, LLMCompletionEndEvent)
    )
    streamed = len(chunks) if "stream" in method else 0
    assert [type(e) for e in seen] == [start] + [progress] * streamed + [end]
    assert seen[0].model_dict["model_name"] == HANDLE  # type: ignore[attr-defined]
    assert [e.response.delta for e in seen[1:-1]] == WORDS[:streamed]  # type: ignore[attr-defined]
    assert text_of(seen[-1].response) == REPLY  # type: ignore[attr-defined]
    assert len({e.span_id for e in seen}) == 1


@pytest.mark.parametrize("method", ["stream_complete", "astream_complete"])
def test_empty_stream_still_ends_with_a_response(
    llm: Assisterr, assisterr_emulator: EmulatorServer, events: list[BaseEvent], method: str
) -> None:
    assisterr_emulator.set_responder(lambda request: [])

    chunks = run_method(llm, method, "say nothing")

    assert [(c.text, c.delta) for c in chunks] == [("", "")]
    assert isinstance(llm_events(events)[-1], LLMCompletionEndEvent)


@pytest.mark.parametrize("method", CHAT_METHODS + COMPLETION_METHODS)
def test_stop_cuts_every_kind_of_reply(llm: Assisterr, method: str) -> None:
    responses = run_method(llm, method, argument_for(method, "how are you"), stop=[" said", "!"])

    assert text_of(responses[-1]) == f"Hello from {HANDLE}"
    if "stream" in method:
        assert "".join(chunk.delta for chunk in responses) == f"Hello from {HANDLE}"


def test_stop_split_across_chunks_is_caught(llm: Assisterr) -> None:
    chunks = list(llm.stream_complete("how are you", stop=["You said"]))

    assert chunks[-1].text == f"Hello from {HANDLE}! "
    assert all(chunk.delta for chunk in chunks)


def test_conversation_is_rendered_into_one_query(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="What is 2+2?"),
        ChatMessage(role="assistant", content="4"),
        ChatMessage(role="user", content="What was my first question?"),
    ]

    response = llm.chat(messages)

    assert response.message.content == 'Your first question was: "What is 2+2?"'
    assert assisterr_emulator.chat_requests()[-1].query == (
        "Be brief.\n\nConversation so far:\nUser: What is 2+2?\nAssistant: 4"
        "\n\nUser: What was my first question?"
    )


def test_query_template_is_used_for_chat_and_completion(assisterr_emulator: EmulatorServer) -> None:
    llm = make_llm(assisterr_emulator, query_template=Llama3Template(), system_prompt="Be brief.")

    llm.chat([ChatMessage(role="user", content="hi")])
    llm.complete("there")

    chat_query, completion_query = [r.query for r in assisterr_emulator.chat_requests()]
    for query, text in ((chat_query, "hi"), (completion_query, "there")):
        assert query is not None and query.startswith("<|start_header_id|>")
        assert "<|start_header_id|>system<|end_header_id|>\nBe brief.<|eot_id|>\n" in query
        assert f"<|start_header_id|>user<|end_header_id|>\n{text}<|eot_id|>\n" in query


def test_system_prompt_is_not_added_twice(assisterr_emulator: EmulatorServer) -> None:
    llm = make_llm(assisterr_emulator, system_prompt="Field prompt.")

    llm.chat([ChatMessage(role="system", content="Own prompt."), ChatMessage(content="hi")])

    assert assisterr_emulator.chat_requests()[-1].query == "Own prompt.\n\nhi"


def test_completion_formatting_conventions(assisterr_emulator: EmulatorServer) -> None:
    llm = make_llm(assisterr_emulator, completion_to_prompt=lambda p: f"[INST] {p} [/INST]")

    llm.complete("raw")
    llm.complete("already formatted", formatted=True)

    assert [r.query for r in assisterr_emulator.chat_requests()] == [
        "[INST] raw [/INST]",
        "already formatted",
    ]


def test_predict_uses_chat_with_the_system_prompt(assisterr_emulator: EmulatorServer) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = make_llm(assisterr_emulator, system_prompt="Be brief.")

    answer = llm.predict(PromptTemplate("Tell me about {topic}"), topic="owls")

    assert answer == f"Hello from {HANDLE}! You said: Tell me about owls"
    assert assisterr_emulator.chat_requests()[-1].query == "Be brief.\n\nTell me about owls"
