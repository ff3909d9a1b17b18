"""The declared contract between the packages: who may import what of the core.

Read from the source with ``ast``, so an import anywhere (a function body, a TYPE_CHECKING
block) counts.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_SURFACES = ("assisterr_core", "assisterr_core.transport", "assisterr_core.chat",
                   "assisterr_core.lazy")
BUILT_ON_THE_CORE = ("langchain_assisterr", "llama_index_assisterr", "llama_index",
                     "assisterr_probe")


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
