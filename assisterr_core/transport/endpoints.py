"""The API on the wire: its paths, headers, request specs and response parsers, shared by both
clients (and by the local server and the probe, which speak the same API). No I/O."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from . import bounded_json
from .errors import APIStatusError, InvalidRequestError, MalformedResponseError, status_error
from .origins import OriginReader, is_ambiguous, requests_origin
from .records import (
    ChatReply,
    HistoryMessage,
    SessionInfo,
    parse_chat_reply,
    parse_history,
    parse_session_id,
    parse_session_list,
)
from .retry import Replay, parse_retry_after
from .settings import API_PREFIX, ENV_API_KEY, ClientSettings
from .validation import check_identifier, check_query, path_segment

T = TypeVar("T")

API_KEY_HEADER = "X-Api-Key"
USER_AGENT = "assisterr-integrations/0.1"
STREAM_ACCEPT = "text/event-stream, application/x-ndjson, application/json;q=0.9, */*;q=0.5"
MAX_REDIRECTS = 5
"""307/308 redirects a request follows (others are errors: a POST must not become a GET)."""


@dataclass(frozen=True)
class RequestSpec:
    """What to send: method, path under the base URL, JSON body, and what a resend may do.

    Errors name the path as requested, under the origin (see :func:`requested_path`).

    ``replay`` decides which failures are retried (see :mod:`.retry`). ``gone_when_absent``:
    a 404 to a resend whose earlier attempt may have been processed means the work is done
    (a delete that succeeded, its answer lost).
    """

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    replay: Replay = Replay.RECORDS
    stream: bool = False
    gone_when_absent: bool = False

    def encoded_body(self) -> bytes | None:
        if self.body is None:
            return None
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the function that turns its JSON answer into a typed result."""

    spec: RequestSpec
    parse: Callable[[Any], T]


def request_headers(
    settings: ClientSettings, spec: RequestSpec, url: str,
    origin: OriginReader = requests_origin,
) -> dict[str, str]:
    """The headers of a request to ``url``; the key goes only to the origin of ``base_url``,
    as ``origin`` (the transport's own URL parser; default: that of ``requests``) reads it."""
    headers = {
        "Accept": STREAM_ACCEPT if spec.stream else "application/json",
        "User-Agent": USER_AGENT,
    }
    if spec.body is not None:
        headers["Content-Type"] = "application/json"
    if same_origin(url, settings.base_url, origin):
        key = settings.api_key.get_secret_value()
        if not key:
            raise InvalidRequestError(
                "api_key", f"is not set: pass api_key=... or set {ENV_API_KEY}"
            )
        headers[API_KEY_HEADER] = key
    return headers


def same_origin(url: str, base_url: str, origin: OriginReader) -> bool:
    """Whether ``url`` goes where ``base_url`` goes. A URL that parsers may read differently
    never does (see :mod:`.origins`)."""
    if url.startswith(base_url) and url[len(base_url):len(base_url) + 1] == "/":
        return True  # below the base URL's own path: the same authority, whatever the parser
    if is_ambiguous(url):
        return False
    target = origin(url)
    return target is not None and target == origin(base_url)


def _slm_path(handle: str, *parts: str) -> str:
    segments = [path_segment(check_identifier(handle, "handle"))]
    segments += list(parts)
    return f"{API_PREFIX}/" + "/".join(segments) + "/"


def _session_part(session_id: str) -> str:
    return path_segment(check_identifier(session_id, "session_id"))


def chat_spec(handle: str, query: str, session_id: str | None, *, stream: bool) -> RequestSpec:
    """POST .../chat/ or .../chat/stream/, on a session when ``session_id`` is given.

    A session chat records its turns (never resent once it may have arrived); a stateless
    one records nothing.
    """
    body = {"query": check_query(query)}
    prefix = ("session", _session_part(session_id)) if session_id is not None else ()
    suffix = ("chat", "stream") if stream else ("chat",)
    replay = Replay.RECORDS if session_id is not None else Replay.STATELESS
    return RequestSpec("POST", _slm_path(handle, *prefix, *suffix), body, replay, stream)


def chat_call(handle: str, query: str, session_id: str | None) -> Call[ChatReply]:
    spec = chat_spec(handle, query, session_id, stream=False)
    return Call(spec, lambda payload: parse_chat_reply(payload, session_id))


def create_session_call(handle: str) -> Call[str]:
    return Call(RequestSpec("POST", _slm_path(handle, "session", "create")), parse_session_id)


def list_sessions_call(handle: str) -> Call[list[SessionInfo]]:
    spec = RequestSpec("GET", _slm_path(handle, "session", "list"), replay=Replay.IDEMPOTENT)
    return Call(spec, parse_session_list)


def history_call(handle: str, session_id: str) -> Call[list[HistoryMessage]]:
    path = _slm_path(handle, "session", _session_part(session_id), "history")
    return Call(RequestSpec("GET", path, replay=Replay.IDEMPOTENT), parse_history)


def delete_session_call(handle: str, session_id: str) -> Call[bool]:
    path = _slm_path(handle, "session", _session_part(session_id))
    spec = RequestSpec("DELETE", path, replay=Replay.IDEMPOTENT, gone_when_absent=True)
    return Call(spec, _parse_deleted)


def _parse_deleted(payload: Any) -> bool:
    return payload is None or bool(payload)


def requested_path(url: str) -> str:
    """The path of ``url``, as errors name it: the whole path under the origin (a base URL's
    own path included), not only the API's part."""
    return urlsplit(url).path


def decode_json_body(body: bytes, spec: RequestSpec, *, url: str | None = None) -> Any:
    """A success body as JSON; an empty body is None; anything else is a typed error.

    JSON nested deeper than the readers of a reply can walk is refused like any bad body.
    ``url``: where the body came from, for the error (else the spec's path is named).
    """
    if not body.strip():
        return None
    try:
        return bounded_json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError and JSONTooDeepError included
        problem = str(exc) if isinstance(exc, bounded_json.JSONTooDeepError) else "not JSON"
        excerpt = body[:200].decode("utf-8", "replace")
        raise MalformedResponseError(
            f"{spec.method} {requested_path(url) if url else spec.path} returned a body that"
            f" is {problem}: {excerpt!r}"
        ) from None


def error_for_status(
    spec: RequestSpec, status: int, headers: Mapping[str, str], body: bytes,
    *, url: str | None = None,
) -> APIStatusError:
    """The typed error for an error status, with a readable excerpt of the body. ``url``:
    where the request went, for the error (else the spec's path is named)."""
    return status_error(
        status,
        body.decode("utf-8", "replace"),
        method=spec.method,
        path=requested_path(url) if url else spec.path,
        headers=headers,
        retry_after=parse_retry_after(headers),
        auth_header=API_KEY_HEADER,
    )
