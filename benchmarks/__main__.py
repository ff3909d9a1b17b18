"""``python -m benchmarks [--quick] [--only 1,2,...] [--out DIR]``: run, print, save.

A full run of every figure writes ``results/latest.json`` and ``.png`` (committed, quoted in
the README); a quick or partial run writes under ``results/scratch/`` (ignored by git), so
a smoke run never overwrites the published figures.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from . import fig_big_event, fig_fanout, fig_imports, fig_overhead, fig_scale, fig_stream, fig_ttft
from .config import FULL, QUICK, Counts
from .harness import Row
from .options import FIGURES as FIGURE_NAMES
from .options import parse_bench_args
from .report import table, write_chart, write_json

FIGURES: dict[str, Callable[[Counts], list[Row]]] = {
    "1": fig_overhead.run,
    "2": fig_ttft.run,
    "3": fig_fanout.run,
    "4": fig_stream.run,
    "5": fig_imports.run,
    "6": fig_big_event.run,
    "7": fig_scale.run,
}
assert set(FIGURES) == set(FIGURE_NAMES)
RESULTS = Path(__file__).resolve().parent / "results"
SCRATCH = RESULTS / "scratch"


def run_all(counts: Counts, only: list[str], log: Callable[[str], None] = print) -> list[Row]:
    """Run the chosen figures in order and return all their rows."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")  # loopback only, never a proxy
    rows: list[Row] = []
    for key in only:
        started = time.perf_counter()
        log(f"[bench] figure {key} ...")
        rows += FIGURES[key](counts)
        log(f"[bench] figure {key} took {time.perf_counter() - started:.1f} s")
    return rows


def results_dir(*, quick: bool, only: list[str]) -> Path:
    """Where a run's results go: only a full run of every figure replaces the published ones."""
    return RESULTS if not quick and sorted(only) == sorted(FIGURES) else SCRATCH


def main(argv: list[str] | None = None) -> int:
    args = parse_bench_args(argv, prog="python -m benchmarks")
    only = args.only
    args.out = args.out or results_dir(quick=args.quick, only=only)
    counts = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows = run_all(counts, only, log=lambda line: print(line, file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - started
    print(table(rows))
    meta = {
        "mode": "quick" if args.quick else "full",
        "figures": only,
        "counts": vars(counts) if hasattr(counts, "__dict__") else {},
        "seconds": round(elapsed, 1),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }
    write_json(rows, meta, args.out / "latest.json")
    title = f"assisterr-integrations benchmarks ({meta['mode']} run, {meta['machine']})"
    write_chart(rows, args.out / "latest.png", title)
    print(f"\nwrote {args.out / 'latest.json'} and {args.out / 'latest.png'} "
          f"({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
