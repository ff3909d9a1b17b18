"""The sync client's plumbing under ``requests``: pools that see cut headers and deadlines.

- A response whose connection closes inside its headers is an error: ``http.client`` takes
  that EOF as the end of the headers, and the request would look answered with no body.
- A total deadline bounds the whole call, even a server that drips a byte a second (no read
  timeout ever fires): a watchdog thread shuts the socket of the call down when the
  deadline passes, which ends any blocked read or write at once.
- After ``fork``, pools are renewed the way ``requests`` itself renews them when an adapter
  is unpickled; the inherited ones are abandoned, not closed.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import math
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3
import urllib3.poolmanager
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ._base import READ_SIZE
from ._process import abandon


class Deadline:
    """One call's total deadline, as the watchdog tracks it."""

    __slots__ = ("connection", "done", "expires", "fired")

    def __init__(self, expires: float) -> None:
        self.expires = expires  # time.monotonic() seconds
        self.fired = False
        self.done = False
        self.connection: _DeadlineConnection | None = None

    def remaining(self) -> float:
        return self.expires - time.monotonic()


class _Watchdog:
    """One daemon thread that fires deadlines; started on first use, per process."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf  # when the thread will next look at the heap

    def start(self, seconds: float) -> Deadline:
        deadline = Deadline(time.monotonic() + seconds)
        with self._lock:
            heapq.heappush(self._heap, (deadline.expires, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="assisterr-deadlines", daemon=True
                )
                self._thread.start()
            if deadline.expires < self._wakes_at:  # else the thread wakes in time anyway
                self._wake.notify()
        return deadline

    def stop(self, deadline: Deadline) -> None:
        """The call is over: its deadline must no longer act."""
        with self._lock:
            deadline.done = True
            heap = self._heap
            while heap and heap[0][2].done:  # calls mostly end in order: keep the heap short
                heapq.heappop(heap)

    def bind(self, connection: _DeadlineConnection, deadline: Deadline | None) -> None:
        """``connection`` now serves the call of ``deadline`` (None: a call without one)."""
        with self._lock:
            previous = connection.deadline
            if previous is not None and previous.fired and previous is not deadline:
                connection.close()  # shut down for an earlier call: start on a fresh socket
            connection.deadline = deadline
            if deadline is not None:
                deadline.connection = connection
                if deadline.fired:
                    raise TimeoutError("the call's total timeout passed")

    def _run(self) -> None:
        with self._lock:
            while True:
                if not self._heap:
                    self._wakes_at = math.inf
                    self._wake.wait()
                    continue
                expires, _, deadline = self._heap[0]
                if deadline.done:
                    heapq.heappop(self._heap)
                    continue
                wait = expires - time.monotonic()
                if wait > 0:
                    self._wakes_at = expires
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                deadline.fired = True
                connection = deadline.connection
                if connection is not None and connection.deadline is deadline:
                    connection.interrupt()

    def _after_fork(self) -> None:
        """The child has no watchdog thread (nor a usable lock): start over."""
        self._reset()


watchdog = _Watchdog()
sending = threading.local()  # .deadline: that of the call this thread sends (None: none)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=watchdog._after_fork)


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[Deadline]:
    """Bound what this thread sends through a :func:`pooled_session` inside the block, and
    the reading of the answers, to ``seconds`` in all: when they pass, the connection is
    shut down, which ends a blocked read at once (``Deadline.fired`` then tells)."""
    deadline = watchdog.start(seconds)
    previous = getattr(sending, "deadline", None)
    sending.deadline = deadline
    try:
        yield deadline
    finally:
        sending.deadline = previous
        watchdog.stop(deadline)


class _HeaderCheckedResponse(http.client.HTTPResponse):
    """An ``http.client`` response that refuses headers cut off by the end of the connection,
    and reads past interim responses.

    ``http.client`` ends the header block at its blank line or at EOF alike; only the
    blank line means the server finished them. It skips a 100 Continue only: a 102
    Processing or 103 Early Hints would be taken as the answer, the real one left unread on
    a pooled connection for the next call to read. Every 1xx but 101 is skipped here; a 101
    (the connection switched protocols: nothing after it is HTTP) closes the connection
    and reaches the client, which refuses it.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return
        raw = self.fp
        probe = _LastLine(raw)
        self.fp = probe
        try:
            super().begin()
        finally:
            if self.fp is probe:
                self.fp = raw
        if probe.last == b"":
            raise http.client.RemoteDisconnected(
                "the server closed the connection inside the response headers"
            )
        if self.status == http.client.SWITCHING_PROTOCOLS:
            self.will_close = True  # never pooled again: what follows is not HTTP

    def _read_status(self) -> tuple[str, int, str]:
        """The next status line that is not an interim response's (100 is left to
        ``http.client``, which skips it)."""
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # an interim response's headers: skipped


