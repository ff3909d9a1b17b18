"""Conformance tests: the patterns users write with LangChain and LlamaIndex, one test each.

Mark every test with :func:`pattern`; the README's table is generated from those marks
(see ``_table.py``). Each test asserts what the pattern produced, not just that it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])


def pattern(framework: str, name: str, notes: str = "") -> Callable[[F], F]:
    """Declare which user pattern a test exercises (literal strings: the table reads them)."""
    return pytest.mark.pattern(framework=framework, name=name, notes=notes)
