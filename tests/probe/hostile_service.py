"""A small Assisterr-like service on a raw socket, well-behaved but where a test says otherwise.

``hostile_service(misbehave, where)`` answers every request as a plain service would, except
those ``where`` picks: ``misbehave(conn, request)`` writes whatever bytes it likes to them,
and the connection is closed after it. Ids, lists and history follow the documented shapes,
so against the well-behaved part the probe finds nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tests.reliability.raw_peer import Conn, RawPeer, RawRequest

SESSION_ID = "0123456789abcdef01234567"
WRONG_KEY = "assisterr-probe-wrong-key"

Misbehaviour = Callable[[Conn, RawRequest], None]
Where = Callable[[RawRequest], bool]


def ends_with(suffix: str, method: str | None = None) -> Where:
    """Requests whose path ends with ``suffix`` (and of ``method``, if given)."""
    return lambda request: request.path.endswith(suffix) and method in (None, request.method)


def hostile_service(misbehave: Misbehaviour, where: Where) -> RawPeer:
    """A well-behaved service but for the requests ``where`` picks (a context manager)."""
    service = _Service()

    def behaviour(conn: Conn) -> None:
        while (request := conn.read_request()) is not None:
            if where(request):
                misbehave(conn, request)
                return
            service.answer(conn, request)

    return RawPeer(behaviour)


class _Service:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, list[dict[str, Any]]] = {}

    def answer(self, conn: Conn, request: RawRequest) -> None:
        status, body = self._outcome(request)
        if request.path.endswith("/chat/stream/") and status == 200:
            conn.respond(200, b"data: " + json.dumps(body).encode() + b"\n\n",
                         content_type="text/event-stream")
            return
        conn.respond(status, json.dumps(body).encode())

    def _outcome(self, request: RawRequest) -> tuple[int, Any]:
        if request.headers.get("x-api-key") == WRONG_KEY:
            return 401, {"detail": "Invalid API key"}
        parts = request.path.split("/")
        if request.path.endswith("/session/create/"):
            with self.lock:
                self.sessions[SESSION_ID] = []
            return 200, SESSION_ID
        if request.path.endswith("/session/list/"):
            with self.lock:
                return 200, [{"_id": sid} for sid in self.sessions]
        sid = parts[parts.index("session") + 1] if "session" in parts else None
        with self.lock:
            turns = self.sessions.get(sid) if sid is not None else []
        if turns is None:
            return 404, {"detail": "Session not found"}
        if request.method == "DELETE":
            with self.lock:
                del self.sessions[str(sid)]
            return 200, True
        if request.path.endswith("/history/"):
            return 200, turns
        try:
            query = json.loads(request.body)["query"]
        except (ValueError, KeyError, TypeError):
            return 422, {"detail": [{"loc": ["body", "query"], "msg": "Field required"}]}
        stamp = f"2025-01-01T00:00:{len(turns):02d}"
        turns.append({"query": query, "is_user": True, "created_at": stamp})
        return 200, {"message": "Four."}
