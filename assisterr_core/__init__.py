"""The Assisterr HTTP core shared by the LangChain and LlamaIndex integrations.

Two layers, each with its public names: :mod:`assisterr_core.transport` (settings, the sync
and async clients, errors, retries, stream decoding, the API's wire format) and
:mod:`assisterr_core.chat` (one query from many messages: prompt rendering, stop sequences,
tool and JSON instructions and their readers). This package gathers what most code needs.

Importing it (or using the sync client) does not import ``aiohttp``: the async client loads
it when first named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .chat import (
    SAMPLING_PARAMETERS,
    ChatTurn,
    IgnoredParameterWarning,
    Llama3Template,
    QueryTemplate,
    latest_user_text,
    render_query,
    session_query,
    transcript_template,
    warn_ignored_parameters,
)
from .lazy import lazy_exports
from .transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrError,
    AuthenticationError,
    BadRequestError,
    ChatReply,
    ClientSettings,
    HistoryMessage,
    InsecureTransportWarning,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    Secret,
    ServerError,
    SessionInfo,
    StreamDecoder,
    StreamErrorEvent,
    StreamInterruptedError,
    Timeout,
    TimeoutLike,
    UnpicklableError,
    UnsupportedContentError,
)

if TYPE_CHECKING:
    from .transport import AssisterrClient, AsyncAssisterrClient

__all__ = [
    "SAMPLING_PARAMETERS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AssisterrClient",
    "AssisterrError",
    "AsyncAssisterrClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatReply",
    "ChatTurn",
    "ClientSettings",
    "HistoryMessage",
    "IgnoredParameterWarning",
    "InsecureTransportWarning",
    "InvalidRequestError",
    "Llama3Template",
    "MalformedResponseError",
    "NotFoundError",
    "QueryTemplate",
    "RateLimitError",
    "Secret",
    "ServerError",
    "SessionInfo",
    "StreamDecoder",
    "StreamErrorEvent",
    "StreamInterruptedError",
    "Timeout",
    "TimeoutLike",
    "UnpicklableError",
    "UnsupportedContentError",
    "latest_user_text",
    "render_query",
    "session_query",
    "transcript_template",
    "warn_ignored_parameters",
]

__getattr__ = lazy_exports(__name__, {  # the transport package imports each when first named
    "AssisterrClient": ".transport",
    "AsyncAssisterrClient": ".transport",
})
