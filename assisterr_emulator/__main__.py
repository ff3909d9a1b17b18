"""``assisterr-emulator`` (or ``python -m assisterr_emulator``): serve the local
Assisterr-compatible API."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import math
import signal
import sys
import threading
from urllib.parse import urlsplit, urlunsplit

from assisterr_core.transport import (
    API_KEY_HEADER,
    API_PREFIX,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_HANDLE_NAME,
)
from assisterr_probe.recording import RecordingError

from .config import STREAM_FORMATS, EmulatorConfig
from .replay import load_profile
from .request_log import REQUEST_LOGGER
from .server import EmulatorServer

EXAMPLE_HANDLE = "my-slm"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="assisterr-emulator",
        description="Serve a local Assisterr-compatible API (in memory, for offline work).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=None,
                        help="the only key accepted (default: any non-empty key)")
    parser.add_argument("--stream-format", choices=STREAM_FORMATS, default="json")
    parser.add_argument("--chunk-delay", type=_seconds, default=0.0,
                        help="seconds between chunks")
    parser.add_argument("--latency", type=_seconds, default=0.0, help="seconds before answering")
    parser.add_argument("--history-order", choices=("newest-first", "oldest-first"),
                        default="newest-first")
    parser.add_argument("--replay", metavar="RECORDING",
                        help="answer as the service in this assisterr-probe recording did: "
                             "stream framing and pacing, error bodies, history order, ids")
    parser.add_argument("--time-scale", type=_seconds, default=1.0,
                        help="with --replay: multiply the recorded gaps between stream "
                             "chunks (0: no waiting; default 1)")
    parser.add_argument("--log-requests", action="store_true",
                        help="print one line per request: method, path, status, milliseconds")
    args = parser.parse_args(argv)
    try:
        replay = load_profile(args.replay) if args.replay else None
    except RecordingError as exc:
        print(f"assisterr-emulator: {exc}", file=sys.stderr)  # one line, no usage
        sys.exit(2)
    config = EmulatorConfig(
        api_key=args.api_key,
        stream_format=args.stream_format,
        chunk_delay=args.chunk_delay,
        latency=args.latency,
        history_order=args.history_order,
        replay=replay,
        replay_time_scale=args.time_scale,
    )
    if args.log_requests:
        _print_requests()
    try:
        server = EmulatorServer(config, host=args.host, port=args.port,
                                log_requests=args.log_requests).start()
    except OSError as exc:
        sys.exit(f"assisterr-emulator: {_cannot_listen(args.host, args.port, exc)}")
    lines = startup_lines(server.base_url, key_given=args.api_key is not None,
                          logging_requests=args.log_requests,
                          local_url=_loopback_url(server.base_url))
    print("\n".join(lines), flush=True)
    if replay is not None:
        print(f"  replaying {replay.source}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


def _port(text: str) -> int:
    """A TCP port for ``--port``: 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0 picks a free port), got {text}")
    return port


def _seconds(text: str) -> float:
    """A duration or factor: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def startup_lines(base_url: str, *, key_given: bool, logging_requests: bool,
                  local_url: str | None = None) -> list[str]:
    """What a person who started the server by hand needs: the URL, the key it takes (never
    shown), the variables to export and a request to try.

    ``base_url`` is the URL the server listens on; ``local_url`` (default ``base_url``) the
    one this machine reaches it on, which the export and the request use. They differ when
    it listens on every interface (0.0.0.0, ::): the first line then says so.
    """
    listening = f"Assisterr emulator listening on {base_url}"
    if local_url is None or local_url == base_url:
        local_url = base_url
    else:
        listening += " (every interface)"
    exports = [f"{ENV_BASE_URL}={local_url}", f"{ENV_HANDLE_NAME}={EXAMPLE_HANDLE}"]
    if key_given:
        key = f"only the one given with --api-key (set {ENV_API_KEY} to it)"
    else:
        key = "any non-empty key"
        exports.insert(1, f"{ENV_API_KEY}=anything")
    chat_url = f"{local_url}{API_PREFIX}/{EXAMPLE_HANDLE}/chat/"
    return [
        listening,
        f"  API key: {key}; SLM: any handle name",
        f"  export {' '.join(exports)}",
        f"  try: curl -sS -X POST {chat_url} -H \"{API_KEY_HEADER}: ${ENV_API_KEY}\""
        """ -H 'Content-Type: application/json' -d '{"query": "Hello"}'""",
        "  Ctrl-C stops it" + ("" if logging_requests else
                               "; --log-requests prints one line per request"),
    ]


def _loopback_url(base_url: str) -> str:
    """``base_url`` with a wildcard host (0.0.0.0, ::) replaced by loopback's address: the
    URL a client on this machine uses (the key is sent there without a plain-http warning)."""
    parts = urlsplit(base_url)
    loopback = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(  # noqa: S104 (a URL, no bind)
        parts.hostname or "")
    if loopback is None:
        return base_url
    return urlunsplit(parts._replace(netloc=f"{loopback}:{parts.port}"))


def _print_requests() -> None:
    """The request log's lines on stdout, as they are (no logging prefix)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    REQUEST_LOGGER.addHandler(handler)
    REQUEST_LOGGER.setLevel(logging.INFO)
    REQUEST_LOGGER.propagate = False


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    """One line saying why the server could not listen, and what to do."""
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another emulator?): stop what "
                f"holds it, or choose another with --port (--port 0 picks a free one)")
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


if __name__ == "__main__":
    main()
