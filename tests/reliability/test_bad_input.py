"""Hostile input through the core clients, both adapters and the history.

Every input either fails with a clear ``ValueError`` (our ``InvalidRequestError``) before
any request is made, or makes an exact round trip: the server receives exactly the text
or id given, and the reply carries it back.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from assisterr_core import (
    AssisterrClient,
    AsyncAssisterrClient,
    InvalidRequestError,
    NotFoundError,
)
from assisterr_emulator import EmulatorServer
from assisterr_emulator.responders import ResponderRequest
from langchain_assisterr import AssisterrChatMessageHistory
from llama_index_assisterr import Assisterr

from ._adapters import HANDLE, KINDS, build, chat_model, echo

TARGETS = ("core-sync", "core-async", *KINDS)


def said(request: ResponderRequest) -> str:
    """Echo the whole query (the default responder echoes only its last line)."""
    return f"You said: {request.query}"


def send(target: str, server: EmulatorServer, query: Any = "hi", *, handle: Any = HANDLE,
         session_id: Any = None, stream: bool = False) -> str:
    """One chat through ``target``; the reply's text (raises what the target raises)."""
    options: dict[str, Any] = {"api_key": server.api_key, "base_url": server.base_url}
    if target == "core-sync":
        with AssisterrClient(**options) as client:
            if stream:
                return "".join(client.stream(handle, query, session_id=session_id))
            return client.chat(handle, query, session_id=session_id).text
    if target == "core-async":
        async def run() -> str:
            async with AsyncAssisterrClient(**options) as client:
                if stream:
                    pieces = client.stream(handle, query, session_id=session_id)
                    return "".join([piece async for piece in pieces])
                return (await client.chat(handle, query, session_id=session_id)).text
        return asyncio.run(run())
    adapter = build(target, server, model=handle)
    try:
        extra = {} if session_id is None else {"session_id": session_id}
        if stream:
            pieces, error = adapter.stream(query, **extra)
            if error is not None:
                raise error
            return "".join(pieces)
        return adapter.ask(query, **extra)
    finally:
        adapter.close()


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- queries ------------------------------------------------------------------------------

REFUSED_QUERIES = {
    "empty": "",
    "whitespace": " \t\n\r\u3000 ",
    "lone-high-surrogate": "hi \ud800 there",
    "lone-low-surrogate": "\udfff",
}


