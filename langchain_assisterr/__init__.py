"""LangChain integration for Assisterr small language models.

``ChatAssisterr`` is the chat model; ``AssisterrChatMessageHistory`` keeps a conversation in
an Assisterr server-side session. Both load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chat_models import ChatAssisterr

__all__ = ["ChatAssisterr"]

_LAZY = {
    "ChatAssisterr": ".chat_models",
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
