"""A live probe of the Assisterr service: records what it sends and judges what the client reads.

Run it as ``assisterr-probe`` (or ``python -m assisterr_probe``); read a recording with
:func:`load` and judge it offline with :func:`judge`. Importing this package does not import
``requests``: the runner loads it when a probe starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assisterr_core.lazy import lazy_exports

from .recording import REDACTED, Exchange, RecordedResponse, Recording, RecordingError, load
from .verdict import Row, Verdict, judge, render

if TYPE_CHECKING:
    from .runner import ProbeSettings, run_probe

__all__ = [
    "REDACTED",
    "Exchange",
    "ProbeSettings",
    "RecordedResponse",
    "Recording",
    "RecordingError",
    "Row",
    "Verdict",
    "judge",
    "load",
    "render",
    "run_probe",
]

__getattr__ = lazy_exports(__name__, {"ProbeSettings": ".runner", "run_probe": ".runner"})
