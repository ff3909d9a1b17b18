"""Ctrl-C in the middle of a probe: the session is deleted if it can be, the message says what
became of it, nothing is half-written, and no traceback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.reliability.raw_peer import Conn, RawRequest

from .conftest import HANDLE, ProbeRun, RunProbe
from .hostile_service import Misbehaviour, Where, ends_with, hostile_service


def interrupt_then(answer: bytes | None) -> Misbehaviour:
    """Press Ctrl-C (a SIGINT to this process) while the probe waits for this answer; then
    give ``answer`` (None: none)."""
    def misbehave(conn: Conn, request: RawRequest) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        if answer is None:
            conn.hold(30)
        else:
            conn.respond(200, answer)
    return misbehave


def probe_interrupted(probe_command: RunProbe, misbehave: Misbehaviour, where: Where,
                      *more: str) -> tuple[ProbeRun, list[RawRequest]]:
    with hostile_service(misbehave, where) as service:
        try:
            run = probe_command("--base-url", service.base_url, "--api-key", "k" * 24,
                                "--handle", HANDLE, "--out", "recording.json", *more)
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C escaped the probe")
        return run, service.requests


def test_ctrl_c_while_the_session_is_created_says_it_may_be_left(
    probe_command: RunProbe, tmp_path: Path
) -> None:
    run, sent = probe_interrupted(probe_command, interrupt_then(None),
                                  ends_with("/session/create/"))
    assert run.code == 130
    assert [r.path for r in sent] == [f"/api/v1/slm/{HANDLE}/session/create/"]
    assert run.err.splitlines()[-1].startswith("assisterr-probe: interrupted")
    assert "was deleted" not in run.err and "session/list" in run.err
    assert not list(tmp_path.iterdir())


def test_ctrl_c_twice_says_the_session_was_not_deleted(
    probe_command: RunProbe, tmp_path: Path
) -> None:
    """The first Ctrl-C during the chat, the second during the delete that cleans up."""
    def twice(conn: Conn, request: RawRequest) -> None:
        interrupt_then(None)(conn, request)

    run, sent = probe_interrupted(
        probe_command, twice,
        lambda r: r.path.endswith(f"/{HANDLE}/chat/") or r.method == "DELETE")
    assert run.code == 130
    assert [r.method for r in sent][-1] == "DELETE"
    last = run.err.splitlines()[-1]
    assert "was deleted" not in last and "not deleted" in last
    assert not list(tmp_path.iterdir())


def test_ctrl_c_after_the_run_writes_nothing_and_raises_nothing(
    probe_command: RunProbe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pressed(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("assisterr_probe.verdict.render", pressed)
    run, sent = probe_interrupted(probe_command, interrupt_then(None), lambda r: False)
    assert run.code == 130
    assert [r.method for r in sent].count("DELETE") == 1
    assert "interrupted" in run.err.splitlines()[-1]
    assert "Traceback" not in run.printed
    assert not list(tmp_path.iterdir())
