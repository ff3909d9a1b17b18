"""The asynchronous client, on ``aiohttp``: one pooled session per event loop.

One client works across several event loops in turn (``asyncio.run`` twice, Jupyter,
pytest-asyncio) and leaves no unclosed session behind: see :mod:`._loop_sessions` for
when each loop's session is closed. ``await client.close()`` closes the current loop's
session at once.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import ssl
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TypeVar

import aiohttp
import aiohttp.abc
import aiohttp.payload

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
from ._loop_sessions import LoopSessions
from ._task_deadline import TaskDeadline
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
from .origins import aiohttp_origin
from .records import ChatReply, HistoryMessage, SessionInfo
from .stream_decoder import StreamDecoder

T = TypeVar("T")
# Above this, writing the body may wait for the peer to read (aiohttp's write buffer holds
# 64 KiB): it is then written piece by piece, under the connect timeout, as the sync
# client's socket does.
PACED_BODY_BYTES = 64 * 1024
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class AsyncAssisterrClient(BaseClient):
    """Non-blocking client for the Assisterr SLM API; usable from any number of event loops."""

    _origin = staticmethod(aiohttp_origin)

    def _setup(self) -> None:
        self._sessions = LoopSessions(self._new_session)
        self._sessions.bind_to(self)

    async def chat(self, handle: str, query: str, *, session_id: str | None = None) -> ChatReply:
        """Ask the SLM ``handle``; with ``session_id`` the server records both turns."""
        return await self._call(chat_call(handle, query, session_id))

    def stream(
        self, handle: str, query: str, *, session_id: str | None = None
    ) -> AsyncGenerator[str, None]:
        """Ask and iterate (``async for``) over the reply's text deltas as they arrive.

        The input is checked now; the request is sent when iteration starts.
        """
        return self._iter_stream(chat_spec(handle, query, session_id, stream=True))

    async def create_session(self, handle: str) -> str:
        """Open a server-side session and return its id."""
        return await self._call(create_session_call(handle))

    async def list_sessions(self, handle: str) -> list[SessionInfo]:
        """The sessions of ``handle`` that the API key can see."""
        return await self._call(list_sessions_call(handle))

    async def get_history(self, handle: str, session_id: str) -> list[HistoryMessage]:
        """A session's messages, oldest first."""
        return await self._call(history_call(handle, session_id))

    async def delete_session(self, handle: str, session_id: str) -> bool:
        """Delete a session on the server."""
        return await self._call(delete_session_call(handle, session_id))

    async def close(self) -> None:
        """Close the running loop's connection pool now (others close with their loops)."""
        await self._sessions.close_current()

    aclose = close

    def close_sessions(self) -> None:
        """Close this client's connection pools on every event loop, from sync code: at once
        on a loop that is idle, soon on one that runs."""
        self._sessions.close_all()

    async def __aenter__(self) -> AsyncAssisterrClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, call: Call[T]) -> T:
        try:
            return await self._answer(call)
        except Exception as exc:
            error = self._public_error(exc)
        # Outside the handler: no chained transport exception. The traceback shows this
        # frame only, which holds no body (a server may echo the key in one).
        raise error

    async def _answer(self, call: Call[T]) -> T:
        body = await self._send(call.spec, self._loop_deadline())
        assert isinstance(body, bytes)
        return call.parse(decode_json_body(body, call.spec, url=self._url(call.spec)))

    async def _iter_stream(self, spec: RequestSpec) -> AsyncGenerator[str, None]:
        deltas = self._stream_deltas(spec)
        try:
            async for delta in deltas:
                yield delta
        except Exception as exc:
            error = self._public_error(exc)
        else:
            return
        finally:
            await deltas.aclose()  # a consumer that stops early frees the connection now
        raise error

    async def _stream_deltas(self, spec: RequestSpec) -> AsyncGenerator[str, None]:
        deadline = self._loop_deadline()
        response = await self._send(spec, deadline)
        assert isinstance(response, aiohttp.ClientResponse)
        decoder = StreamDecoder(response.headers.get("Content-Type"))
        async with response:
            try:
                # Each read is bounded on its own: a deadline must never span a yield, or
                # it would cancel the consumer's code.
                while chunk := await _read_some(response, deadline):
                    for delta in decoder.feed(chunk):
                        yield delta
            except TRANSPORT_ERRORS as exc:
                raise self._translate(exc, streaming=True, deadline=deadline) from None
            for delta in decoder.close():
                yield delta

    async def _send(
        self, spec: RequestSpec, deadline: float | None
    ) -> bytes | aiohttp.ClientResponse:
        """One logical request with retries: the body, or the open response of a stream."""
        body = spec.encoded_body()  # once: the same bytes for every hop and resend
        maybe_processed = False
        for retries in itertools.count():
            try:
                return await self._attempt(spec, body, deadline)
            except AssisterrError as error:
                time_left = None if deadline is None else deadline - _loop_time()
                outcome = self._recover(spec, error, retries, time_left, maybe_processed)
                if isinstance(outcome, bytes):
                    return outcome
                maybe_processed = maybe_processed or may_have_been_processed(error)
            await self.clock.asleep(outcome)
        raise AssertionError("unreachable")

    async def _attempt(
        self, spec: RequestSpec, body: bytes | None, deadline: float | None
    ) -> bytes | aiohttp.ClientResponse:
        session = await self._session()
        url = self._url(spec)
        to_pace = body if body is not None and len(body) > PACED_BODY_BYTES else None
        for _ in range(MAX_REDIRECTS + 1):
            try:
                if deadline is None and to_pace is None:  # the common case: no timer at all
                    return await self._exchange(session, spec, url, body)
                with TaskDeadline(deadline) as guard:
                    data: bytes | _PacedBody | None = body
                    if to_pace is not None:
                        data = _PacedBody(to_pace, guard, self.timeout.connect, deadline)
                    return await self._exchange(session, spec, url, data)
            except _Redirected as redirect:
                url = redirect.target
            except TRANSPORT_ERRORS as exc:
                raise self._translate(exc, streaming=False, deadline=deadline) from None
        raise APIStatusError(310, "too many redirects", method=spec.method,
                             path=requested_path(url))

    async def _exchange(
        self, session: aiohttp.ClientSession, spec: RequestSpec, url: str,
        data: bytes | _PacedBody | None,
    ) -> bytes | aiohttp.ClientResponse:
        """Send once: the body of the answer, or the open response of a stream."""
        try:
            response = await session.request(
                spec.method, url, data=data, headers=self._headers(spec, url),
                allow_redirects=False, proxy=self._proxy_for(url),
                ssl=_as_aiohttp_ssl(self._verify()),
            )
        except BaseException:
            if isinstance(data, _PacedBody):
                data.abort_if_unfinished()
            raise
        if spec.stream and 200 <= response.status < 300:
            return response
        return await self._finish(spec, url, response)

    async def _finish(
        self, spec: RequestSpec, url: str, response: aiohttp.ClientResponse
    ) -> bytes:
        """The body of a plain answer; a redirect to follow; or the error of a status (a 101
        too: the API never switches protocols, and what follows it is no body)."""
        status = response.status
        async with response:
            target = self._redirect_url(spec, url, status, response.headers)
            if target is not None:
                raise _Redirected(target)
            body = b"" if status < 200 else await _read_body(response)
        if not 200 <= status < 300:
            raise error_for_status(spec, status, response.headers, body, url=url)
        return body

    def _loop_deadline(self) -> float | None:
        """The loop time at which the call's total timeout passes, if there is one."""
        total = self.timeout.total
        return None if total is None else _loop_time() + total

    async def _session(self) -> aiohttp.ClientSession:
        return await self._sessions.current()

    def _new_session(self) -> aiohttp.ClientSession:
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's "connect" is the pool wait plus connecting; sock_connect the latter
            connect=self.timeout.pool_wait + self.timeout.connect,
            sock_connect=self.timeout.connect,
            sock_read=self.timeout.read,
        )
        connector = aiohttp.TCPConnector(limit=self.settings.max_connections)
        # trust_env=False: aiohttp would read .netrc and the proxy variables on worker
        # threads at every request; the base class resolves proxies and CA bundles.
        session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        # aiohttp resends an idempotent request once on its own when a kept-alive connection
        # fails; only our retry policy may resend. The switch is private (aiohttp's own test
        # client flips it); a regression test counts what reaches the server.
        session._retry_connection = False
        return session

    @staticmethod
    def _passed(deadline: float) -> bool:
        return _loop_time() >= deadline

    @staticmethod
    def _classify(exc: BaseException, *, streaming: bool) -> APIConnectionError:
        """Map an aiohttp/socket failure to our errors; note whether the request was sent."""
        if type(exc) is asyncio.TimeoutError:  # a TaskDeadline's, not aiohttp's own
            return send_timed_out()
        reason = f"{type(exc).__name__}: {exc}"[:300]
        if isinstance(exc, aiohttp.ServerDisconnectedError):  # its text is a parser's repr
            reason = "ServerDisconnectedError: the server closed the connection"
        connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
        if connect_timeout and isinstance(exc, connect_timeout):
            return connect_timed_out()
        if isinstance(exc, asyncio.TimeoutError):
            return answer_timed_out()
        if isinstance(exc, aiohttp.ClientConnectorError):
            return not_connected(reason)
        return connection_failed(reason, streaming=streaming)


