"""LangChain integration for Assisterr small language models.

``ChatAssisterr`` is the chat model; ``AssisterrChatMessageHistory`` keeps a conversation in
an Assisterr server-side session. Both load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chat_message_histories import AssisterrChatMessageHistory, MessageNotRecordedError
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
    "adelete_sessions_older_than",
    "alist_sessions",
    "delete_sessions_older_than",
    "list_sessions",
]

_LAZY = {
    "ChatAssisterr": ".chat_models",
    "AssisterrChatMessageHistory": ".chat_message_histories",
    "MessageNotRecordedError": ".chat_message_histories",
    "adelete_sessions_older_than": ".sessions",
    "alist_sessions": ".sessions",
    "delete_sessions_older_than": ".sessions",
    "list_sessions": ".sessions",
}


def __getattr__(name: str) -> Any:
    """Import the public classes on first access."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value
