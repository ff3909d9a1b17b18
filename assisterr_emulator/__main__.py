"""``assisterr-emulator`` (or ``python -m assisterr_emulator``): serve the local
Assisterr-compatible API."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from assisterr_probe.recording import RecordingError

from .config import STREAM_FORMATS, EmulatorConfig
from .replay import load_profile
from .server import EmulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="assisterr-emulator",
        description="Serve a local Assisterr-compatible API (in memory, for offline work).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=None,
                        help="the only key accepted (default: any non-empty key)")
    parser.add_argument("--stream-format", choices=STREAM_FORMATS, default="json")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--history-order", choices=("newest-first", "oldest-first"),
                        default="newest-first")
    parser.add_argument("--replay", metavar="RECORDING",
                        help="answer as the service in this assisterr-probe recording did: "
                             "stream framing and pacing, error bodies, history order, ids")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="with --replay: multiply the recorded gaps between stream "
                             "chunks (0: no waiting; default 1)")
    args = parser.parse_args(argv)
    if not args.time_scale >= 0:
        parser.error("--time-scale must be >= 0")
    try:
        replay = load_profile(args.replay) if args.replay else None
    except RecordingError as exc:
        parser.error(str(exc))
    config = EmulatorConfig(
        api_key=args.api_key,
        stream_format=args.stream_format,
        chunk_delay=args.chunk_delay,
        latency=args.latency,
        history_order=args.history_order,
        replay=replay,
        replay_time_scale=args.time_scale,
    )
    server = EmulatorServer(config, host=args.host, port=args.port).start()
    print(f"Assisterr emulator listening on {server.base_url}", flush=True)
    if replay is not None:
        print(f"  replaying {replay.source}", flush=True)
    print(f"  export ASSISTERR_BASE_URL={server.base_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
