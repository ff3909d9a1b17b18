"""One test body for both clients: ``api`` drives the sync or the async client alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from assisterr_core import AssisterrClient, AsyncAssisterrClient
from assisterr_emulator import EmulatorServer


class ClientDriver:
    """Calls a client's methods and collects streams, whichever kind the client is."""

    def __init__(self, client: AssisterrClient | AsyncAssisterrClient) -> None:
        self.client = client
        self.is_async = isinstance(client, AsyncAssisterrClient)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, name)(*args, **kwargs)
        return asyncio.run(result) if self.is_async else result

    def stream(self, *args: Any, **kwargs: Any) -> tuple[list[str], BaseException | None]:
        """All deltas received, and the error that ended the stream (None if it ended well)."""
        deltas: list[str] = []
        if not self.is_async:
            try:
                for delta in self.client.stream(*args, **kwargs):
                    deltas.append(delta)
            except Exception as exc:
                return deltas, exc
            return deltas, None

        async def collect() -> BaseException | None:
            try:
                async for delta in self.client.stream(*args, **kwargs):
                    deltas.append(delta)
            except Exception as exc:
                return exc
            return None

        return deltas, asyncio.run(collect())


def make_client(kind: str, server: EmulatorServer, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"base_url": server.base_url, "api_key": server.api_key}
    options.update(kwargs)
    return AssisterrClient(**options) if kind == "sync" else AsyncAssisterrClient(**options)


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(client_kind: str, assisterr_emulator: EmulatorServer) -> Iterator[ClientDriver]:
    client = make_client(client_kind, assisterr_emulator)
    yield ClientDriver(client)
    if isinstance(client, AssisterrClient):
        client.close()


@pytest.fixture
def driver_for(client_kind: str, assisterr_emulator: EmulatorServer) -> Any:
    """Build a driver with other settings (retries, timeouts, key, URL)."""
    made: list[Any] = []

    def build(**kwargs: Any) -> ClientDriver:
        client = make_client(client_kind, assisterr_emulator, **kwargs)
        made.append(client)
        return ClientDriver(client)

    yield build
    for client in made:
        if isinstance(client, AssisterrClient):
            client.close()
