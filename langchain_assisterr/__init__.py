"""LangChain integration for Assisterr small language models.

``ChatAssisterr`` is the chat model; ``AssisterrChatMessageHistory`` keeps a conversation in
an Assisterr server-side session. Both load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assisterr_core.lazy import lazy_exports, require_extra

require_extra("langchain_core", package=__name__, distribution="langchain-core", extra="langchain")

if TYPE_CHECKING:
    from .chat_message_histories import (
        AssisterrChatMessageHistory,
        MessageNotRecordedError,
        MessageNotRecordedWarning,
    )
    from .chat_models import ChatAssisterr
    from .sessions import (
        adelete_sessions_older_than,
        alist_sessions,
        delete_sessions_older_than,
        list_sessions,
    )

__all__ = [
    "AssisterrChatMessageHistory",
    "ChatAssisterr",
    "MessageNotRecordedError",
    "MessageNotRecordedWarning",
    "adelete_sessions_older_than",
    "alist_sessions",
    "delete_sessions_older_than",
    "list_sessions",
]

_LAZY = {
    "ChatAssisterr": ".chat_models",
    "AssisterrChatMessageHistory": ".chat_message_histories",
    "MessageNotRecordedError": ".chat_message_histories",
    "MessageNotRecordedWarning": ".chat_message_histories",
    "adelete_sessions_older_than": ".sessions",
    "alist_sessions": ".sessions",
    "delete_sessions_older_than": ".sessions",
    "list_sessions": ".sessions",
}


__getattr__ = lazy_exports(__name__, _LAZY)
