"""What the LangChain conformance tests start from: ChatAssisterr and a session history on
the local server, as a user's code would build them."""

from __future__ import annotations

from typing import Any

from assisterr_emulator import EmulatorServer
from langchain_assisterr import AssisterrChatMessageHistory, ChatAssisterr

HANDLE = "test-slm"


def connection(server: EmulatorServer) -> dict[str, str]:
    """The key and base URL a user would set in the environment."""
    return {"api_key": server.api_key, "base_url": server.base_url}


def model_on(server: EmulatorServer, **fields: Any) -> ChatAssisterr:
    """``ChatAssisterr(model="test-slm", ...)`` talking to ``server``."""
    return ChatAssisterr(model=HANDLE, **connection(server), **fields)


def history_on(server: EmulatorServer, session_id: str | None = None
               ) -> AssisterrChatMessageHistory:
    """A history in a session of ``server`` (a new session when ``session_id`` is None)."""
    return AssisterrChatMessageHistory(model=HANDLE, session_id=session_id,
                                       **connection(server))
