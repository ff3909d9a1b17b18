"""Every notebook runs top to bottom against a local server it starts itself, and shows the
outputs it is committed with (what varies between runs aside: see ``_outputs``)."""

from __future__ import annotations

import difflib
from pathlib import Path

import nbformat
import pytest

from ._outputs import REFRESH_COMMAND, comparable_outputs, errors, execute, normalise
from .options import notebooks

NOTEBOOKS = notebooks()


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_committed_outputs(path: Path) -> None:
    committed = comparable_outputs(nbformat.read(path, as_version=4))
    executed = execute(path)
    assert errors(executed) == []
    outputs = comparable_outputs(executed)
    if outputs != committed:
        diff = "\n".join(difflib.unified_diff(
            _lines(committed), _lines(outputs), "committed", "executed now", lineterm=""))
        pytest.fail(f"{path.name}: its outputs changed; run {REFRESH_COMMAND} and commit the "
                    f"notebook\n{diff[:4000]}")


def _lines(cells: list[list[str]]) -> list[str]:
    return [f"cell {number}: {line}" for number, outputs in enumerate(cells, 1)
            for output in outputs for line in output.splitlines()]


def test_what_varies_between_runs_is_normalised_and_nothing_else() -> None:
    run = ("session 5f1c2a9e8b7d6c5b4a3f2e1d at 2026-01-31T12:00:00.123456+00:00 on "
           "127.0.0.1:41234: 300 prompts in 0.71 s: 423 prompts per second; 3 chunks")
    assert normalise(run) == ("session <id> at <time> on 127.0.0.1:<port>: 300 prompts in "
                              "<seconds> s: <n> prompts per second; 3 chunks")
