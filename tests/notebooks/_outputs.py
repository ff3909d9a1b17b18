"""Execute the notebooks against the local server, and compare or refresh their committed
outputs.

The notebooks are committed executed, so that a reader sees their outputs. The test suite
executes each one and compares its outputs with the committed ones, after normalising what
legitimately varies from run to run (see :data:`VARYING`); this module also refreshes them:

    python3 scripts/run.py notebooks   # or: python -m tests.notebooks._outputs --write

rewrites the notebooks whose outputs changed (others are left as they are, so a refresh with
nothing new leaves git clean).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from .options import chosen_notebooks, notebooks_parser

CELL_TIMEOUT = 120
REFRESH_COMMAND = "python3 scripts/run.py notebooks"

# Ray's own log lines (its Python and C++ formats), left out of the comparison: they carry
# times, process and actor ids, and may reach the kernel's output a moment late.
RAY_LOG_LINE = re.compile(
    r"^(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [DIWEF] \d+ \d+\] \S+\.cc:\d+: "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\t(DEBUG|INFO|WARNING|ERROR) \S+\.py:\d+ -- ).*\n?",
    re.M,
)
# What else differs between two runs of the same notebook, and the placeholder it becomes.
# The notebooks print little that varies: they show durations as "<seconds> s" and rates
# as "<n> prompts per second", and sort what arrives in any order.
VARYING = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?"), "<time>"),
    (re.compile(r"datetime\.datetime\([\d, ]+(, tzinfo=[\w.]+)?\)"), "<time>"),
    (re.compile(r"\b[0-9a-f]{24}\b"), "<id>"),  # the local server's session and message ids
    (re.compile(r"\blc_run--[0-9a-f-]+"), "<run id>"),  # LangChain's message ids
    (re.compile(r"\b\d+(\.\d+)? s\b"), "<seconds> s"),
    (re.compile(r"\b\d+(\.\d+)? prompts per second"), "<n> prompts per second"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
]


@contextmanager
def offline_environment() -> Iterator[None]:
    """No Assisterr settings in the environment the kernel inherits: each notebook starts
    its own local server, never the real API."""
    saved = {name: os.environ.pop(name) for name in list(os.environ)
             if name.startswith("ASSISTERR_")}
    try:
        yield
    finally:
        os.environ.update(saved)


def execute(path: Path) -> Any:
    """The notebook at ``path``, executed top to bottom in a fresh kernel."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    with offline_environment():
        client.execute()
    return notebook


def normalise(text: str) -> str:
    for pattern, placeholder in VARYING:
        text = pattern.sub(placeholder, text)
    return text


def comparable_outputs(notebook: Any) -> list[list[str]]:
    """Each code cell's outputs as text, with what varies between runs normalised.

    A cell's writes to stdout count as one output, and so do its writes to stderr: how the
    kernel batches them into messages, and interleaves the two, depends on timing.
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        streams: dict[str, str] = {}
        shown: list[str] = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + output.text
            elif output.output_type in ("execute_result", "display_data"):
                shown.append(f"[{output.output_type}] {output.data.get('text/plain', '')}")
            elif output.output_type == "error":
                shown.append(f"[error] {output.ename}: {output.evalue}")
        written = {name: RAY_LOG_LINE.sub("", text) for name, text in sorted(streams.items())}
        shown = [f"[{name}] {text}" for name, text in written.items() if text] + shown
        cells.append([normalise(text) for text in shown])
    return cells


def errors(notebook: Any) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells
            if cell.cell_type == "code" for output in cell.get("outputs", [])
            if output.output_type == "error"]


def refresh(paths: list[Path]) -> int:
    """Execute ``paths`` and rewrite those whose outputs changed; 1 if one fails to run."""
    status = 0
    for path in paths:
        committed = comparable_outputs(nbformat.read(path, as_version=4))
        executed = execute(path)
        failed = errors(executed)
        if failed:
            print(f"{path.name}: FAILED, not written: {failed[0]}")
            status = 1
        elif comparable_outputs(executed) == committed:
            print(f"{path.name}: outputs up to date")
        else:
            nbformat.write(executed, path)
            print(f"{path.name}: outputs rewritten")
    return status


def main(argv: list[str]) -> int:
    parser = notebooks_parser()
    parser.add_argument("--write", action="store_true", required=True,
                        help=argparse.SUPPRESS)  # scripts/run.py passes it
    return refresh(chosen_notebooks(parser, parser.parse_args(argv).names))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
