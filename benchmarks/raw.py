"""Raw HTTP baselines: plain ``requests``/``aiohttp`` calls and honest stream decoding."""

from __future__ import annotations

import codecs
import inspect
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests

from .servers import Endpoints

HANDLE = "bench-slm"
PEER_MODEL = "gpt-4o-mini"


class JSONObjects:
    """Split a byte stream of bare concatenated JSON objects, whatever the read boundaries."""

    def __init__(self) -> None:
        self._text = ""
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[Any]:
        text = self._text + self._utf8.decode(data)
        found: list[Any] = []
        index, end = 0, len(text)
        while True:
            while index < end and text[index] in " \t\r\n":
                index += 1
            if index >= end:
                break
            try:
                value, index = self._decoder.raw_decode(text, index)
            except ValueError:
                break
            found.append(value)
        self._text = text[index:]
        return found


class RawAssisterr:
    """``requests.Session`` calls to the emulator's chat endpoints, nothing else."""

    def __init__(self, endpoints: Endpoints, handle: str = HANDLE) -> None:
        self.session = requests.Session()
        self.url = f"{endpoints.emulator}/api/v1/slm/{handle}/chat/"
        self.stream_url = f"{endpoints.emulator}/api/v1/slm/{handle}/chat/stream/"
        self.headers = {"X-Api-Key": endpoints.api_key}

    def post(self, query: str) -> str:
        response = self.session.post(self.url, json={"query": query}, headers=self.headers)
        response.raise_for_status()
        return str(response.json()["message"])

    def deltas(self, query: str) -> Iterator[str]:
        with self.session.post(self.stream_url, json={"query": query}, headers=self.headers,
                               stream=True) as response:
            response.raise_for_status()
            objects = JSONObjects()
            for data in response.iter_content(chunk_size=None):
                for item in objects.feed(data):
                    yield item["message"]

    def wire(self, query: str) -> int:
        """Read the stream's bytes without decoding them (the server's pace)."""
        size = 0
        with self.session.post(self.stream_url, json={"query": query}, headers=self.headers,
                               stream=True) as response:
            for data in response.iter_content(chunk_size=None):
                size += len(data)
        return size

    def close(self) -> None:
        self.session.close()


class RawOpenAI:
    """``requests.Session`` calls to the stub's chat completions, nothing else."""

    def __init__(self, endpoints: Endpoints, model: str = PEER_MODEL) -> None:
        self.session = requests.Session()
        self.url = f"{endpoints.stub}/v1/chat/completions"
        self.model = model
        self.headers = {"Authorization": "Bearer stub"}

    def _body(self, query: str, stream: bool) -> dict[str, Any]:
        return {"model": self.model, "stream": stream,
                "messages": [{"role": "user", "content": query}]}

    def post(self, query: str) -> str:
        response = self.session.post(self.url, json=self._body(query, False),
                                     headers=self.headers)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    def deltas(self, query: str) -> Iterator[str]:
        with self.session.post(self.url, json=self._body(query, True), headers=self.headers,
                               stream=True) as response:
            response.raise_for_status()
            pending = b""
            for data in response.iter_content(chunk_size=None):
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    if not line.startswith(b"data: "):
                        continue
                    payload = line[6:]
                    if payload == b"[DONE]":
                        return
                    choices = json.loads(payload)["choices"]
                    if choices and (text := choices[0]["delta"].get("content")):
                        yield text

    def close(self) -> None:
        self.session.close()


def first_token_time(open_stream: Callable[[], Iterable[Any]], text: Callable[[Any], str]
                     = str) -> float:
    """Seconds from calling ``open_stream`` to its first non-empty text; then drain it."""
    start = time.perf_counter()
    elapsed = None
    for item in open_stream():
        if elapsed is None and text(item):
            elapsed = time.perf_counter() - start
    if elapsed is None:
        raise RuntimeError("the stream produced no text")
    return elapsed


async def afirst_token_time(open_stream: Callable[[], Any],
                            text: Callable[[Any], str] = str) -> float:
    """The async twin: ``open_stream()`` gives an async iterator, or an awaitable of one."""
    start = time.perf_counter()
    elapsed = None
    stream = open_stream()
    if inspect.isawaitable(stream):
        stream = await stream
    async for item in stream:
        if elapsed is None and text(item):
            elapsed = time.perf_counter() - start
    if elapsed is None:
        raise RuntimeError("the stream produced no text")
    return elapsed


def count(deltas: Iterator[Any]) -> int:
    """Consume an iterator, counting its items."""
    total = 0
    for _ in deltas:
        total += 1
    return total
