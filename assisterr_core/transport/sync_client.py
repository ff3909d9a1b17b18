"""The synchronous client, on a pooled ``requests.Session`` that threads may share."""

from __future__ import annotations

import http.client
import itertools
import os
import re
import ssl
import threading
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import requests
import urllib3.exceptions

from ._base import (
    MAX_BODY_BYTES,
    READ_SIZE,
    BaseClient,
    answer_timed_out,
    connect_timed_out,
    connection_failed,
    may_have_been_processed,
    not_connected,
    send_timed_out,
)
from ._process import abandon
from ._sync_transport import (
    Deadline,
    iter_body,
    pooled_session,
    renew_pools,
    sending,
    watchdog,
)
from .clock import Clock
from .endpoints import (
    MAX_REDIRECTS,
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
    requested_path,
)
from .errors import (
    APIConnectionError,
    APIStatusError,
    AssisterrError,
    MalformedResponseError,
)
from .origins import requests_origin
from .records import ChatReply, HistoryMessage, SessionInfo
from .settings import ClientSettings
from .stream_decoder import StreamDecoder

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .settings import SettingsFields

T = TypeVar("T")
TRANSPORT_ERRORS = (
    requests.RequestException, urllib3.exceptions.HTTPError, OSError, http.client.HTTPException
)
CONNECT_FAILURES = (  # urllib3's: no connection was made
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.NameResolutionError,
)


class AssisterrClient(BaseClient):
    """Blocking client for the Assisterr SLM API. Safe to share between threads.

    The connection pool is created on first use. ``http_session`` injects a
    ``requests.Session`` of your own; with it, a total timeout is checked between reads
    only (the client's own session can also interrupt a read that never ends).
    """

    def __init__(
        self,
        *,
        settings: ClientSettings | None = None,
        http_session: requests.Session | None = None,
        clock: Clock | None = None,
        **fields: Unpack[SettingsFields],
    ) -> None:
        self._owns_session = http_session is None
        self._http = http_session
        self._lock = threading.Lock()
        super().__init__(settings=settings, clock=clock, **fields)

    _origin = staticmethod(requests_origin)

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
        if self._pid != os.getpid():
            self._after_fork()  # the parent's connections are not this process's to close
        if self._owns_session and self._http is not None:
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

    def _session(self) -> requests.Session:
        """This process's ``requests`` session, created on first use."""
        if self._pid != os.getpid():
            self._after_fork()
        http = self._http
        if http is None:
            with self._lock:
                if self._http is None:
                    verify = self.settings.verify
                    self._http = pooled_session(
                        self.settings.max_connections,
                        verify if isinstance(verify, ssl.SSLContext) else None,
                    )
                http = self._http
        return http

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held by another thread
        self._pid = os.getpid()
        if self._http is None:
            return
        if self._owns_session:
            abandon(self._http)
            self._http = None
        else:
            renew_pools(self._http)  # the caller's session, with this process's pools

    def _start_deadline(self) -> Deadline | None:
        total = self.timeout.total
        return None if total is None else watchdog.start(total)

    def _call(self, call: Call[T]) -> T:
        try:
            return self._answer(call)
        except Exception as exc:
            error = self._public_error(exc)
        # Outside the handler: no chained transport exception. The traceback shows this
        # frame only, which holds no body (a server may echo the key in one).
        raise error

    def _answer(self, call: Call[T]) -> T:
        deadline = self._start_deadline()
        try:
            body = self._send(call.spec, deadline)
        finally:
            if deadline is not None:
                watchdog.stop(deadline)
        assert isinstance(body, bytes)
        return call.parse(decode_json_body(body, call.spec, url=self._url(call.spec)))

    def _iter_stream(self, spec: RequestSpec) -> Generator[str, None, None]:
        try:
            yield from self._stream_deltas(spec)
        except Exception as exc:
            error = self._public_error(exc)
        else:
            return
        raise error

    def _stream_deltas(self, spec: RequestSpec) -> Generator[str, None, None]:
        deadline = self._start_deadline()
        try:
            response = self._send(spec, deadline)
            assert isinstance(response, requests.Response)
            decoder = StreamDecoder(response.headers.get("Content-Type"))
            with response:
                try:
                    for chunk in iter_body(response, deadline):
                        yield from decoder.feed(chunk)
                except TRANSPORT_ERRORS as exc:
                    raise self._translate(exc, streaming=True, deadline=deadline) from None
                self._check_deadline(deadline)
                yield from decoder.close()
        finally:
            if deadline is not None:
                watchdog.stop(deadline)

    def _send(self, spec: RequestSpec, deadline: Deadline | None) -> bytes | requests.Response:
        """One logical request with retries: the body, or the open response of a stream."""
        request_body = spec.encoded_body()  # once: the same bytes for every hop and resend
        maybe_processed = False
        for retries in itertools.count():
            try:
                return self._attempt(spec, request_body, deadline)
            except AssisterrError as error:
                time_left = None if deadline is None else deadline.remaining()
                outcome = self._recover(spec, error, retries, time_left, maybe_processed)
                if isinstance(outcome, bytes):
                    return outcome
                maybe_processed = maybe_processed or may_have_been_processed(error)
            self.clock.sleep(outcome)
        raise AssertionError("unreachable")

    def _attempt(
        self, spec: RequestSpec, request_body: bytes | None, deadline: Deadline | None
    ) -> bytes | requests.Response:
        http = self._session()
        url = self._url(spec)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                timeouts = self._socket_timeouts(deadline)
                sending.deadline = deadline  # what this thread's connection now serves
                response = http.request(
                    spec.method,
                    url,
                    data=request_body,
                    headers=self._headers(spec, url),
                    timeout=timeouts,
                    stream=True,
                    allow_redirects=False,
                    proxies=_as_requests_proxies(self._proxy_for(url)),
                    verify=_as_requests_verify(self._verify()),
                )
                status = response.status_code
                if not 200 <= status < 300:  # a 101 too: the API never switches protocols
                    with response:
                        target = self._redirect_url(spec, url, status, response.headers)
                        body = b"" if target is not None else _read_body(response)
                    if target is not None:
                        url = target
                        continue
                    self._check_deadline(deadline)
                    raise error_for_status(spec, status, response.headers, body, url=url)
                if spec.stream:
                    return response
                with response:
                    body = _read_body(response)
                self._check_deadline(deadline)
                return body
            except TRANSPORT_ERRORS as exc:
                raise self._translate(exc, streaming=False, deadline=deadline) from None
        raise APIStatusError(310, "too many redirects", method=spec.method,
                             path=requested_path(url))

    def _socket_timeouts(self, deadline: Deadline | None) -> tuple[float, float]:
        """(connect, read) for the next attempt, never past the total deadline."""
        connect, read = self.timeout.connect, self.timeout.read
        if deadline is None:
            return connect, read
        left = deadline.remaining()
        if left <= 0:
            raise self._total_timeout()
        return min(connect, left), min(read, left)

    def _check_deadline(self, deadline: Deadline | None) -> None:
        """A body cut short by the watchdog can look complete: the deadline tells."""
        if deadline is not None and deadline.fired:
            raise self._total_timeout()

    @staticmethod
    def _passed(deadline: Deadline) -> bool:
        return deadline.fired

    @staticmethod
    def _classify(exc: BaseException, *, streaming: bool) -> APIConnectionError:
        """Map a requests/urllib3/socket failure to our errors; note whether it was sent."""
        if isinstance(exc, requests.ConnectTimeout):
            return connect_timed_out()
        if isinstance(
            exc, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError
        ):
            return answer_timed_out()
        if isinstance(_innermost(exc), TimeoutError):  # wrapped by urllib3: sending the body
            return send_timed_out()
        if could_not_connect(exc):
            return not_connected(_reason(exc))
        return connection_failed(_reason(exc), streaming=streaming)


