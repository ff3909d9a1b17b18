"""ChatAssisterr against the local server over real HTTP: calls, streams, errors, LCEL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.runnables import ConfigurableField, RunnableParallel
from pydantic import ValidationError

from assisterr_core import (
    AuthenticationError,
    ChatTurn,
    IgnoredParameterWarning,
    InvalidRequestError,
    Llama3Template,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    UnsupportedContentError,
)
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr

from ..conftest import HANDLE


class Recorder(BaseCallbackHandler):
    """Writes every token and the end/error of a run into one shared event list."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append(f"token:{token}")

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.events.append("end")

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.events.append(f"error:{type(error).__name__}")


class AsyncRecorder(AsyncCallbackHandler):
    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.events.append("start")

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append(f"token:{token}")

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.events.append("end")


# --- invoke, metadata, rendering ---------------------------------------------------------

def test_invoke_sends_a_lone_message_as_is(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    reply = chat.invoke("Hello there")
    assert reply.content == f"Hello from {HANDLE}! You said: Hello there"
    assert assisterr_emulator.chat_requests()[-1].query == "Hello there"
    meta = reply.response_metadata
    assert (meta["model_name"], meta["model_provider"], meta["finish_reason"]) == (
        HANDLE, "assisterr", "stop"
    )
    assert datetime.fromisoformat(meta["message_at"]).tzinfo is not None
    assert "session_id" not in meta
    assert reply.usage_metadata is None


def test_conversation_is_rendered_into_one_query(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    chat.invoke([SystemMessage("Be brief."), HumanMessage("a"), AIMessage("b"),
                 HumanMessage("c")])
    assert assisterr_emulator.chat_requests()[-1].query == (
        "Be brief.\n\nConversation so far:\nUser: a\nAssistant: b\n\nUser: c"
    )


def test_query_template_is_used(conn: dict[str, Any], assisterr_emulator: EmulatorServer) -> None:
    chat = ChatAssisterr(handle_name=HANDLE, query_template=Llama3Template(), **conn)
    chat.invoke([SystemMessage("S"), HumanMessage("Q")])
    query = assisterr_emulator.chat_requests()[-1].query
    assert query is not None and query.startswith("<|start_header_id|>")
    assert query.endswith("<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n")


def test_non_text_content_fails_before_sending(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(UnsupportedContentError):
        chat.invoke([HumanMessage([{"type": "text", "text": "what is this?"}, image])])
    assert assisterr_emulator.requests == []


# --- sessions and model override ------------------------------------------------------

@pytest.mark.parametrize("how", ["field", "call"])
def test_session_mode_sends_the_system_text_and_the_newest_message(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str, how: str
) -> None:
    conversation = [SystemMessage("S"), HumanMessage("first"), AIMessage("answer"),
                    SystemMessage("T"), HumanMessage("second")]
    if how == "field":
        reply = ChatAssisterr(model=HANDLE, session_id=session_id, **conn).invoke(conversation)
    else:
        reply = ChatAssisterr(model=HANDLE, **conn).invoke(conversation, session_id=session_id)
    sent = assisterr_emulator.chat_requests()[-1]
    assert (sent.query, sent.session_id) == ("S\n\nT\n\nsecond", session_id)
    assert reply.response_metadata["session_id"] == session_id
    assert assisterr_emulator.history(session_id)[0] == ("user", "S\n\nT\n\nsecond")


async def test_session_mode_renders_system_text_through_the_template(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    chat = ChatAssisterr(model=HANDLE, session_id=session_id, **conn)
    chat.invoke([SystemMessage("Answer in French."), HumanMessage("Hello")])
    async for _ in chat.astream([SystemMessage("Answer in French."), HumanMessage("Hi")]):
        pass
    llama = chat.model_copy(update={"query_template": Llama3Template()})
    llama.invoke([SystemMessage("Answer in French."), HumanMessage("Bye")])
    llama.invoke("Alone")  # no system text: sent as is, whatever the template
    first, second, third, fourth = (r.query for r in assisterr_emulator.chat_requests())
    assert (first, second) == ("Answer in French.\n\nHello", "Answer in French.\n\nHi")
    assert third == Llama3Template()([ChatTurn("system", "Answer in French."),
                                      ChatTurn("user", "Bye")])
    assert fourth == "Alone"


async def test_session_memory_answers_from_the_server(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    chat = ChatAssisterr(model=HANDLE, session_id=session_id, **conn)
    await chat.ainvoke("Is the sky blue?")
    chunks = [c async for c in chat.astream("What was my first question?")]
    assert "".join(c.text for c in chunks) == 'Your first question was: "Is the sky blue?"'
    assert chunks[-1].response_metadata["session_id"] == session_id
    assert [r.query for r in assisterr_emulator.chat_requests()] == [
        "Is the sky blue?", "What was my first question?"
    ]


def test_bad_session_ids_are_rejected_before_any_request(
    chat: ChatAssisterr, conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(ValidationError):
        ChatAssisterr(model=HANDLE, session_id="../admin", **conn)
    for bad in ["", "a/b", "..", "a b"]:
        with pytest.raises(InvalidRequestError):
            chat.invoke("hi", session_id=bad)
        with pytest.raises(InvalidRequestError):
            list(chat.stream("hi", session_id=bad))
    assert assisterr_emulator.requests == []


def test_model_override_per_call(chat: ChatAssisterr, assisterr_emulator: EmulatorServer) -> None:
    reply = chat.invoke("hi", model="other-slm")
    streamed = [c for c in chat.stream("hi", model="other-slm")]
    assert [r.handle for r in assisterr_emulator.chat_requests()] == ["other-slm", "other-slm"]
    assert reply.response_metadata["model_name"] == "other-slm"
    assert streamed[-1].response_metadata["model_name"] == "other-slm"
    assert chat._get_ls_params(model="other-slm")["ls_model_name"] == "other-slm"
    assert chat._get_ls_params(stop=["x"]) == {
        "ls_provider": "assisterr", "ls_model_name": HANDLE, "ls_model_type": "chat",
        "ls_stop": ["x"],
    }


# --- streaming ------------------------------------------------------------------------------

def test_stream_tokens_reach_callbacks_one_per_server_chunk(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.config.chunk_delay = 0.02
    assisterr_emulator.set_responder(lambda request: ["one", " two", " three"])
    events: list[str] = []
    chunks = list(chat.stream("hi", config={"callbacks": [Recorder(events)]}))
    assert events == ["token:one", "token: two", "token: three", "token:", "end"]
    assert [c.text for c in chunks] == ["one", " two", " three", ""]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.chunk_position for c in chunks] == [None, None, None, "last"]
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert assisterr_emulator.chat_requests()[-1].path.endswith("/chat/stream/")


@pytest.mark.parametrize("mode", ["stream", "streaming-invoke"])
def test_tokens_are_delivered_as_they_arrive_not_at_the_end(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, mode: str
) -> None:
    """The server sends two chunks and then drops the connection: a client that waited for
    the end of the response would report no token before the error."""
    assisterr_emulator.inject(drop_after_chunks=2)
    events: list[str] = []
    chat = ChatAssisterr(model=HANDLE, streaming=True if mode != "stream" else None, **conn)
    config = {"callbacks": [Recorder(events)]}
    received: list[str] = []
    with pytest.raises(StreamInterruptedError):
        if mode == "stream":
            for chunk in chat.stream("hi", config=config):
                received.append(chunk.text)
        else:
            chat.invoke("hi", config=config)
    assert events == ["token:Hello", "token: from", "error:StreamInterruptedError"]
    assert received == (["Hello", " from"] if mode == "stream" else [])


async def test_astream_tokens_arrive_before_a_dropped_stream_fails(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(drop_after_chunks=2)
    received: list[str] = []
    with pytest.raises(StreamInterruptedError):
        async for chunk in chat.astream("hi"):
            received.append(chunk.text)
    assert received == ["Hello", " from"]


async def test_astream_events_streams_each_chunk(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda request: ["a", "b", "c"])
    events = [e async for e in chat.astream_events("hi", version="v2")]
    streamed = [e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream"]
    assert streamed == ["a", "b", "c", ""]
    assert events[0]["event"] == "on_chat_model_start"
    assert events[-1]["event"] == "on_chat_model_end"
    assert events[-1]["data"]["output"].content == "abc"


def test_streaming_false_is_langchains_opt_out_and_the_default_still_streams(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    assert len(list(ChatAssisterr(model=HANDLE, streaming=False, **conn).stream("hi"))) == 1
    assert not assisterr_emulator.chat_requests()[-1].path.endswith("/stream/")
    configured = ChatAssisterr(model=HANDLE, **conn).configurable_fields(
        model=ConfigurableField(id="slm"))  # rebuilt with every field passed explicitly
    chunks = list(configured.stream("hi", config={"configurable": {"slm": "other-slm"}}))
    assert len(chunks) > 2 and "".join(c.text for c in chunks).startswith("Hello from other-slm")


async def test_bytes_are_refused_at_every_entry_point_before_sending(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    for call in (lambda: chat.invoke(b"hi"), lambda: chat.batch([b"hi"]),
                 lambda: list(chat.stream(b"hi"))):
        with pytest.raises(InvalidRequestError, match="got bytes"):
            call()
    with pytest.raises(InvalidRequestError, match="got bytes"):
        await chat.ainvoke(b"hi")
    with pytest.raises(InvalidRequestError, match="got bytes"):
        [c async for c in chat.astream(b"hi")]
    with pytest.raises(InvalidRequestError, match="got bytes"):
        [e async for e in chat.astream_events(b"hi", version="v2")]
    assert assisterr_emulator.requests == []


def test_sampling_controls_on_a_call_are_warned_about(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.warns(IgnoredParameterWarning, match=r"call\(temperature=\.\.\.\) is ignored"):
        assert chat.invoke("hi", temperature=0).text.endswith("You said: hi")
    assert assisterr_emulator.chat_requests()[-1].body == {"query": "hi"}


async def test_ainvoke_with_streaming_fires_async_callbacks_per_chunk(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda request: ["x", "y"])
    events: list[str] = []
    chat = ChatAssisterr(model=HANDLE, streaming=True, **conn)
    reply = await chat.ainvoke("hi", config={"callbacks": [AsyncRecorder(events)]})
    assert reply.content == "xy"
    assert events == ["start", "token:x", "token:y", "token:", "end"]
    assert assisterr_emulator.chat_requests()[-1].path.endswith("/chat/stream/")


# --- stop sequences -------------------------------------------------------------------------

@pytest.fixture
def split_stop(assisterr_emulator: EmulatorServer) -> None:
    """A reply whose stop sequence "STOP" straddles two chunks."""
    assisterr_emulator.set_responder(lambda request: ["Hello ST", "OP world", " and more"])


@pytest.mark.usefixtures("split_stop")
def test_stop_sequence_across_chunks_ends_the_stream(chat: ChatAssisterr) -> None:
    chunks = list(chat.stream("hi", stop=["STOP"]))
    assert "".join(c.text for c in chunks) == "Hello "
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].response_metadata["finish_reason"] == "stop"


@pytest.mark.usefixtures("split_stop")
async def test_stop_sequence_across_chunks_async(chat: ChatAssisterr) -> None:
    chunks = [c async for c in chat.astream("hi", stop=["STOP"])]
    assert "".join(c.text for c in chunks) == "Hello "


@pytest.mark.usefixtures("split_stop")
async def test_stop_field_and_call_stops_are_merged(conn: dict[str, Any]) -> None:
    chat = ChatAssisterr(model=HANDLE, stop=["world"], **conn)
    assert (await chat.ainvoke("hi")).content == "Hello STOP "
    assert chat.invoke("hi", stop=["ST"]).content == "Hello "
    assert chat.invoke("hi", stop=["zzz"]).content == "Hello STOP "


# --- errors ---------------------------------------------------------------------------------

def test_wrong_key_is_an_authentication_error(assisterr_emulator: EmulatorServer) -> None:
    chat = ChatAssisterr(model=HANDLE, api_key="wrong", base_url=assisterr_emulator.base_url)
    with pytest.raises(AuthenticationError) as caught:
        chat.invoke("hi")
    assert caught.value.status_code == 401
    assert "wrong" not in repr(chat) and "wrong" not in str(caught.value)


def test_missing_key_fails_at_call_time_without_a_request(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSISTERR_API_KEY", raising=False)
    chat = ChatAssisterr(model=HANDLE, base_url=assisterr_emulator.base_url)
    assert chat.api_key is None
    with pytest.raises(InvalidRequestError, match="api_key"):
        chat.invoke("hi")
    assert assisterr_emulator.requests == []


def test_unknown_handle_is_not_found(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.config.handles = frozenset({"someone-else"})
    with pytest.raises(NotFoundError) as caught:
        chat.invoke("hi")
    assert caught.value.status_code == 404


@pytest.mark.parametrize(("status", "error"), [(429, RateLimitError), (500, ServerError)])
async def test_status_errors_surface_typed(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, status: int, error: type[Exception]
) -> None:
    chat = ChatAssisterr(model=HANDLE, max_retries=0, **conn)
    assisterr_emulator.inject(status=status, retry_after="0", times=4)
    with pytest.raises(error):
        chat.invoke("hi")
    with pytest.raises(error):
        await chat.ainvoke("hi")
    with pytest.raises(error):
        list(chat.stream("hi"))
    with pytest.raises(error):
        [c async for c in chat.astream("hi")]


def test_rate_limit_is_retried_by_the_core(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(status=429, retry_after="0", times=1)
    assert chat.invoke("hi").content
    assert len(assisterr_emulator.chat_requests()) == 2


# --- LCEL and runnable features ---------------------------------------------------------

def test_prompt_model_parser_chain(chat: ChatAssisterr, assisterr_emulator: EmulatorServer) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "You are {role}."), ("human", "{q}")])
    chain = prompt | chat | StrOutputParser()
    assert chain.invoke({"role": "a pirate", "q": "Ahoy"}) == f"Hello from {HANDLE}! You said: Ahoy"
    assert assisterr_emulator.chat_requests()[-1].query == "You are a pirate.\n\nAhoy"
    assert "".join(chain.stream({"role": "a pirate", "q": "Ahoy"})).endswith("Ahoy")


def test_parallel_retry_fallbacks_and_rate_limiter(
    chat: ChatAssisterr, conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    both = RunnableParallel(a=chat | StrOutputParser(), b=chat.bind(model="b-slm"))
    out = both.invoke("hi")
    assert out["a"].startswith(f"Hello from {HANDLE}") and "b-slm" in out["b"].content

    assisterr_emulator.inject(status=500, times=1)
    retried = chat.with_retry(retry_if_exception_type=(ServerError,), stop_after_attempt=2)
    assert retried.invoke("hi").content

    assisterr_emulator.config.handles = frozenset({HANDLE})
    missing = ChatAssisterr(model="missing-slm", **conn)
    assert missing.with_fallbacks([chat]).invoke("hi").content.startswith("Hello from test")


class GateLimiter(BaseRateLimiter):
    """A bucket the test fills by hand: a call waits in ``acquire`` until a token is granted."""

    def __init__(self) -> None:
        self._tokens = threading.Semaphore(0)
        self.waiting = threading.Event()

    def grant(self) -> None:
        self._tokens.release()

    def acquire(self, *, blocking: bool = True) -> bool:
        self.waiting.set()
        return self._tokens.acquire(blocking=blocking, timeout=30 if blocking else None)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return await asyncio.to_thread(self.acquire, blocking=blocking)


def test_calls_wait_at_the_rate_limiters_bucket(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    limiter = GateLimiter()
    limited = ChatAssisterr(model=HANDLE, rate_limiter=limiter, **conn)
    with ThreadPoolExecutor(1) as pool:
        answered = pool.submit(limited.invoke, "hi")
        assert limiter.waiting.wait(30)
        assert assisterr_emulator.chat_requests() == []  # nothing goes out before a token
        limiter.grant()
        assert answered.result(timeout=30)
    assert len(assisterr_emulator.chat_requests()) == 1


def test_configurable_session_id_streams_in_that_session(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    configurable = chat.configurable_fields(session_id=ConfigurableField(id="session_id"))
    config = {"configurable": {"session_id": session_id}}
    chunks = list(configurable.stream("hi", config=config))
    assert len(chunks) > 2
    sent = assisterr_emulator.chat_requests()[-1]
    assert sent.session_id == session_id and sent.path.endswith("/chat/stream/")


def test_batch(chat: ChatAssisterr) -> None:
    replies = chat.batch(["one", "two", "three"])
    assert [r.content.rsplit(" ", 1)[-1] for r in replies] == ["one", "two", "three"]


async def test_abatch_runs_calls_concurrently(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    """Every call starts before any ends: sequential calls would alternate start/end.
    The server holds each answer for a second, far longer than starting a task takes."""
    assisterr_emulator.config.latency = 1.0
    events: list[str] = []
    replies = await chat.abatch(
        [f"q{i}" for i in range(6)], config={"callbacks": [AsyncRecorder(events)]}
    )
    assert [r.content.rsplit(" ", 1)[-1] for r in replies] == [f"q{i}" for i in range(6)]
    assert events[:6] == ["start"] * 6 and events[6:] == ["end"] * 6


async def test_async_paths_stay_on_the_event_loop(
    chat: ChatAssisterr, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No thread hop: neither the sync client nor the sync methods run for ainvoke/astream."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a sync path was used on the async path")

    monkeypatch.setattr(chat._client, "chat", forbidden)
    monkeypatch.setattr(chat._client, "stream", forbidden)
    monkeypatch.setattr(ChatAssisterr, "_generate", forbidden)
    monkeypatch.setattr(ChatAssisterr, "_stream", forbidden)
    assert (await chat.ainvoke("hi")).content
    assert [c async for c in chat.astream("hi")]


# --- construction, secrets, import cost -----------------------------------------------------

def test_secret_and_serialization(conn: dict[str, Any]) -> None:
    chat = ChatAssisterr(model=HANDLE, api_key="sk-secret-value", base_url=conn["base_url"])
    assert "sk-secret-value" not in repr(chat)
    assert "sk-secret-value" not in str(chat.model_dump())
    assert chat.lc_secrets == {"api_key": "ASSISTERR_API_KEY"}
    assert chat._llm_type == "assisterr-chat"
    assert chat._identifying_params["model"] == HANDLE


def test_importing_the_package_does_not_import_aiohttp() -> None:
    code = (
        "import sys, langchain_assisterr\n"
        "from langchain_assisterr import ChatAssisterr\n"
        "ChatAssisterr(model='x', api_key='k')\n"
        "print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
