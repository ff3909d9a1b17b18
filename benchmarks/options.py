"""The benchmarks' command-line options, importable without the benchmarks' dependencies.

``scripts/run.py`` checks them (and answers ``--help``) before setting up the environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FIGURES = {
    "1": "per-call overhead",
    "2": "time to first token",
    "3": "async fan-out",
    "4": "stream throughput",
    "5": "import time",
    "6": "one big event",
    "7": "a batch job: one process vs Ray Data",
}
DESCRIPTION = """Run the benchmarks, print a table, save it with a chart. A full run of every
figure writes results/latest.json and .png (committed, quoted in the README); a --quick or
--only run writes under results/scratch/ (ignored by git), so a smoke run never overwrites
the published figures."""


def bench_parser(prog: str = "python3 scripts/run.py bench") -> argparse.ArgumentParser:
    figures = "; ".join(f"{key} {name}" for key, name in FIGURES.items())
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--only", default=",".join(FIGURES),
                        help=f"comma-separated figures to run (default: all): {figures}")
    parser.add_argument("--out", type=Path, default=None,
                        help="where latest.json/png go (default: results/ for a full run of "
                        "every figure, results/scratch/ otherwise)")
    return parser


def parse_bench_args(argv: list[str] | None = None,
                     prog: str = "python3 scripts/run.py bench") -> argparse.Namespace:
    """The options, with ``only`` as a list of figure keys; a bad one exits 2."""
    parser = bench_parser(prog)
    args = parser.parse_args(argv)
    args.only = [key.strip() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in args.only if key not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; there are {', '.join(FIGURES)}")
    return args
