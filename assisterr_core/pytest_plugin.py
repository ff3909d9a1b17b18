"""Pytest fixtures for testing code that talks to Assisterr, offline.

Installed as a pytest plugin with this package:

- ``assisterr_server``: one local Assisterr-compatible server per test session, on a
  free loopback port;
- ``assisterr_emulator``: the same server, reset (sessions, faults, responder, settings)
  before each test: use this one in tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    """Import the clients and the server up front, outside any test.

    pytest rewrites this package's modules as a plugin's; doing that lazily, deep inside
    an instrumented async call, can trip a CPython 3.11 parser error ("AST constructor
    recursion depth mismatch").
    """
    from . import emulator  # noqa: F401
    from .transport import async_client, sync_client  # noqa: F401


@pytest.fixture(scope="session")
def assisterr_server() -> Iterator[EmulatorServer]:
    from .emulator import EmulatorServer

    with EmulatorServer() as server:
        yield server


@pytest.fixture
def assisterr_emulator(assisterr_server: EmulatorServer) -> Iterator[EmulatorServer]:
    assisterr_server.reset()
    yield assisterr_server
    assisterr_server.reset()
