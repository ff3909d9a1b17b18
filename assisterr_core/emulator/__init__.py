"""A local Assisterr-compatible server, for offline development, demos and tests.

It serves every endpoint of the Assisterr SLM API on loopback, checks ``X-Api-Key``, keeps
sessions in memory, streams replies word by word, and can inject faults. Start it with
``python -m assisterr_core.emulator --port 8765``, or from Python::

    with EmulatorServer() as server:
        client = AssisterrClient(base_url=server.base_url, api_key=server.api_key)

The pytest fixtures ``assisterr_server`` and ``assisterr_emulator`` (installed with this
package as a pytest plugin) start one on a free port.
"""

from .app import build_app
from .app_thread import AppThread
from .config import STREAM_FORMATS, EmulatorConfig, Fault, ReceivedRequest
from .responders import (
    Responder,
    ResponderRequest,
    ScriptedResponder,
    default_responder,
)
from .server import EmulatorServer

__all__ = [
    "STREAM_FORMATS",
    "AppThread",
    "EmulatorConfig",
    "EmulatorServer",
    "Fault",
    "ReceivedRequest",
    "Responder",
    "ResponderRequest",
    "ScriptedResponder",
    "build_app",
    "default_responder",
]
