#!/usr/bin/env python3
"""One entry point for the project's jobs; each sets up its own virtual environment.

usage: python3 scripts/run.py COMMAND [ARGS...]

commands:
  demo [OPTIONS]     the demo: the local server, or the real API when ASSISTERR_API_KEY is set
                     (`demo --help` lists its options)
  test [PYTEST ...]  lint, type checks and the whole test suite (arguments go to pytest)
  bench [OPTIONS]    the benchmarks (`bench --help` lists their options)
  probe [OPTIONS]    check the client against the real service with your key: records what it
                     sends and says what the client read (`probe --help`: options, cost)
  notebooks [NAMES]  run the notebooks against the local server and rewrite those whose
                     outputs changed (the tests compare them with the committed ones)

Needs only Python 3.10+ and the package registries. The environment lives in .venv and is
reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
NEEDED = (3, 10)  # the project's requires-python
EXTRAS = {"demo": "demo", "test": "test", "bench": "bench", "probe": "demo", "notebooks": "test"}
USAGE = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def stale_venv(path: Path) -> str | None:
    """Why the virtual environment at ``path`` cannot serve: made by a Python older than the
    project needs (a run with an old Python leaves one behind). None when it can, or when
    its pyvenv.cfg does not say."""
    try:
        settings = (path / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in settings.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            try:
                made_with = tuple(int(part) for part in value.strip().split(".")[:2])
            except ValueError:
                return None
            return f"it was made with Python {value.strip()}" if made_with < NEEDED else None
    return None


def create_venv() -> None:
    """Make ``.venv`` with pip in it, or exit saying why; a half-made one is removed (it would
    fail every later run)."""
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except KeyboardInterrupt:
        shutil.rmtree(VENV, ignore_errors=True)
        raise
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        sys.exit(f"[setup] could not create {VENV.name}/ with pip in it ({exc}). On Debian and "
                 f"Ubuntu, venv's pip comes in a package of its own: sudo apt install "
                 f"python3-venv (or python{sys.version_info[0]}.{sys.version_info[1]}-venv), "
                 "then run this again.")


def ensure_env(extra: str) -> Path:
    """Create ``.venv`` and install the project with ``extra``, unless already up to date."""
    python = venv_python()
    reason = stale_venv(VENV) if VENV.exists() else None
    if reason:
        print(f"[setup] making {VENV.name}/ again: {reason}", flush=True)
    if reason or not python.exists():
        print(f"[setup] creating {VENV.name}/", flush=True)
        create_venv()
    stamp = VENV / f".installed-{extra}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        started = time.monotonic()
        print(f"[setup] installing the project with the '{extra}' extra "
              "(a minute or two on a fresh machine)", flush=True)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
               "--progress-bar", "off"]
        pip_install([*pip, "--upgrade", "pip"], "pip")
        pip_install([*pip, "-e", f".[{extra}]"], "packages")
        stamp.write_text(digest)
        print(f"[setup] done in {time.monotonic() - started:.0f} s", flush=True)
    return python


def pip_install(command: list[str], what: str) -> None:
    """Run pip, showing one progress line instead of its log; the log only on failure."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    log: list[str] = []
    seen = 0
    live = sys.stdout.isatty()
    for line in process.stdout:
        log.append(line)
        if line.startswith("Collecting "):
            seen += 1
            name = line.split()[1]
            if live:
                print(f"\r[setup] {what}: {seen} resolved, now {name:<40.40}", end="", flush=True)
            elif seen % 25 == 0:
                print(f"[setup] {what}: {seen} resolved", flush=True)
        elif line.startswith("Installing collected packages"):
            print(("\r" if live else "") + f"[setup] {what}: installing {seen} package(s)"
                  + " " * 30, flush=True)
    if process.wait():
        sys.stdout.write("".join(log[-60:]))
        sys.exit(f"[setup] pip failed (exit {process.returncode}); its last lines are above")


INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


def run(*command: str) -> None:
    """Run ``command`` and exit with its status if it fails. Ctrl-C reaches the command too
    (the terminal interrupts the whole job): wait for it to finish its own clean-up, then
    exit without a traceback of ours."""
    print(f"[run] {' '.join(command)}", flush=True)
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        status = process.wait()
    except KeyboardInterrupt:
        status = wait_after_interrupt(process)
    if status:
        sys.exit(INTERRUPTED if status < 0 else status)


def wait_after_interrupt(process: subprocess.Popen[bytes]) -> int:
    """The status of ``process`` once it has ended; a second Ctrl-C stops it at once."""
    try:
        process.wait()
    except KeyboardInterrupt:
        process.kill()
        process.wait()
    return process.returncode or INTERRUPTED


def usage_error(message: str) -> None:
    print(f"run.py: {message}\n\n{USAGE}", file=sys.stderr)
    sys.exit(2)


TEST_HELP = """usage: python3 scripts/run.py test [PYTEST ARGS...]

Lint (ruff), type checks (mypy), then the whole test suite (pytest), in .venv with the
'test' extra. Arguments go to pytest, for example:
  python3 scripts/run.py test tests/test_demo.py    one file
  python3 scripts/run.py test -k readme             tests whose names match
  python3 scripts/run.py test -m 'not slow'         without the notebooks, README blocks,
                                                    demo and benchmark smoke tests
pytest's own options: .venv/bin/python -m pytest --help (once set up)."""


def check_options(job: str, rest: list[str]) -> None:
    """Answer ``--help`` and refuse bad options with the job's own parser, which needs
    nothing but the standard library, so that neither waits for the set-up."""
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    if job == "demo":
        from demo_options import parse_demo_args

        parse_demo_args(rest)
    elif job == "probe":
        from assisterr_probe.cli import BadInput, check

        try:
            check(rest, quiet=True)
        except BadInput as exc:
            print(f"assisterr-probe: {exc}", file=sys.stderr)
            sys.exit(2)
    elif job == "bench":
        from benchmarks.options import parse_bench_args

        parse_bench_args(rest)
    elif job == "notebooks":
        from tests.notebooks.options import parse_notebooks_args

        parse_notebooks_args(rest)
    elif job == "test" and {"-h", "--help"} & set(rest):
        print(TEST_HELP)
        sys.exit(0)


def main(argv: list[str]) -> None:
    if not argv:
        usage_error("no command given")
    job, rest = argv[0], argv[1:]
    if job in ("-h", "--help", "help"):
        print(USAGE)
        return
    if job not in EXTRAS:
        usage_error(f"unknown command {job!r}")
    if sys.version_info < NEEDED:
        running = ".".join(str(part) for part in sys.version_info[:3])
        print(f"run.py: the project needs Python {NEEDED[0]}.{NEEDED[1]} or newer; this is "
              f"{running} ({sys.executable}). Run it with a newer one, e.g. python3.12.",
              file=sys.stderr)
        sys.exit(2)
    check_options(job, rest)  # --help and bad options answered before any set-up
    python = str(ensure_env(EXTRAS[job]))
    if job == "demo":
        run(python, "scripts/demo.py", *rest)
    elif job == "test":
        run(python, "-m", "ruff", "check", ".")
        run(python, "-m", "mypy")
        run(python, "-m", "pytest", *(rest or ["-q"]))
    elif job == "probe":
        run(python, "-m", "assisterr_probe", *rest)
    elif job == "notebooks":
        run(python, "-m", "tests.notebooks._outputs", "--write", *rest)
    else:
        run(python, "-m", "benchmarks", *rest)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:  # during set-up: pip is stopped too, the next run installs again
        print("\n[run] interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
