"""Connection settings: small value objects with clear defaults, and the environment variables
that fill them, in one place."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import ssl
import sys
import warnings
from dataclasses import dataclass, field
from typing import TypeAlias, TypedDict
from urllib.parse import urlsplit

from .errors import InvalidRequestError

ENV_API_KEY = "ASSISTERR_API_KEY"
ENV_BASE_URL = "ASSISTERR_BASE_URL"
ENV_HANDLE_NAME = "ASSISTERR_HANDLE_NAME"
"""The SLM to talk to when none is named: the integrations' ``model``, the probe, the demo."""

DEFAULT_BASE_URL = "https://api.assisterr.ai"
API_PREFIX = "/api/v1/slm"
"""Every path starts here, then the SLM's handle: ``/api/v1/slm/{handle}/chat/``."""
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 100


class Secret:
    """A string that never shows itself in repr, str or f-strings.

    Pickles and copies carry the value, as pydantic's ``SecretStr`` does: pickling is the
    user's explicit act (a model sent to a worker process needs its key).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait, each finite and > 0.

    ``connect``: to open a connection, and to write the body.
    ``read``: for the answer, then between two pieces of it (a stream's gap between chunks).
    ``total``: for the whole call, retries and a stream's last chunk included (None: no
    limit); when it passes, the call ends in ``APITimeoutError``.
    ``pool``: for a free connection when ``max_connections`` are all busy (the async client;
    the sync pool opens an extra connection instead of waiting). None: as long as ``read``.
    A fan-out wider than the pool queues; it is not a connect failure.
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT
    total: float | None = None
    pool: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total", "pool"):
            value = getattr(self, name)
            if value is not None or name in ("connect", "read"):
                object.__setattr__(self, name, _seconds(value, f"timeout.{name}"))

    @property
    def pool_wait(self) -> float:
        """The longest wait for a free pooled connection."""
        return self.read if self.pool is None else self.pool

    @classmethod
    def coerce(cls, value: TimeoutLike | None) -> Timeout:
        """A Timeout from seconds (read; connect at most the default), a (connect, read) or
        (connect, read, total) tuple, or a Timeout."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        if isinstance(value, tuple | list) and len(value) in (2, 3):
            return cls(*value)
        if isinstance(value, tuple | list):
            raise InvalidRequestError(
                "timeout", f"must be seconds, (connect, read) or (connect, read, total), "
                f"got {value!r}"
            )
        seconds = _seconds(value, "timeout")
        return cls(connect=min(seconds, DEFAULT_CONNECT_TIMEOUT), read=seconds)


TimeoutLike: TypeAlias = Timeout | float | tuple[float, float] | tuple[float, float, float]
"""What every ``timeout`` parameter takes: seconds, (connect, read),
(connect, read, total), or a :class:`Timeout`."""


Verify: TypeAlias = bool | str | ssl.SSLContext
"""TLS verification: True (the system's CAs, or the environment's bundle), False (none: for
tests only), the path of a CA bundle file or directory, or an :class:`ssl.SSLContext`."""


class SettingsFields(TypedDict, total=False):
    """The keyword arguments of :meth:`ClientSettings.resolve`, which clients and
    integrations pass on as they are."""

    api_key: str | Secret | None
    base_url: str | None
    timeout: TimeoutLike | None
    max_retries: int | None
    max_connections: int | None
    proxy: str | None
    verify: Verify | None
    trust_env: bool | None


@dataclass(frozen=True)
class ClientSettings:
    """Everything a client needs to reach the API. Build it with :meth:`resolve`.

    Transport options: ``max_connections`` (the pool size), ``proxy`` (a proxy URL for
    every request), ``verify`` (see :data:`Verify`) and ``trust_env`` (whether proxies and
    a CA bundle are also taken from the environment, see :mod:`.environment`; an explicit
    ``proxy`` or ``verify`` wins). A settings object with an ``SSLContext`` cannot be
    pickled: pass a CA bundle path to send it to worker processes.
    """

    api_key: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: Timeout = field(default_factory=Timeout)
    max_retries: int = DEFAULT_MAX_RETRIES
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    proxy: str | None = field(default=None, repr=False)  # its URL may hold credentials
    verify: Verify = True
    trust_env: bool = True

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        max_connections: int | None = None,
        proxy: str | None = None,
        verify: Verify | None = None,
        trust_env: bool | None = None,
    ) -> ClientSettings:
        """Check what the caller gave; fill the rest from the environment (the key and the
        URL: :data:`ENV_API_KEY`, :data:`ENV_BASE_URL`), then from the defaults."""
        if api_key is not None and not isinstance(api_key, str | Secret):
            raise InvalidRequestError(
                "api_key", f"must be a string, got {type(api_key).__name__} (value not shown)"
            )
        key = api_key if isinstance(api_key, Secret) else Secret(api_key or "")
        if not key:
            key = Secret(os.environ.get(ENV_API_KEY, ""))
        key = _checked_key(key)
        from_env = not base_url and bool(os.environ.get(ENV_BASE_URL))
        url = normalize_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL,
                                 source=ENV_BASE_URL if from_env else None)
        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidRequestError("max_retries", f"must be an int >= 0, got {retries!r}")
        connections = DEFAULT_MAX_CONNECTIONS if max_connections is None else max_connections
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
            raise InvalidRequestError(
                "max_connections", f"must be an int >= 1, got {connections!r}"
            )
        options = _transport_options(proxy, verify, trust_env)
        if key and _is_insecure(url):
            warnings.warn(
                f"The Assisterr API key would be sent over plain http to {urlsplit(url).hostname};"
                " use https for any host that is not loopback.",
                InsecureTransportWarning,
                stacklevel=_caller_stacklevel(),
            )
        return cls(key, url, Timeout.coerce(timeout), retries, connections, *options)

    def __repr__(self) -> str:
        return (
            f"ClientSettings(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"max_retries={self.max_retries}, api_key={'set' if self.api_key else 'unset'})"
        )


