"""Probe, recording, a server replaying it, probe again: the client sees the same service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assisterr_emulator import STREAM_FORMATS, EmulatorServer
from assisterr_probe import Recording, judge

from .conftest import RunProbe, against, probe
from .variant_service import KEY, reply_to, variant_service


def stream_bodies(recording: Recording) -> list[bytes]:
    return [e.response.body for e in recording.exchanges if e.stream and e.response]


def test_the_probe_reads_every_stream_format_of_the_local_server(
    probe_command: RunProbe,
) -> None:
    misread = {}
    for stream_format in STREAM_FORMATS:
        with EmulatorServer(stream_format=stream_format) as server:
            run = probe_command(*against(server))
        framing = next(line for line in run.out.splitlines() if "stream framing" in line)
        if run.code != 0 or f" {stream_format}: " not in framing:
            misread[stream_format] = (run.code, framing, run.err[-500:])
    assert not misread


def test_a_server_replaying_a_recording_gives_the_same_verdict_and_bytes() -> None:
    for stream_format in STREAM_FORMATS:
        with EmulatorServer(stream_format=stream_format) as server:
            recorded = probe(server.base_url, server.api_key)
        with EmulatorServer(replay=recorded, replay_time_scale=0) as replaying:
            replayed = probe(replaying.base_url, replaying.api_key)
        assert judge(replayed) == judge(recorded), stream_format
        assert stream_bodies(replayed) == stream_bodies(recorded), stream_format


def test_a_replay_speaks_the_recorded_dialect() -> None:
    """Framing, pacing pattern, error bodies, ids, list shape, order and slashes as recorded."""
    with variant_service() as variant:
        recorded = probe(variant.base_url, KEY)
    facts = dict(judge(recorded).facts)
    assert facts["stream framing"].startswith("sse-json: SSE, data: {\"content\": ...}")
    assert "CRLF" in facts["stream framing"] and "event: token" in facts["stream framing"]
    assert facts["stream chunking"] == "events per chunk: 1, 2, 3"
    assert facts["session ids"] == "digits"
    assert facts["session list"] == "id strings"
    assert facts["history order"] == "oldest first"
    assert facts["without the trailing slash"] == "redirects (307) to the path with its slash"
    assert facts["error answers"].startswith("403 plain text; 404 JSON {\"error\": string}")

    with EmulatorServer(replay=recorded, responder=reply_to, api_key=KEY) as replaying:
        replayed = probe(replaying.base_url, KEY)
    assert judge(replayed) == judge(recorded)
    assert stream_bodies(replayed) == stream_bodies(recorded)
    created = replayed.exchange("create_session")
    assert created is not None and created.response is not None
    assert created.response.body.startswith(b'{"session_id": "')  # the recorded wrapping
    deleted = replayed.exchange("delete_session")
    assert deleted is not None and deleted.response is not None
    assert deleted.response.status == 204


def test_the_emulator_command_replays_a_recording(tmp_path: Path) -> None:
    with variant_service() as variant:
        recorded = probe(variant.base_url, KEY)
    recorded.dump(tmp_path / "recording.json")
    command = [sys.executable, "-m", "assisterr_emulator", "--port", "0", "--api-key", KEY,
               "--replay", str(tmp_path / "recording.json")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            base_url = first_line.rsplit(" ", 1)[-1].strip()
            assert base_url.startswith("http://127.0.0.1:"), first_line
            replayed = probe(base_url, KEY)
        finally:
            process.terminate()
            process.communicate(timeout=30)
    verdict, expected = judge(replayed), judge(recorded)
    # The command line's server has its own model, whose replies differ in length and so
    # in how many events there are to spread over chunks: compare all the rest.
    chunking = "stream chunking"
    assert {k: v for k, v in verdict.facts if k != chunking} == {
        k: v for k, v in expected.facts if k != chunking}
    assert [(r.exchange, r.status, r.finding) for r in verdict.rows] == [
        (r.exchange, r.status, r.finding) for r in expected.rows]


def test_a_recording_that_is_not_one_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"hello": "world"}')
    done = subprocess.run(
        [sys.executable, "-m", "assisterr_emulator", "--replay",
         str(tmp_path / "notes.json")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("is not an assisterr-probe recording")
    assert "Traceback" not in done.stderr
