"""Figure 5: import time of the integrations over the frameworks' own, in fresh processes."""

from __future__ import annotations

import subprocess
import sys
from functools import partial

from .config import Counts
from .harness import Candidate, Row, interleave, ratio_row
from .servers import ROOT

FIGURE = "5 import time"
LC_BASE = "from langchain_core.language_models import BaseChatModel"
LC = "from langchain_assisterr import ChatAssisterr"
LC_PEER = "from langchain_openai import ChatOpenAI"
LI_BASE = "from llama_index.core.llms import LLM"
LI = "from llama_index_assisterr import Assisterr"
LI_PEER = "from llama_index.llms.openai import OpenAI"
CORE = "from assisterr_core import AssisterrClient"
STATEMENTS = (LC_BASE, LC, LC_PEER, LI_BASE, LI, LI_PEER, CORE)
TIMER = (
    "import sys, time\n"
    "start = time.perf_counter()\n"
    "exec(sys.argv[1])\n"
    "print(time.perf_counter() - start)\n"
)


def import_seconds(statement: str) -> float:
    """Seconds a fresh interpreter spends on ``statement`` (start-up excluded)."""
    done = subprocess.run([sys.executable, "-c", TIMER, statement], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        lines = done.stderr.strip().splitlines() or ["failed"]
        raise RuntimeError(lines[-1])
    return float(done.stdout.strip().splitlines()[-1])


def run(counts: Counts) -> list[Row]:
    """Time each import in fresh subprocesses, interleaved, and return the figure's rows."""
    candidates = [Candidate(s, partial(import_seconds, s)) for s in STATEMENTS]
    samples = interleave(candidates, counts.import_rounds, warmup=1)
    row = partial(ratio_row, FIGURE, samples, unit="ms")
    return [
        row(LC_BASE),
        row(LC, versus=LC_BASE, limit=1.1),
        row(LC_PEER, versus=LC_BASE),
        row(LI_BASE),
        row(LI, versus=LI_BASE, limit=1.1),
        row(LI_PEER, versus=LI_BASE),
        row(CORE),
    ]
