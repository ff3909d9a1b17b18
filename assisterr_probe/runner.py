"""Sends the probe's exchanges with ``requests`` and records every byte that comes back.

Each request carries the core client's own headers and goes through the client's own
connections (interim responses skipped, headers cut short refused, no credentials from the
environment); it is bounded by connect and read timeouts and by a deadline for the whole
exchange. Nothing the server answers stops the run, and the session it opens is always deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

import requests

from assisterr_core.transport import (
    MAX_REDIRECTS,
    USER_AGENT,
    AssisterrError,
    ClientSettings,
    Secret,
    Timeout,
    could_not_connect,
    decode_json_body,
    environment_ca_bundle,
    environment_proxy,
    iter_body,
    parse_session_id,
    pooled_session,
    request_headers,
    total_deadline,
)

from .exchanges import (
    CLEANUP,
    CREATE_STEP,
    DELETE_STEP,
    SESSION_PLACEHOLDER,
    STEPS,
    WRONG_KEY,
    SessionUse,
    Step,
    unknown_session_id,
    unusable_session_id,
)
from .recording import MAX_CHUNKS, Chunk, Exchange, RecordedResponse, Recording, Redactor

ProgressCallback = Callable[[Exchange], None]
"""Called with each exchange (redacted) as soon as it is done."""


class ServiceUnreachable(Exception):
    """The first exchange could not even connect: nothing was sent, so the run stops there."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"could not connect to {base_url} ({reason})")


class ProbeInterrupted(KeyboardInterrupt):
    """Ctrl-C during the run, after the session was cleaned up if it could be."""

    def __init__(self, session: str) -> None:
        super().__init__(session)
        self.session = session  # what became of the session it opened, in words


@dataclass(frozen=True)
class ProbeSettings:
    """Where to probe, as whom, and how long to wait (``deadline``: seconds per exchange)."""

    api_key: Secret = field(repr=False)
    base_url: str
    handle: str
    timeout: Timeout = field(default_factory=Timeout)
    deadline: float = 300.0
    max_body_bytes: int = 16 * 1024 * 1024
    max_chunks: int = MAX_CHUNKS


def run_probe(settings: ProbeSettings, on_exchange: ProgressCallback | None = None) -> Recording:
    """Send every step once, in order; the session created is deleted whatever happens.

    Raises :class:`ServiceUnreachable` when the first exchange cannot connect (a refused
    connection, an unknown host, a connect timeout): eleven more failures would say nothing new.
    """
    started = datetime.now(timezone.utc)
    with pooled_session(1) as http:  # the client's connections: no cookies, no .netrc
        prober = _Prober(settings, http)
        exchanges = prober.run(on_exchange)
    return Recording(
        base_url=prober.redactor.text(settings.base_url),
        handle=settings.handle,
        recorded_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        client=USER_AGENT,
        exchanges=tuple(exchanges),
    )


