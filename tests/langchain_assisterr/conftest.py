"""Fixtures for the LangChain integration tests: models pointed at the local server."""

from __future__ import annotations

from typing import Any

import pytest

from assisterr_core import AssisterrClient
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr

HANDLE = "test-slm"


@pytest.fixture
def conn(assisterr_emulator: EmulatorServer) -> dict[str, Any]:
    """Connection settings of the local server."""
    return {"api_key": assisterr_emulator.api_key, "base_url": assisterr_emulator.base_url}


@pytest.fixture
def chat(conn: dict[str, Any]) -> ChatAssisterr:
    return ChatAssisterr(model=HANDLE, **conn)


@pytest.fixture
def session_id(assisterr_emulator: EmulatorServer, conn: dict[str, Any]) -> str:
    """A fresh server-side session (its creation is dropped from the request log)."""
    with AssisterrClient(**conn) as client:
        sid = client.create_session(HANDLE)
    assisterr_emulator.state.requests.clear()
    return sid