class _LastLine:
    """A file wrapper that remembers the last line read from it."""

    __slots__ = ("_file", "last")

    def __init__(self, file: Any) -> None:
        self._file = file
        self.last: bytes | None = None

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._file.readline(limit)
        self.last = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class _DeadlineConnection(HTTPConnection):
    """A pooled connection that checks its headers and can be interrupted by a deadline."""

    response_class = _HeaderCheckedResponse
    deadline: Deadline | None = None
    _interruptible: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self._interruptible = self.sock  # still reachable when http.client lets go of it
        deadline = self.deadline
        if deadline is not None and deadline.fired:
            self.interrupt()

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(sending, "deadline", None)
        if deadline is not None or self.deadline is not None:
            watchdog.bind(self, deadline)
        super().request(*args, **kwargs)

    def interrupt(self) -> None:
        """End any blocked read or write on this connection (from another thread)."""
        sock = self._interruptible
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _DeadlineTLSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineTLSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _TLSPool}


class _Adapter(HTTPAdapter):
    """``requests``' adapter, on the pools above (SOCKS proxies keep their own), with the
    caller's SSL context if there is one (the way requests' docs say to give one)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        self.ssl_context = ssl_context
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        if self.ssl_context is None:
            return host, pool
        # The context decides what to trust: requests' own choices would override it.
        chosen = {key: value for key, value in pool.items()
                  if key not in ("ca_certs", "ca_cert_dir", "cert_reqs")}
        return host, {**chosen, "ssl_context": self.ssl_context}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Session(requests.Session):
    """A ``requests`` session that leaves redirects to the client.

    With ``allow_redirects=False``, ``requests`` still works out the next request of a
    redirect: it reads and closes the body, and parses the location (a ``ValueError`` for
    a bad one). The client follows 307/308 itself, checking the location first.
    """

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def iter_body(response: requests.Response, deadline: Deadline | None) -> Iterator[bytes]:
    """Body bytes as soon as they arrive (one HTTP chunk at a time when the body is chunked):
    never wait to fill a buffer. No piece is longer than READ_SIZE, so neither a huge chunk
    nor a small compressed one that expands hugely is ever held whole. Once ``deadline``
    (None: no deadline) has passed, the next piece is not read: a TimeoutError ends it."""
    raw = response.raw
    if raw.chunked and raw.supports_chunked_reads():
        chunks: Iterator[bytes] = raw.read_chunked(READ_SIZE, decode_content=True)
    else:
        chunks = iter(lambda: raw.read1(READ_SIZE, decode_content=True), b"")
    for chunk in chunks:
        yield chunk
        if deadline is not None and deadline.remaining() <= 0:
            deadline.fired = True  # the watchdog may lag behind: the next read must not start
            raise TimeoutError("the call's total timeout passed")


def pooled_session(
    max_connections: int, ssl_context: ssl.SSLContext | None = None
) -> requests.Session:
    """A ``requests`` session for the client: pooled, no cookies, and no environment read of
    its own (the client resolves proxies and CA bundles itself, see :mod:`.environment`)."""
    session = _Session()
    adapter = _Adapter(ssl_context, pool_connections=4, pool_maxsize=max_connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # Cookies are the one mutable part of a Session shared by threads; the API needs none.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.trust_env = False  # requests would also read .netrc at every request
    return session


def renew_pools(session: requests.Session) -> None:
    """Give ``session`` fresh connection pools, leaving the old ones (another process's) be."""
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            abandon(adapter.poolmanager, *adapter.proxy_manager.values())
            # What requests does when it unpickles an adapter: same settings, new pools.
            state = adapter.__getstate__()  # type: ignore[attr-defined]
            adapter.__setstate__(state)  # type: ignore[attr-defined]
