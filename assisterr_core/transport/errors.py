"""Every error the Assisterr clients raise, under one base class.

    AssisterrError
    ├── InvalidRequestError (also a ValueError)  bad input, caught before anything is sent
    │   └── UnsupportedContentError               images, audio, files: the API takes text only
    ├── APIStatusError                            the server answered with an error status
    │   ├── BadRequestError          400, 422
    │   ├── AuthenticationError      401, 403
    │   ├── NotFoundError            404
    │   ├── RateLimitError           429
    │   └── ServerError              5xx
    ├── APIConnectionError                        no usable answer reached us
    │   ├── APITimeoutError (also a TimeoutError)  connect, read or total timeout
    │   └── StreamInterruptedError                the connection dropped mid-stream
    ├── MalformedResponseError                    a body or stream we cannot decode
    │   └── StreamErrorEvent                      the stream itself reported an error
    └── UnpicklableError (also a pickle.PicklingError)  a model holds what one process owns
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import TypeVar

E = TypeVar("E", bound=BaseException)
ERROR_EXCERPT_CHARS = 500


class AssisterrError(Exception):
    """Base class of every error raised by this package."""


class InvalidRequestError(AssisterrError, ValueError):
    """The caller's input is invalid; no request was sent."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class UnsupportedContentError(InvalidRequestError):
    """A message carries content the Assisterr API cannot take (it accepts text only)."""


class APIStatusError(AssisterrError):
    """The server answered with an error status.

    ``body`` is the decoded response text (possibly long); ``detail`` is the readable part
    extracted from a JSON error body when there is one, else an excerpt of the body.
    """

    def __init__(
        self,
        status_code: int,
        body: str,
        *,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.path = path
        self.headers = dict(headers or {})
        self.detail = extract_error_detail(body)
        where = f" for {method} {path}" if method else ""
        super().__init__(f"Assisterr API returned HTTP {status_code}{where}: {self.detail}")


class BadRequestError(APIStatusError):
    """400 or 422: the server rejected the request."""


class AuthenticationError(APIStatusError):
    """401 or 403: the API key is missing, wrong, or not allowed here."""


class NotFoundError(APIStatusError):
    """404: unknown SLM handle, session or path."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any."""

    retry_after: float | None = None


class ServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(AssisterrError):
    """The request could not be completed: refused, reset, or a broken body.

    ``request_sent`` is False only when the request certainly never reached the server
    (the connection could not be made): then resending it cannot duplicate a turn.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class APITimeoutError(APIConnectionError, TimeoutError):
    """The connect, read or total timeout expired."""


class StreamInterruptedError(APIConnectionError):
    """The connection dropped while a reply was streaming; the text before it was delivered."""


class MalformedResponseError(AssisterrError):
    """The server's body (or a stream event) could not be decoded into what the API promises."""


class StreamErrorEvent(MalformedResponseError):
    """The stream carried an error event instead of text."""


class UnpicklableError(AssisterrError, pickle.PicklingError):
    """A model holds something that belongs to its process and cannot honestly travel to
    another one; pickling it is refused, saying what to do instead."""

    @classmethod
    def for_rate_limiter(cls, owner: str) -> UnpicklableError:
        return cls(
            f"{owner} cannot be pickled while it holds a rate_limiter: a rate limiter counts "
            "the calls of one process, and a copy in each worker would multiply the budget. "
            "Send the model without it (model.model_copy(update={'rate_limiter': None})) and "
            "give it, inside each worker, a limiter with that worker's share of the budget "
            '(README: "Batch jobs and scale-out").'
        )


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def status_error(
    status_code: int,
    body: str,
    *,
    method: str = "",
    path: str = "",
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
    auth_header: str | None = None,
) -> APIStatusError:
    """Build the error class that matches ``status_code`` (one table, one place).

    A 422 whose body names the ``auth_header`` is an :class:`AuthenticationError`: a FastAPI
    service answers a missing or empty key header that way, and the fix is the key.
    """
    cls = STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    if status_code == 422 and auth_header and auth_header.lower() in body.lower():
        cls = AuthenticationError
    error = cls(status_code, body, method=method, path=path, headers=headers)
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


def detached(error: E) -> E:
    """``error`` cut loose from where it was raised: no traceback and no chained exception
    (their frames and requests may hold the key), ready to raise from a frame that holds
    none."""
    error.__cause__ = None
    error.__context__ = None
    return error.with_traceback(None)


def extract_error_detail(body: str) -> str:
    """The readable part of an error body: a JSON ``detail``/``error``/``message``, or excerpt.

    A body that is not JSON, or nests too deeply to read, is shown as an excerpt of its text.
    """
    import json

    from .bounded_json import loads

    text = body.strip()
    if text.startswith(("{", "[", '"')):
        try:
            parsed = loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for key in ("detail", "error", "message", "msg"):
                if key in parsed and parsed[key] not in (None, ""):
                    value = parsed[key]
                    text = value if isinstance(value, str) else json.dumps(value)
                    break
        elif isinstance(parsed, str):
            text = parsed
    if text.lstrip().startswith("<"):
        text = _strip_html(text)
    text = " ".join(text.split())
    if len(text) > ERROR_EXCERPT_CHARS:
        text = text[: ERROR_EXCERPT_CHARS - 1] + "…"
    return text or "(empty body)"


def _strip_html(html: str) -> str:
    """Visible text of an HTML error page: good enough for a message, not a parser.

    Linear in the page's size, however broken the page (unclosed tags, no end of script).
    """
    import re

    hidden_start = re.compile(r"<(script|style|head)\b", re.I)
    parts: list[str] = []
    pos = 0
    while (start := hidden_start.search(html, pos)) is not None:
        parts.append(html[pos : start.start()])
        end = re.compile(rf"</{start.group(1)}\s*>", re.I).search(html, start.end())
        pos = len(html) if end is None else end.end()
    parts.append(html[pos:])
    # A tag cannot hold "<": each attempt stops at the next one, so no rescanning.
    return re.sub(r"<[^<>]*>", " ", " ".join(parts))
