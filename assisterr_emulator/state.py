"""In-memory state of the emulator: sessions, their turns, faults and the request log."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .config import EmulatorConfig, Fault, ReceivedRequest
from .framing import ChunkPattern
from .responders import Responder, ScriptedResponder, default_responder


@dataclass
class Turn:
    id: str
    is_user: bool
    text: str
    created_at: datetime


@dataclass
class Session:
    id: str
    handle: str
    owner: str
    created_at: datetime
    updated_at: datetime
    description: str = "New chat"
    turns: list[Turn] = field(default_factory=list)


class EmulatorState:
    """Everything the handlers share. Thread-safe: tests poke it from their own thread."""

    def __init__(self, config: EmulatorConfig, responder: Responder | None = None) -> None:
        self.config = config
        self.responder: Responder = responder or default_responder
        self.sessions: dict[str, Session] = {}
        self.requests: list[ReceivedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._streams_served = 0
        self._clock = datetime.now(timezone.utc).replace(tzinfo=None)

    def now(self) -> datetime:
        """Strictly increasing UTC timestamps, so every turn has its own time."""
        with self._lock:
            current = datetime.now(timezone.utc).replace(tzinfo=None)
            self._clock = max(current, self._clock + timedelta(microseconds=1))
            return self._clock

    def set_responder(self, responder: Responder | Iterable[str] | None) -> None:
        if responder is None:
            self.responder = default_responder
        elif callable(responder):
            self.responder = responder
        else:
            self.responder = ScriptedResponder(responder)

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
            return None

    def create_session(self, handle: str, owner: str) -> Session:
        now = self.now()
        replay = self.config.replay
        with self._lock:
            sid = replay.new_session_id(self.sessions) if replay else secrets.token_hex(12)
            session = Session(sid, handle, owner, now, now)
            self.sessions[session.id] = session
        return session

    def find_session(self, handle: str, session_id: str, owner: str) -> Session | None:
        session = self.sessions.get(session_id)
        if session is None or session.handle != handle or session.owner != owner:
            return None
        return session

    def add_turn(self, session: Session, is_user: bool, text: str) -> None:
        turn = Turn(secrets.token_hex(12), is_user, text, self.now())
        with self._lock:
            session.turns.append(turn)
            session.updated_at = turn.created_at

    def next_stream_pattern(self) -> ChunkPattern:
        """How to cut and pace the next stream: as the recorded streams were, in turn."""
        replay = self.config.replay
        if replay is None or not replay.stream_patterns:
            return ChunkPattern()
        with self._lock:
            served, self._streams_served = self._streams_served, self._streams_served + 1
        return replay.stream_patterns[served % len(replay.stream_patterns)]

    def reset(self) -> None:
        with self._lock:
            self._streams_served = 0
            self.sessions.clear()
            self.requests.clear()
            self.faults.clear()
            self.responder = default_responder


def owner_of(api_key: str) -> str:
    """A stable user id derived from the key (the key itself is never stored in state)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:24]


def agent_id(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()[:24]


def session_json(session: Session) -> dict[str, Any]:
    return {
        "_id": session.id,
        "slm_agent_id": agent_id(session.handle),
        "uid": session.owner,
        "description": session.description,
        "is_deleted": False,
        "created_at": session.created_at.isoformat(),
        "updated_at": session.updated_at.isoformat(),
    }


def turn_json(session: Session, turn: Turn) -> dict[str, Any]:
    return {
        "_id": turn.id,
        "slm_agent_id": agent_id(session.handle),
        "uid": session.owner,
        "is_user": turn.is_user,
        "slm_session_id": session.id,
        "ident": None,
        "source": "api",
        "query": turn.text,
        "created_at": turn.created_at.isoformat(),
    }
