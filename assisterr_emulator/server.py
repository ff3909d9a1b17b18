"""Run the emulator on a background thread, for tests, notebooks and the demo."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .app import build_app
from .app_thread import AppThread
from .config import EmulatorConfig, Fault, ReceivedRequest
from .replay import ReplayProfile, load_profile
from .request_log import REQUEST_LOGGER, RequestLine
from .responders import Responder
from .state import EmulatorState

if TYPE_CHECKING:
    from assisterr_probe.recording import Recording


class EmulatorServer:
    """The local Assisterr-compatible server, on 127.0.0.1 and a free port by default."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        responder: Responder | None = None,
        replay: str | Path | Recording | ReplayProfile | None = None,
        log_requests: bool = False,
        **config_fields: Any,
    ) -> None:
        """``replay``: a probe recording (file or loaded) or profile to answer as it shows;
        ``ssl_context``: serve https with it; ``log_requests``: one line per request (method,
        path, status, milliseconds; never a header) to the ``assisterr_emulator.requests``
        logger, at INFO."""
        self.config = config or EmulatorConfig(**config_fields)
        if replay is not None:
            self.config.replay = load_profile(replay)
        self.state = EmulatorState(self.config, responder)
        self._serving = AppThread(build_app(self.state), host=host, port=port,
                                  name="assisterr-emulator", ssl_context=ssl_context,
                                  access_log=REQUEST_LOGGER if log_requests else None,
                                  access_log_class=RequestLine)

    @property
    def host(self) -> str:
        return self._serving.host

    @property
    def port(self) -> int:
        return self._serving.port

    @property
    def base_url(self) -> str:
        return self._serving.base_url

    @property
    def api_key(self) -> str:
        """The key to use: the configured one, or any key when the server accepts all."""
        return self.config.api_key or "emu-any-7d3f0b6a91c2e584"

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
        """Forget sessions, requests, faults and the responder; restore config defaults.

        The key and the replay settings stay.
        """
        self.state.reset()
        defaults = EmulatorConfig(api_key=self.config.api_key, replay=self.config.replay,
                                  replay_time_scale=self.config.replay_time_scale)
        for name in EmulatorConfig.__dataclass_fields__:
            setattr(self.config, name, config_fields.get(name, getattr(defaults, name)))

    def start(self) -> EmulatorServer:
        """Start serving on a background thread; returns when the port is open."""
        self._serving.start()
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self._serving.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

