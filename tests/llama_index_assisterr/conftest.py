"""Fixtures for the LlamaIndex tests: an ``Assisterr`` on the local server, event capture."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Settings
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

# Imported here, at a shallow stack: pytest rewrites the plugin's package on first import,
# and CPython 3.11.7's ast.parse can fail ("AST constructor recursion depth mismatch") when
# that happens deep inside LlamaIndex's instrumented async calls.
import assisterr_core.transport.async_client  # noqa: F401
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

HANDLE = "test-slm"


class EventCollector(BaseEventHandler):
    """Keeps every instrumentation event (handlers' exceptions are swallowed: assert later)."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "EventCollector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    """Events seen by the root dispatcher during the test."""
    root = get_dispatcher()
    collector = EventCollector()
    root.add_event_handler(collector)
    yield collector.events
    root.event_handlers.remove(collector)


def make_llm(server: EmulatorServer, **kwargs: Any) -> Assisterr:
    options: dict[str, Any] = {"base_url": server.base_url, "api_key": server.api_key}
    options.update(kwargs)
    return Assisterr(model=HANDLE, **options)


@pytest.fixture
def llm(assisterr_emulator: EmulatorServer) -> Iterator[Assisterr]:
    instance = make_llm(assisterr_emulator)
    yield instance
    instance.close()


@pytest.fixture
def restore_settings_llm() -> Iterator[None]:
    saved = Settings._llm
    yield
    Settings._llm = saved


def run_method(llm: Assisterr, method: str, argument: Any, **kwargs: Any) -> list[Any]:
    """Call one of the eight methods; return its responses (one, or every streamed chunk)."""
    result = getattr(llm, method)(argument, **kwargs)
    if not method.startswith("a"):
        return [result] if "stream" not in method else list(result)

    async def collect() -> list[Any]:
        awaited = await result
        if "stream" not in method:
            return [awaited]
        return [chunk async for chunk in awaited]

    return asyncio.run(collect())
