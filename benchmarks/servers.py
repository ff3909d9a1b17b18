"""Start the benchmark servers in a child process, so they don't slow the measuring one."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .serve import API_KEY

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Endpoints:
    """Where the emulator, the stub and the one-big-event server listen, and the key."""

    emulator: str
    stub: str
    bulk: str
    api_key: str = API_KEY


class ServerProcess:
    """The emulator and the OpenAI stub in one child process, sharing one timing config."""

    def __init__(self, *, latency: float = 0.0, chunk_delay: float = 0.0, chunks: int = 0):
        self.args = ["--latency", str(latency), "--chunk-delay", str(chunk_delay),
                     "--chunks", str(chunks)]
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> Endpoints:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.serve", *self.args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the benchmark server process failed to start")
        ports = json.loads(line)
        return Endpoints(*(f"http://127.0.0.1:{ports[name]}"
                           for name in ("emulator", "stub", "bulk")))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
