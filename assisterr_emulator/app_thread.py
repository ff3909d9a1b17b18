"""Serve an aiohttp application on a background thread, on loopback and a free port.

The emulator runs this way, and so can any purpose-built server a test needs (one that
redirects, stalls or answers garbage) beside it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from types import TracebackType

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_log import AccessLogger


class AppThread:
    """One application, its own event loop, one daemon thread. A context manager.

    With ``ssl_context`` it serves https (for tests of TLS settings); with ``access_log``
    each request is logged there, by ``access_log_class`` (aiohttp's own by default)."""

    def __init__(
        self, app: web.Application, *, host: str = "127.0.0.1", port: int = 0,
        name: str = "aiohttp-app", ssl_context: ssl.SSLContext | None = None,
        access_log: logging.Logger | None = None,
        access_log_class: type[AbstractAccessLogger] = AccessLogger,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.access_log_class = access_log_class
        self.host = host
        self.port = port
        self.name = name
        self.ssl_context = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> AppThread:
        """Start serving; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        runner = web.AppRunner(self.app, access_log=self.access_log, handler_cancellation=True,
                               access_log_class=self.access_log_class)

        async def serve() -> None:
            await runner.setup()
            await web.SockSite(runner, sock, ssl_context=self.ssl_context).start()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError(f"{self.name} failed to start") from failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None
        self._loop = None

    def __enter__(self) -> AppThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock
