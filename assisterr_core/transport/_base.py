"""What the sync and async clients share: settings, headers, redirects, retry decisions,
and the one exit every failure of a call leaves through."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from . import _process
from .clock import SYSTEM_CLOCK, Clock
from .endpoints import RequestSpec, request_headers, requested_path
from .environment import environment_ca_bundle, environment_proxy
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssisterrError,
    NotFoundError,
    StreamInterruptedError,
    detached,
)
from .origins import Origin, is_ambiguous
from .retry import GATEWAY_STATUSES, RetryPolicy, parse_retry_after
from .scrub import scrub_secret
from .settings import ClientSettings, Timeout, Verify

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .settings import SettingsFields

ALREADY_DONE = b"true"  # the body of a delete found done on a resend
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_SIZE = 64 * 1024


class BaseClient:
    """Settings and every decision that needs no I/O; subclasses only move bytes.

    Built from ``settings``, or from the fields of :meth:`ClientSettings.resolve` (the key,
    the URL, timeouts, retries and the transport options). A client pickles and copies as
    its settings: the copy builds its own connections when first used. Connections belong
    to the process that opened them: after ``fork``, the child's copy of a client opens its
    own (see :mod:`._process`).
    """

    def __init__(
        self,
        *,
        settings: ClientSettings | None = None,
        clock: Clock | None = None,
        **fields: Unpack[SettingsFields],
    ) -> None:
        self.settings = settings or ClientSettings.resolve(**fields)
        self.retry_policy = RetryPolicy(max_retries=self.settings.max_retries)
        self.clock = clock or SYSTEM_CLOCK
        self._pid = os.getpid()
        self._setup()
        _process.track(self)

    def _setup(self) -> None:
        """Transport state of a subclass (called at the end of ``__init__``)."""

    def _after_fork(self) -> None:
        """Forget the transport state inherited from the parent process (subclasses)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.settings))

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def timeout(self) -> Timeout:
        return self.settings.timeout

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self.settings.max_retries}, timeout={self.timeout!r})"
        )

    def _url(self, spec: RequestSpec) -> str:
        return self.settings.base_url + spec.path

    @staticmethod
    def _origin(url: str) -> Origin | None:
        """The origin of ``url`` as this client's transport reads it (subclasses)."""
        raise NotImplementedError

    def _headers(self, spec: RequestSpec, url: str) -> dict[str, str]:
        return request_headers(self.settings, spec, url, self._origin)

    def _proxy_for(self, url: str) -> str | None:
        """The proxy for ``url``: the settings' own, else the environment's if trusted."""
        if self.settings.proxy is not None:
            return self.settings.proxy
        return environment_proxy(url) if self.settings.trust_env else None

    def _verify(self) -> Verify:
        """What TLS trusts: the settings' own choice, else the environment's CA bundle if
        trusted, else the system's CAs (True)."""
        verify = self.settings.verify
        if verify is True and self.settings.trust_env:
            return environment_ca_bundle() or True
        return verify

    def _redirect_url(
        self, spec: RequestSpec, url: str, status: int, headers: Mapping[str, str]
    ) -> str | None:
        """Where a 307/308 points. Other redirects are errors: a POST must not turn into a GET.

        A location that is not a usable http(s) URL is the server's error, typed as such; so
        is one that URL parsers may read differently (a backslash, whitespace or a control
        character), since where it goes would depend on who reads it.
        """
        location = headers.get("Location") or headers.get("location")
        if status not in (307, 308) or not location:
            return None
        target = None if is_ambiguous(location) else _joined(url, location)
        if target is None or self._origin(target) is None:
            raise APIStatusError(
                status, f"redirect to an unusable location: {location[:200]!r}",
                method=spec.method, path=requested_path(url), headers=headers,
            )
        return target

    def _recover(
        self, spec: RequestSpec, error: AssisterrError, retries: int,
        time_left: float | None, maybe_processed: bool,
    ) -> float | bytes:
        """After a failed attempt: seconds to wait before resending, or the body to return
        (a delete found done); raises ``error`` when neither.

        ``maybe_processed``: an earlier attempt may have reached the service.
        """
        if maybe_processed and spec.gone_when_absent and isinstance(error, NotFoundError):
            return ALREADY_DONE  # the lost answer was a success: the session is gone
        delay = self._retry_delay(spec, error, retries)
        if delay is None or (time_left is not None and delay >= time_left):
            raise error
        return delay

    def _retry_delay(self, spec: RequestSpec, error: AssisterrError, retries: int) -> float | None:
        """Seconds to wait before resending after ``error``, or None to raise it."""
        policy = self.retry_policy
        if isinstance(error, APIStatusError):
            hint = parse_retry_after(error.headers, now=self.clock.wall())
            return policy.delay_after_status(
                retries, error.status_code, hint, replay=spec.replay
            )
        if isinstance(error, APIConnectionError):
            return policy.delay_after_failure(
                retries, request_sent=error.request_sent, replay=spec.replay
            )
        return None

    def _translate(self, exc: BaseException, *, streaming: bool, deadline: Any) -> AssisterrError:
        """The error of a failed exchange: ours as it is (APITimeoutError is an OSError too);
        the total timeout once ``deadline`` has passed, whatever the failure looks like; else
        the transport's own failure, as :meth:`_classify` reads it."""
        if isinstance(exc, AssisterrError):
            return exc
        if deadline is not None and self._passed(deadline):
            return self._total_timeout()
        return self._classify(exc, streaming=streaming)

    @staticmethod
    def _passed(deadline: Any) -> bool:
        """Whether the call's total deadline (not None) has passed (subclasses)."""
        raise NotImplementedError

    @staticmethod
    def _classify(exc: BaseException, *, streaming: bool) -> APIConnectionError:
        """A failure of the transport's library as one of our errors, noting whether the
        request was sent (subclasses)."""
        raise NotImplementedError

    def _total_timeout(self) -> APITimeoutError:
        """The error of a call that outlived its total timeout."""
        return APITimeoutError(
            f"the call did not finish within its total timeout of {self.timeout.total:g} s"
        )

    def _public_error(self, exc: Exception) -> AssisterrError:
        """The one exit of every failure of a call: typed, and carrying no key.

        An exception from outside our tree becomes an ``APIConnectionError``. The key is
        masked in the text and every attribute (a server may echo it), and the chain is
        cut: the transport's exceptions hold the request, whose headers hold the key. So
        are the frames inside the client, whose locals may hold the response.
        """
        if isinstance(exc, AssisterrError):
            error = exc
        else:
            error = APIConnectionError(
                f"the request failed unexpectedly: {type(exc).__name__}: {exc}"[:500]
            )
        scrub_secret(error, self.settings.api_key.get_secret_value())
        return detached(error)


def may_have_been_processed(error: AssisterrError) -> bool:
    """Whether the attempt that failed with ``error`` may have reached the service."""
    if isinstance(error, APIStatusError):
        return error.status_code in GATEWAY_STATUSES
    return isinstance(error, APIConnectionError) and error.request_sent


def connect_timed_out() -> APITimeoutError:
    return APITimeoutError("timed out connecting to the Assisterr API", request_sent=False)


def answer_timed_out() -> APITimeoutError:
    return APITimeoutError("timed out waiting for the Assisterr API to answer")


def send_timed_out() -> APITimeoutError:
    return APITimeoutError("timed out sending the request to the Assisterr API")


def not_connected(reason: str) -> APIConnectionError:
    return APIConnectionError(
        f"could not connect to the Assisterr API: {reason}", request_sent=False
    )


def connection_failed(reason: str, *, streaming: bool) -> APIConnectionError:
    """A connection that failed after the request may have been sent (mid-stream, or not)."""
    if streaming:
        return StreamInterruptedError(f"the reply stream was cut off: {reason}")
    return APIConnectionError(f"the connection to the Assisterr API failed: {reason}")


def _joined(url: str, location: str) -> str | None:
    """``location`` resolved against ``url``; None if it cannot be."""
    try:
        return urljoin(url, location)
    except ValueError:
        return None


def _rebuild(cls: type[BaseClient], settings: ClientSettings) -> BaseClient:
    return cls(settings=settings)
