"""The demo and ``scripts/run.py`` as a user meets them: in a subprocess, output read back."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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


def test_a_local_server_that_is_not_running_is_named_as_such() -> None:
    """The exports of the README's "Try it" left in the shell after the local server was
    stopped: the hint says to start it again, or to let the demo start its own."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        done = run_demo(ASSISTERR_API_KEY="anything", ASSISTERR_BASE_URL=url,
                        ASSISTERR_HANDLE_NAME="my-slm")
    (failure,) = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert "assisterr-emulator" in failure and "--local" in failure


def test_a_base_url_without_scheme_stops_the_demo_once_with_the_url_to_write() -> None:
    """A setting every step would trip on is reported once, before the steps, with the fix."""
    done = run_demo(ASSISTERR_API_KEY="some-key", ASSISTERR_BASE_URL="127.0.0.1:8765",
                    ASSISTERR_HANDLE_NAME="my-slm")
    assert done.returncode == 1
    assert "FAILED" not in done.stdout and "== " not in done.stdout  # no step ran
    assert "ASSISTERR_BASE_URL" in done.stderr
    assert "did you mean 'http://127.0.0.1:8765'?" in done.stderr
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


def start_until(command: list[str], marker: str, **env_vars: str) -> subprocess.Popen[str]:
    """Start ``command`` in its own process group (as a terminal's foreground job) and
    return once it printed a line containing ``marker``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTERR_")}
    env.update(env_vars)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return process
    process.kill()
    raise AssertionError(f"{marker!r} never printed:\n{''.join(seen)}{process.stderr.read()}")


def press_ctrl_c(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_ctrl_c_stops_the_demo_in_one_line_without_a_traceback() -> None:
    with EmulatorServer(latency=300) as server:  # the first step waits until interrupted
        process = start_until([sys.executable, str(DEMO)], "== LangChain: an LCEL chain",
                              ASSISTERR_API_KEY="some-key", ASSISTERR_BASE_URL=server.base_url,
                              ASSISTERR_HANDLE_NAME="my-slm")
        status, out, err = press_ctrl_c(process)
    assert status == 130, (out, err)
    assert "Traceback" not in out + err
    assert "FAILED" not in out  # an interruption is not a failed step
    assert "Interrupted" in out + err
    assert "No session was created." in out  # the clean-up still ran


def test_ctrl_c_under_run_py_leaves_no_traceback_of_its_own() -> None:
    child = ("import sys, time\ntry:\n    print('-'.join('ready'), flush=True)\n"
             "    time.sleep(300)\nexcept KeyboardInterrupt:\n    sys.exit(130)\n")
    driver = ("import sys; sys.path.insert(0, 'scripts'); import run; "
              f"run.run(sys.executable, '-c', {child!r})")
    process = start_until([sys.executable, "-c", driver], "r-e-a-d-y")
    status, out, err = press_ctrl_c(process)
    assert status == 130, (out, err)
    assert "Traceback" not in out + err


def test_ctrl_c_while_the_frameworks_load_ends_the_demo_quietly() -> None:
    """The demo's imports take seconds: Ctrl-C then (here: on importing langchain's agents)
    is no traceback either."""
    driver = (
        "import importlib.abc, os, runpy, signal, sys\n"
        "class CtrlC(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'langchain.agents':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        f"sys.path.insert(0, {str(DEMO.parent)!r})\n"
        f"sys.argv = [{str(DEMO)!r}]\n"
        f"runpy.run_path({str(DEMO)!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("command", ["bench", "notebooks", "test"])
def test_every_commands_help_is_answered_before_any_set_up(command: str) -> None:
    """`--help` is what a newcomer types first: it must not install hundreds of megabytes
    (bench, notebooks), nor run the linters (test), before it answers."""
    done = run_script(command, "--help")
    assert done.returncode == 0, done.stderr
    assert f"python3 scripts/run.py {command}" in done.stdout
    assert "[setup]" not in done.stdout and "[run]" not in done.stdout
    assert "--write" not in done.stdout  # run.py passes it: not the reader's to type


@pytest.mark.parametrize(("args", "says"), [
    (["bench", "--only", "9"], "unknown figure"),
    (["bench", "--bogus"], "unrecognized arguments: --bogus"),
    (["notebooks", "no_such_notebook"], "no notebook named no_such_notebook"),
])
def test_bad_options_are_refused_before_any_set_up(args: list[str], says: str) -> None:
    done = run_script(*args)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "[setup]" not in done.stdout and "[run]" not in done.stdout


def load_run_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_py", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_py_refuses_a_python_older_than_the_project_needs_before_any_set_up() -> None:
    """Else it builds .venv with that Python, and pip's refusal comes after the download."""
    driver = ("import runpy, sys\n"
              f"run = runpy.run_path({str(RUN)!r})\n"
              "main = run['main']\n"
              "main.__globals__['ensure_env'] = lambda extra: sys.exit('reached set-up')\n"
              "sys.version_info = (3, 9, 18, 'final', 0)\n"
              "main(['demo'])\n")
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "reached set-up" not in done.stderr
    assert "Python 3.10 or newer" in done.stderr and "3.9" in done.stderr


def test_a_venv_made_by_a_too_old_python_is_made_again(tmp_path: Path) -> None:
    """A .venv left by a run with Python 3.9 would fail every later run, whatever Python
    runs run.py: it is recognised, to be made again."""
    run = load_run_py()
    (tmp_path / "pyvenv.cfg").write_text("home = python-home\nversion = 3.9.18\n")
    assert "3.9" in run.stale_venv(tmp_path)
    (tmp_path / "pyvenv.cfg").write_text("home = python-home\nversion = 3.11.7\n")
    assert run.stale_venv(tmp_path) is None


def test_a_python_without_ensurepip_is_told_what_to_install_and_leaves_no_half_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian and Ubuntu ship venv without pip (python3-venv is a package of its own): the
    set-up says so, and removes the environment it could not finish, which would otherwise
    fail every later run with 'No module named pip'."""
    run = load_run_py()

    class NoEnsurepip:
        def __init__(self, **options: Any) -> None:
            pass

        def create(self, path: Path) -> None:
            (path / "bin").mkdir(parents=True)
            (path / "bin" / "python").write_text("")
            raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])

    monkeypatch.setattr(run, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(run.venv, "EnvBuilder", NoEnsurepip)
    with pytest.raises(SystemExit) as exited:
        run.ensure_env("demo")
    said = f"{exited.value.code}"
    assert "python3-venv" in said and "Traceback" not in said
    assert not (tmp_path / ".venv").exists()


def test_ctrl_c_while_the_venv_is_made_leaves_no_half_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = load_run_py()

    class Interrupted:
        def __init__(self, **options: Any) -> None:
            pass

        def create(self, path: Path) -> None:
            (path / "bin").mkdir(parents=True)
            (path / "bin" / "python").write_text("")  # pip not installed yet
            raise KeyboardInterrupt

    monkeypatch.setattr(run, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(run.venv, "EnvBuilder", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.ensure_env("demo")
    assert not (tmp_path / ".venv").exists()
