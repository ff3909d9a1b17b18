"""Every ```python block of README.md runs as written, against a local server.

A block runs as a script in a subprocess (this venv's python), with ``ASSISTERR_BASE_URL``,
``ASSISTERR_API_KEY`` and ``ASSISTERR_HANDLE_NAME`` pointing at a local server this test
starts. A block whose first line is ``# name.py`` is a file of the reader's own test suite:
those blocks are written into one folder and run there with pytest, the local server's
plugin loaded the way the README says. A block that cannot run offline carries
``<!-- not run: <reason> -->`` on the line above it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from assisterr_core.transport import ENV_API_KEY, ENV_BASE_URL, ENV_HANDLE_NAME
from assisterr_emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROJECT = "assisterr-integrations"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(\S.*?)\s*-->")
FILE_NAME = re.compile(r"#\s*(\w+\.py)\b")
HEADING = re.compile(r"^#{2,4} (.+)$", re.M)
TIMEOUT = 300


@dataclass(frozen=True)
class Block:
    """One ```python block: where it is, its code, and what the README says of it."""

    line: int
    heading: str
    code: str
    not_run: str | None  # the reason given on the line above, if any
    file_name: str | None  # set for a file of the reader's test suite ("# conftest.py")

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.heading})"


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, in order."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        headings = HEADING.findall(before)
        lines_above = before.rstrip("\n").splitlines()
        marker = NOT_RUN.fullmatch(lines_above[-1].strip()) if lines_above else None
        code = match.group(1)
        first_line = code.splitlines()[0] if code.strip() else ""
        file_name = FILE_NAME.match(first_line)
        blocks.append(Block(
            line=before.count("\n") + 2,  # the first line of code
            heading=headings[-1] if headings else "top",
            code=code,
            not_run=marker.group(1) if marker else None,
            file_name=file_name.group(1) if file_name else None,
        ))
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def clean_env(**variables: str) -> dict[str, str]:
    """This process's environment without any Assisterr or pytest setting, plus
    ``variables``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ASSISTERR_", "PYTEST_"))}
    env.update(variables)
    return env


def failure(block_or_run: str, done: subprocess.CompletedProcess[str]) -> str:
    return f"{block_or_run} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def test_the_readme_has_runnable_blocks_and_says_why_any_does_not_run() -> None:
    """Most blocks run; one that does not gives its reason, and file blocks come with the
    conftest that loads the plugin, as the README tells readers to write it."""
    skipped = [block for block in BLOCKS if block.not_run]
    assert len(BLOCKS) >= 10 and len(skipped) <= 1, [b.where for b in skipped]
    files = {block.file_name: block.code for block in BLOCKS if block.file_name}
    assert "assisterr_emulator.pytest_plugin" in files.get("conftest.py", "")
    assert any(name.startswith("test_") for name in files)


def test_every_script_block_runs_against_a_local_server(tmp_path: Path) -> None:
    """Each block, as a script in a fresh interpreter, exits 0 (blocks assert their own
    results); the environment variables the README names are all it is given."""
    scripts = [block for block in BLOCKS if not block.not_run and not block.file_name]
    failures = []
    with EmulatorServer() as server:
        env = clean_env(**{ENV_BASE_URL: server.base_url, ENV_API_KEY: server.api_key,
                           ENV_HANDLE_NAME: "my-slm"})
        for number, block in enumerate(scripts):
            server.reset()
            script = tmp_path / f"readme_block_{number}.py"  # a file: spawned workers import it
            script.write_text(block.code, encoding="utf-8")
            done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=TIMEOUT, check=False)
            if done.returncode:
                failures.append(failure(block.where, done))
    assert failures == [], "\n\n".join(failures)


def test_the_blocks_of_a_readers_test_suite_pass_under_pytest(tmp_path: Path) -> None:
    """The conftest and test files the README shows, written as they are into one folder,
    pass under pytest with no Assisterr setting in the environment: the fixtures bring
    their own server."""
    files = [block for block in BLOCKS if block.file_name and not block.not_run]
    for block in files:
        assert block.file_name is not None
        (tmp_path / block.file_name).write_text(block.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, failure("pytest on " + ", ".join(
        f"{b.file_name} ({b.where})" for b in files), done)
    assert re.search(r"\b[2-9]\d* passed", done.stdout), done.stdout  # the tests ran


def test_blocks_are_read_with_their_heading_marker_and_file_name() -> None:
    text = ("## A\n\n```python\nprint(1)\n```\n"
            "## B\n<!-- not run: needs a GPU -->\n```python\nx = 1\n```\n"
            "### C\n```python\n# conftest.py\npytest_plugins = []\n```\n```bash\nls\n```\n")
    assert [(b.heading, b.not_run, b.file_name) for b in python_blocks(text)] == [
        ("A", None, None), ("B", "needs a GPU", None), ("C", None, "conftest.py")]


def installed_with(extra: str) -> set[str]:
    """The distributions ``pip install ".[extra]"`` brings, dependencies of dependencies
    included (read from this environment's metadata, so nothing is downloaded)."""
    found: set[str] = set()
    todo = [(PROJECT, frozenset({extra}))]
    seen = set(todo)
    while todo:
        name, extras = todo.pop()
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in extras or {""}):
                continue
            wanted = (canonicalize_name(requirement.name), frozenset(requirement.extras))
            found.add(wanted[0])
            if wanted not in seen:
                seen.add(wanted)
                todo.append(wanted)
    return found


def imported_modules(code: str) -> set[str]:
    """The top-level modules a block imports."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return names


def test_a_block_needing_more_than_the_all_extra_says_what_to_install() -> None:
    """"Every python block runs in that shell": the shell of "Try it", with the `[all]`
    extra. A block that imports anything else names it in its first line, with the pip
    command that installs it."""
    with_all = installed_with("all")
    distributions = importlib.metadata.packages_distributions()
    wrong = []
    for block in BLOCKS:
        if block.not_run or block.file_name:  # files of a test suite: pytest is the reader's
            continue
        first_line = block.code.splitlines()[0]
        for module in sorted(imported_modules(block.code)):
            if module in sys.stdlib_module_names or (ROOT / module).is_dir():
                continue  # the standard library, or this project's own packages
            names = {canonicalize_name(d) for d in distributions.get(module, [module])}
            if names & with_all:
                continue
            if not ("pip install" in first_line and any(
                    re.search(rf"\b{re.escape(n)}\b", first_line, re.I) for n in names)):
                wrong.append(f"{block.where}: imports {module} ({', '.join(sorted(names))}), "
                             f"which [all] does not install, and its first line does not say so")
    assert wrong == [], "\n".join(wrong)
