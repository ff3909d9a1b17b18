"""The README's conformance table is the one the conformance tests declare."""

from __future__ import annotations

from . import _table


def test_readme_table_lists_exactly_the_tested_patterns() -> None:
    readme = _table.README.read_text(encoding="utf-8")
    expected = _table.render(_table.declared_patterns())
    assert _table.readme_table(readme) == expected, (
        "README.md's conformance table is out of date: run "
        "`python -m tests.conformance._table --write`"
    )


def test_every_pattern_names_a_known_framework_once() -> None:
    patterns = _table.declared_patterns()
    assert all(p.framework in _table.FRAMEWORK_ORDER for p in patterns)
    names = [(p.framework, p.name) for p in patterns]
    assert len(names) == len(set(names)), "two tests declare the same pattern"
