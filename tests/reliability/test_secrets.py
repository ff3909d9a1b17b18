"""The API key never shows: not in dumps, reprs, errors, logs or traces; never leaves its origin.

A distinctive key is used for real (the server checks it), then searched for everywhere a
user, a log shipper or a tracing backend could see it.
"""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from llama_index.core.base.llms.types import ChatMessage
from pydantic import ValidationError

from assisterr_core import (
    APIStatusError,
    AssisterrClient,
    AsyncAssisterrClient,
    AuthenticationError,
    ClientSettings,
    InsecureTransportWarning,
    Secret,
)
from assisterr_emulator import AppThread, EmulatorServer
from langchain_assisterr import AssisterrChatMessageHistory
from llama_index_assisterr import Assisterr

from ..assisterr_core.conftest import ClientDriver
from ._adapters import HANDLE, KINDS, build, chat_model
from .key_search import places_holding
from .raw_peer import Conn, RawPeer

KEY = "sk-7f3a9c1e-DO-NOT-LEAK-5b2e0d"  # no run of 8 shared with our own names


@pytest.fixture
def server(assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The local server, requiring exactly ``KEY`` (restored after the test)."""
    monkeypatch.setattr(assisterr_emulator.config, "api_key", KEY)
    return assisterr_emulator


def assert_hidden(*shown: object) -> None:
    for item in shown:
        assert KEY not in str(item), str(item)[:500]
        assert KEY not in repr(item), repr(item)[:500]


class Recorder(BaseCallbackHandler):
    """Keeps everything LangChain hands to a tracer."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen += [serialized, messages, kwargs]

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen += [response, kwargs]

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen += [error, kwargs]


def test_chat_model_dumps_and_traces(server: EmulatorServer) -> None:
    model = chat_model(model=HANDLE, api_key=KEY, base_url=server.base_url)
    recorder = Recorder()
    model.invoke("hi", config={"callbacks": [recorder]})
    list(model.stream("hi", config={"callbacks": [recorder]}))

    async def events() -> list[Any]:
        return [event async for event in model.astream_events("hi", version="v2")]

    streamed = asyncio.run(events())
    assert streamed and server.chat_requests()[-1].api_key == KEY  # the key is used...
    assert_hidden(  # ...and never shown
        model, model.model_dump(), model.model_dump_json(), dumpd(model), dumps(model),
        dumps(model, pretty=True), model._get_ls_params(), model._identifying_params,
        model._get_invocation_params(), model._client, model._async_client,
        model._client.settings, *recorder.seen, *streamed,
    )
    assert recorder.seen and "invocation_params" in recorder.seen[2]


def test_llamaindex_llm_dumps(server: EmulatorServer) -> None:
    llm = Assisterr(model=HANDLE, api_key=KEY, base_url=server.base_url)
    llm.complete("hi")
    llm.chat([ChatMessage(content="hi")])
    assert server.chat_requests()[-1].api_key == KEY
    assert_hidden(
        llm, llm.to_dict(), llm.to_json(), llm.to_payload(), llm.model_dump(),
        llm.model_dump_json(), llm.metadata, llm.client, llm.async_client,
    )
    llm.close()


def test_history_and_core_objects(server: EmulatorServer) -> None:
    history = AssisterrChatMessageHistory(HANDLE, api_key=KEY, base_url=server.base_url)
    client = AssisterrClient(api_key=KEY, base_url=server.base_url)
    settings = ClientSettings.resolve(api_key=KEY, base_url=server.base_url)
    assert_hidden(history, vars(history), client, settings, settings.api_key,
                  f"{settings.api_key}", AsyncAssisterrClient(settings=settings))
    client.close()


@pytest.mark.parametrize("kind", KINDS)
def test_errors_never_carry_the_key(kind: str, server: EmulatorServer) -> None:
    wrong = build(kind, server, api_key=KEY + "-revoked")
    with pytest.raises(AuthenticationError) as caught:
        wrong.ask("hi")
    _, stream_error = wrong.stream("hi")
    wrong.close()
    assert isinstance(stream_error, AuthenticationError)
    for error in (caught.value, stream_error):
        assert_hidden(error, error.args, error.body, error.detail, error.headers, vars(error))


def refusals_of(*constructions: Callable[[], object]) -> Iterator[BaseException]:
    for construct in constructions:
        with pytest.raises(ValueError) as caught:
            construct()
        yield caught.value


def test_refused_constructions_never_carry_the_key() -> None:
    """A model refused at construction (a bad setting, a typo, a field of the wrong type)
    raises an error from which the key cannot be reached: not in its text, its attributes,
    pydantic's error details, its chain, nor the locals of the frames it passed."""
    refusals = list(refusals_of(
        lambda: chat_model(model=HANDLE, api_key=KEY, timeout=-1),
        lambda: chat_model(model=HANDLE, api_key=KEY, temprature=0.2),
        lambda: chat_model(api_key=KEY),
        lambda: chat_model(model=HANDLE, api_key=KEY, session_id="a/b"),
        lambda: chat_model(model=HANDLE, api_key=KEY, streaming="sometimes"),
        lambda: Assisterr(model=HANDLE, api_key=KEY, timeout=-1),
        lambda: Assisterr(model=HANDLE, api_key=KEY, context_window=0),
        lambda: AssisterrChatMessageHistory(HANDLE, "sid", api_key=KEY, max_retries=-1),
    ))
    for refusal in refusals:
        details = refusal.errors() if isinstance(refusal, ValidationError) else []
        assert places_holding(KEY, refusal) == [], refusal
        assert places_holding(KEY, details) == [] and KEY not in repr(details), refusal
    assert [type(r).__name__ for r in refusals] == ["InvalidRequestError"] * 3 + [
        "ValidationError"] * 2 + ["InvalidRequestError", "ValidationError",
                                  "InvalidRequestError"]


@pytest.mark.parametrize("kind", KINDS)
def test_debug_logs_never_carry_the_key(
    kind: str, server: EmulatorServer, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # root: every logger (urllib3, aiohttp, asyncio, ...)
    for name in ("urllib3", "requests", "aiohttp", "aiohttp.client", "httpx", "langchain",
                 "llama_index", "assisterr_core"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    adapter = build(kind, server, api_key=KEY, max_retries=1)
    server.inject(status=503, retry_after="0")
    adapter.ask("hi")
    adapter.stream("hi")
    adapter.close()
    assert server.chat_requests()[-1].api_key == KEY
    if not adapter.is_async:
        assert any(r.name.startswith("urllib3") for r in caplog.records)  # logging did run
    for record in caplog.records:
        assert_hidden(record.getMessage(), record.args, record.__dict__)
    out, err = capfd.readouterr()
    assert_hidden(out, err)


# -- redirects ----------------------------------------------------------------------------


def loopback(handler: Any) -> AppThread:
    """A purpose-built loopback server on its own port: ``handler`` answers every request."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return AppThread(app)


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A base URL that 307-redirects every request to another origin, and what it received."""
    received: list[dict[str, str]] = []

    async def elsewhere(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.json_response({"detail": "you reached the other origin"}, status=401)

    with loopback(elsewhere) as other:
        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"http://localhost:{other.port}{request.path}")

        with loopback(redirect) as first:
            yield f"http://127.0.0.1:{first.port}", received


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("streaming", [False, True], ids=["call", "stream"])
def test_redirect_to_another_origin_never_gets_the_key(
    kind: str, streaming: bool, redirecting: tuple[str, list[dict[str, str]]],
    assisterr_emulator: EmulatorServer,
) -> None:
    base_url, received = redirecting
    adapter = build(kind, assisterr_emulator, api_key=KEY, base_url=base_url)
    if streaming:
        _, error = adapter.stream("hi")
    else:
        with pytest.raises(AuthenticationError) as caught:
            adapter.ask("hi")
        error = caught.value
    adapter.close()
    assert isinstance(error, AuthenticationError)  # the other origin answered, keyless
    assert len(received) == 1
    assert_hidden(received)
    assert not any(name.lower() == "x-api-key" for name in received[0])


# Locations that name two hosts: urllib.parse reads the one after the last "@", urllib3
# (and browsers) end the authority at the backslash and connect to the one before it.
AMBIGUOUS_LOCATIONS = ["http://127.0.0.1:{other}\\@127.0.0.1:{base}/x",
                       "http://127.0.0.1:{other}\\\\@127.0.0.1:{base}/x",
                       "//127.0.0.1:{other}\\@127.0.0.1:{base}/x",
                       "http://127.0.0.1:{other}\t@127.0.0.1:{base}/x"]
ENTRY_POINTS = ("sync-client", "async-client", *KINDS)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_redirect_that_parsers_read_differently_is_refused_and_gets_no_key(
    entry: str, assisterr_emulator: EmulatorServer
) -> None:
    """A 307 whose Location holds a backslash, whitespace or a control character goes to a
    host that depends on who parses it: refused as unusable, and no other origin sees the
    key (the key check and the transport read URLs alike)."""
    def elsewhere(conn: Conn) -> None:
        while conn.read_request() is not None:
            conn.respond(200, b'{"message": "from the other origin"}')

    with RawPeer(elsewhere) as other:
        for template in AMBIGUOUS_LOCATIONS:
            def redirects(conn: Conn, template: str = template) -> None:
                while (request := conn.read_request()) is not None:
                    if "@" in request.path or request.path.startswith("/x"):
                        conn.respond(200, b'{"message": "same origin"}')
                        continue
                    location = template.format(other=other.port, base=conn.sock.getsockname()[1])
                    conn.respond(307, headers=[("Location", location)])

            with RawPeer(redirects) as base:
                error = _call_through(entry, base.base_url, assisterr_emulator)
            assert not any("x-api-key" in request.headers for request in other.requests)
            assert isinstance(error, APIStatusError), (template, error)
            assert "unusable location" in str(error), (template, error)
            assert_hidden(error)


def _call_through(entry: str, base_url: str, server: EmulatorServer) -> BaseException | None:
    """The error of one call through ``entry`` to ``base_url`` (None if it succeeded)."""
    if entry.endswith("-client"):
        cls = AssisterrClient if entry == "sync-client" else AsyncAssisterrClient
        driver = ClientDriver(cls(api_key=KEY, base_url=base_url, max_retries=0))
        try:
            driver.call("chat", HANDLE, "hi")
        except Exception as exc:
            return exc
        return None
    adapter = build(entry, server, api_key=KEY, base_url=base_url, max_retries=0)
    try:
        adapter.ask("hi")
    except Exception as exc:
        return exc
    finally:
        adapter.close()
    return None


# -- plain http to a remote host ----------------------------------------------------------

INSECURE = ["http://api.assisterr.ai", "http://10.0.0.7:8000", "http://[2001:db8::1]"]
SECURE = ["https://api.assisterr.ai", "http://127.0.0.1:8000", "http://localhost:1",
          "http://[::1]:8000"]


def _build_everything(base_url: str) -> None:
    chat_model(model=HANDLE, api_key=KEY, base_url=base_url)
    Assisterr(model=HANDLE, api_key=KEY, base_url=base_url)
    AssisterrClient(api_key=KEY, base_url=base_url).close()
    AsyncAssisterrClient(api_key=KEY, base_url=base_url)


@pytest.mark.parametrize("base_url", INSECURE)
def test_plain_http_to_a_remote_host_warns(base_url: str) -> None:
    for build_one in (
        lambda: chat_model(model=HANDLE, api_key=KEY, base_url=base_url),
        lambda: Assisterr(model=HANDLE, api_key=KEY, base_url=base_url),
        lambda: AssisterrChatMessageHistory(HANDLE, "sid", api_key=KEY, base_url=base_url),
        lambda: AssisterrClient(api_key=KEY, base_url=base_url).close(),
        lambda: AsyncAssisterrClient(api_key=KEY, base_url=base_url),
    ):
        with pytest.warns(InsecureTransportWarning) as caught:
            build_one()
        assert_hidden(*(w.message for w in caught))


@pytest.mark.parametrize("base_url", SECURE)
def test_https_and_loopback_do_not_warn(base_url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _build_everything(base_url)


# -- pickles and copies: the settings travel (key included), never a connection -------------


def globals_in(pickled: bytes) -> set[str]:
    """The modules of every class or function a pickle refers to."""
    modules: set[str] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            modules.add(module)
            return super().find_class(module, name)

    Recording(io.BytesIO(pickled)).load()
    return modules


def test_secrets_and_settings_pickle_and_copy_with_the_key() -> None:
    secret = Secret(KEY)
    settings = ClientSettings.resolve(api_key=KEY, base_url="https://api.assisterr.ai",
                                      timeout=(1, 5, 30))
    for original in (secret, settings):
        for clone in (pickle.loads(pickle.dumps(original)), copy.copy(original),
                      copy.deepcopy(original)):
            assert clone == original
            assert_hidden(clone)
    assert pickle.loads(pickle.dumps(secret)).get_secret_value() == KEY


@pytest.mark.parametrize("cls", [AssisterrClient, AsyncAssisterrClient])
def test_used_clients_pickle_and_copy_as_their_settings(
    cls: type[AssisterrClient] | type[AsyncAssisterrClient], server: EmulatorServer
) -> None:
    client = cls(api_key=KEY, base_url=server.base_url, timeout=(2, 10, 60), max_retries=1)

    def ask(each: AssisterrClient | AsyncAssisterrClient, query: str) -> str:
        if isinstance(each, AsyncAssisterrClient):

            async def chat() -> str:
                return (await each.chat(HANDLE, query)).text

            return asyncio.run(chat())
        return each.chat(HANDLE, query).text

    ask(client, "before")  # a pool, a lock, sessions by loop: none of it may travel
    pickled = pickle.dumps(client)
    assert globals_in(pickled) <= {"assisterr_core.transport._base",
                                   "assisterr_core.transport.settings", cls.__module__}
    for clone in (pickle.loads(pickled), copy.copy(client), copy.deepcopy(client)):
        assert type(clone) is cls and clone is not client
        assert clone.settings == client.settings  # the key included
        assert ask(clone, "from a copy").endswith("from a copy")
        assert_hidden(clone, clone.settings)
    assert server.chat_requests()[-1].api_key == KEY
    if isinstance(client, AssisterrClient):
        client.close()


TRANSPORT_STATE = ("requests", "urllib3", "aiohttp", "socket", "ssl", "threading", "_thread",
                   "asyncio", "selectors", "concurrent")


def test_models_and_histories_pickle_and_copy_as_their_settings(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """What travels is the settings, the key included, never a pool, session, lock or loop;
    each copy connects when first used; no warning is logged; the key stays hidden."""
    caplog.set_level(logging.WARNING)
    model = chat_model(model=HANDLE, api_key=KEY, base_url=server.base_url, timeout=(2, 10))
    llm = Assisterr(model=HANDLE, api_key=KEY, base_url=server.base_url, timeout=(2, 10))
    history = AssisterrChatMessageHistory(HANDLE, api_key=KEY, base_url=server.base_url)
    model.invoke("before")  # connections opened, on both paths: none of them may travel
    asyncio.run(model.ainvoke("before"))
    llm.complete("before")
    asyncio.run(llm.acomplete("before"))
    assert history.messages == []

    def ask(each: Any, query: str) -> str:
        if isinstance(each, AssisterrChatMessageHistory):
            each._client.chat(HANDLE, query, session_id=each.session_id)
            return str(each.messages[-1].text)
        reply = each.invoke(query) if hasattr(each, "invoke") else each.complete(query)
        return str(getattr(reply, "content", None) or reply.text)

    for original in (model, llm, history):
        pickled = pickle.dumps(original)
        assert not {m for m in globals_in(pickled) if m.split(".")[0] in TRANSPORT_STATE}
        clones = [pickle.loads(pickled), copy.deepcopy(original)]
        if hasattr(original, "model_copy"):
            clones.append(original.model_copy(deep=True))
        for clone in clones:
            assert type(clone) is type(original) and clone is not original
            assert ask(clone, "from a copy").endswith("from a copy")
            assert server.requests[-1].api_key == KEY  # the key travelled
            dumps_of = [clone.model_dump(), clone.model_dump_json()] if hasattr(
                clone, "model_dump") else [vars(clone)]
            assert_hidden(clone, *dumps_of)
    assert_hidden(llm.to_dict(), llm.to_json(), dumps(model))
    assert caplog.records == []
