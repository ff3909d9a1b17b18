"""The demo and ``scripts/run.py`` as a user meets them: in a subprocess, output read back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assisterr_emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scripts" / "demo.py"
RUN = ROOT / "scripts" / "run.py"
pytestmark = pytest.mark.slow


def run_demo(*args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTERR_")}
    env.pop("NO_COLOR", None)
    env.update(env_vars)
    return subprocess.run([sys.executable, str(DEMO), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_demo_runs_against_the_local_server() -> None:
    done = run_demo()
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "started the bundled local Assisterr-compatible server" in out
    assert 'Your first question was: "What is the capital of France?"' in out
    assert "calls get_weather({'city': 'Lisbon'})" in out
    assert "From the context:" in out
    assert "0 left behind" in out
    assert "\033[" not in out  # not a terminal: no ANSI codes


def test_a_wrong_key_is_one_line_with_a_hint_and_exit_1() -> None:
    with EmulatorServer(api_key="the-right-key") as server:
        done = run_demo(ASSISTERR_API_KEY="a-wrong-key", ASSISTERR_BASE_URL=server.base_url,
                        ASSISTERR_HANDLE_NAME="my-slm")
    assert done.returncode == 1
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 1
    assert "AuthenticationError" in failures[0] and "ASSISTERR_API_KEY" in failures[0]
    assert "a-wrong-key" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "skipped" in done.stdout  # the later steps would fail the same way


def test_an_unreachable_api_names_the_url_and_clean_up_does_not_hide_it() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        done = run_demo(ASSISTERR_API_KEY="some-key", ASSISTERR_BASE_URL=url,
                        ASSISTERR_HANDLE_NAME="my-slm")
    assert done.returncode == 1
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 1 and "APIConnectionError" in failures[0] and url in failures[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_verbose_shows_the_traceback() -> None:
    with EmulatorServer(api_key="the-right-key") as server:
        done = run_demo("--verbose", ASSISTERR_API_KEY="a-wrong-key",
                        ASSISTERR_BASE_URL=server.base_url, ASSISTERR_HANDLE_NAME="my-slm")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "AuthenticationError" in done.stderr


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_run_py_names_an_unknown_command_and_exits_2() -> None:
    done = run_script("foo")
    assert done.returncode == 2
    assert "unknown command 'foo'" in done.stderr and "usage:" in done.stderr


def test_run_py_help_exits_0() -> None:
    done = run_script("--help")
    assert done.returncode == 0 and "commands:" in done.stdout


def test_demo_options_are_checked_before_any_set_up() -> None:
    helped = run_script("demo", "--help")
    assert helped.returncode == 0 and "--verbose" in helped.stdout
    refused = run_script("demo", "--bogus")
    assert refused.returncode == 2 and "unrecognized arguments: --bogus" in refused.stderr
    assert "[setup]" not in helped.stdout + refused.stdout
