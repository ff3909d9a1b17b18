"""The Assisterr HTTP core shared by the LangChain and LlamaIndex integrations.

Importing this package (or using the sync client) does not import ``aiohttp``: the async
client and the local server load it when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
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
    UnsupportedContentError,
)
from .models import ChatReply, HistoryMessage, SessionInfo
from .prompt import (
    ChatTurn,
    Llama3Template,
    QueryTemplate,
    latest_user_text,
    render_query,
    session_query,
    transcript_template,
)
from .settings import ClientSettings, InsecureTransportWarning, Secret, Timeout, TimeoutLike
from .stream_decoder import StreamDecoder
from .unsupported import SAMPLING_PARAMETERS, IgnoredParameterWarning, warn_ignored_parameters

if TYPE_CHECKING:
    from .async_client import AsyncAssisterrClient
    from .sync_client import AssisterrClient

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
    "UnsupportedContentError",
    "latest_user_text",
    "render_query",
    "session_query",
    "transcript_template",
    "warn_ignored_parameters",
]

_LAZY = {
    "AssisterrClient": ".sync_client",
    "AsyncAssisterrClient": ".async_client",
}


__getattr__ = lazy_exports(__name__, _LAZY)
