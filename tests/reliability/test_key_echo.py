"""A server that echoes the API key must not make our errors carry it, anywhere.

The peer below answers with the key in an error body (401 ``detail``, a FastAPI 422
``input``), in a header, in a stream's ``event: error`` frame and in a malformed body; or
cuts the connection (the transport's exception then holds the request, and its headers
the key). Every object reachable from the raised error (text, args, attributes, nested
values, the ``__cause__``/``__context__`` chain, the locals of the frames it went through)
is searched for the key, raw, JSON-escaped or percent-encoded; so is what LangChain's
callbacks and events and LlamaIndex's instrumentation were handed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.callbacks import BaseCallbackHandler
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler

from assisterr_core import AssisterrClient, AssisterrError, AsyncAssisterrClient
from assisterr_core.transport.scrub import scrub_secret
from llama_index_assisterr import Assisterr

from ..assisterr_core.conftest import ClientDriver
from ..llama_index_assisterr.conftest import EventCollector
from ._adapters import HANDLE, chat_model
from .key_search import places_holding
from .raw_peer import Conn, RawPeer, response_head

KEY = 'sk-echo"7f3a/9c1e+DO-NOT-LEAK'  # a quote and a slash: escaped forms differ
# Objects that hold the key by design (the user's own client, model and secret): not
# followed. Their reprs hide it (test_secrets.py).
def echoing(conn: Conn) -> None:
    """Answer by the query's first word, echoing the key the request carried."""
    while (request := conn.read_request()) is not None:
        key = request.headers.get("x-api-key", "")
        query = json.loads(request.body or b"{}").get("query", "")
        kind = query.split(" ")[0] if query else "401"
        if kind == "401":
            body = json.dumps({"detail": f"Invalid API key: {key}"}).encode()
            conn.respond(401, body, headers=[("WWW-Authenticate", f'ApiKey realm="{key}"')])
        elif kind == "422":
            detail = [{"type": "missing", "loc": ["header", "x-api-key"],
                       "msg": "Field required", "input": key, "url": quote(key, safe="")}]
            conn.respond(422, json.dumps({"detail": detail}).encode(),
                         headers=[("X-Echo", key)])
        elif kind == "error-event":
            frame = f"event: error\ndata: {json.dumps({'error': f'rejected {key}'})}\n\n"
            conn.send(response_head(200, content_type="text/event-stream") + frame.encode())
            return
        elif kind == "malformed" and "/stream/" in request.path:  # ends inside a value
            conn.respond(200, f'{{"message": "{key}'.encode(),
                         content_type="text/event-stream")
        elif kind == "malformed":
            conn.respond(200, f"<html>not json, key={key}</html>".encode())
        else:  # cut: the transport's exception holds the request, and the key
            conn.send(b"HTTP/1.1 200 OK\r\nX-Echo: " + key.encode())
            return


CASES = ("401", "422", "error-event", "malformed", "cut")


def leaks(root: object) -> list[str]:
    return places_holding(KEY, root)


def test_the_leak_finder_finds_what_it_looks_for() -> None:
    """A chained transport exception and an echoed body are found: the search can fail."""
    import requests

    request = requests.Request("GET", "http://x.test", headers={"X-Api-Key": KEY}).prepare()
    inner = requests.ConnectionError("reset", request=request)
    outer = AssisterrError("echo: " + json.dumps({"detail": KEY}))
    outer.__context__ = inner
    assert leaks(outer) and leaks(inner)
    assert not leaks(AssisterrError("clean"))
    assert leaks(AssisterrError("cut: " + KEY[5:13])) and not leaks(AssisterrError(KEY[5:12]))


# A key's characters, but not the mask's: a key made of asterisks cannot be masked visibly.
KEY_CHARS = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*")


@given(key=st.text(KEY_CHARS, min_size=1, max_size=48), data=st.data())
def test_scrubbing_masks_every_piece_of_the_key_wherever_it_is(key: str, data: Any) -> None:
    """Text made of pieces of the key (cut anywhere) and other text: after scrubbing, no
    run of 8 of the key's characters (fewer for a short key, see key_search) is left; text
    without one is left as it was."""
    segments = data.draw(st.lists(st.one_of(
        st.text(st.sampled_from(key + "ab -\\"), max_size=12),
        st.tuples(st.integers(0, len(key)), st.integers(0, len(key))).map(
            lambda cut: key[min(cut):max(cut)]),
    ), max_size=6))
    text = "".join(segments)
    error = AssisterrError(text)
    error.detail = {"nested": [text]}
    scrub_secret(error, key)
    assert places_holding(key, error) == []
    clean = "Assisterr API returned HTTP 500 for POST /api/v1/slm/h/chat/"
    if not places_holding(key, clean):
        untouched = AssisterrError(clean)
        scrub_secret(untouched, key)
        assert untouched.args[0] is clean


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[tuple[ClientDriver, RawPeer]]:
    with RawPeer(echoing) as peer:
        cls = AssisterrClient if request.param == "sync" else AsyncAssisterrClient
        client = cls(api_key=KEY, base_url=peer.base_url, max_retries=0)
        yield ClientDriver(client), peer
        if isinstance(client, AssisterrClient):
            client.close()


