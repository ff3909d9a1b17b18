"""One local server per module for the scale-out tests, on a free loopback port.

Its key is distinctive, so that a test can look for it where it must not be.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from assisterr_emulator import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=f"scale-key-{secrets.token_hex(8)}") as started:
        yield started
