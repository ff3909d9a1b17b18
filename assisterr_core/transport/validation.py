"""Input checks that run before anything is sent, and safe path building."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from .errors import InvalidRequestError

MAX_QUERY_CHARS = 4_000_000


def check_query(query: object, field: str = "query") -> str:
    """A query must be a non-blank string that can be encoded as UTF-8."""
    if not isinstance(query, str):
        raise InvalidRequestError(field, f"must be a string, got {type(query).__name__}")
    if not query.strip():
        raise InvalidRequestError(field, "must not be empty or whitespace only")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequestError(field, f"is longer than {MAX_QUERY_CHARS} characters")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            field, f"contains a character that is not valid UTF-8 at index {exc.start}"
        ) from None
    return query


def check_identifier(value: object, field: str) -> str:
    """An SLM handle or session id: non-empty, and unable to change the URL path.

    The format itself is not validated (the service's ids are not documented), but
    separators, dot segments, whitespace, control characters and anything that Unicode
    normalisation would turn into one of those are refused.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRequestError(field, "must not be empty")
    for candidate in {value, unicodedata.normalize("NFKC", value)}:
        problem = _path_problem(candidate)
        if problem:
            raise InvalidRequestError(field, f"{problem} (got {value!r})")
    return value


def _path_problem(value: str) -> str | None:
    if "/" in value or "\\" in value:
        return "must not contain '/' or '\\\\'"
    if value in (".", "..") or ".." in value:
        return "must not contain '..'"
    if "%" in value:
        return "must not contain '%' (ids are encoded by the client)"
    if "?" in value or "#" in value:
        return "must not contain '?' or '#'"
    for char in value:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"):
            return "must not contain whitespace or control characters"
    return None


def path_segment(value: str) -> str:
    """Percent-encode one path segment (after :func:`check_identifier`)."""
    return quote(value, safe="")