class _Prober:
    def __init__(self, settings: ProbeSettings, http: requests.Session) -> None:
        self.settings = settings
        self.http = http
        self.redactor = Redactor(settings.api_key.get_secret_value())
        self.client_settings = ClientSettings(settings.api_key, settings.base_url,
                                              settings.timeout)
        self.wrong_key_settings = replace(self.client_settings, api_key=Secret(WRONG_KEY))

    def run(self, on_exchange: ProgressCallback | None) -> list[Exchange]:
        exchanges: list[Exchange] = []
        session_id: str | None = None
        deleted = False

        def keep(exchange: Exchange) -> None:
            exchanges.append(self.redactor.exchange(exchange))
            if on_exchange is not None:
                on_exchange(exchanges[-1])

        unusable = "no session id came back from session/create"
        opening = False  # session/create was sent and its id not read yet
        try:
            for step in STEPS:
                if step.session is SessionUse.CREATED and session_id is None:
                    keep(self.skipped(step, unusable))
                    continue
                unknown = step.session is SessionUse.UNKNOWN
                opening = step is CREATE_STEP
                exchange, unreachable = self.send(step, unknown_session_id(session_id)
                                                  if unknown else session_id)
                if not exchanges and unreachable:
                    raise ServiceUnreachable(self.redactor.text(self.settings.base_url),
                                             self.redactor.text(exchange.error or ""))
                if step is CREATE_STEP:
                    session_id = _created_session_id(exchange)
                    problem = None if session_id is None else unusable_session_id(session_id)
                    if problem is not None:  # the client could not send it back either
                        session_id = None
                        unusable = f"the session id from session/create cannot be sent: {problem}"
                    opening = False
                if step is DELETE_STEP:
                    deleted = _succeeded(exchange)
                keep(exchange)
        except KeyboardInterrupt:
            if opening:
                raise ProbeInterrupted(
                    "the service may have created a session before it: if so, that session "
                    "is left (session/list shows it)") from None
            raise ProbeInterrupted(self._clean_up(session_id, deleted, keep)) from None
        except BaseException:
            self._clean_up(session_id, deleted, keep)
            raise
        self._clean_up(session_id, deleted, keep)
        return exchanges

    def _clean_up(self, session_id: str | None, deleted: bool,
                  keep: Callable[[Exchange], None]) -> str:
        """Delete the session if a step failed before the delete or the run was interrupted;
        what became of it, in words."""
        if session_id is None:
            return "no session was open"
        if deleted:
            return "the session it opened was deleted"
        shown = self.redactor.text(session_id if len(session_id) <= 40 else
                                   session_id[:39] + "…")
        try:
            exchange = replace(self.send(DELETE_STEP, session_id)[0], name=CLEANUP)
        except KeyboardInterrupt:
            return f"the session it opened, {shown}, was not deleted: interrupted again"
        keep(exchange)
        if _succeeded(exchange):
            return "the session it opened was deleted"
        status = exchange.response.status if exchange.response else None
        return (f"the session it opened, {shown}, was not deleted: "
                f"{exchange.error or f'HTTP {status}'}")

    def skipped(self, step: Step, reason: str) -> Exchange:
        spec = step.spec(self.settings.handle, SESSION_PLACEHOLDER)
        return Exchange(step.name, spec.method, spec.path, {}, skipped=reason)

    def send(self, step: Step, session_id: str | None) -> tuple[Exchange, bool]:
        """The exchange, and whether it failed before a connection was made (nothing sent)."""
        spec = step.spec(self.settings.handle, session_id)
        client_settings = self.wrong_key_settings if step.wrong_key else self.client_settings
        url = self.settings.base_url + spec.path
        body = spec.encoded_body()
        headers = request_headers(client_settings, spec, url)
        start = time.monotonic()
        redirects: list[RecordedResponse] = []
        exchange = Exchange(step.name, spec.method, spec.path, headers, body, spec.stream)
        unreachable = False
        with total_deadline(self.settings.deadline) as deadline:
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    response = self.http.request(
                        spec.method, url, data=body, headers=headers, stream=True,
                        allow_redirects=False,
                        timeout=(self.settings.timeout.connect, self.settings.timeout.read),
                        **_as_the_client_goes(url),
                    )
                    if not redirects:  # as sent, requests' own default headers included
                        exchange = replace(exchange,
                                           request_headers=dict(response.request.headers))
                    with response:
                        recorded, error = self._read(response, start, spec.stream)
                    if deadline.fired:
                        error = self._past_deadline()
                    location = response.headers.get("Location")
                    if response.status_code in (307, 308) and location and error is None:
                        # Followed as the client follows them: the key only to the same origin.
                        redirects.append(recorded)
                        url = urljoin(url, location)
                        headers = request_headers(client_settings, spec, url)
                        continue
                    return replace(exchange, redirects=tuple(redirects), response=recorded,
                                   error=error, elapsed_ms=_ms_since(start)), False
                error = f"more than {MAX_REDIRECTS} redirects"
            except AssisterrError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # whatever the server or network does goes in the record
                error = self._past_deadline() if deadline.fired else _describe(exc)
                unreachable = not deadline.fired and could_not_connect(exc, whole_chain=True)
        return replace(exchange, redirects=tuple(redirects), error=error,
                       elapsed_ms=_ms_since(start)), unreachable

    def _past_deadline(self) -> str:
        return f"still answering after {self.settings.deadline:g} s: cut off"

    def _read(
        self, response: requests.Response, start: float, streamed: bool
    ) -> tuple[RecordedResponse, str | None]:
        """The response as it arrived, and why reading stopped early (None: it ended well)."""
        headers_ms = _ms_since(start)
        chunks: list[Chunk] = []
        size = 0
        error: str | None = None
        try:
            for data in iter_body(response, None):
                if len(chunks) == self.settings.max_chunks:
                    error = f"body in more than {self.settings.max_chunks} pieces: not read on"
                    break
                chunks.append(Chunk(_ms_since(start), data))
                size += len(data)
                if size > self.settings.max_body_bytes:
                    error = f"body longer than {self.settings.max_body_bytes} bytes: not read on"
                    break
                if time.monotonic() - start > self.settings.deadline:
                    error = f"still sending after {self.settings.deadline:g} s: not read on"
                    break
        except Exception as exc:  # a cut, a stall or broken framing: keep what arrived
            error = _describe(exc)
        recorded = RecordedResponse(
            status=response.status_code,
            reason=response.reason or "",
            headers=tuple((str(k), str(v)) for k, v in response.raw.headers.items()),
            headers_ms=headers_ms,
            body=b"".join(c.data for c in chunks),
            chunks=tuple(chunks) if streamed else None,
        )
        return recorded, error


def _as_the_client_goes(url: str) -> dict[str, Any]:
    """The proxy and CA bundle the client takes from the environment for ``url``."""
    proxy = environment_proxy(url)
    return {"proxies": {"http": proxy, "https": proxy} if proxy else {},
            "verify": environment_ca_bundle() or True}


def _created_session_id(exchange: Exchange) -> str | None:
    """The new session's id, read as the core client reads it; None if it cannot be."""
    if not _succeeded(exchange) or exchange.response is None:
        return None
    spec = CREATE_STEP.spec("probe", None)
    try:
        return parse_session_id(decode_json_body(exchange.response.body, spec))
    except AssisterrError:
        return None


def _succeeded(exchange: Exchange) -> bool:
    return exchange.error is None and exchange.response is not None \
        and exchange.response.status < 300


def _describe(exc: BaseException) -> str:
    """The failure's innermost cause, short (the redactor still runs over it)."""
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    reason = getattr(inner, "reason", None)
    if isinstance(reason, BaseException):
        inner = reason
    return f"{type(inner).__name__}: {inner}"[:300]


def _ms_since(start: float) -> float:
    return (time.monotonic() - start) * 1000
