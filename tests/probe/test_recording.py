"""The recording file: every byte survives a dump and a load; other files get a clear error."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
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


WRITE_WITH_A_SIZE_LIMIT = """
import resource, signal, sys
from assisterr_probe import load
recording = load(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
try:
    recording.dump(sys.argv[2])
except OSError as exc:
    print(exc.errno)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_recording_that_cannot_be_written_whole_leaves_the_old_file_as_it_was(
    tmp_path: Path,
) -> None:
    """A full disk (here a file size limit) in the middle of the write: --out is untouched."""
    recording = Recording("https://api.example", "my-slm", "2025-01-01T00:00:00Z", "probe/1", (
        Exchange("chat", "POST", "/y", {}, b'{"query": "' + b"q" * 5000 + b'"}'),))
    recording.dump(tmp_path / "source.json")
    (tmp_path / "out.json").write_text("an earlier recording\n")
    done = subprocess.run([sys.executable, "-c", WRITE_WITH_A_SIZE_LIMIT,
                           str(tmp_path / "source.json"), str(tmp_path / "out.json")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == str(errno.EFBIG), done.stderr
    assert (tmp_path / "out.json").read_text() == "an earlier recording\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "source.json"]


def test_a_recording_written_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    recording = Recording("https://api.example", "my-slm", "2025-01-01T00:00:00Z", "probe/1")
    (tmp_path / "target.json").write_text("old")
    (tmp_path / "link.json").symlink_to("target.json")
    recording.dump(tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink()
    assert load(tmp_path / "target.json") == recording
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "target.json"]
