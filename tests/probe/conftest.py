"""The probe's command run in-process against local servers, with what it printed."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from assisterr_core.transport.settings import Secret
from assisterr_emulator import EmulatorServer
from assisterr_probe import Recording, load, run_probe
from assisterr_probe.cli import main
from assisterr_probe.runner import ProbeSettings

HANDLE = "my-slm"
HANG_GUARD = 60.0  # seconds: only there so that a hang fails the test instead of the run
T = TypeVar("T")


def within_guard(work: Callable[[], T]) -> T:
    """``work()``, run on a thread; fails (instead of hanging) if it has not returned by the
    hang guard."""
    done: list[T | BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:
            done.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert done, "did not return"
    if isinstance(done[0], BaseException):
        raise done[0]
    return done[0]


@dataclass(frozen=True)
class ProbeRun:
    code: int
    out: str
    err: str
    recording: Recording | None

    @property
    def printed(self) -> str:
        return self.out + self.err


RunProbe = Callable[..., ProbeRun]


@pytest.fixture
def probe_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunProbe:
    """``probe_command(*args)``: run ``assisterr-probe`` with no ASSISTERR_* variables set."""
    for name in ("ASSISTERR_API_KEY", "ASSISTERR_HANDLE_NAME", "ASSISTERR_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> ProbeRun:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        written = sorted(tmp_path.glob("*.json"))
        recording = load(written[-1]) if written and code in (0, 1) else None
        return ProbeRun(code, out.getvalue(), err.getvalue(), recording)

    return run


def against(server: EmulatorServer, *more: str) -> tuple[str, ...]:
    """The options that point the probe at ``server``."""
    return ("--base-url", server.base_url, "--api-key", server.api_key, "--handle", HANDLE,
            "--out", "recording.json", *more)


def probe(base_url: str, key: str) -> Recording:
    """One probe run through the library, as the command runs it."""
    return run_probe(ProbeSettings(Secret(key), base_url, HANDLE))
