"""Pytest fixtures for testing code that talks to Assisterr, offline. Opt-in: add

    pytest_plugins = ["assisterr_emulator.pytest_plugin"]

to your root ``conftest.py``, or run ``pytest -p assisterr_emulator.pytest_plugin``.

- ``assisterr_server``: one local Assisterr-compatible server per test session, on a
  free loopback port;
- ``assisterr_emulator``: the same server, reset (sessions, faults, responder, settings)
  before each test: use this one in tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    """Import both clients up front, outside any test: a first import deep inside an
    instrumented async call can trip a CPython 3.11 parser error ("AST constructor recursion
    depth mismatch")."""
    from assisterr_core import AssisterrClient, AsyncAssisterrClient  # noqa: F401


@pytest.fixture(scope="session")
def assisterr_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def assisterr_emulator(assisterr_server: EmulatorServer) -> Iterator[EmulatorServer]:
    assisterr_server.reset()
    yield assisterr_server
    assisterr_server.reset()
