"""A loopback TCP peer that misbehaves at the byte level, for tests of the HTTP transports.

``RawPeer(behaviour)`` accepts connections on a free port and runs ``behaviour(conn)`` for
each one on its own thread; ``conn`` reads requests and writes whatever bytes the script
wants (cut inside the headers, drip, never read the body, echo, wrong lengths). Every
request read and every connection accepted is counted, so tests can check how many times
a client really sent something.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType

JSON = "application/json"


@dataclass
class RawRequest:
    """What one request carried: the request line, the headers (lower-cased names) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PeerLog:
    """Shared counters of a peer: accepted connections and requests read, in order."""

    connections: int = 0
    requests: list[RawRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Conn:
    """One accepted connection, as a behaviour script sees it."""

    def __init__(self, sock: socket.socket, log: PeerLog, stopping: threading.Event) -> None:
        self.sock = sock
        self.index = log.connections  # 0 for the first connection, then 1, ...
        self._log = log
        self._stopping = stopping
        self._buffer = b""

    def read_request(self, *, body: bool = True) -> RawRequest | None:
        """The next request on this connection (None if the client closed it first)."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0")) if body else 0
        while len(self._buffer) < length:
            if not self._fill():
                break
        content, self._buffer = self._buffer[:length], self._buffer[length:]
        request = RawRequest(method, path, headers, content)
        with self._log.lock:
            self._log.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self, status: int = 200, body: bytes = b"", *, content_type: str = JSON,
        headers: Iterable[tuple[str, str]] = (), length: int | None = None,
    ) -> None:
        """A whole response; ``length`` overrides the Content-Length (to lie about it)."""
        self.send(response_head(status, content_type=content_type, headers=headers,
                                length=len(body) if length is None else length) + body)

    def drip(self, data: bytes, interval: float) -> None:
        """Send ``data`` one byte at a time, ``interval`` seconds apart (until stopped)."""
        for index in range(len(data)):
            if self._stopping.wait(interval):
                return
            self.send(data[index:index + 1])

    def hold(self, seconds: float = 60.0) -> None:
        """Keep the connection open without reading or writing, until stopped."""
        self._stopping.wait(seconds)

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        self._buffer += data
        return bool(data)


def response_head(
    status: int = 200, *, content_type: str = JSON, headers: Iterable[tuple[str, str]] = (),
    length: int | None = None,
) -> bytes:
    """Status line and headers, ending with the blank line."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawPeer:
    """A thread that accepts on 127.0.0.1 and runs ``behaviour`` per connection."""

    def __init__(
        self, behaviour: Callable[[Conn], None], *, receive_buffer: int | None = None
    ) -> None:
        self.behaviour = behaviour
        self.log = PeerLog()
        self._stopping = threading.Event()
        self._listener = socket.socket()
        if receive_buffer is not None:  # small: a body the peer does not read soon blocks
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RawRequest]:
        with self.log.lock:
            return list(self.log.requests)

    @property
    def connections(self) -> int:
        return self.log.connections

    def __enter__(self) -> RawPeer:
        thread = threading.Thread(target=self._accept, name="raw-peer", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._listener.close()
        for sock in list(self._socks):
            with contextlib.suppress(OSError):  # wakes the scripts blocked on a read
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            conn = Conn(sock, self.log, self._stopping)
            with self.log.lock:
                self.log.connections += 1
            self._socks.append(sock)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, conn: Conn) -> None:
        try:
            self.behaviour(conn)
        except OSError:
            pass  # the client went away: that is often the point of the test
        finally:
            conn.sock.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