def _as_requests_proxies(proxy: str | None) -> dict[str, str]:
    return {"http": proxy, "https": proxy} if proxy else {}


def _as_requests_verify(verify: bool | str | ssl.SSLContext) -> bool | str:
    """requests' ``verify``: a context is given to the pools instead (and verifies)."""
    return True if isinstance(verify, ssl.SSLContext) else verify


def _read_body(response: requests.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_content(READ_SIZE):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)
def could_not_connect(exc: BaseException, *, whole_chain: bool = False) -> bool:
    """Whether ``exc``, from ``requests``, says no connection was made (a connect timeout, a
    refused or unreachable address, an unknown host): then nothing reached a server.

    requests puts urllib3's cause in the first argument of its ConnectionError, or as that
    argument's ``reason``: only there is it looked for. With ``whole_chain``, an exception of
    any type is looked at, and each exception along its first arguments, and their reasons.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if whole_chain:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, CONNECT_FAILURES) or isinstance(
                getattr(cause, "reason", None), CONNECT_FAILURES
            ):
                return True
            cause = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) \
                else None
        return False
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), CONNECT_FAILURES)


def _innermost(exc: BaseException) -> BaseException:
    """The exception that requests and urllib3 wrapped (in args, or as a retry's reason)."""
    inner = exc
    while True:
        if inner.args and isinstance(inner.args[-1], BaseException):
            inner = inner.args[-1]
        elif isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
            inner = inner.reason
        else:
            return inner


def _reason(exc: BaseException) -> str:
    """A short cause without URLs or headers (no chance of echoing a key)."""
    inner = _innermost(exc)
    name = type(inner).__name__
    text = str(getattr(inner, "reason", "") or inner or "")
    text = text.split(": ", 1)[-1] if "object at 0x" in text else text
    text = _CONNECTION_PREFIX.sub("", text)  # urllib3's "ConnectionClass(host=..., port=...): "
    return f"{name}: {text}"[:300]


_CONNECTION_PREFIX = re.compile(r"^\w+\(host=[^)]*\): ")
