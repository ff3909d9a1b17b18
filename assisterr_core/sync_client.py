"""The synchronous client, on a pooled ``requests.Session`` that threads may share."""

from __future__ import annotations

import http.client
import itertools
import os
import time
from collections.abc import Generator, Iterator
from http.cookiejar import DefaultCookiePolicy
from types import TracebackType
from typing import TypeVar

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from ._base import BaseClient
from ._constants import MAX_REDIRECTS
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrError,
    MalformedResponseError,
    StreamInterruptedError,
)
from .models import ChatReply, HistoryMessage, SessionInfo
from .protocol import (
    Call,
    RequestSpec,
    chat_call,
    chat_spec,
    create_session_call,
    decode_json_body,
    delete_session_call,
    error_for_status,
    history_call,
    list_sessions_call,
)
from .settings import ClientSettings, Secret, Timeout
from .stream_decoder import StreamDecoder

T = TypeVar("T")
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_SIZE = 64 * 1024


class AssisterrClient(BaseClient):
    """Blocking client for the Assisterr SLM API. Safe to share between threads."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | tuple[float, float] | None = None,
        max_retries: int | None = None,
        max_connections: int | None = None,
        settings: ClientSettings | None = None,
        http_session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            settings=settings,
        )
        self._owns_session = http_session is None
        self._http = http_session or _pooled_session(self.settings.max_connections)
        if self._owns_session:
            # The environment (proxies, CA bundle) is read once rather than by requests on
            # every call, which scanned it per request; see also _proxy_for.
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self._http.verify = bundle

    def chat(self, handle: str, query: str, *, session_id: str | None = None) -> ChatReply:
        """Ask the SLM ``handle``; with ``session_id`` the server records both turns."""
        return self._call(chat_call(handle, query, session_id))

    def stream(
        self, handle: str, query: str, *, session_id: str | None = None
    ) -> Generator[str, None, None]:
        """Ask and iterate over the reply's text deltas as they arrive.

        The input is checked now; the request is sent when iteration starts.
        """
        return self._iter_stream(chat_spec(handle, query, session_id, stream=True))

    def create_session(self, handle: str) -> str:
        """Open a server-side session and return its id."""
        return self._call(create_session_call(handle))

    def list_sessions(self, handle: str) -> list[SessionInfo]:
        """The sessions of ``handle`` that the API key can see."""
        return self._call(list_sessions_call(handle))

    def get_history(self, handle: str, session_id: str) -> list[HistoryMessage]:
        """A session's messages, oldest first."""
        return self._call(history_call(handle, session_id))

    def delete_session(self, handle: str, session_id: str) -> bool:
        """Delete a session on the server."""
        return self._call(delete_session_call(handle, session_id))

    def close(self) -> None:
        """Release pooled connections (only those of a session this client created)."""
        if self._owns_session:
            self._http.close()

    def __enter__(self) -> AssisterrClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, call: Call[T]) -> T:
        body = self._send(call.spec)
        assert isinstance(body, bytes)
        return call.parse(decode_json_body(body, call.spec))

    def _iter_stream(self, spec: RequestSpec) -> Generator[str, None, None]:
        response = self._send(spec)
        assert isinstance(response, requests.Response)
        decoder = StreamDecoder(response.headers.get("Content-Type"))
        with response:
            try:
                for chunk in _iter_body(response):
                    yield from decoder.feed(chunk)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                    http.client.HTTPException) as exc:
                raise self._scrubbed(_translate(exc, streaming=True)) from None
            yield from decoder.close()

    def _send(self, spec: RequestSpec) -> bytes | requests.Response:
        """One logical request with retries: the body, or the open response of a stream."""
        for retries in itertools.count():
            try:
                return self._attempt(spec)
            except AssisterrError as error:
                delay = self._retry_delay(spec, error, retries)
                if delay is None:
                    raise
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(self, spec: RequestSpec) -> bytes | requests.Response:
        url = self._url(spec)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._http.request(
                    spec.method,
                    url,
                    data=spec.encoded_body(),
                    headers=self._headers(spec, url),
                    timeout=(self.timeout.connect, self.timeout.read),
                    stream=True,
                    allow_redirects=False,
                    proxies=_as_requests_proxies(self._proxy_for(url)),
                )
                target = self._redirect_url(url, response.status_code, response.headers)
                if target is not None:
                    response.close()
                    url = target
                    continue
                if response.status_code >= 300:
                    with response:
                        body = _read_body(response)
                    raise error_for_status(spec, response.status_code, response.headers, body)
                if spec.stream:
                    return response
                with response:
                    return _read_body(response)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                    http.client.HTTPException) as exc:
                raise self._scrubbed(_translate(exc, streaming=False)) from None
        raise APIStatusError(310, "too many redirects", method=spec.method, path=spec.path)


def _as_requests_proxies(proxy: str | None) -> dict[str, str]:
    return {"http": proxy, "https": proxy} if proxy else {}


def _pooled_session(max_connections: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max_connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # Cookies are the one mutable part of a Session shared by threads; the API needs none.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.trust_env = False  # see AssisterrClient.__init__: the environment is read once
    return session


def _iter_body(response: requests.Response) -> Iterator[bytes]:
    """Body bytes as soon as they arrive: never wait to fill a buffer."""
    raw = response.raw
    if raw.chunked and raw.supports_chunked_reads():
        yield from raw.read_chunked(decode_content=True)
        return
    while True:
        data = raw.read1(READ_SIZE, decode_content=True)
        if not data:
            return
        yield data


def _read_body(response: requests.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_content(READ_SIZE):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _translate(exc: BaseException, *, streaming: bool) -> APIConnectionError:
    """Map a requests/urllib3/socket failure to our errors; note whether it was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return APITimeoutError("timed out connecting to the Assisterr API", request_sent=False)
    if isinstance(exc, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return APITimeoutError("timed out waiting for the Assisterr API to answer")
    if isinstance(exc, requests.exceptions.ConnectionError) and _not_sent(exc):
        return APIConnectionError(
            f"could not connect to the Assisterr API: {_reason(exc)}", request_sent=False
        )
    if streaming:
        return StreamInterruptedError(f"the reply stream was cut off: {_reason(exc)}")
    return APIConnectionError(f"the connection to the Assisterr API failed: {_reason(exc)}")


def _not_sent(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    return isinstance(
        inner,
        urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.ConnectTimeoutError
        | urllib3.exceptions.NameResolutionError,
    )


def _reason(exc: BaseException) -> str:
    """A short cause without URLs or headers (no chance of echoing a key)."""
    inner: BaseException | None = exc
    while inner is not None and inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    if isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
        inner = inner.reason
    name = type(inner).__name__ if inner is not None else type(exc).__name__
    text = str(getattr(inner, "reason", "") or inner or "")
    text = text.split(": ", 1)[-1] if "object at 0x" in text else text
    return f"{name}: {text}"[:300]
