"""Transport options, on both clients: connection limits, a proxy (given, or from the
environment by requests' rules, read at each request) and TLS verification (a CA bundle, an
SSL context, or the environment's bundle).

A second local server plays the proxy: a proxied request reaches it in absolute form, and it
answers as the API would. An unreachable base URL proves that nothing went direct.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from assisterr_core import (
    APIConnectionError,
    AssisterrClient,
    AsyncAssisterrClient,
    ClientSettings,
    InvalidRequestError,
)
from assisterr_emulator import EmulatorServer

from .conftest import ClientDriver, make_client

HANDLE = "test-slm"
UNREACHABLE = "http://assisterr.localhost:9"  # loopback's discard port: refused if reached
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                   "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def proxy(clean_environment: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A second local server, used as an HTTP proxy."""
    with EmulatorServer(api_key=None) as server:
        yield server


def unreachable(kind: str, **settings: Any) -> ClientDriver:
    """A client whose base URL nothing listens on: only a proxy can answer it."""
    options: dict[str, Any] = {"api_key": "proxied-key", "base_url": UNREACHABLE,
                               "max_retries": 0, **settings}
    return ClientDriver(AssisterrClient(**options) if kind == "sync"
                        else AsyncAssisterrClient(**options))


def test_an_environment_proxy_counts_from_the_next_request(
    client_kind: str, proxy: EmulatorServer, clean_environment: pytest.MonkeyPatch
) -> None:
    api = unreachable(client_kind)
    with pytest.raises(APIConnectionError):
        api.call("chat", HANDLE, "direct")  # no proxy yet: the base URL is unreachable
    clean_environment.setenv("ALL_PROXY", proxy.base_url)  # after the client was built
    assert api.call("chat", HANDLE, "via the proxy").text.endswith("via the proxy")
    deltas, error = api.stream(HANDLE, "streamed via the proxy")
    assert error is None and "".join(deltas).endswith("streamed via the proxy")
    assert [r.headers["Host"] for r in proxy.chat_requests()] == ["assisterr.localhost:9"] * 2


def test_no_proxy_sends_a_host_direct_from_the_next_request(
    client_kind: str, proxy: EmulatorServer, assisterr_emulator: EmulatorServer,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.base_url)
    api = ClientDriver(make_client(client_kind, assisterr_emulator, max_retries=0))
    api.call("chat", HANDLE, "proxied")
    clean_environment.setenv("NO_PROXY", "127.0.0.1")
    api.call("chat", HANDLE, "direct")
    assert [r.query for r in proxy.chat_requests()] == ["proxied"]
    assert [r.query for r in assisterr_emulator.chat_requests()] == ["direct"]


def test_a_given_proxy_wins_and_trust_env_false_ignores_the_environment(
    client_kind: str, proxy: EmulatorServer, assisterr_emulator: EmulatorServer,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("ALL_PROXY", UNREACHABLE)
    given = unreachable(client_kind, proxy=proxy.base_url)
    assert given.call("chat", HANDLE, "given").text.endswith("given")
    untrusting = ClientDriver(make_client(client_kind, assisterr_emulator, max_retries=0,
                                          trust_env=False))
    assert untrusting.call("chat", HANDLE, "no env").text.endswith("no env")
    assert len(proxy.chat_requests()) == 1


def test_unusable_transport_options_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="proxy: must be an http") as caught:
        ClientSettings.resolve(proxy="socks5://user:hunter2@proxy:1080")
    assert "hunter2" not in str(caught.value)  # a proxy URL may hold credentials
    with pytest.raises(InvalidRequestError, match="verify: no CA bundle"):
        ClientSettings.resolve(verify=str(tmp_path / "absent.pem"))
    with pytest.raises(InvalidRequestError, match="max_connections: must be an int >= 1"):
        ClientSettings.resolve(max_connections=0)  # not quietly the default


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(authority: trustme.CA) -> Iterator[EmulatorServer]:
    """The local server on https, with a certificate from a private authority."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with EmulatorServer(api_key=None, ssl_context=context) as server:
        yield server


@pytest.fixture
def bundle(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


def tls_driver(kind: str, server: EmulatorServer, **settings: Any) -> ClientDriver:
    return ClientDriver(make_client(kind, server, max_retries=0, **settings))


def test_an_unknown_authority_is_refused_and_a_bundle_or_context_trusts_it(
    client_kind: str, tls_server: EmulatorServer, bundle: str, authority: trustme.CA,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
        tls_driver(client_kind, tls_server).call("chat", HANDLE, "untrusted")
    assert tls_driver(client_kind, tls_server, verify=bundle).call(
        "chat", HANDLE, "bundle").text.endswith("bundle")
    context = ssl.create_default_context()
    authority.configure_trust(context)
    assert tls_driver(client_kind, tls_server, verify=context).call(
        "chat", HANDLE, "context").text.endswith("context")


def test_the_environments_ca_bundle_is_trusted_unless_told_otherwise(
    client_kind: str, tls_server: EmulatorServer, bundle: str,
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("REQUESTS_CA_BUNDLE", bundle)
    assert tls_driver(client_kind, tls_server).call("chat", HANDLE, "env").text.endswith("env")
    with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
        tls_driver(client_kind, tls_server, trust_env=False).call("chat", HANDLE, "no env")
