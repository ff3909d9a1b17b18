"""Shared pieces of the LlamaIndex conformance tests: the LLM on the local server, a small
index, a ``Memory`` that closes its database, an event recorder and two plain tools."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Imported now, at collection: LlamaIndex's sync paths leave an event loop behind (its
# asyncio_run), and when the garbage collector drops it while pytest rewrites a module that
# is first imported at the end of the session (hypothesis's plugin does so), CPython 3.11.7's
# ast.parse fails ("AST constructor recursion depth mismatch").
import hypothesis  # noqa: F401
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.bridge.pydantic import Field
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.memory import Memory
from sqlalchemy.ext.asyncio import create_async_engine

from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

HANDLE = "test-slm"
FRANCE = "The capital of France is Paris."
SLMS = "Assisterr builds small language models for communities."


def make_llm(server: EmulatorServer, **kwargs: Any) -> Assisterr:
    return Assisterr(model=HANDLE, base_url=server.base_url, api_key=server.api_key, **kwargs)


def make_index(*texts: str) -> VectorStoreIndex:
    """An in-memory vector index; ``MockEmbedding`` keeps it offline."""
    return VectorStoreIndex.from_documents([Document(text=text) for text in texts],
                                           embed_model=MockEmbedding(embed_dim=8))


@contextmanager
def sql_memory(**kwargs: Any) -> Iterator[Memory]:
    """LlamaIndex's default ``Memory`` (SQLite in memory); its connection is closed after,
    which ``Memory`` itself never does."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        yield Memory.from_defaults(async_engine=engine, **kwargs)
    finally:
        asyncio.run(engine.dispose())


class _Recorder(BaseEventHandler):
    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "ConformanceEventRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@contextmanager
def recorded_events() -> Iterator[list[BaseEvent]]:
    """Every instrumentation event the root dispatcher sees meanwhile."""
    root = get_dispatcher()
    recorder = _Recorder()
    root.add_event_handler(recorder)
    try:
        yield recorder.events
    finally:
        root.event_handlers.remove(recorder)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny in {city}"
