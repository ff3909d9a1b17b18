"""Session mode, typed errors, unsupported content and secrets."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.llms.types import AudioBlock, ChatMessage, ImageBlock, TextBlock
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.span import SpanDropEvent

from assisterr_core import (
    AssisterrClient,
    AuthenticationError,
    ChatTurn,
    InvalidRequestError,
    Llama3Template,
    NotFoundError,
    ServerError,
    UnsupportedContentError,
)
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from .conftest import HANDLE, make_llm, run_method

SECRET = "sk-assisterr-very-secret-key"
CONVERSATION = [
    ChatMessage(role="system", content="Be brief."),
    ChatMessage(role="user", content="What is 2+2?"),
    ChatMessage(role="assistant", content="4"),
    ChatMessage(role="user", content="And 3+3?"),
]


@pytest.fixture
def session_id(assisterr_emulator: EmulatorServer) -> str:
    with AssisterrClient(base_url=assisterr_emulator.base_url,
                         api_key=assisterr_emulator.api_key) as client:
        return client.create_session(HANDLE)


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
def test_session_field_sends_the_system_text_and_the_newest_user_message(
    assisterr_emulator: EmulatorServer, session_id: str, method: str
) -> None:
    llm = make_llm(assisterr_emulator, session_id=session_id)

    run_method(llm, method, CONVERSATION)

    received = assisterr_emulator.chat_requests()[-1]
    assert received.query == "Be brief.\n\nAnd 3+3?"
    assert received.session_id == session_id
    assert assisterr_emulator.history(session_id)[0] == ("user", "Be brief.\n\nAnd 3+3?")


def test_session_query_goes_through_the_template_and_a_lone_message_is_sent_as_is(
    assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    llm = make_llm(assisterr_emulator, session_id=session_id, query_template=Llama3Template())
    llm.chat(CONVERSATION)
    llm.chat([ChatMessage(content="Alone")])
    first, second = (r.query for r in assisterr_emulator.chat_requests())
    assert first == Llama3Template()([ChatTurn("system", "Be brief."),
                                      ChatTurn("user", "And 3+3?")])
    assert second == "Alone"


def test_session_per_call_keyword_and_server_memory(
    llm: Assisterr, assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    llm.chat([ChatMessage(content="Is the sky blue?")], session_id=session_id)
    answer = llm.chat(
        [ChatMessage(content="Is the sky blue?"), ChatMessage(role="assistant", content="..."),
         ChatMessage(content="What was my first question?")],
        session_id=session_id,
    )

    assert assisterr_emulator.chat_requests()[-1].query == "What was my first question?"
    assert answer.message.content == 'Your first question was: "Is the sky blue?"'
    llm.chat([ChatMessage(content="no session")])
    assert assisterr_emulator.chat_requests()[-1].session_id is None


def test_wrong_key_raises_authentication_error(assisterr_emulator: EmulatorServer) -> None:
    llm = make_llm(assisterr_emulator, api_key="wrong-key")

    for method in ("chat", "stream_chat", "achat", "astream_chat", "complete", "astream_complete"):
        argument = [ChatMessage(content="hi")] if "chat" in method else "hi"
        with pytest.raises(AuthenticationError) as caught:
            run_method(llm, method, argument)
        assert caught.value.status_code == 401
        assert "wrong-key" not in str(caught.value)


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
def test_unknown_session_raises_not_found(assisterr_emulator: EmulatorServer, method: str) -> None:
    llm = make_llm(assisterr_emulator, session_id="no-such-session")

    with pytest.raises(NotFoundError) as caught:
        run_method(llm, method, [ChatMessage(content="hi")])
    assert caught.value.status_code == 404


@pytest.mark.parametrize("method", ["complete", "stream_complete", "acomplete", "astream_complete"])
def test_server_error_raises_server_error_and_an_exception_event(
    llm: Assisterr, assisterr_emulator: EmulatorServer, events: list[BaseEvent], method: str
) -> None:
    assisterr_emulator.inject(status=500)

    with pytest.raises(ServerError) as caught:
        run_method(llm, method, "hi")
    assert caught.value.status_code == 500
    assert len(assisterr_emulator.chat_requests()) == 1  # 500 is not retried
    kinds = [type(event) for event in events]
    assert LLMCompletionStartEvent in kinds and LLMCompletionEndEvent not in kinds
    assert (ExceptionEvent if "stream" in method else SpanDropEvent) in kinds


@pytest.mark.parametrize(
    "block",
    [ImageBlock(url="https://example.com/cat.png"), AudioBlock(url="https://example.com/a.mp3")],
)
def test_non_text_content_is_refused_before_sending(
    llm: Assisterr, assisterr_emulator: EmulatorServer, block: object
) -> None:
    message = ChatMessage(role="user", blocks=[TextBlock(text="What is this?"), block])

    with pytest.raises(UnsupportedContentError):
        llm.chat([message])
    with pytest.raises(UnsupportedContentError):
        asyncio.run(llm.achat([message]))
    assert assisterr_emulator.chat_requests() == []


def test_secret_never_shows(
    assisterr_emulator: EmulatorServer, events: list[BaseEvent]
) -> None:
    assisterr_emulator.config.api_key = SECRET
    llm = make_llm(assisterr_emulator, api_key=SECRET)

    llm.complete("hi")
    list(llm.stream_chat([ChatMessage(content="hi")]))

    assert assisterr_emulator.chat_requests()[-1].api_key == SECRET  # it is used...
    for shown in (repr(llm), str(llm), llm.to_json(), str(llm.to_dict()), str(llm.to_payload()),
                  str(llm.model_dump()), llm.model_dump_json(), *(repr(e) for e in events),
                  *(e.model_dump_json() for e in events)):
        assert SECRET not in shown  # ...and never shown


def test_key_and_url_come_from_the_environment(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTERR_API_KEY", assisterr_emulator.api_key)
    monkeypatch.setenv("ASSISTERR_BASE_URL", assisterr_emulator.base_url)

    llm = Assisterr(model=HANDLE)

    assert llm.base_url == assisterr_emulator.base_url
    assert llm.complete("hi").text == f"Hello from {HANDLE}! You said: hi"
    llm.close()


def test_from_dict_round_trip_keeps_settings_not_key(llm: Assisterr) -> None:
    data = llm.to_dict()

    assert data["class_name"] == Assisterr.class_name()
    assert "api_key" not in data
    with pytest.raises(InvalidRequestError, match="ASSISTERR_API_KEY"):
        Assisterr.from_dict(data)  # the key comes another way: an argument or the environment
    assert llm.api_key is not None
    clone = Assisterr.from_dict(data, api_key=llm.api_key.get_secret_value())
    assert (clone.model, clone.base_url, clone.timeout) == (llm.model, llm.base_url, llm.timeout)


def test_timeout_takes_seconds_or_a_connect_read_pair() -> None:
    from assisterr_core import InvalidRequestError, Timeout

    llm = Assisterr(model="x", api_key="k", base_url="http://127.0.0.1:9", timeout=(1, 5))
    assert llm._clients.settings.timeout == Timeout(connect=1, read=5)
    for bad in (-1, 0, (0, 5)):
        with pytest.raises(InvalidRequestError, match="timeout"):
            Assisterr(model="x", api_key="k", base_url="http://127.0.0.1:9", timeout=bad)
