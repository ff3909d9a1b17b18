"""Search everything reachable from an object (an error, events, callbacks' arguments) for
a secret, or any piece of it that gives part of it away (8 characters in a row; for a secret
shorter than 16, half of it but at least 6, or the whole of a shorter one), as written raw,
JSON-escaped, percent-encoded or in a repr.

Followed: args, attributes and slots, nested containers and mappings, the exception chain,
the traceback and the locals of the frames it went through (not a test's own frames, whose
fixtures hold the key). Objects that hold the key by design (the user's client, model and
secret, and the clients a model uses, whose reprs hide it) are not followed. A frame or an
object of a transport library (requests, urllib3, aiohttp, ...) found on the way is
reported too: their requests carry the key in a header.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import types
from urllib.parse import quote

from pydantic import SecretStr

from assisterr_core import Secret
from assisterr_core.transport._base import BaseClient
from assisterr_core.transport.shared import SharedClients
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

KEY_HOLDERS = (Secret, SecretStr, BaseClient, SharedClients, ChatAssisterr, Assisterr)
OPAQUE = (int, float, type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
          types.CodeType, types.MethodType)
TRANSPORT_MODULES = ("requests", "urllib3", "aiohttp", "http.client", "yarl", "multidict")


def pieces_of(secret: str) -> set[str]:
    """Every run of the secret's characters long enough to give part of it away."""
    size = 8 if len(secret) >= 16 else min(len(secret), max(6, len(secret) // 2))
    forms = (secret, json.dumps(secret)[1:-1], quote(secret, safe=""), repr(secret)[1:-1])
    return {form[i:i + size] for form in forms for i in range(len(form) - size + 1)}


def places_holding(secret: str, root: object) -> list[str]:
    """Paths from ``root`` to every value that holds ``secret``, or a piece of it (empty:
    none)."""
    pieces = pieces_of(secret)
    found: list[str] = []
    seen: set[int] = set()
    queue: list[tuple[str, object, int]] = [("root", root, 0)]
    while queue:
        path, value, depth = queue.pop()
        if id(value) in seen or depth > 12 or len(seen) > 50_000:
            continue
        seen.add(id(value))
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str):
            if any(piece in value for piece in pieces):
                found.append(path)
            continue
        if value is None or isinstance(value, KEY_HOLDERS + OPAQUE):
            continue
        if type(value).__module__.startswith(TRANSPORT_MODULES):
            found.append(f"{path} (a {type(value).__module__}.{type(value).__name__})")
        children: list[tuple[str, object]] = []
        if isinstance(value, BaseException):
            children += [(".args", value.args), (".__cause__", value.__cause__),
                         (".__context__", value.__context__), (" str()", str(value)),
                         (".__traceback__", value.__traceback__)]
        if isinstance(value, types.TracebackType):
            children += [(".tb_next", value.tb_next), (".tb_frame", value.tb_frame)]
        elif isinstance(value, types.FrameType):
            module = value.f_globals.get("__name__", "")
            if module.startswith(TRANSPORT_MODULES):
                found.append(f"{path} (a frame of {module})")
            elif not module.startswith("tests."):
                children += [(f".f_locals[{k}]", v) for k, v in value.f_locals.items()]
        elif hasattr(value, "items") and hasattr(value, "keys"):
            with contextlib.suppress(Exception):  # mapping-like only in name
                items = list(value.items())
                children += [(f"[{k!r}]", k) for k, _ in items]
                children += [(f"[{k!r}]", v) for k, v in items]
        elif isinstance(value, list | tuple | set | frozenset):
            children += [(f"[{i}]", item) for i, item in enumerate(value)]
        if hasattr(value, "__dict__") and not inspect.isroutine(value):
            children += [(f".{k}", v) for k, v in vars(value).items()]
        for slot in getattr(type(value), "__slots__", ()):
            if isinstance(slot, str) and hasattr(value, slot):
                children.append((f".{slot}", getattr(value, slot)))
        queue += [(path + name, child, depth + 1) for name, child in children]
    return found