class _Redirected(Exception):
    """Follow a 307/308 to ``target`` (internal to one attempt)."""

    def __init__(self, target: str) -> None:
        self.target = target


class _PacedBody(aiohttp.payload.Payload):
    """A large body written in pieces, the whole writing bounded by ``write_timeout``.

    aiohttp starts its read timeout only once the body is written, so a peer that never
    reads it would hold the call forever. Should the deadline pass mid-write, the
    connection is aborted: closing it would wait to flush what the peer will never read.
    """

    def __init__(
        self, body: bytes, guard: TaskDeadline, write_timeout: float, deadline: float | None
    ) -> None:
        super().__init__(body, content_type="application/json")
        self._body = memoryview(body)
        self._size = len(body)
        self._guard = guard
        self._write_timeout = write_timeout
        self._deadline = deadline
        self._transport: asyncio.WriteTransport | None = None
        self._finished = False

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._body).decode(encoding, errors)

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None
    ) -> None:
        body = self._body if content_length is None else self._body[:content_length]
        self._transport = getattr(writer, "transport", None)
        self._guard.move(_earliest(_loop_time() + self._write_timeout, self._deadline))
        for start in range(0, len(body), PACED_BODY_BYTES):
            await writer.write(body[start:start + PACED_BODY_BYTES])
        self._finished = True
        self._guard.move(self._deadline)

    def abort_if_unfinished(self) -> None:
        transport = self._transport
        if not self._finished and transport is not None:
            transport.abort()  # even if closing: a close would wait for the peer to read


def _as_aiohttp_ssl(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """aiohttp's ``ssl``: a CA bundle path becomes a context trusting it."""
    return _trusting(verify) if isinstance(verify, str) else verify


@functools.lru_cache(maxsize=8)
def _trusting(bundle: str) -> ssl.SSLContext:
    """A default context that trusts the CA bundle (a file, or a directory of them)."""
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _earliest(when: float, deadline: float | None) -> float:
    return when if deadline is None else min(when, deadline)


async def _read_some(response: aiohttp.ClientResponse, deadline: float | None) -> bytes:
    """The next bytes of the body as soon as they arrive (b"" at its end)."""
    if deadline is None:
        return await response.content.readany()
    with TaskDeadline(deadline):
        return await response.content.readany()


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    if response.content_length is not None and response.content_length > MAX_BODY_BYTES:
        raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(READ_SIZE):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)