@pytest.mark.parametrize("case", CASES)
def test_errors_of_both_clients_never_carry_the_key(
    api: tuple[ClientDriver, RawPeer], case: str
) -> None:
    driver, peer = api
    _, stream_error = driver.stream(HANDLE, f"{case} please")
    errors = [stream_error]
    if case != "error-event":
        with pytest.raises(AssisterrError) as caught:
            driver.call("chat", HANDLE, f"{case} please")
        errors.append(caught.value)
    assert peer.requests and peer.requests[0].headers["x-api-key"] == KEY  # it was sent
    for error in errors:
        assert isinstance(error, AssisterrError), repr(error)
        assert leaks(error) == [], (case, type(error).__name__)


# -- the key echoed where our excerpts cut it ----------------------------------------------

# Every place a server's bytes reach an error's text, each quoted in an excerpt of its own
# length (60 to 500 characters): (call, response) for an echo with ``pad`` characters
# before the key. A key cut by an excerpt must not leave a piece of it behind.
def _json(status: int, value: object) -> bytes:
    return response_for(status, json.dumps(value).encode())


def response_for(status: int, body: bytes, content_type: str = "application/json",
                 headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    return response_head(status, content_type=content_type, headers=headers,
                         length=len(body)) + body


ECHOES: dict[str, tuple[str, Any]] = {
    "status line": ("chat", lambda echo: b"HTTP/1.1 2x0 " + echo.encode() + b"\r\n\r\n"),
    "401 detail": ("chat", lambda echo: _json(401, {"detail": echo})),
    "422 input": ("chat", lambda echo: _json(422, {"detail": [{"msg": "bad", "input": echo}]})),
    "500 text": ("chat", lambda echo: response_for(500, echo.encode(), "text/plain")),
    "200 not JSON": ("chat", lambda echo: response_for(200, b"<" + echo.encode())),
    "no message": ("chat", lambda echo: _json(200, {"answer": echo})),
    "307 Location": ("chat", lambda echo: response_for(307, b"", headers=(
        ("Location", "ftp://" + echo),))),
    "stream not JSON": ("stream", lambda echo: response_for(200, b"<" + echo.encode())),
    "invalid JSON event": ("stream", lambda echo: response_for(
        200, b'{"message": "x"} {"message": ' + echo.encode() + b"}")),
    "error frame": ("stream", lambda echo: response_for(
        200, b"event: error\ndata: " + echo.encode() + b"\n\n", "text/event-stream")),
    "error object": ("stream", lambda echo: _json(200, {"error": {"message": echo}})),
}
EXCERPT_ENDS = (60, 80, 200, 300, 500)
# The key ends anywhere from 40 characters before an excerpt's end (the text the excerpt
# starts with) to past it.
PADS = sorted({pad for end in EXCERPT_ENDS
               for pad in range(max(0, end - len(KEY) - 40), end + 2)})
SWEEP_KEY = "sk-SWEEP-0123456789abcdefABCDEF-xyz"  # no escapes: every piece is plain text


def echoing_at_offsets(conn: Conn) -> None:
    """Answer ``"<echo name> <pad>"`` with that echo of the key after ``pad`` characters."""
    while (request := conn.read_request()) is not None:
        name, pad = json.loads(request.body)["query"].rsplit(" ", 1)
        conn.send(ECHOES[name][1]("a" * int(pad) + SWEEP_KEY))
        if name == "status line":
            return


def test_a_short_test_keys_pieces_are_not_masked_in_everyday_words() -> None:
    """A key such as ``anything`` (what people type against the local server) is masked whole
    and in runs of 6, not in runs of 4 that would eat "something" and "nothing"."""
    error = AssisterrError("nothing works: something is wrong with key anything (anyth)")
    scrub_secret(error, "anything")
    assert error.args[0] == "nothing works: something is wrong with key ********** (anyth)"


def test_a_key_cut_by_an_excerpt_leaves_no_piece_behind() -> None:
    """The key echoed at every offset around the end of each excerpt, in every place a
    server's bytes reach an error, through both clients: no run of 8 of its characters is
    left in any text or attribute of the error."""
    with RawPeer(echoing_at_offsets) as peer:
        sync = ClientDriver(AssisterrClient(api_key=SWEEP_KEY, base_url=peer.base_url,
                                            max_retries=0))
        asynchronous = AsyncAssisterrClient(api_key=SWEEP_KEY, base_url=peer.base_url,
                                            max_retries=0)

        async def async_errors(query: str, call: str) -> BaseException | None:
            try:
                if call == "chat":
                    await asynchronous.chat(HANDLE, query)
                else:
                    async for _ in asynchronous.stream(HANDLE, query):
                        pass
            except Exception as exc:
                return exc
            return None

        async def sweep_async() -> list[tuple[str, BaseException | None]]:
            return [(query, await async_errors(query, call)) for query, call in queries]

        queries = [(f"{name} {pad}", call) for name, (call, _) in ECHOES.items() for pad in PADS]
        errors = []
        for query, call in queries:
            if call == "chat":
                try:
                    sync.call("chat", HANDLE, query)
                    errors.append((query, None))
                except Exception as exc:
                    errors.append((query, exc))
            else:
                errors.append((query, sync.stream(HANDLE, query)[1]))
        errors += asyncio.run(sweep_async())
        sync.client.close()
    assert all(isinstance(error, AssisterrError) for _, error in errors), errors
    assert [(query, places_holding(SWEEP_KEY, error)) for query, error in errors
            if places_holding(SWEEP_KEY, error)] == []


class Recorder(BaseCallbackHandler):
    """Everything LangChain hands to a tracer, errors included."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen += [error, kwargs]

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen += [response, kwargs]


@pytest.mark.parametrize("case", ["401", "error-event"])
def test_langchain_callbacks_and_events_never_carry_the_key(case: str) -> None:
    with RawPeer(echoing) as peer:
        model = chat_model(model=HANDLE, api_key=KEY, base_url=peer.base_url, max_retries=0)
        recorder = Recorder()
        with pytest.raises(AssisterrError) as caught:
            model.invoke(f"{case} please", config={"callbacks": [recorder]})
        with pytest.raises(AssisterrError) as streamed:
            list(model.stream(f"{case} please", config={"callbacks": [recorder]}))
        events: list[Any] = []

        async def collect() -> None:
            async for event in model.astream_events(f"{case} please", version="v2"):
                events.append(event)

        with pytest.raises(AssisterrError) as from_events:
            asyncio.run(collect())
    assert any(isinstance(item, AssisterrError) for item in recorder.seen)
    for root in (caught.value, streamed.value, from_events.value, recorder.seen, events):
        assert leaks(root) == []


class ErrorSpans(SimpleSpanHandler):
    """Keeps the error of every dropped span."""

    errors: list[BaseException] = Field(default_factory=list)

    def prepare_to_drop_span(self, *args: Any, err: BaseException | None = None,
                             **kwargs: Any) -> Any:
        if err is not None:
            self.errors.append(err)
        return super().prepare_to_drop_span(*args, err=err, **kwargs)


@pytest.mark.parametrize("case", ["422", "error-event"])
def test_llamaindex_instrumentation_never_carries_the_key(case: str) -> None:
    root = get_dispatcher()
    collector, spans = EventCollector(), ErrorSpans()
    root.add_event_handler(collector)
    root.add_span_handler(spans)
    try:
        with RawPeer(echoing) as peer:
            llm = Assisterr(model=HANDLE, api_key=KEY, base_url=peer.base_url, max_retries=0)
            with pytest.raises(AssisterrError) as caught:
                llm.complete(f"{case} please")
            with pytest.raises(AssisterrError) as streamed:
                list(llm.stream_complete(f"{case} please"))

            async def astream() -> None:
                async for _ in await llm.astream_complete(f"{case} please"):
                    pass

            with pytest.raises(AssisterrError) as astreamed:
                asyncio.run(astream())
            llm.close()
    finally:
        root.event_handlers.remove(collector)
        root.span_handlers.remove(spans)
    assert collector.events and spans.errors
    for item in (caught.value, streamed.value, astreamed.value, collector.events,
                 spans.errors):
        assert leaks(item) == []
