"""Child process: serve the Assisterr emulator and the OpenAI stub on loopback.

``python -m benchmarks.serve --latency 0.05 --chunk-delay 0 --chunks 0`` prints one JSON line
``{"emulator": port, "stub": port, "bulk": port}`` and serves until its stdin closes or
SIGTERM (``bulk``: the one-big-event server of figure 6).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections.abc import Iterable

from aiohttp import web

from assisterr_emulator import EmulatorConfig, ResponderRequest, build_app
from assisterr_emulator.state import EmulatorState

from .bulk import build_bulk_app
from .stub import build_stub_app

API_KEY = "bench-key"


def fixed_chunks(count: int) -> object:
    """A responder that replies with ``count`` short chunks (" w0", " w1", ...)."""
    chunks = [f" w{i % 10}" for i in range(count)]
    chunks[0] = "w0"

    def respond(request: ResponderRequest) -> Iterable[str]:
        return chunks

    return respond


async def _serve(config: EmulatorConfig, chunks: int, stop: asyncio.Event) -> None:
    responder = fixed_chunks(chunks) if chunks else None
    state = EmulatorState(config, responder)  # type: ignore[arg-type]
    runners = [web.AppRunner(build_app(state), access_log=None),
               web.AppRunner(build_stub_app(config, state.responder), access_log=None),
               web.AppRunner(build_bulk_app(), access_log=None)]
    ports = []
    for runner in runners:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=512)
        await site.start()
        ports.append(runner.addresses[0][1])
    print(json.dumps({"emulator": ports[0], "stub": ports[1], "bulk": ports[2]}), flush=True)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=0, help="0: the emulator's default reply")
    args = parser.parse_args(argv)
    config = EmulatorConfig(api_key=API_KEY, latency=args.latency, chunk_delay=args.chunk_delay)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def wake() -> None:
        loop.call_soon_threadsafe(stop.set)

    def watch_stdin() -> None:  # the parent closes our stdin (or dies): stop
        sys.stdin.read()
        wake()

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: wake())
    loop.run_until_complete(_serve(config, args.chunks, stop))
    loop.close()


if __name__ == "__main__":
    main()
