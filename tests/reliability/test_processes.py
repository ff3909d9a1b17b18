"""Clients used before a ``fork``: parent and child each keep their own connections.

A process that forks after using a client (gunicorn ``--preload``, ``multiprocessing``
with fork, Celery prefork) must not share pooled sockets with its child: parent and child
call concurrently, many times, and every reply must answer its own prompt (the local
server echoes the query). A child that exits normally (atexit handlers run) must leave the
parent's event-loop sessions alone.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import gc
import json
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from assisterr_core import AssisterrClient, AsyncAssisterrClient
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from ._adapters import HANDLE, chat_model, echo
from .raw_peer import Conn, RawPeer

CALLS = 40
TIMEOUT = (2.0, 5.0)  # a crossed reply would otherwise leave a caller waiting long


def asker(entry: str, server: EmulatorServer) -> Callable[[str], str]:
    """A function that sends one query through ``entry`` and returns the reply's text."""
    options: dict[str, Any] = {"api_key": server.api_key, "base_url": server.base_url,
                               "timeout": TIMEOUT, "max_retries": 0}
    if entry == "client":
        client = AssisterrClient(**options)
        return lambda query: client.chat(HANDLE, query).text
    if entry == "chat-model":
        model = chat_model(model=HANDLE, **options)
        return lambda query: str(model.invoke(query).content)
    llm = Assisterr(model=HANDLE, **options)
    return lambda query: llm.complete(query).text


def wrong_replies(ask: Callable[[str], str], who: str) -> list[str]:
    """Ask CALLS questions; every reply that is not the answer to its own question."""
    wrong = []
    for index in range(CALLS):
        query = f"{who} question {index}"
        try:
            reply = ask(query)
        except Exception as exc:
            reply = f"{type(exc).__name__}: {exc}"
        if reply != echo(query):
            wrong.append(f"{query!r} -> {reply[:120]!r}")
    return wrong


def _child(ask: Callable[[str], str], start: Any, report: Any) -> None:
    start.wait()
    report.send(wrong_replies(ask, "child"))


@pytest.mark.parametrize("entry", ["client", "chat-model", "llamaindex"])
def test_parent_and_forked_child_each_get_their_own_replies(
    entry: str, assisterr_emulator: EmulatorServer
) -> None:
    ask = asker(entry, assisterr_emulator)
    assert ask("before the fork") == echo("before the fork")  # a pooled connection, inherited
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    receive, report = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(ask, start, report))
    child.start()
    start.wait()
    parent_wrong = wrong_replies(ask, "parent")
    child_wrong = receive.recv() if receive.poll(60) else ["the child never reported"]
    child.join(30)
    assert child.exitcode == 0
    assert parent_wrong == [] and child_wrong == []


def test_a_forked_child_leaves_the_parents_loop_sessions_alone(
    assisterr_emulator: EmulatorServer,
) -> None:
    """The parent keeps an event loop open with a session on it (as LlamaIndex and Jupyter
    do); a forked child uses the client on its own loop, then exits normally."""
    client = AsyncAssisterrClient(api_key=assisterr_emulator.api_key,
                                  base_url=assisterr_emulator.base_url, timeout=TIMEOUT,
                                  max_retries=0)
    loop = asyncio.new_event_loop()

    async def chat_text(query: str) -> str:
        return (await client.chat(HANDLE, query)).text

    try:
        assert loop.run_until_complete(client.chat(HANDLE, "warm")).text == echo("warm")
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its own loop, then a normal exit's atexit handlers
            code = 1
            try:
                os.close(readable)
                wrong = asyncio.run(wrong_replies_async(chat_text, "child"))
                os.write(writable, json.dumps(wrong).encode())
                atexit._run_exitfuncs()
                code = 0
            finally:
                os._exit(code)
        os.close(writable)
        with os.fdopen(readable) as pipe:
            child_wrong = json.loads(pipe.read() or '["the child never reported"]')
        _, status = os.waitpid(pid, 0)
        parent_wrong = loop.run_until_complete(wrong_replies_async(chat_text, "parent"))
        assert os.waitstatus_to_exitcode(status) == 0
        assert child_wrong == [] and parent_wrong == []
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def wrong_replies_async(ask: Callable[[str], Any], who: str) -> list[str]:
    wrong = []
    for index in range(CALLS):
        query = f"{who} question {index}"
        try:
            reply = await ask(query)
        except Exception as exc:
            reply = f"{type(exc).__name__}: {exc}"
        if reply != echo(query):
            wrong.append(f"{query!r} -> {reply[:120]!r}")
    return wrong


def test_a_child_forked_while_another_thread_builds_models_never_hangs() -> None:
    """Another thread builds models and takes their clients (through the shared-client
    cache's lock) while the main thread forks: each child builds a model and takes its
    client too, then exits. A lock of ours held by that thread at the fork must be reset in
    the child, or the child waits for it forever."""
    stop = threading.Event()
    settings: dict[str, Any] = {"api_key": "k", "base_url": "http://127.0.0.1:9"}

    def build_models() -> None:
        retries = 0
        while not stop.is_set():
            retries = (retries + 1) % 50  # new settings: a new client, built under the lock
            assert chat_model(model=HANDLE, max_retries=retries, **settings)._client
            assert Assisterr(model=HANDLE, max_retries=retries, **settings).async_client

    builder = threading.Thread(target=build_models, daemon=True)
    builder.start()
    exits: list[int | None] = []  # each child's exit code; None: it hung
    try:
        while len(exits) < 60 and None not in exits:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    assert chat_model(model=HANDLE, max_retries=77, **settings)._client
                    assert Assisterr(model=HANDLE, max_retries=78, **settings).client
                    code = 0
                finally:
                    os._exit(code)
            exits.append(_exit_code_within(pid, seconds=10))  # a child needs milliseconds
    finally:
        stop.set()
        builder.join(timeout=10)
    assert set(exits) == {0}, exits


def _exit_code_within(pid: int, seconds: float) -> int | None:
    """The child's exit code, or None if it has not exited in time (it is then killed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def answers_every_request(conn: Conn) -> None:
    while conn.read_request() is not None:
        conn.respond(200, json.dumps({"message": "fine"}).encode())


@pytest.mark.parametrize("kind", ["chat-model", "llamaindex"])
def test_a_copied_model_keeps_one_connection_for_its_async_calls(kind: str) -> None:
    """A pickled, deep-copied or ``model_copy(deep=True)`` model whose original is gone (as a
    worker receives it) takes its clients from the one shared-per-settings policy, built
    once: 20 async calls in a row use one connection, not one each."""
    with RawPeer(answers_every_request) as peer:
        for copy_of in (lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy,
                        lambda m: m.model_copy(deep=True)):
            options: dict[str, Any] = {"api_key": "k", "base_url": peer.base_url}
            original: Any = (chat_model(model=HANDLE, **options) if kind == "chat-model"
                             else Assisterr(model=HANDLE, **options))
            model = copy_of(original)
            del original
            gc.collect()
            before = peer.connections

            asyncio.run(_twenty_async_calls(model))
            assert peer.connections - before == 1


async def _twenty_async_calls(model: Any) -> None:
    for index in range(20):
        if isinstance(model, Assisterr):
            await model.acomplete(f"call {index}")
        else:
            await model.ainvoke(f"call {index}")
    await model.aclose()
