"""Suite-wide settings: the local server's fixtures, hypothesis profiles, and the ``slow``
marker for end-to-end runs.

Hypothesis runs the derandomized ``fixed`` profile by default, so a failure reproduces on
every run and machine; ``pytest --hypothesis-profile=thorough`` explores many more (and new)
examples. Notebooks, the README's code blocks, the demo and the benchmark smoke tests are
marked ``slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# The local server's fixtures (assisterr_server, assisterr_emulator): opt-in, as for any user.
pytest_plugins = ["assisterr_emulator.pytest_plugin"]

settings.register_profile("fixed", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("thorough", max_examples=2_000, deadline=None, print_blob=True)
settings.load_profile("fixed")  # --hypothesis-profile, read after this file, overrides it

TESTS = Path(__file__).resolve().parent
SLOW_PATHS = (TESTS / "notebooks", TESTS / "test_readme.py", TESTS / "test_demo.py",
              TESTS / "benchmarks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what runs whole programs (notebooks, README blocks, the demo, benchmark figures)
    as slow."""
    for item in items:
        if any(item.path == slow or slow in item.path.parents for slow in SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
