"""Where a URL really goes: its origin as read by the URL parser of the transport that will
connect to it. The key goes to the origin of ``base_url`` only, and parsers disagree on odd
URLs (``http://a:1\\@b:2/`` is ``b:2`` to ``urllib.parse``, ``a:1`` to urllib3)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import TypeAlias

Origin: TypeAlias = tuple[str, str, int]
"""(scheme, host, port), lower-cased, the scheme's default port filled in."""

OriginReader: TypeAlias = Callable[[str], "Origin | None"]
"""Reads a URL's origin the way one transport does; None for a URL it cannot use."""

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_ambiguous(url: str) -> bool:
    """Whether ``url`` holds a character that URL parsers read differently: a backslash
    (an end of the authority to some, part of it to others), whitespace or a control
    character (dropped by some, kept by others)."""
    return any(
        char == "\\" or char.isspace() or unicodedata.category(char) == "Cc" for char in url
    )


def requests_origin(url: str) -> Origin | None:
    """The origin of ``url`` as ``requests`` connects to it (urllib3's parser)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError):
        return None
    return _origin(parts.scheme, parts.host, parts.port)


def aiohttp_origin(url: str) -> Origin | None:
    """The origin of ``url`` as ``aiohttp`` connects to it (yarl's parser)."""
    from yarl import URL

    try:
        parts = URL(url)
        return _origin(parts.scheme, parts.host, parts.explicit_port)
    except (ValueError, TypeError):
        return None


def _origin(scheme: str | None, host: str | None, port: int | None) -> Origin | None:
    scheme = (scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), DEFAULT_PORTS[scheme] if port is None else port
