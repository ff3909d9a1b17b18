"""Imports for packages built on the core: a module-level ``__getattr__`` that imports a
package's heavier exports on first use, and a check that an optional framework is installed.

The core's packages use the first to keep ``requests`` and ``aiohttp`` out of their import,
and so can packages built on the core (both integrations and the probe do). The integrations
use the second to name the extra that installs their framework.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.util import find_spec
from typing import Any

__all__ = ["lazy_exports", "require_extra"]

DISTRIBUTION = "assisterr-integrations"


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A ``__getattr__`` for ``package``: ``table`` maps a name to its relative module."""

    def __getattr__(name: str) -> Any:
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module_name, package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__


def require_extra(module: str, *, package: str, distribution: str, extra: str) -> None:
    """Raise an ImportError that says which extra to install when ``module`` (the framework
    ``package`` is built on, from ``distribution``) cannot be found; it is not imported."""
    try:
        found = find_spec(module) is not None
    except (ImportError, ValueError):  # its parent package is missing, or it has no spec
        found = False
    if not found:
        raise ImportError(
            f"{package} needs {distribution}, which is not installed: "
            f'pip install "{DISTRIBUTION}[{extra}]"',
            name=module,
        )