@pytest.mark.parametrize("query", REFUSED_QUERIES.values(), ids=REFUSED_QUERIES.keys())
@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_bad_query_is_refused_before_sending(
    target: str, query: str, stream: bool, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(InvalidRequestError):
        send(target, assisterr_emulator, query, stream=stream)
    assert assisterr_emulator.requests == []


NON_STRINGS = {"int": 123, "none": None, "float": 1.5, "dict": {"q": "hi"}, "object": object()}


@pytest.mark.parametrize("query", NON_STRINGS.values(), ids=NON_STRINGS.keys())
def test_non_string_query_is_a_value_error(
    target: str, query: Any, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(ValueError):  # LangChain refuses these inputs itself, also a ValueError
        send(target, assisterr_emulator, query)
    assert assisterr_emulator.requests == []


@pytest.mark.parametrize("target", [*TARGETS[:2], *KINDS[2:]])
def test_bytes_query_is_a_value_error(target: str, assisterr_emulator: EmulatorServer) -> None:
    with pytest.raises(ValueError):
        send(target, assisterr_emulator, b"hi")
    assert assisterr_emulator.requests == []


@pytest.mark.parametrize("target", KINDS[:2])
def test_bytes_query_through_langchain_is_a_value_error(
    target: str, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(ValueError):
        send(target, assisterr_emulator, b"hi")
    assert assisterr_emulator.requests == []


ROUND_TRIPS = {
    "emoji": "Parrot and link 🦜🔗, family 👩‍👩‍👧, flag 🇺🇦, skin tone 👍🏽",
    "rtl": "مرحبا بالعالم — שלום עולם — \u202eevil override\u202c",
    "nul-and-controls": "a\x00b\x01c\x7fd\x1be[0m",
    "line-separators": "one\ntwo\r\nthree\u2028four\u2029five\x85six",
    "combining": "e\u0301 a\u030a Z\u0351\u0324\u0359",
    "json-and-sse-lookalikes": 'data: [DONE]\n\n{"message": "x"}\nevent: error',
    "one-megabyte": "x" * (1024 * 1024),
    "one-megabyte-multibyte": "é🦜" * (256 * 1024),
}


@pytest.mark.parametrize("query", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_odd_text_round_trips_exactly(
    target: str, query: str, stream: bool, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(said)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reply = send(target, assisterr_emulator, query, stream=stream)
    assert [str(w.message) for w in caught] == []  # e.g. aiohttp on a 1 MB raw-bytes body
    assert [r.query for r in assisterr_emulator.chat_requests()] == [query]
    assert reply == f"You said: {query}"


# -- handles and session ids --------------------------------------------------------------
# Which ids are refused is the validator's business (tests/assisterr_core/test_pure.py holds
# the table of attacks); here each public entry point shows that it runs the validator before
# sending anything, and sends an accepted odd id as exactly one path segment.

BAD_HANDLE, BAD_SESSION = "../../admin", "a\r\nX-Api-Key: stolen"
ODD_HANDLE, ODD_SESSION = "slm-\u00e9\u2215x", "a:b@c;d+e=f"
ID_TARGETS = (*TARGETS, "history")


Calls = list[tuple[str, tuple[Any, ...], dict[str, Any]]]


def core_calls(handle: str, session_id: str | None = None) -> Calls:
    """The core client's methods that take ``handle``, or with ``session_id`` those taking both."""
    if session_id is None:
        return [("chat", (handle, "hi"), {}), ("stream", (handle, "hi"), {}),
                ("create_session", (handle,), {}), ("list_sessions", (handle,), {}),
                ("get_history", (handle, "s"), {}), ("delete_session", (handle, "s"), {})]
    return [("chat", (handle, "hi"), {"session_id": session_id}),
            ("stream", (handle, "hi"), {"session_id": session_id}),
            ("get_history", (handle, session_id), {}),
            ("delete_session", (handle, session_id), {})]


def refused_fields(target: str, server: EmulatorServer, calls: Calls) -> list[str]:
    """The field each call named when refusing its input (a call that went through: none)."""
    options = {"api_key": server.api_key, "base_url": server.base_url}

    async def attempt(name: str, args: Any, kwargs: Any) -> None:
        async with AsyncAssisterrClient(**options) as client:
            result = getattr(client, name)(*args, **kwargs)
            if name == "stream":
                [_ async for _ in result]
            else:
                await result

    named: list[str] = []
    for name, args, kwargs in calls:
        try:
            if target == "core-async":
                asyncio.run(attempt(name, args, kwargs))
                continue
            with AssisterrClient(**options) as client:
                result = getattr(client, name)(*args, **kwargs)
                if name == "stream":
                    list(result)
        except InvalidRequestError as error:
            named.append(error.field)
    return named


def test_refused_ids_send_nothing(target: str, assisterr_emulator: EmulatorServer) -> None:
    server = assisterr_emulator
    if target.startswith("core"):
        assert refused_fields(target, server, core_calls(BAD_HANDLE)) == ["handle"] * 6
        assert refused_fields(target, server, core_calls(HANDLE, BAD_SESSION)) == [
            "session_id"] * 4
    else:
        for handle, session_id, field in ((BAD_HANDLE, None, "handle"),
                                          (HANDLE, BAD_SESSION, "session_id")):
            for stream in (False, True):
                with pytest.raises(InvalidRequestError) as caught:
                    send(target, server, handle=handle, session_id=session_id, stream=stream)
                assert caught.value.field == field
    assert server.requests == []


def test_refused_ids_in_a_history_send_nothing(assisterr_emulator: EmulatorServer) -> None:
    options = {"api_key": assisterr_emulator.api_key, "base_url": assisterr_emulator.base_url}
    for handle, session_id, field in ((BAD_HANDLE, None, "handle"),
                                      (HANDLE, BAD_SESSION, "session_id")):
        with pytest.raises(InvalidRequestError) as caught:
            AssisterrChatMessageHistory(handle, session_id, **options)
        assert caught.value.field.startswith(field)  # "handle_name", the history's own field
    with pytest.raises(ValueError, match="session_id"):
        chat_model(model=HANDLE, session_id=BAD_SESSION, api_key="k")
    assert assisterr_emulator.requests == []


@pytest.mark.parametrize("target", ID_TARGETS)
def test_odd_ids_travel_as_one_path_segment(
    target: str, assisterr_emulator: EmulatorServer
) -> None:
    server = assisterr_emulator
    expected = []
    if target != "history":
        assert send(target, server, handle=ODD_HANDLE) == echo("hi", ODD_HANDLE)
        expected.append((ODD_HANDLE, None, f"/api/v1/slm/{ODD_HANDLE}/chat/"))
    with pytest.raises(NotFoundError):  # no such session: the server says so
        if target == "history":
            history = AssisterrChatMessageHistory(
                ODD_HANDLE, ODD_SESSION, api_key=server.api_key, base_url=server.base_url)
            assert history.messages == []
        else:
            send(target, server, handle=ODD_HANDLE, session_id=ODD_SESSION)
    suffix = "history/" if target == "history" else "chat/"
    path = f"/api/v1/slm/{ODD_HANDLE}/session/{ODD_SESSION}/{suffix}"
    expected.append((ODD_HANDLE, ODD_SESSION, path))
    assert [(r.handle, r.session_id, r.path) for r in server.requests] == expected


# -- stop sequences -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_stop_string_is_one_sequence_and_a_bad_stop_sends_nothing(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    """``stop="Observation:"`` cuts at that sequence, not at its first character; a stop
    that is neither a string nor a list of strings is refused before anything is sent."""
    adapter = build(kind, assisterr_emulator)
    query = "Observation: done"
    whole = echo(query)
    assert adapter.ask(query, stop="Observation:") == whole[:whole.index("Observation:")]
    pieces, error = adapter.stream(query, stop="Observation:")
    assert error is None and "".join(pieces) == whole[:whole.index("Observation:")]
    sent = len(assisterr_emulator.requests)
    for bad in (5, [None]):
        with pytest.raises(InvalidRequestError, match="stop: must be a string or a list"):
            adapter.ask("hi", stop=bad)
    assert len(assisterr_emulator.requests) == sent
    if adapter.is_langchain:  # bound to the model, or given to it: one sequence too
        bound = adapter.model.bind(stop="Observation:")
        assert bound.invoke(query).content == whole[:whole.index("Observation:")]
        assert chat_model(model=HANDLE, api_key=assisterr_emulator.api_key,
                          base_url=assisterr_emulator.base_url, stop="Observation:").stop == [
            "Observation:"]
    adapter.close()


# -- settings -------------------------------------------------------------------------------


def test_a_pool_size_that_is_not_a_whole_number_above_zero_is_refused_when_built() -> None:
    """``max_connections=0`` is not quietly the default pool, nor is 2.5 a pool size: every
    entry point refuses them at construction, naming the field (as it does ``max_retries``)."""
    options: dict[str, Any] = {"api_key": "k", "base_url": "http://127.0.0.1:9"}
    builders = (AssisterrClient, AsyncAssisterrClient,
                lambda **o: chat_model(model=HANDLE, **o),
                lambda **o: Assisterr(model=HANDLE, **o))
    for build_one in builders:
        for size in (0, 2.5, -3):
            with pytest.raises(InvalidRequestError, match=f"max_connections: .* got {size}"):
                build_one(max_connections=size, **options)
