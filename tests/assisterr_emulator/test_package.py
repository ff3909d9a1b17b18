"""The local server as a package of its own: its command, and a pytest plugin that a project
opts into (installing us must not change anyone else's test run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

OURS = ("assisterr_core", "assisterr_emulator", "assisterr_probe", "langchain_assisterr",
        "llama_index_assisterr", "llama_index.llms.assisterr")

RECORD_MODULES = """
    import json, os, sys

    def pytest_sessionfinish(session):
        with open(os.environ["MODULES_OUT"], "w") as out:
            json.dump(sorted(sys.modules), out)
"""


def run_pytest(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``project``, as its own root (its own settings, none of ours), in an
    environment without pytest or Assisterr variables."""
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("PYTEST_", "ASSISTERR_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(project), *args, str(project)],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
        env={**clean, **env},
    )


def test_an_unrelated_projects_test_run_imports_none_of_our_modules(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(RECORD_MODULES))
    (tmp_path / "test_arithmetic.py").write_text("def test_sum():\n    assert 1 + 1 == 2\n")
    out = tmp_path / "modules.json"
    done = run_pytest(tmp_path, MODULES_OUT=str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = json.loads(out.read_text())
    assert [name for name in loaded if name.startswith(OURS)] == []


def test_a_project_that_opts_in_gets_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_my_chain.py").write_text(textwrap.dedent("""
        from assisterr_core import AssisterrClient

        def test_my_chain(assisterr_emulator):
            with AssisterrClient(base_url=assisterr_emulator.base_url,
                                 api_key=assisterr_emulator.api_key) as client:
                reply = client.chat("my-slm", "hi")
            assert reply.text == "Hello from my-slm! You said: hi"
            assert assisterr_emulator.chat_requests()[-1].query == "hi"
    """))
    without = run_pytest(tmp_path)
    assert without.returncode != 0 and "fixture 'assisterr_emulator' not found" in without.stdout
    with_plugin = run_pytest(tmp_path, "-p", "assisterr_emulator.pytest_plugin")
    assert with_plugin.returncode == 0, with_plugin.stdout + with_plugin.stderr
    assert "1 passed" in with_plugin.stdout


def test_the_assisterr_emulator_command_serves(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "assisterr-emulator"
    done = subprocess.run([str(command), "--help"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.startswith("usage: assisterr-emulator")
    assert "--replay RECORDING" in done.stdout
