"""One test body for both integrations, sync and async: ``Adapter`` drives any of them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

HANDLE = "test-slm"
KINDS = ("langchain-sync", "langchain-async", "llamaindex-sync", "llamaindex-async")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def echo(query: str, handle: str = HANDLE) -> str:
    """The default responder's answer to a one-line query."""
    return f"Hello from {handle}! You said: {query}"


@dataclass
class Adapter:
    """A ChatAssisterr or an Assisterr LLM, called the sync or the async way."""

    kind: str
    model: Any

    @property
    def is_async(self) -> bool:
        return self.kind.endswith("-async")

    @property
    def is_langchain(self) -> bool:
        return self.kind.startswith("langchain")

    def ask(self, query: Any, **kwargs: Any) -> str:
        """One non-streaming call; the reply's text."""
        model = self.model
        if self.is_langchain:
            if self.is_async:
                return str(asyncio.run(model.ainvoke(query, **kwargs)).content)
            return str(model.invoke(query, **kwargs).content)
        if self.is_async:
            return str(asyncio.run(model.acomplete(query, **kwargs)).text)
        return str(model.complete(query, **kwargs).text)

    def chat(self, text: str, **kwargs: Any) -> str:
        """One chat turn made of a single user message (LlamaIndex: ``chat``, not ``complete``)."""
        if self.is_langchain:
            return self.ask(text, **kwargs)
        messages = [ChatMessage(role="user", content=text)]
        if self.is_async:
            return str(asyncio.run(self.model.achat(messages, **kwargs)).message.content)
        return str(self.model.chat(messages, **kwargs).message.content)

    def stream(self, query: Any, **kwargs: Any) -> tuple[list[str], BaseException | None]:
        """Every text piece the consumer saw, and the error that ended the stream, if any."""
        pieces: list[str] = []
        model = self.model
        if not self.is_async:
            try:
                if self.is_langchain:
                    for chunk in model.stream(query, **kwargs):
                        pieces.append(str(chunk.content))
                else:
                    for response in model.stream_complete(query, **kwargs):
                        pieces.append(response.delta or "")
            except Exception as exc:
                return [p for p in pieces if p], exc
            return [p for p in pieces if p], None

        async def collect() -> BaseException | None:
            try:
                if self.is_langchain:
                    async for chunk in model.astream(query, **kwargs):
                        pieces.append(str(chunk.content))
                else:
                    async for response in await model.astream_complete(query, **kwargs):
                        pieces.append(response.delta or "")
            except Exception as exc:
                return exc
            return None

        error = asyncio.run(collect())
        return [p for p in pieces if p], error

    def close(self) -> None:
        if not self.is_langchain:
            self.model.close()


def chat_model(**options: Any) -> ChatAssisterr:
    """A ChatAssisterr (pydantic aliases and key coercion are invisible to mypy)."""
    factory: Any = ChatAssisterr
    model: ChatAssisterr = factory(**options)
    return model


def build(kind: str, server: EmulatorServer, **options: Any) -> Adapter:
    """An adapter on the local server; ``options`` go to the model's constructor."""
    settings: dict[str, Any] = {"api_key": server.api_key, "base_url": server.base_url}
    settings.update(options)
    factory: Callable[..., Any] = ChatAssisterr if kind.startswith("langchain") else Assisterr
    return Adapter(kind, factory(model=settings.pop("model", HANDLE), **settings))
