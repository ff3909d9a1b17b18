"""The declared contract between the packages: who may import what of the core.

Read from the source with ``ast``, so an import anywhere (a function body, a TYPE_CHECKING
block) counts.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from assisterr_core.chat import (
    JSON_OBJECT_PROMPT,
    JSON_PROMPT_TEMPLATE,
    TOOL_CHOICE_SENTENCES,
    TOOL_LISTING,
    TOOL_PROMPT_TEMPLATE,
    TRANSCRIPT_HEADING,
    Llama3Template,
)
from assisterr_core.transport import API_KEY_HEADER, API_PREFIX

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_SURFACES = ("assisterr_core", "assisterr_core.transport", "assisterr_core.chat",
                   "assisterr_core.lazy")
BUILT_ON_THE_CORE = ("langchain_assisterr", "llama_index_assisterr", "llama_index",
                     "assisterr_probe", "assisterr_emulator")


def imports_of(path: Path, package: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, names) of every import in ``path``, a module of ``package``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against the file's own package
                parts = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                module = ".".join([*parts, module] if module else parts)
            yield node.lineno, module, [alias.name for alias in node.names]


def modules_of(*packages: str) -> Iterator[tuple[Path, str]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, package


def test_code_built_on_the_core_imports_only_its_public_names() -> None:
    """The integrations and the probe import from the core's public surfaces only, and only
    names those surfaces export: the core may move anything else without breaking them."""
    misuses = []
    for path, package in modules_of(*BUILT_ON_THE_CORE):
        for line, module, names in imports_of(path, package):
            if module != "assisterr_core" and not module.startswith("assisterr_core."):
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if module not in PUBLIC_SURFACES:
                misuses.append(f"{where} imports {module}")
                continue
            exported = set(importlib.import_module(module).__all__)
            misuses += [f"{where} imports {module}.{name}, which it does not export"
                        for name in names if name not in exported]
    assert misuses == []


def test_the_transport_layer_knows_nothing_of_chat() -> None:
    """Talking to the API needs no prompt rendering or tool instructions: the chat layer
    builds on the transport layer, never the other way."""
    upward = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path, package in modules_of("assisterr_core/transport")
              for line, module, _ in imports_of(path, package)
              if module.startswith("assisterr_core.chat")]
    assert upward == []


def test_every_exported_name_exists() -> None:
    """Each public surface's ``__all__`` names something real (lazy names included)."""
    missing = [f"{module}.{name}" for module in PUBLIC_SURFACES
               for name in getattr(importlib.import_module(module), "__all__", [])
               if not hasattr(importlib.import_module(module), name)]
    assert missing == []


def test_the_core_imports_nothing_built_on_it() -> None:
    """The core stands alone: no integration, no local server, no probe inside it."""
    upward = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path, package in modules_of("assisterr_core")
              for line, module, _ in imports_of(path, package)
              if module.split(".")[0] in BUILT_ON_THE_CORE]
    assert upward == []


def test_importing_the_client_loads_no_server() -> None:
    """A program that only talks to Assisterr loads neither ``aiohttp.web`` nor the local
    server, whichever client it uses."""
    code = ("import sys, assisterr_core\n"
            "from assisterr_core import AssisterrClient, AsyncAssisterrClient\n"
            "print(sorted(m for m in sys.modules if m.startswith(('aiohttp.web', "
            "'assisterr_emulator', 'assisterr_probe'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60).stdout.strip()
    assert loaded == "[]"


CORE_MARKERS = (TOOL_PROMPT_TEMPLATE, JSON_PROMPT_TEMPLATE, JSON_OBJECT_PROMPT, TOOL_LISTING,
                *TOOL_CHOICE_SENTENCES.values(), TRANSCRIPT_HEADING, API_PREFIX, API_KEY_HEADER,
                Llama3Template.start_header, Llama3Template.end_header,
                Llama3Template.end_of_turn)


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """The string constants of a module that are not docstrings, backslashes dropped (a
    regular expression's escapes hide the text it copies)."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value.replace("\\", "")


def test_the_local_server_copies_no_marker_of_the_core() -> None:
    """The local server reads the core's instructions, transcript, paths and key header from
    the core's own constants: no literal of it repeats one (16 characters in common, or the
    whole of a shorter marker), so rewording the core cannot silently break the model play."""
    copies = []
    for path, _ in modules_of("assisterr_emulator"):
        for line, literal in string_literals(path):
            for marker in CORE_MARKERS:
                match = difflib.SequenceMatcher(None, literal, marker, autojunk=False)
                common = match.find_longest_match(0, len(literal), 0, len(marker))
                if common.size >= min(16, len(marker)):
                    copies.append(f"{path.relative_to(ROOT)}:{line} repeats "
                                  f"{marker[common.b:common.b + common.size]!r}")
    assert copies == []
