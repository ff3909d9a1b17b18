"""The demo's command-line options, importable without the project's dependencies.

``scripts/run.py`` checks them (and answers ``--help``) before setting up the environment.
"""

from __future__ import annotations

import argparse

DESCRIPTION = """The demo: both integrations, live, step by step. Without ASSISTERR_API_KEY it
starts the bundled local Assisterr-compatible server; with it, it talks to the real API
(ASSISTERR_HANDLE_NAME names the SLM, ASSISTERR_BASE_URL overrides the URL). A failed step
prints one line with the error and a hint; the exit status is 1 if any step failed."""


def demo_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 scripts/run.py demo", description=DESCRIPTION)
    parser.add_argument("--local", action="store_true",
                        help="use the local server even when ASSISTERR_API_KEY is set")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print the full traceback of a failed step")
    return parser


def parse_demo_args(argv: list[str] | None = None) -> argparse.Namespace:
    return demo_parser().parse_args(argv)
