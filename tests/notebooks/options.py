"""The notebooks command's options, importable without the notebooks' dependencies.

``scripts/run.py`` checks them (and answers ``--help``) before setting up the environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def notebooks_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 scripts/run.py notebooks",
        description="Execute the notebooks against a local server and rewrite those whose "
                    "outputs changed (the tests compare them with the committed ones).")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these notebooks (e.g. 03_streaming); default: all")
    return parser


def chosen_notebooks(parser: argparse.ArgumentParser, names: list[str]) -> list[Path]:
    """The notebooks ``names`` (all when empty); an unknown name exits 2, listing them."""
    known = {path.stem: path for path in notebooks()}
    unknown = [name for name in names if name.removesuffix(".ipynb") not in known]
    if unknown:
        parser.error(f"no notebook named {', '.join(unknown)}; there are {', '.join(known)}")
    return [known[name.removesuffix(".ipynb")] for name in names] or list(known.values())


def parse_notebooks_args(argv: list[str]) -> list[Path]:
    parser = notebooks_parser()
    return chosen_notebooks(parser, parser.parse_args(argv).names)
