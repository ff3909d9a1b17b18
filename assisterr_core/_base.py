"""What the sync and async clients share: settings, headers, redirects, retry decisions."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

from ._constants import API_KEY_HEADER, USER_AGENT
from .errors import (
    APIConnectionError,
    APIStatusError,
    AssisterrError,
    InvalidRequestError,
    RateLimitError,
)
from .protocol import RequestSpec
from .retry import RetryPolicy, parse_retry_after
from .settings import ClientSettings, Secret, Timeout, origin_of

STREAM_ACCEPT = "text/event-stream, application/x-ndjson, application/json;q=0.9, */*;q=0.5"


class BaseClient:
    """Settings and every decision that needs no I/O; subclasses only move bytes."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | tuple[float, float] | None = None,
        max_retries: int | None = None,
        max_connections: int | None = None,
        settings: ClientSettings | None = None,
    ) -> None:
        self.settings = settings or ClientSettings.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
        )
        self.retry_policy = RetryPolicy(max_retries=self.settings.max_retries)
        self._origin = origin_of(self.settings.base_url)
        self._base_prefix = self.settings.base_url + "/"
        self._proxies = urllib.request.getproxies()
        self._base_proxy = self._lookup_proxy(self._base_prefix)
        self._setup()

    def _setup(self) -> None:
        """Transport state of a subclass (called at the end of ``__init__``)."""

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def timeout(self) -> Timeout:
        return self.settings.timeout

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self.settings.max_retries}, timeout={self.timeout!r})"
        )

    def _url(self, spec: RequestSpec) -> str:
        return self.settings.base_url + spec.path

    def _headers(self, spec: RequestSpec, url: str) -> dict[str, str]:
        """Request headers; the key only goes to the origin of ``base_url``."""
        headers = {
            "Accept": STREAM_ACCEPT if spec.stream else "application/json",
            "User-Agent": USER_AGENT,
        }
        if spec.body is not None:
            headers["Content-Type"] = "application/json"
        if url.startswith(self._base_prefix) or origin_of(url) == self._origin:
            key = self.settings.api_key.get_secret_value()
            if not key:
                raise InvalidRequestError(
                    "api_key", "is not set: pass api_key=... or set ASSISTERR_API_KEY"
                )
            headers[API_KEY_HEADER] = key
        return headers

    def _proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for ``url`` (HTTPS_PROXY, NO_PROXY, ...), if any.

        Worked out once for ``base_url``'s origin (``proxy_bypass`` reads the environment
        on every call); only a redirect elsewhere asks again.
        """
        if url.startswith(self._base_prefix):
            return self._base_proxy
        return self._lookup_proxy(url)

    def _lookup_proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme)
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return None
        return proxy

    def _redirect_url(self, url: str, status: int, headers: Mapping[str, str]) -> str | None:
        """Where a 307/308 points. Other redirects are errors: a POST must not turn into a GET."""
        location = headers.get("Location") or headers.get("location")
        if status in (307, 308) and location:
            return urljoin(url, location)
        return None

    def _scrubbed(self, error: AssisterrError) -> AssisterrError:
        """The error with the API key masked, should a transport library ever echo it."""
        key = self.settings.api_key.get_secret_value()
        if key and any(isinstance(arg, str) and key in arg for arg in error.args):
            error.args = tuple(
                arg.replace(key, "**********") if isinstance(arg, str) else arg
                for arg in error.args
            )
        return error

    def _retry_delay(self, spec: RequestSpec, error: AssisterrError, retries: int) -> float | None:
        """Seconds to wait before resending after ``error``, or None to raise it."""
        policy = self.retry_policy
        if isinstance(error, APIStatusError):
            hint = error.retry_after if isinstance(error, RateLimitError) else None
            if hint is None:
                hint = parse_retry_after(error.headers)
            return policy.delay_after_status(
                retries, error.status_code, hint, idempotent=spec.idempotent
            )
        if isinstance(error, APIConnectionError):
            return policy.delay_after_failure(
                retries, request_sent=error.request_sent, idempotent=spec.idempotent
            )
        return None
