"""What a stream endpoint's body may be, through both clients over real HTTP.

The response's Content-Type decides the framing where it is specific: plain text streams as
it is, whatever it starts with, exactly as the non-streamed call returns it; an HTML page
(a captive portal) is a malformed response, never model output. A body with no event at all
is no reply. A byte order mark before the first event loses nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from assisterr_core import AssisterrClient, AsyncAssisterrClient, MalformedResponseError
from assisterr_emulator import EmulatorServer

from ._adapters import HANDLE, build

LOOKS_LIKE_FRAMING = [":) sure, here it is", "id: 42 is the answer", '"quoted" first',
                      "[1] a list first", '{"message": "not an event"}', "data: not an event"]
PORTAL = "<!DOCTYPE html><html><body><form>Log in to the Wi-Fi</form></body></html>"


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ask(kind: str, server: EmulatorServer, *, stream: bool) -> str:
    """One chat, streamed (the deltas joined) or not (the reply's text)."""
    options = {"api_key": server.api_key, "base_url": server.base_url, "max_retries": 0}
    if kind == "sync":
        with AssisterrClient(**options) as client:
            if stream:
                return "".join(client.stream(HANDLE, "hi"))
            return client.chat(HANDLE, "hi").text

    async def run() -> str:
        async with AsyncAssisterrClient(**options) as client:
            if stream:
                return "".join([delta async for delta in client.stream(HANDLE, "hi")])
            return (await client.chat(HANDLE, "hi")).text

    return asyncio.run(run())


def test_plain_text_streams_exactly_as_the_call_returns_it(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.config.stream_format = "text"  # served as text/plain
    assisterr_emulator.set_responder([reply for reply in LOOKS_LIKE_FRAMING for _ in "12"])
    for reply in LOOKS_LIKE_FRAMING:
        assert (ask(kind, assisterr_emulator, stream=False),
                ask(kind, assisterr_emulator, stream=True)) == (reply, reply)


def test_a_captive_portal_page_is_a_malformed_response(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    for content_type in ("text/html", "text/event-stream", "application/octet-stream"):
        assisterr_emulator.inject(malformed=True, body=PORTAL, content_type=content_type)
        with pytest.raises(MalformedResponseError, match="HTML"):
            ask(kind, assisterr_emulator, stream=True)


def test_a_stream_body_without_any_event_is_no_reply(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.inject(malformed=True, body="", content_type="text/event-stream")
    with pytest.raises(MalformedResponseError, match="without any event"):
        ask(kind, assisterr_emulator, stream=True)
    assisterr_emulator.inject(status=204, body="")
    with pytest.raises(MalformedResponseError, match="without any event"):
        ask(kind, assisterr_emulator, stream=True)
    assisterr_emulator.inject(malformed=True, body='{"message": ""}',
                              content_type="text/event-stream")
    assert ask(kind, assisterr_emulator, stream=True) == ""  # an explicit empty reply


def test_byte_order_mark_before_sse_keeps_the_first_event(
    kind: str, assisterr_emulator: EmulatorServer
) -> None:
    body = "\ufeffdata: Hello\n\ndata:  world\n\ndata: [DONE]\n\n"
    assisterr_emulator.inject(malformed=True, body=body, content_type="text/event-stream")
    assert ask(kind, assisterr_emulator, stream=True) == "Hello world"


@pytest.mark.parametrize("adapter_kind", ["langchain-sync", "llamaindex-async"])
def test_adapters_stream_plain_text_whole(
    adapter_kind: str, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.config.stream_format = "text"
    assisterr_emulator.set_responder(lambda request: ":) id: 42 {}")
    adapter: Any = build(adapter_kind, assisterr_emulator)
    try:
        pieces, error = adapter.stream("hi")
        assert (error, "".join(pieces)) == (None, ":) id: 42 {}")
    finally:
        adapter.close()
