"""Without its framework, an integration's import says which extra installs it.

The framework is hidden from a fresh interpreter by a meta-path finder, so one venv serves.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

HIDE_AND_IMPORT = textwrap.dedent("""
    import sys

    class Hidden:
        def find_spec(self, name, path=None, target=None):
            if name == {hidden!r} or name.startswith({hidden!r} + "."):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Hidden())
    try:
        {statement}
    except ImportError as error:
        print(type(error).__name__, error.name, error, sep="|")
    else:
        print("imported")
""")


def import_without(hidden: str, statement: str) -> str:
    script = HIDE_AND_IMPORT.format(hidden=hidden, statement=statement)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip()


def test_each_integration_names_its_extra_when_its_framework_is_missing() -> None:
    langchain = ('ImportError|langchain_core|langchain_assisterr needs langchain-core, which is'
                 ' not installed: pip install "assisterr-integrations[langchain]"')
    llama_index = ('ImportError|llama_index.core|llama_index_assisterr needs llama-index-core,'
                   ' which is not installed: pip install "assisterr-integrations[llama-index]"')
    assert import_without("langchain_core", "from langchain_assisterr import ChatAssisterr") \
        == langchain
    assert import_without("llama_index.core", "from llama_index_assisterr import Assisterr") \
        == llama_index
    assert import_without("llama_index.core", "from llama_index.llms.assisterr import Assisterr") \
        == llama_index
    # the core needs neither
    assert import_without("langchain_core", "from assisterr_core import AssisterrClient") \
        == "imported"
