"""The demo runs to the end against the local server it starts, and cleans up after itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "scripts" / "demo.py"


def test_demo_runs_against_the_local_server() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTERR_")}
    done = subprocess.run([sys.executable, str(DEMO)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "started the bundled local Assisterr-compatible server" in out
    assert 'Your first question was: "What is the capital of France?"' in out
    assert "calls get_weather({'city': 'Lisbon'})" in out
    assert "From the context:" in out
    assert "0 left behind" in out