def _transport_options(
    proxy: str | None, verify: Verify | None, trust_env: bool | None
) -> tuple[str | None, Verify, bool]:
    """``proxy``, ``verify`` and ``trust_env`` checked (the proxy's URL is never shown: it
    may hold credentials)."""
    if proxy is not None:
        parts = urlsplit(proxy) if isinstance(proxy, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequestError("proxy", "must be an http(s) URL (value not shown)")
    if verify is None:
        verify = True
    if isinstance(verify, str):
        if not os.path.exists(verify):
            raise InvalidRequestError("verify", f"no CA bundle at {verify!r}")
    elif not isinstance(verify, bool | ssl.SSLContext):
        raise InvalidRequestError(
            "verify", f"must be a bool, a CA bundle path or an ssl.SSLContext, got {verify!r}"
        )
    if trust_env is not None and not isinstance(trust_env, bool):
        raise InvalidRequestError("trust_env", f"must be a bool, got {trust_env!r}")
    return proxy, verify, True if trust_env is None else trust_env


def _seconds(value: object, name: str) -> float:
    """``value`` as seconds: a finite number > 0 (inf would overflow the socket layer)."""
    if (
        isinstance(value, bool) or not isinstance(value, int | float)
        or not math.isfinite(value) or value <= 0
    ):
        raise InvalidRequestError(name, f"must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _checked_key(key: Secret) -> Secret:
    """Surrounding whitespace (a key read from a file) is dropped; inner whitespace,
    control characters and non-ASCII cannot travel in a header and are refused, without
    repeating the key."""
    value = key.get_secret_value().strip()
    if any(not (33 <= ord(char) <= 126) for char in value):
        raise InvalidRequestError(
            "api_key", "contains whitespace, control or non-ASCII characters (value not shown)"
        )
    return key if value == key.get_secret_value() else Secret(value)


def handle_name_from_env(owner: str, argument: str = "model") -> str:
    """The SLM's handle name from :data:`ENV_HANDLE_NAME`, for ``owner`` (a class) given
    none; the error names both ways of giving it."""
    handle = os.environ.get(ENV_HANDLE_NAME, "").strip()
    if not handle:
        raise InvalidRequestError(
            argument, "is required, the handle name of the Assisterr SLM to talk to: pass "
            f'{owner}({argument}="my-slm") or set {ENV_HANDLE_NAME}'
        )
    return handle


class InsecureTransportWarning(UserWarning):
    """The API key would travel unencrypted to a host that is not on this machine."""


def normalize_base_url(url: str, *, source: str | None = None) -> str:
    """Check that ``url`` is an http(s) URL and drop its trailing slash.

    A URL that ends with the API's prefix, or a leading part of it (``/api``, ``/api/v1``,
    ``/api/v1/slm``), loses that part with a warning: the client adds the prefix itself,
    and would otherwise request ``/api/v1/api/v1/slm/...``. ``source`` names where the URL
    came from (an environment variable), for the error or the warning to say where to fix it.
    """
    origin = f" (from {source})" if source else ""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequestError("base_url", f"must be a non-empty http(s) URL{origin}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError("base_url", _not_a_url(url.strip(), origin))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidRequestError(
            "base_url", f"must not carry credentials, a query or a fragment{origin}"
        )
    root = url.strip().rstrip("/")
    prefixes = API_PREFIX.split("/")
    for length in range(len(prefixes), 1, -1):  # the longest first
        prefix = "/".join(prefixes[:length])
        if urlsplit(root).path.endswith(prefix):
            corrected = root[: -len(prefix)]
            warnings.warn(
                f"base_url {root!r}{origin} ends with {prefix!r}, which the client adds to every"
                f" path itself: using {corrected!r}. Set the base URL to the API's root.",
                stacklevel=_caller_stacklevel(),
            )
            return corrected
    return root


def _not_a_url(url: str, origin: str) -> str:
    """Why ``url`` is no base URL, and, for one written without its scheme, the URL meant
    (http for this machine, https elsewhere). A value that may hold credentials is not
    repeated."""
    if "@" in url:
        return f"must be an http(s) URL{origin} (value not shown: it may hold credentials)"
    problem = f"must be an http(s) URL, got {url!r}{origin}"
    if not _HOST_PORT_PATH.fullmatch(url) or re.match(r"https?[:/]", url, re.I):
        return problem
    scheme = "https" if _is_insecure(f"http://{url}") else "http"
    return f"{problem}: did you mean '{scheme}://{url}'?"


# What a URL written without its scheme looks like: a host (a name or an address, IPv6 in
# brackets), then perhaps a port and a path.
_HOST_PORT_PATH = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(:\d+)?(/\S*)?")


# Frames of these packages are passed over, so that a settings warning names the line of the
# caller's code that built the client or the model.
_LIBRARY_PACKAGES = frozenset({"assisterr_core", "langchain_assisterr", "llama_index_assisterr",
                               "pydantic", "pydantic_core"})


def _caller_stacklevel() -> int:
    """The ``stacklevel`` (for a ``warnings.warn`` in the calling function) of the first
    frame outside this library and pydantic."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and (
        frame.f_globals.get("__name__", "").partition(".")[0] in _LIBRARY_PACKAGES
    ):
        frame, level = frame.f_back, level + 1
    return level


def _is_insecure(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
