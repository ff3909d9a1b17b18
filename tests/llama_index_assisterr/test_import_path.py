"""LlamaIndex users import every integration from ``llama_index.llms.<name>``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORTS = """
import llama_index.core
import llama_index.llms.openai
from llama_index.llms.assisterr import Assisterr, Llama3Template
import llama_index_assisterr
assert Assisterr is llama_index_assisterr.Assisterr
assert Llama3Template is llama_index_assisterr.Llama3Template
print(llama_index.llms.openai.OpenAI.__module__)
"""


def test_llama_index_import_path_gives_the_same_class_beside_other_integrations(
    tmp_path: Path,
) -> None:
    # a fresh interpreter, outside the checkout: the installed package layout decides
    done = subprocess.run([sys.executable, "-c", IMPORTS], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "llama_index.llms.openai.base"
    # llama_index and llama_index.llms stay namespace packages shared with other distributions
    assert not (ROOT / "llama_index" / "__init__.py").exists()
    assert not (ROOT / "llama_index" / "llms" / "__init__.py").exists()
