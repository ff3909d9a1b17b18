"""What the environment says about reaching a URL: its proxy and the CA bundle to trust, by
``requests``' rules, for both clients (so a model's sync and async calls go the same way).

- Proxy: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (lowercase names
  too), chosen by ``requests.utils``' own functions.
- CA bundle: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``.

The variables are read at every request, so one set after a client was built counts.
Working out a proxy walks the whole environment and matches ``NO_PROXY`` (on macOS and
Windows it asks the system): about 80 µs, so the answer is kept per scheme and host[:port]
(all of a URL that those functions read) until one of the proxy variables changes, and a
request pays a few dictionary lookups (under a microsecond).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

PROXY_VARIABLES = tuple(
    name for scheme in ("http", "https", "all", "no")
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
)
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_lock = threading.Lock()
_seen: tuple[object, ...] = ()
_by_origin: dict[tuple[str, str], str | None] = {}
_UNKNOWN = object()
_MAX_ORIGINS = 1024  # a client asks for a handful of origins; more: start over

# ``os.environ.get`` finds an absent name through a KeyError, about 0.6 µs a name, which
# every request would pay for each name. The mapping under ``os.environ`` (CPython's, a
# stable detail) answers in a tenth of that; its values only tell whether something changed.
_RAW: Mapping[object, object] | None = getattr(os.environ, "_data", None)
_ENCODE = getattr(os.environ, "encodekey", None)


def _watcher(names: tuple[str, ...]) -> Callable[[], tuple[object, ...]]:
    """A function returning the variables' values as they are now (None for those unset)."""
    raw, encode = _RAW, _ENCODE
    if raw is None or encode is None:
        return lambda: tuple(map(os.environ.get, names))
    encoded = tuple(map(encode, names))
    return lambda: tuple(map(raw.get, encoded))


_proxy_variables = _watcher(PROXY_VARIABLES)
_ca_variables = _watcher(CA_BUNDLE_VARIABLES)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None (also when none is set)."""
    global _seen
    seen = _proxy_variables()
    if not any(seen):
        return None
    origin = urlsplit(url)[:2]  # (scheme, netloc): a path's ids do not change the answer
    known = _by_origin.get(origin, _UNKNOWN) if seen == _seen else _UNKNOWN
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    from requests.utils import get_environ_proxies, select_proxy  # only when a proxy is set

    proxy = select_proxy(url, get_environ_proxies(url)) or None
    with _lock:
        if seen != _seen or len(_by_origin) >= _MAX_ORIGINS:
            _seen = seen
            _by_origin.clear()
        _by_origin[origin] = proxy
    return proxy


def environment_ca_bundle() -> str | None:
    """The CA bundle the environment names, or None."""
    if not any(_ca_variables()):
        return None
    return next((path for name in CA_BUNDLE_VARIABLES if (path := os.environ.get(name))), None)


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it when the process forked


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
