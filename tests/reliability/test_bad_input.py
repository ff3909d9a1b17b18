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
from assisterr_core.emulator import EmulatorServer
from assisterr_core.emulator.responders import ResponderRequest
from langchain_assisterr import AssisterrChatMessageHistory

from ._adapters import HANDLE, KINDS, build, chat_model

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

REFUSED_IDS = {
    "empty": "",
    "slash": "a/b",
    "backslash": "a\\b",
    "leading-slash": "/admin",
    "dot-dot": "..",
    "dot": ".",
    "traversal": "../../admin",
    "dot-dot-inside": "a..b",
    "percent-2F": "a%2Fb",
    "percent-2E": "%2E%2E",
    "space": "a b",
    "only-space": " ",
    "newline": "a\nb",
    "crlf-header-injection": "a\r\nX-Api-Key: stolen",
    "tab": "a\tb",
    "nul": "a\x00b",
    "query": "a?b=1",
    "fragment": "a#b",
    "fullwidth-solidus": "a\uff0fb",
    "fullwidth-reverse-solidus": "a\uff3cb",
    "two-one-dot-leaders": "\u2024\u2024",
    "two-dot-leader": "\u2025",
    "fullwidth-full-stops": "\uff0e\uff0e",
    "no-break-space": "a\u00a0b",
    "ideographic-space": "a\u3000b",
    "zero-width-space": "a\u200bb",
    "line-separator": "a\u2028b",
    "rtl-override": "a\u202eb",
    "lone-surrogate": "a\ud800b",
}

ROUND_TRIP_IDS = {
    "division-slash": "a\u2215b",
    "fraction-slash": "a\u2044b",
    "one-dot-leader": "a\u2024b",
    "dot": "a.b",
    "accented": "slm-é",
    "cyrillic-lookalike": "t\u0435st-slm",  # a Cyrillic "ie" for the "e"
    "colon-at-semicolon": "a:b@c;d",
    "plus-and-equals": "a+b=c",
}

ID_TARGETS = (*TARGETS, "history")


@pytest.mark.parametrize("handle", REFUSED_IDS.values(), ids=REFUSED_IDS.keys())
@pytest.mark.parametrize("target", ID_TARGETS)
def test_bad_handle_is_refused_before_sending(
    target: str, handle: str, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(ValueError) as caught:
        if target == "history":
            AssisterrChatMessageHistory(
                handle, api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url
            )
        else:
            send(target, assisterr_emulator, handle=handle)
    assert isinstance(caught.value, InvalidRequestError)
    assert "handle" in str(caught.value)
    assert assisterr_emulator.requests == []


@pytest.mark.parametrize("session_id", REFUSED_IDS.values(), ids=REFUSED_IDS.keys())
@pytest.mark.parametrize("target", ID_TARGETS)
def test_bad_session_id_is_refused_before_sending(
    target: str, session_id: str, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(ValueError) as caught:
        if target == "history":
            AssisterrChatMessageHistory(
                HANDLE, session_id,
                api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url,
            )
        else:
            send(target, assisterr_emulator, session_id=session_id)
    assert "session_id" in str(caught.value)
    assert assisterr_emulator.requests == []


def test_bad_session_id_field_is_refused_at_construction(
    assisterr_emulator: EmulatorServer,
) -> None:
    for session_id in REFUSED_IDS.values():
        with pytest.raises(ValueError, match="session_id"):
            chat_model(model=HANDLE, session_id=session_id, api_key="k")
    assert assisterr_emulator.requests == []


@pytest.mark.parametrize("handle", ROUND_TRIP_IDS.values(), ids=ROUND_TRIP_IDS.keys())
@pytest.mark.parametrize("target", TARGETS)
def test_odd_handle_round_trips_as_one_path_segment(
    target: str, handle: str, assisterr_emulator: EmulatorServer
) -> None:
    reply = send(target, assisterr_emulator, handle=handle)
    assert reply == f"Hello from {handle}! You said: hi"
    [request] = assisterr_emulator.requests
    assert request.handle == handle
    assert request.path == f"/api/v1/slm/{handle}/chat/"


@pytest.mark.parametrize("session_id", ROUND_TRIP_IDS.values(), ids=ROUND_TRIP_IDS.keys())
@pytest.mark.parametrize("target", ID_TARGETS)
def test_odd_session_id_round_trips_as_one_path_segment(
    target: str, session_id: str, assisterr_emulator: EmulatorServer
) -> None:
    with pytest.raises(NotFoundError):  # no such session: the server says so
        if target == "history":
            history = AssisterrChatMessageHistory(
                HANDLE, session_id,
                api_key=assisterr_emulator.api_key, base_url=assisterr_emulator.base_url,
            )
            assert history.messages == []
        else:
            send(target, assisterr_emulator, session_id=session_id)
    [request] = assisterr_emulator.requests
    assert (request.handle, request.session_id) == (HANDLE, session_id)
    suffix = "history/" if target == "history" else "chat/"
    assert request.path == f"/api/v1/slm/{HANDLE}/session/{session_id}/{suffix}"
