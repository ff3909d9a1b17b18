"""The recording file: every byte survives a dump and a load; other files get a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assisterr_probe import Exchange, RecordedResponse, Recording, RecordingError, load
from assisterr_probe.recording import Chunk


def test_a_recording_survives_dump_and_load_byte_for_byte(tmp_path: Path) -> None:
    streamed = RecordedResponse(
        200, "OK", (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                    ("Content-Type", "text/event-stream")), 1.5,
        body=b'data: {"message": "caf\xc3\xa9"}\n\n',
        chunks=(Chunk(2.0, b'data: {"message": "caf\xc3'), Chunk(9.25, b'\xa9"}\n\n')))
    redirect = RecordedResponse(307, "Temporary Redirect", (("Location", "/x/"),), 0.5)
    recording = Recording("https://api.example", "my-slm", "2025-01-01T00:00:00Z", "probe/1", (
        Exchange("stream", "POST", "/x", {"Accept": "*/*"}, b'{"query": "q"}', True,
                 (redirect,), streamed, elapsed_ms=10.0),
        Exchange("chat", "POST", "/y", {}, error="ReadTimeoutError: timed out"),
        Exchange("history", "GET", "/z", {}, skipped="no session"),
    ))
    recording.dump(tmp_path / "r.json")
    stored = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    chunks = stored["exchanges"][0]["response"]["chunks"]
    assert [sorted(c) for c in chunks] == [["at_ms", "base64"], ["at_ms", "base64"]]
    assert load(tmp_path / "r.json") == recording


def test_files_that_are_not_readable_recordings_are_refused_clearly(tmp_path: Path) -> None:
    newer = {"format": "assisterr-probe-recording", "format_version": 99}
    damaged = {"format": "assisterr-probe-recording", "format_version": 1, "handle": "x"}
    files = {
        "not JSON": "{",
        "is not an assisterr-probe recording": json.dumps({"hello": "world"}),
        "format version 99; this version reads up to 1": json.dumps(newer),
        "is damaged: the recording has no '": json.dumps(damaged),
    }
    for problem, text in files.items():
        path = tmp_path / "r.json"
        path.write_text(text)
        with pytest.raises(RecordingError, match=problem):
            load(path)
    with pytest.raises(RecordingError, match="cannot read"):
        load(tmp_path / "missing.json")
