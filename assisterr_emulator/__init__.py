"""A local Assisterr-compatible server, for offline development, demos and tests.

It serves every endpoint of the Assisterr SLM API on loopback, checks the API key, keeps
sessions in memory, streams replies word by word, plays a model that follows tool, JSON and
ReAct instructions (:mod:`.play`), replays recordings of the real service, and can inject
faults. Start it with ``assisterr-emulator --port 8765`` (or ``python -m
assisterr_emulator``), or from Python::

    with EmulatorServer() as server:
        client = AssisterrClient(base_url=server.base_url, api_key=server.api_key)

Its pytest fixtures are opt-in: ``pytest_plugins = ["assisterr_emulator.pytest_plugin"]`` in
a root ``conftest.py`` (or ``pytest -p assisterr_emulator.pytest_plugin``), see
:mod:`.pytest_plugin`. The client never imports this package.
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
