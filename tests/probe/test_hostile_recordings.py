"""Recordings that are damaged, hand-made or hostile: refused in one line, or replayed, never
a traceback and never a hang."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assisterr_emulator import EmulatorConfig, EmulatorServer
from assisterr_emulator.replay import load_profile
from assisterr_probe import (
    REDACTED,
    Exchange,
    RecordedResponse,
    Recording,
    RecordingError,
    judge,
    load,
)
from assisterr_probe.recording import Chunk, Redactor, to_json

from .conftest import probe, within_guard

KEY = "pk-recorded-3c2b1a0f9e8d"


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


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    """A genuine recording (SSE stream, JSON errors), as the JSON the file holds."""
    with EmulatorServer(stream_format="sse-json", api_key=KEY) as server:
        return to_json(probe(server.base_url, KEY))


def named(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in data["exchanges"] if e["name"] == name)
    return found


def set_in(name: str, *path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = named(data, name)
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


def every_chunk_at(value: float) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for chunk in named(data, "stream")["response"]["chunks"][1:]:
            chunk["at_ms"] = value
    return change


def unredacted_key(data: dict[str, Any]) -> None:
    for exchange in data["exchanges"]:
        if exchange["request_headers"].get("X-Api-Key") == REDACTED:
            exchange["request_headers"]["X-Api-Key"] = "pk-live-" + "7" * 24


def key_beside_a_redacted_one(data: dict[str, Any]) -> None:
    """A second spelling of the key header, holding the key, after the redacted one."""
    for exchange in data["exchanges"]:
        if exchange["request_headers"].get("X-Api-Key") == REDACTED:
            exchange["request_headers"]["x-api-key"] = "pk-live-" + "7" * 24


def truncated(data: dict[str, Any]) -> str:
    text = json.dumps(data)
    return text[: len(text) // 2]


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "truncated JSON": truncated,
    "exchanges an object": lambda data: data.update(exchanges={"a": 1}),
    "an exchange a number": lambda data: data["exchanges"].__setitem__(0, 5),
    "request headers a list": set_in("chat", "request_headers", value=["a"]),
    "a body text a number": set_in("chat", "response", "body", value={"text": 5}),
    "a status of 99999": set_in("wrong_key", "response", "status", value=99999),
    "a status of true": set_in("wrong_key", "response", "status", value=True),
    "an infinite status": set_in("wrong_key", "response", "status", value=math.inf),
    "a negative time": every_chunk_at(-1e12),
    "a time of 1e300 ms": every_chunk_at(1e300),
    "an infinite time": every_chunk_at(math.inf),
    "a time that is not a number": every_chunk_at(math.nan),
    "format version true": lambda data: data.update(format_version=True),
    "format version 0": lambda data: data.update(format_version=0),
    "an API key left in": unredacted_key,
    "an API key left in beside a redacted one": key_beside_a_redacted_one,
    "a line break in a content type": set_in(
        "wrong_key", "response", "headers", value=["Content-Type: text/plain\r\nX-Set: 1"]),
    "a control character in the stream's content type": set_in(
        "stream", "response", "headers", value=["Content-Type: text/event-stream\x01"]),
    "a session id of a million digits": set_in(
        "create_session", "response", "body", value={"text": json.dumps("7" * 1_000_000)}),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_the_emulator_refuses_a_corrupted_recording_in_one_line(
    corruption: str, recorded: dict[str, Any], tmp_path: Path
) -> None:
    data = copy.deepcopy(recorded)
    text = CORRUPTIONS[corruption](data)
    path = tmp_path / "recording.json"
    # (json.dumps writes infinities and NaN as JSON's extensions, which json reads back)
    path.write_text(json.dumps(data) if text is None else text, encoding="utf-8")
    command = [sys.executable, "-m", "assisterr_emulator", "--port", "0", "--replay", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the emulator started serving the recording instead of refusing it")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"assisterr-emulator: {path}")
    assert "7" * 24 not in done.stderr


def test_a_recorded_interim_answer_is_not_replayed_as_a_final_one(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    """A delete answered 100 (hand-made: the probe skips interim answers) is not canned:
    the replay answers the delete itself, and the client is not left waiting."""
    data = copy.deepcopy(recorded)
    named(data, "delete_session")["response"]["status"] = 100
    (tmp_path / "recording.json").write_text(json.dumps(data), encoding="utf-8")
    with EmulatorServer(replay=tmp_path / "recording.json", api_key=KEY,
                        replay_time_scale=0) as server:
        replayed = within_guard(lambda: probe(server.base_url, KEY))
    deleted = replayed.exchange("delete_session")
    assert deleted is not None and deleted.response is not None
    assert deleted.response.status == 200


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_recording_path_that_is_no_file_is_refused_without_waiting(tmp_path: Path) -> None:
    """A pipe nobody writes to (or a device that never ends) is not read at all."""
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(RecordingError, match="is not a file"):
        within_guard(lambda: load(tmp_path / "pipe.json"))


def test_an_infinite_time_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="replay_time_scale"):
        EmulatorConfig(replay_time_scale=math.inf)
