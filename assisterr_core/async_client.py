"""The asynchronous client, on ``aiohttp``: one pooled session per event loop.

One client works across several event loops in turn (``asyncio.run`` twice, Jupyter,
pytest-asyncio) and leaves no unclosed session behind: see :mod:`._loop_sessions` for
when each loop's session is closed. ``await client.close()`` closes the current loop's
session at once.
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TypeVar

import aiohttp

from ._base import BaseClient
from ._constants import MAX_REDIRECTS
from ._loop_sessions import LoopSessions
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
from .stream_decoder import StreamDecoder
from .sync_client import MAX_BODY_BYTES

T = TypeVar("T")
LARGE_BODY_BYTES = 1024 * 1024  # aiohttp warns (ResourceWarning) above this for raw bytes


class AsyncAssisterrClient(BaseClient):
    """Non-blocking client for the Assisterr SLM API; usable from any number of event loops."""

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
        body = await self._send(call.spec)
        assert isinstance(body, bytes)
        return call.parse(decode_json_body(body, call.spec))

    async def _iter_stream(self, spec: RequestSpec) -> AsyncGenerator[str, None]:
        response = await self._send(spec)
        assert isinstance(response, aiohttp.ClientResponse)
        decoder = StreamDecoder(response.headers.get("Content-Type"))
        async with response:
            try:
                async for chunk in response.content.iter_any():
                    for delta in decoder.feed(chunk):
                        yield delta
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise self._scrubbed(_translate(exc, streaming=True)) from None
            for delta in decoder.close():
                yield delta

    async def _send(self, spec: RequestSpec) -> bytes | aiohttp.ClientResponse:
        """One logical request with retries: the body, or the open response of a stream."""
        for retries in itertools.count():
            try:
                return await self._attempt(spec)
            except AssisterrError as error:
                delay = self._retry_delay(spec, error, retries)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(self, spec: RequestSpec) -> bytes | aiohttp.ClientResponse:
        session = await self._session()
        url = self._url(spec)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = await session.request(
                    spec.method,
                    url,
                    data=_payload(spec.encoded_body()),
                    headers=self._headers(spec, url),
                    allow_redirects=False,
                    proxy=self._proxy_for(url),
                )
                target = self._redirect_url(url, response.status, response.headers)
                if target is not None:
                    response.release()
                    url = target
                    continue
                if response.status >= 300:
                    async with response:
                        body = await _read_body(response)
                    raise error_for_status(spec, response.status, response.headers, body)
                if spec.stream:
                    return response
                async with response:
                    return await _read_body(response)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise self._scrubbed(_translate(exc, streaming=False)) from None
        raise APIStatusError(310, "too many redirects", method=spec.method, path=spec.path)

    async def _session(self) -> aiohttp.ClientSession:
        return await self._sessions.current()

    def _new_session(self) -> aiohttp.ClientSession:
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout.connect, sock_read=self.timeout.read
        )
        connector = aiohttp.TCPConnector(limit=self.settings.max_connections)
        # trust_env=False: aiohttp would read .netrc on a worker thread for every request;
        # proxies from the environment are resolved once, in the base class, instead.
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )


def _payload(body: bytes | None) -> bytes | io.BytesIO | None:
    """The body as aiohttp should take it: a big one (a 1 MB query) as a file-like object,
    which aiohttp writes in pieces instead of warning that raw bytes may block the loop."""
    if body is not None and len(body) > LARGE_BODY_BYTES:
        return io.BytesIO(body)
    return body


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    if response.content_length is not None and response.content_length > MAX_BODY_BYTES:
        raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedResponseError(f"response body exceeds {MAX_BODY_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _translate(exc: BaseException, *, streaming: bool) -> APIConnectionError:
    """Map an aiohttp/socket failure to our errors; note whether the request was sent."""
    reason = f"{type(exc).__name__}: {exc}"[:300]
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
    if connect_timeout and isinstance(exc, connect_timeout):
        return APITimeoutError("timed out connecting to the Assisterr API", request_sent=False)
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError("timed out waiting for the Assisterr API to answer")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"could not connect to the Assisterr API: {reason}", request_sent=False
        )
    if streaming:
        return StreamInterruptedError(f"the reply stream was cut off: {reason}")
    return APIConnectionError(f"the connection to the Assisterr API failed: {reason}")
