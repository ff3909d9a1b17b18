"""JSON that a caller's values become in a query (earlier calls' arguments, tool and answer
schemas): values nested too deeply to write are refused with a clear error, not a crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..transport.bounded_json import MAX_DEPTH, JSONTooDeepError, loads
from ..transport.errors import InvalidRequestError


def caller_json(value: Any, field: str, **options: Any) -> str:
    """``json.dumps(value, **options)``, refused (an ``InvalidRequestError`` naming
    ``field``) when ``value`` nests deeper than :data:`MAX_DEPTH`: ``json`` would exhaust
    the stack (a value that refers to itself is refused so too)."""
    check_nesting(value, field)
    return json.dumps(value, **options)


def check_nesting(value: Any, field: str) -> None:
    """Refuse ``value`` if its dicts and lists nest deeper than :data:`MAX_DEPTH`. Walked
    without recursion, depth first: a deep path is found before the width is walked."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise InvalidRequestError(field, f"nests deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def read_arguments(arguments: object, field: str) -> object:
    """A call's arguments as JSON values: text that holds JSON is read, other text is kept
    as it is; none is ``{}``. Text holding JSON nested deeper than :data:`MAX_DEPTH` is
    refused, like such a value."""
    if arguments is None:
        return {}
    if not isinstance(arguments, str):
        return arguments
    if not arguments.strip():
        return {}
    try:
        return loads(arguments)
    except JSONTooDeepError:
        raise InvalidRequestError(field, f"nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        return arguments
