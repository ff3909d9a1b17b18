"""Talking to the Assisterr API: settings, the two clients and how they are shared, errors,
retries, stream decoding, and the API's wire format (paths, headers, request specs, reply
parsers).

Importing this package imports neither ``requests`` nor ``aiohttp``: each client loads its
transport when first named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .bounded_json import JSONTooDeepError
from .bounded_json import loads as bounded_json_loads
from .bounded_json import raw_decode as bounded_json_raw_decode
from .clock import SYSTEM_CLOCK, Clock
from .endpoints import (
    API_KEY_HEADER,
    MAX_REDIRECTS,
    USER_AGENT,
    Call,
    RequestSpec,
    chat_call,
    chat_spec,
    create_session_call,
    decode_json_body,
    delete_session_call,
    error_for_status,
    history_call,
    list_sessions_call,
    request_headers,
    requested_path,
)
from .environment import environment_ca_bundle, environment_proxy
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrError,
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamErrorEvent,
    StreamInterruptedError,
    UnpicklableError,
    UnsupportedContentError,
    detached,
    extract_error_detail,
    status_error,
)
from .records import (
    ChatReply,
    HistoryMessage,
    SessionInfo,
    order_oldest_first,
    parse_chat_reply,
    parse_history,
    parse_session_id,
    parse_session_list,
    parse_timestamp,
)
from .retry import Replay, RetryPolicy, parse_retry_after
from .settings import (
    API_PREFIX,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_HANDLE_NAME,
    ClientSettings,
    InsecureTransportWarning,
    Secret,
    SettingsFields,
    Timeout,
    TimeoutLike,
    Verify,
    handle_name_from_env,
)
from .shared import SharedClients, TravelsAsSettings
from .stream_decoder import TEXT_KEYS, StreamDecoder, text_of_event
from .validation import MAX_QUERY_CHARS, check_identifier, check_query, path_segment

if TYPE_CHECKING:
    from ._sync_transport import iter_body, pooled_session, total_deadline
    from .async_client import AsyncAssisterrClient
    from .sync_client import AssisterrClient, could_not_connect

__all__ = [
    "API_KEY_HEADER",
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_HANDLE_NAME",
    "MAX_QUERY_CHARS",
    "MAX_REDIRECTS",
    "SYSTEM_CLOCK",
    "TEXT_KEYS",
    "USER_AGENT",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AssisterrClient",
    "AssisterrError",
    "AsyncAssisterrClient",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "ChatReply",
    "ClientSettings",
    "Clock",
    "HistoryMessage",
    "InsecureTransportWarning",
    "InvalidRequestError",
    "JSONTooDeepError",
    "MalformedResponseError",
    "NotFoundError",
    "RateLimitError",
    "Replay",
    "RequestSpec",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "SessionInfo",
    "SettingsFields",
    "SharedClients",
    "StreamDecoder",
    "StreamErrorEvent",
    "StreamInterruptedError",
    "Timeout",
    "TimeoutLike",
    "TravelsAsSettings",
    "UnpicklableError",
    "UnsupportedContentError",
    "Verify",
    "bounded_json_loads",
    "bounded_json_raw_decode",
    "chat_call",
    "chat_spec",
    "check_identifier",
    "check_query",
    "could_not_connect",
    "create_session_call",
    "decode_json_body",
    "delete_session_call",
    "detached",
    "environment_ca_bundle",
    "environment_proxy",
    "error_for_status",
    "extract_error_detail",
    "handle_name_from_env",
    "history_call",
    "iter_body",
    "list_sessions_call",
    "order_oldest_first",
    "parse_chat_reply",
    "parse_history",
    "parse_retry_after",
    "parse_session_id",
    "parse_session_list",
    "parse_timestamp",
    "path_segment",
    "pooled_session",
    "request_headers",
    "requested_path",
    "status_error",
    "text_of_event",
    "total_deadline",
]

__getattr__ = lazy_exports(__name__, {
    "AssisterrClient": ".sync_client",
    "AsyncAssisterrClient": ".async_client",
    "could_not_connect": ".sync_client",
    "iter_body": "._sync_transport",
    "pooled_session": "._sync_transport",
    "total_deadline": "._sync_transport",
})
