"""Which answers make the clients send a request again, per kind of request.

A gateway's 502 or 504 may come after its upstream received (and recorded) the request:
what records something (a session chat, streamed or not; ``create_session``) is never
resent after those, while a 429 or a 503 (refused before anything was done) is. A
stateless chat records nothing: it is resent after a 502 or 504. Waits cost no wall time
(an injected clock).
"""

from __future__ import annotations

from typing import Any

import pytest

from assisterr_core import ServerError
from assisterr_emulator import EmulatorServer

from ..assisterr_core.conftest import ClientDriver, make_client
from ._adapters import HANDLE, echo
from .mock_clock import MockClock


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, assisterr_emulator: EmulatorServer) -> ClientDriver:
    return ClientDriver(make_client(str(request.param), assisterr_emulator, clock=MockClock()))


def session_turn(api: ClientDriver, sid: str, streamed: bool) -> Any:
    """One session chat; its reply text, or the error it ended with."""
    if not streamed:
        try:
            return api.call("chat", HANDLE, "one turn", session_id=sid).text
        except ServerError as exc:
            return exc
    deltas, error = api.stream(HANDLE, "one turn", session_id=sid)
    return error or "".join(deltas)


@pytest.mark.parametrize("streamed", [False, True], ids=["call", "stream"])
def test_what_records_is_never_resent_after_a_gateway_error(
    api: ClientDriver, assisterr_emulator: EmulatorServer, streamed: bool
) -> None:
    for status in (502, 504):
        assisterr_emulator.reset()
        sid = api.call("create_session", HANDLE)
        assisterr_emulator.inject(status=status, path_contains="/chat", times=5)
        outcome = session_turn(api, sid, streamed)
        assert isinstance(outcome, ServerError) and outcome.status_code == status
        assert len(assisterr_emulator.chat_requests()) == 1
        assisterr_emulator.inject(status=status, path_contains="/create", times=5)
        with pytest.raises(ServerError):
            api.call("create_session", HANDLE)
        created = [r.path.endswith("/create/") for r in assisterr_emulator.requests]
        assert created == [True, False, True]


@pytest.mark.parametrize("streamed", [False, True], ids=["call", "stream"])
def test_a_refused_session_turn_is_resent_and_recorded_once(
    api: ClientDriver, assisterr_emulator: EmulatorServer, streamed: bool
) -> None:
    for status in (429, 503):
        assisterr_emulator.reset()
        sid = api.call("create_session", HANDLE)
        assisterr_emulator.inject(status=status, path_contains="/chat", times=2)
        assert str(session_turn(api, sid, streamed)).endswith("one turn")
        assert len(assisterr_emulator.chat_requests()) == 3
        assert assisterr_emulator.history(sid) == [
            ("user", "one turn"), ("assistant", echo("one turn"))]


def test_a_stateless_chat_is_resent_after_a_gateway_error(
    api: ClientDriver, assisterr_emulator: EmulatorServer
) -> None:
    for status in (502, 504):
        assisterr_emulator.inject(status=status, path_contains="/chat", times=2)
        assert api.call("chat", HANDLE, "hi").text == echo("hi")  # two faults, an answer
        assisterr_emulator.inject(status=status, path_contains="/chat", times=2)
        deltas, error = api.stream(HANDLE, "hi")  # the stream likewise, before any text
        assert error is None and "".join(deltas) == echo("hi")
    assert len(assisterr_emulator.chat_requests()) == 12
