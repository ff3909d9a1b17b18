#!/usr/bin/env python3
"""One entry point for the project's jobs; each sets up its own virtual environment.

    python3 scripts/run.py demo    # the demo (local server, or the real API with ASSISTERR_API_KEY)
    python3 scripts/run.py test    # lint, type checks and the whole test suite
    python3 scripts/run.py bench   # the benchmarks

Needs only Python 3.10+ and the package registries. The environment lives in ``.venv``
and is reinstalled when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
EXTRAS = {"demo": "demo", "test": "test", "bench": "bench"}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env(extra: str) -> Path:
    """Create ``.venv`` and install the project with ``extra``, unless already up to date."""
    python = venv_python()
    if not python.exists():
        print(f"[setup] creating {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extra}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"[setup] installing the project with the '{extra}' extra", flush=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f".[{extra}]"], check=True, cwd=ROOT)
        stamp.write_text(digest)
    return python


def run(*command: str) -> None:
    print(f"[run] {' '.join(command)}", flush=True)
    completed = subprocess.run(command, cwd=ROOT)
    if completed.returncode:
        sys.exit(completed.returncode)


def main(argv: list[str]) -> None:
    job = argv[0] if argv else ""
    if job not in EXTRAS:
        sys.exit(__doc__)
    python = str(ensure_env(EXTRAS[job]))
    rest = argv[1:]
    if job == "demo":
        run(python, "scripts/demo.py", *rest)
    elif job == "test":
        run(python, "-m", "ruff", "check", ".")
        run(python, "-m", "mypy")
        run(python, "-m", "pytest", *(rest or ["-q"]))
    else:
        run(python, "-m", "benchmarks", *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
