"""Typed records for what the API returns: replies, sessions and history messages.

Timestamps are aware UTC datetimes (see :func:`parse_timestamp` for odd ones); each
record keeps the server's own object in ``raw``, exactly as it came.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .errors import MalformedResponseError

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
LATEST = datetime.max.replace(tzinfo=timezone.utc)

# Previews in error messages: bounded in depth (a deep value would break plain repr) and size.
_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel = 3
_PREVIEW.maxlist = _PREVIEW.maxdict = _PREVIEW.maxtuple = 8
_PREVIEW.maxstring = _PREVIEW.maxother = 60


@dataclass(frozen=True)
class ChatReply:
    """One SLM answer from a chat endpoint (``raw``: the JSON object, if the server sent one)."""

    text: str
    message_at: datetime | None = None
    is_user: bool = False
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class SessionInfo:
    """One session as listed by the server."""

    id: str
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_deleted: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class HistoryMessage:
    """One recorded turn of a session: the text of user and SLM messages alike."""

    id: str
    text: str
    is_user: bool
    created_at: datetime | None = None
    session_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def role(self) -> str:
        return "user" if self.is_user else "assistant"


def parse_timestamp(value: object) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (the API sends them without a zone).

    Odd timestamps never fail a call; the record's ``raw`` keeps the server's text:

    - an instant outside what a UTC ``datetime`` can hold (``0001-01-01T00:00:00+01:00``,
      a "zero time" written in a zone east of UTC) becomes :data:`EARLIEST` or
      :data:`LATEST`, so that records still sort in the server's order;
    - a value that is not an ISO-8601 string gives None, like a missing one.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # the UTC instant is before year 1 or after year 9999
        return EARLIEST if parsed.year == datetime.min.year else LATEST


def parse_chat_reply(payload: object, session_id: str | None = None) -> ChatReply:
    """A chat endpoint's JSON body as a :class:`ChatReply`."""
    if isinstance(payload, str):
        return ChatReply(text=payload, session_id=session_id)
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
        raise MalformedResponseError(
            f"chat reply has no 'message' text: {_preview(payload)}"
        )
    return ChatReply(
        text=payload["message"],
        message_at=parse_timestamp(payload.get("message_at")),
        is_user=bool(payload.get("is_user", False)),
        session_id=session_id,
        raw=payload,
    )


def parse_session_id(payload: object) -> str:
    """The new session's id: the API answers a bare JSON string (or a number)."""
    if isinstance(payload, dict):
        payload = payload.get("session_id", payload.get("_id", payload.get("id")))
    if isinstance(payload, int) and not isinstance(payload, bool):
        payload = str(payload)
    if not isinstance(payload, str) or not payload:
        raise MalformedResponseError(f"session/create returned no id: {_preview(payload)}")
    return payload


def parse_session_list(payload: object) -> list[SessionInfo]:
    """The session list, as the server ordered it: objects as documented, or bare ids."""
    return [_parse_session(item) for item in _expect_list(payload, "session list")]


def parse_history(payload: object) -> list[HistoryMessage]:
    """A session's history, always oldest first whatever order the server used."""
    messages = [_parse_history_item(item) for item in _expect_list(payload, "history")]
    return order_oldest_first(messages)


def order_oldest_first(messages: list[HistoryMessage]) -> list[HistoryMessage]:
    """Order a history oldest first, whatever order the server used.

    Timestamps decide. Where they tie or are missing, the server's direction decides: taken
    from the known timestamps if they differ, else from the turn structure (a conversation
    starts with the user and ends with the SLM, so a list that starts with an SLM message
    and ends with a user message is newest first).
    """
    if len(messages) < 2:
        return list(messages)
    known = [m.created_at for m in messages if m.created_at is not None]
    if known and known[0] != known[-1]:
        newest_first = known[0] > known[-1]
    else:
        newest_first = not messages[0].is_user and messages[-1].is_user
    ordered = list(reversed(messages)) if newest_first else list(messages)
    if known:
        ordered.sort(key=lambda m: m.created_at or EARLIEST)
    return ordered


def _parse_session(item: object) -> SessionInfo:
    if isinstance(item, str | int) and not isinstance(item, bool) and str(item):
        return SessionInfo(id=str(item))  # a list of bare ids, as one public client reads it
    if not isinstance(item, dict):
        raise MalformedResponseError(f"session entry is not an object: {_preview(item)}")
    sid = item.get("_id", item.get("id"))
    if not isinstance(sid, str | int) or isinstance(sid, bool):
        raise MalformedResponseError(f"session entry has no id: {_preview(item)}")
    return SessionInfo(
        id=str(sid),
        description=item.get("description"),
        created_at=parse_timestamp(item.get("created_at")),
        updated_at=parse_timestamp(item.get("updated_at")),
        is_deleted=bool(item.get("is_deleted", False)),
        raw=item,
    )


def _parse_history_item(item: object) -> HistoryMessage:
    if not isinstance(item, dict):
        raise MalformedResponseError(f"history entry is not an object: {_preview(item)}")
    text = item.get("query", item.get("message"))
    if not isinstance(text, str):
        raise MalformedResponseError(f"history entry has no 'query' text: {_preview(item)}")
    sid = item.get("slm_session_id")
    return HistoryMessage(
        id=str(item.get("_id", item.get("id", ""))),
        text=text,
        is_user=bool(item.get("is_user", False)),
        created_at=parse_timestamp(item.get("created_at")),
        session_id=None if sid is None else str(sid),
        raw=item,
    )


def _expect_list(payload: object, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise MalformedResponseError(f"{what} is not a JSON list: {_preview(payload)}")
    return payload


def _preview(payload: object) -> str:
    text = _PREVIEW.repr(payload)
    return text if len(text) <= 200 else text[:199] + "…"
