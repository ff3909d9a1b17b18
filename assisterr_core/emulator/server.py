"""Run the emulator on a background thread, for tests, notebooks and the demo."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from .app import build_app
from .config import EmulatorConfig, Fault, ReceivedRequest
from .responders import Responder
from .state import EmulatorState


class EmulatorServer:
    """The local Assisterr-compatible server, on 127.0.0.1 and a free port by default."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        **config_fields: Any,
    ) -> None:
        self.config = config or EmulatorConfig(**config_fields)
        self.state = EmulatorState(self.config, responder)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        """The key to use: the configured one, or any key when the server accepts all."""
        return self.config.api_key or "local-emulator-key"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every API request received so far (admin routes excluded), oldest first."""
        return list(self.state.requests)

    def chat_requests(self) -> list[ReceivedRequest]:
        """Only the chat requests (plain, streaming, session)."""
        return [r for r in self.state.requests if "/chat" in r.path]

    def set_responder(self, responder: Responder | Iterable[str] | None) -> None:
        """A callable, a list of scripted replies, or None for the default responder."""
        self.state.set_responder(responder)

    def inject(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Queue a fault for the next matching request(s)."""
        fault = fault or Fault(**fields)
        self.state.faults.append(fault)
        return fault

    def history(self, session_id: str) -> list[tuple[str, str]]:
        """A session's turns as (role, text), oldest first, straight from server memory."""
        session = self.state.sessions[session_id]
        return [("user" if t.is_user else "assistant", t.text) for t in session.turns]

    def reset(self, **config_fields: Any) -> None:
        """Forget sessions, requests, faults and the responder; restore config defaults."""
        self.state.reset()
        defaults = EmulatorConfig(api_key=self.config.api_key)
        for name in EmulatorConfig.__dataclass_fields__:
            setattr(self.config, name, config_fields.get(name, getattr(defaults, name)))

    def start(self) -> EmulatorServer:
        """Start serving on a background thread; returns when the port is open."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="assisterr-emulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise RuntimeError("the Assisterr emulator failed to start") from failure[0]
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._runner = web.AppRunner(build_app(self.state), access_log=None,
                                     handler_cancellation=True)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None
        self._loop = None

    def __enter__(self) -> EmulatorServer:
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
