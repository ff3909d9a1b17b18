"""Recordings that are damaged, hand-made or hostile: refused in one line, or replayed, never
a traceback and never a hang."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from assisterr_emulator.replay import load_profile
from assisterr_probe import Exchange, RecordedResponse, Recording, RecordingError, judge, load
from assisterr_probe.recording import Chunk, Redactor

T = TypeVar("T")
HANG_GUARD = 60.0  # seconds: only there so that a hang fails the test instead of the run


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


def streamed(content_type: str, chunks: list[bytes]) -> Recording:
    response = RecordedResponse(
        200, "OK", (("Content-Type", content_type),), 1.0, b"".join(chunks),
        tuple(Chunk(1.0 + index / 1000, data) for index, data in enumerate(chunks)))
    exchange = Exchange("stream", "POST", "/api/v1/slm/my-slm/chat/stream/", {},
                        b'{"query": "q"}', True, response=response)
    return Recording("http://127.0.0.1:9", "my-slm", "2025-01-01T00:00:00Z", "probe",
                     (exchange,))


def test_a_stream_of_very_many_chunks_is_judged_and_replayed() -> None:
    for recording in (streamed("text/plain", [b"x"] * 200_000),
                      streamed("text/event-stream", [b'data: {"message": "x"}\n\n'] * 100_000)):
        verdict = within_guard(lambda recording=recording: judge(recording))  # type: ignore[misc]
        assert verdict.findings == []
        profile = within_guard(lambda recording=recording: load_profile(recording))  # type: ignore[misc]
        assert profile.stream_patterns


def test_a_key_echoed_across_very_many_chunks_is_redacted() -> None:
    key = "pk-split-key-0d9e8f7a"
    pieces = [key[:5].encode(), (key[5:] + " and ").encode()] * 100_000
    redacted = within_guard(lambda: Redactor(key).chunks(
        [Chunk(float(index), data) for index, data in enumerate(pieces)]))
    body = b"".join(chunk.data for chunk in redacted)
    assert key.encode() not in body
    assert body == b"[redacted-api-key] and " * 100_000
    assert len(redacted) == 100_000


def test_a_deeply_nested_recording_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RecordingError, match="is not JSON: JSON nested more than"):
        load(path)
