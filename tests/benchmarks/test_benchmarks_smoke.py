"""Smoke test: the benchmark harness runs end to end with tiny counts. No timing checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from benchmarks import fig_big_event, fig_fanout, fig_imports, fig_overhead, fig_stream, fig_ttft
from benchmarks.config import Counts
from benchmarks.harness import Candidate, Row, interleave
from benchmarks.raw import RawAssisterr, RawOpenAI
from benchmarks.report import markdown, table, write_chart, write_json
from benchmarks.servers import ServerProcess

TINY = Counts(overhead_rounds=2, ttft_rounds=1, ttft_chunk_delay=0.01, fanout_rounds=1,
              fanout_calls=6, fanout_concurrency=3, fanout_latency=0.01, stream_rounds=1,
              stream_chunks=40, import_rounds=1, big_event_chars=4096, big_event_rounds=1)


def test_stub_answers_like_the_emulator() -> None:
    with ServerProcess(chunks=5) as ep:
        raw, stub = RawAssisterr(ep), RawOpenAI(ep)
        try:
            assert raw.post("hi") == stub.post("hi") == "w0 w1 w2 w3 w4"
            assert list(raw.deltas("hi")) == list(stub.deltas("hi"))
            completion = requests.post(f"{ep.stub}/v1/completions", timeout=10,
                                       json={"model": "m", "prompt": "hi"}).json()
            assert completion["choices"][0]["text"] == "w0 w1 w2 w3 w4"
        finally:
            raw.close()
            stub.close()


def test_interleave_drops_a_failing_candidate() -> None:
    def broken() -> float:
        raise RuntimeError("boom")

    samples = interleave([Candidate("ok", lambda: 1.0), Candidate("bad", broken),
                          Candidate("missing", None, "not available: x")], rounds=3)
    assert samples.values == {"ok": [1.0, 1.0, 1.0]}
    assert "boom" in samples.notes["bad"] and samples.notes["missing"] == "not available: x"


@pytest.mark.parametrize("figure", [fig_overhead, fig_ttft, fig_fanout, fig_stream, fig_big_event],
                         ids=lambda f: f.__name__.rsplit(".", 1)[-1])
def test_figure_runs(figure: object, tmp_path: Path) -> None:
    rows: list[Row] = figure.run(TINY)  # type: ignore[attr-defined]
    assert rows and all(isinstance(r, Row) for r in rows)
    assert any(r.value is not None for r in rows)
    write_json(rows, {"mode": "smoke"}, tmp_path / "r.json")
    write_chart(rows, tmp_path / "r.png", "smoke")
    assert json.loads((tmp_path / "r.json").read_text())["rows"]
    assert (tmp_path / "r.png").stat().st_size > 0
    assert table(rows) and markdown(rows)


def test_import_timer_runs_a_fresh_interpreter() -> None:
    assert fig_imports.import_seconds("import json") >= 0
    with pytest.raises(RuntimeError):
        fig_imports.import_seconds("import no_such_module_here")


def test_only_a_full_run_of_every_figure_replaces_the_published_results() -> None:
    from benchmarks.__main__ import FIGURES, RESULTS, SCRATCH, results_dir

    assert results_dir(quick=False, only=list(FIGURES)) == RESULTS
    assert results_dir(quick=True, only=list(FIGURES)) == SCRATCH
    assert results_dir(quick=False, only=list(FIGURES)[:1]) == SCRATCH
