"""What the probe sends, in order, as data: every endpoint once, then the error probes.

Paths and bodies come from the core's own request specs, so the probe asks exactly what the
client asks; only the error probes change one thing each (the key, the id, the body, the slash).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from assisterr_core.transport import (
    InvalidRequestError,
    RequestSpec,
    chat_spec,
    check_identifier,
    create_session_call,
    delete_session_call,
    history_call,
    list_sessions_call,
    path_segment,
)

WRONG_KEY = "assisterr-probe-wrong-key"
SESSION_PLACEHOLDER = "{session_id}"
HANDLE_PLACEHOLDER = "{handle}"
CLEANUP = "cleanup_delete"  # the delete sent again when the planned one did not happen


class Endpoint(Enum):
    CREATE = "create"
    CHAT = "chat"
    STREAM = "stream"
    LIST = "list"
    HISTORY = "history"
    DELETE = "delete"


class SessionUse(Enum):
    NONE = "none"
    CREATED = "created"  # the session the probe created
    UNKNOWN = "unknown"  # an id of the same form that no session has


@dataclass(frozen=True)
class Step:
    """One exchange of the probe.

    ``expect`` names the core error the client should raise (None: it should succeed);
    ``informative`` steps only describe the service (the client never sends them).
    """

    name: str
    endpoint: Endpoint
    what: str
    session: SessionUse = SessionUse.NONE
    query: str | None = None
    body: Mapping[str, Any] | None = None  # replaces the client's body
    wrong_key: bool = False
    trailing_slash: bool = True
    expect: str | None = None
    informative: bool = False

    def spec(self, handle: str, session_id: str | None) -> RequestSpec:
        """The request, as the core client would build it, with this step's one change."""
        sid = session_id if self.session is not SessionUse.NONE else None
        spec = _core_spec(self.endpoint, handle, sid, self.query or "")
        path = spec.path if self.trailing_slash else spec.path.rstrip("/")
        body = spec.body if self.body is None else self.body
        return dataclasses.replace(spec, path=path, body=body)


def _core_spec(endpoint: Endpoint, handle: str, sid: str | None, query: str) -> RequestSpec:
    if endpoint in (Endpoint.CHAT, Endpoint.STREAM):
        return chat_spec(handle, query, sid, stream=endpoint is Endpoint.STREAM)
    if endpoint is Endpoint.CREATE:
        return create_session_call(handle).spec
    if endpoint is Endpoint.LIST:
        return list_sessions_call(handle).spec
    assert sid is not None, f"{endpoint.value} needs a session"
    if endpoint is Endpoint.HISTORY:
        return history_call(handle, sid).spec
    return delete_session_call(handle, sid).spec


STEPS: tuple[Step, ...] = (
    Step("create_session", Endpoint.CREATE, "open a session"),
    Step("chat", Endpoint.CHAT, "one chat", query="In one short sentence: what is 2 + 2?"),
    Step("stream", Endpoint.STREAM, "one streamed chat",
         query="Count from one to five in words."),
    Step("session_chat", Endpoint.CHAT, "a chat in the session", SessionUse.CREATED,
         query="Please remember the number 42."),
    Step("session_stream", Endpoint.STREAM, "a streamed chat in the session",
         SessionUse.CREATED, query="Which number did I ask you to remember?"),
    Step("list_sessions", Endpoint.LIST, "the session list"),
    Step("history", Endpoint.HISTORY, "the session's history", SessionUse.CREATED),
    Step("delete_session", Endpoint.DELETE, "delete the session", SessionUse.CREATED),
    Step("wrong_key", Endpoint.LIST, "the session list with a wrong key", wrong_key=True,
         expect="AuthenticationError"),
    Step("unknown_session", Endpoint.HISTORY, "the history of a session that does not exist",
         SessionUse.UNKNOWN, expect="NotFoundError"),
    Step("missing_query", Endpoint.CHAT, "a chat body without 'query'", query="unused",
         body={}, expect="BadRequestError"),
    Step("no_trailing_slash", Endpoint.LIST, "the session list without its trailing slash",
         trailing_slash=False, informative=True),
)
"""Two chats and two streams (one each in a session), one session created and deleted."""

CREATE_STEP = STEPS[0]
DELETE_STEP = next(step for step in STEPS if step.endpoint is Endpoint.DELETE)


def step_named(name: str) -> Step | None:
    return next((step for step in STEPS if step.name == name), None)


def unknown_session_id(created: str | None) -> str:
    """An id of the created one's form (digits stay digits, hex stays hex) that is not it."""
    if created and created.isdigit():
        candidate = "9" * len(created)
    elif created and all(c in "0123456789abcdefABCDEF" for c in created):
        candidate = "0" * len(created)
    else:
        candidate = "0" * 24
    return candidate if candidate != created else candidate[:-1] + "1"


def unusable_session_id(session_id: str) -> str | None:
    """Why the client would refuse to put ``session_id`` in a path (None: it would not)."""
    try:
        check_identifier(session_id, "session_id")
    except InvalidRequestError as exc:
        text = str(exc)
        return text if len(text) <= 200 else text[:199] + "…"
    return None


def describe(step: Step, handle: str | None) -> str:
    """One line for ``--dry-run``: method, path, body, and which key goes with it."""
    shown_handle = handle or HANDLE_PLACEHOLDER
    spec = step.spec(shown_handle, SESSION_PLACEHOLDER)
    path = spec.path
    for placeholder in (SESSION_PLACEHOLDER, HANDLE_PLACEHOLDER):
        path = path.replace(path_segment(placeholder), placeholder)
    if step.session is SessionUse.UNKNOWN:
        path = path.replace(SESSION_PLACEHOLDER, "{an unknown session id}")
    body = "" if spec.body is None else " " + json.dumps(spec.body, ensure_ascii=False)
    key = " (with a wrong key)" if step.wrong_key else ""
    return f"{spec.method:<6} {path}{body}{key}"
