"""The emulator's aiohttp application: the API's routes, auth, validation and faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from assisterr_core.transport import API_KEY_HEADER, API_PREFIX, MAX_QUERY_CHARS

from .config import EmulatorConfig, Fault, ReceivedRequest
from .framing import ChunkPattern
from .replay import CannedAnswer, ReplayProfile
from .responders import ResponderRequest, split_words
from .state import EmulatorState, Session, owner_of, session_json, turn_json

STATE_KEY = web.AppKey("assisterr_emulator_state", EmulatorState)
# Per-request storage keys (typed keys where this aiohttp has them).
_request_key = getattr(web, "RequestKey", None)
BODY_KEY: Any = _request_key("parsed_body", object) if _request_key else "parsed_body"
FAULT_KEY: Any = _request_key("fault", object) if _request_key else "fault"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = API_PREFIX + "/{handle}"
# Take any query the clients let through: the longest, JSON-escaped at 6 bytes a character.
MAX_BODY_BYTES = MAX_QUERY_CHARS * 6 + 1024


def build_app(state: EmulatorState | None = None) -> web.Application:
    """The application; pass a state to share it with the code that controls the server."""
    app = web.Application(middlewares=[_faults_and_log], client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state or EmulatorState(EmulatorConfig())
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/chat", _chat),
        ("POST", "/chat/stream", _chat_stream),
        ("POST", "/session/create", _create_session),
        ("GET", "/session/list", _list_sessions),
        ("POST", "/session/{sid}/chat", _chat),
        ("POST", "/session/{sid}/chat/stream", _chat_stream),
        ("GET", "/session/{sid}/history", _history),
        ("DELETE", "/session/{sid}", _delete_session),
    ]
    for method, path, handler in routes:
        for variant in (path + "/", path):  # documented with a slash; also taken without
            app.router.add_route(method, PREFIX + variant, handler)
    app.router.add_get("/_emulator/requests", _admin_requests)
    app.router.add_post("/_emulator/faults", _admin_fault)
    app.router.add_post("/_emulator/script", _admin_script)
    app.router.add_post("/_emulator/reset", _admin_reset)
    return app


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"detail": detail}, status=status, headers=headers)


@web.middleware
async def _faults_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_emulator/"):
        return await handler(request)
    state = _state(request)
    body = request[BODY_KEY] = await _read_json(request)
    state.record(
        ReceivedRequest(
            method=request.method,
            path=request.path,
            handle=request.match_info.get("handle"),
            session_id=request.match_info.get("sid"),
            query=body.get("query") if isinstance(body, dict) else None,
            body=body,
            headers=dict(request.headers),
        )
    )
    fault = state.take_fault(request.method, request.path)
    request[FAULT_KEY] = fault
    if fault is not None and fault.status is not None:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        text = fault.body if fault.body is not None else json.dumps({"detail": "injected fault"})
        return web.Response(
            status=fault.status, text=text, content_type=fault.content_type, headers=headers
        )
    if fault is not None and fault.malformed:
        text = fault.body if fault.body is not None else '{"message": "trunc'
        return web.Response(status=200, text=text, content_type=fault.content_type)
    if fault is not None and fault.stall and not request.path.rstrip("/").endswith("/stream"):
        await asyncio.sleep(fault.stall)  # streams stall after their headers instead
    replay = state.config.replay
    if replay is not None and replay.slashless is not None and not request.path.endswith("/"):
        return _slashless_answer(request, replay)
    denied = _check_key(state.config, request.headers.get(API_KEY_HEADER))
    if denied is not None:
        return denied
    handle = request.match_info.get("handle")
    if state.config.handles is not None and handle not in state.config.handles:
        return _refused(state.config, "not_found", 404, f"SLM '{handle}' not found")
    return await handler(request)


def _check_key(config: EmulatorConfig, key: str | None) -> web.Response | None:
    if not key:
        return _refused(config, "auth", 401, f"Missing {API_KEY_HEADER} header")
    if config.api_key is not None and key != config.api_key:
        return _refused(config, "auth", 401, "Invalid API key")
    return None


def _refused(config: EmulatorConfig, situation: str, status: int, detail: Any) -> web.Response:
    """The recorded answer to ``situation`` when replaying one, else ``{"detail": ...}``."""
    canned = config.replay.refusals.get(situation) if config.replay else None
    return _canned(canned) if canned is not None else _error(status, detail)


def _canned(answer: CannedAnswer) -> web.Response:
    headers = {"Content-Type": answer.content_type} if answer.content_type else {}
    return web.Response(status=answer.status, body=answer.body, headers=headers)


def _slashless_answer(request: web.Request, replay: ReplayProfile) -> web.Response:
    """A path without its trailing slash, answered as the recorded service did."""
    answer = replay.slashless
    assert answer is not None
    response = _canned(answer)
    if 300 <= answer.status < 400:
        url = request.url if replay.slashless_location_absolute else request.rel_url
        response.headers["Location"] = str(url.with_path(request.path + "/", keep_query=True))
    return response


async def _read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _query_or_error(request: web.Request) -> str | web.Response:
    body = request[BODY_KEY]
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str):
        problem = {"type": "missing", "loc": ["body", "query"], "msg": "Field required"}
        if isinstance(body, dict) and "query" in body:
            problem = {"type": "string_type", "loc": ["body", "query"],
                       "msg": "Input should be a valid string"}
        return _refused(_state(request).config, "invalid_body", 422, [problem])
    return query


def _session_or_error(request: web.Request) -> Session | web.Response:
    state = _state(request)
    owner = owner_of(request.headers[API_KEY_HEADER])
    session = state.find_session(request.match_info["handle"], request.match_info["sid"], owner)
    if session is None:
        return _refused(state.config, "not_found", 404, "Session not found")
    return session


async def _answer(
    request: web.Request, *, stream: bool = False
) -> tuple[list[str], ChunkPattern] | web.Response:
    """Run the responder for a chat request and record the turns of a session.

    The reply comes back as deltas, with the pattern to send a stream by: as the responder
    cut it, else in the sizes of a replayed stream, else word by word. Refused requests take
    no pattern, so a replay paces its streams in the recorded order.
    """
    query = _query_or_error(request)
    if isinstance(query, web.Response):
        return query
    session: Session | None = None
    history: list[tuple[str, str]] = []
    if "sid" in request.match_info:
        found = _session_or_error(request)
        if isinstance(found, web.Response):
            return found
        session = found
        history = [("user" if t.is_user else "assistant", t.text) for t in session.turns]
    state = _state(request)
    pattern = state.next_stream_pattern() if stream else ChunkPattern()
    ask = ResponderRequest(request.match_info["handle"], query, request.match_info.get("sid"),
                           tuple(history))
    try:
        reply: str | Iterable[str] = state.responder(ask)
    except Exception as exc:  # a responder bug is the test's concern: report it, don't crash
        return _error(500, f"responder failed: {type(exc).__name__}: {exc}")
    if not isinstance(reply, str):
        chunks = [str(chunk) for chunk in reply]
    elif pattern.delta_chars:
        chunks = pattern.deltas(reply)
    else:
        chunks = split_words(reply)
    if session is not None:
        state.add_turn(session, True, query)
        state.add_turn(session, False, "".join(chunks))
    fault: Fault | None = request.get(FAULT_KEY)
    delay = (fault.delay if fault and fault.delay else 0.0) + state.config.latency
    if delay:
        await asyncio.sleep(delay)
    return chunks, pattern


async def _chat(request: web.Request) -> web.StreamResponse:
    answered = await _answer(request)
    if isinstance(answered, web.Response):
        return answered
    chunks, _ = answered
    payload = {
        "message": "".join(chunks),
        "message_at": _state(request).now().isoformat(),
        "is_user": False,
    }
    fault: Fault | None = request.get(FAULT_KEY)
    if fault is not None and fault.drop_after_chunks is not None:
        return await _cut_off(request, [json.dumps(payload).encode()[:20]], "application/json")
    return web.json_response(payload)


async def _chat_stream(request: web.Request) -> web.StreamResponse:
    answered = await _answer(request, stream=True)
    if isinstance(answered, web.Response):
        return answered
    chunks, pattern = answered
    state = _state(request)
    # An empty reply is one empty delta: a body with no event at all is no reply.
    style = state.config.stream_style()
    writes = pattern.writes(style.units(chunks or [""]))
    fault: Fault | None = request.get(FAULT_KEY)
    if fault is not None and fault.drop_after_chunks is not None:
        return await _cut_off(request, writes[: fault.drop_after_chunks], style.content_type)
    response = web.StreamResponse(headers={"Content-Type": style.content_type,
                                           "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if fault is not None and fault.stall:
        await asyncio.sleep(fault.stall)
    scale = state.config.replay_time_scale
    try:
        for index, data in enumerate(writes):
            pause = pattern.gap_before(index) * scale + (state.config.chunk_delay if index
                                                         else 0.0)
            if pause:
                await asyncio.sleep(pause)
            await response.write(data)
        await response.write_eof()
    except ConnectionResetError:  # aiohttp's ClientConnectionResetError is one
        pass  # the client stopped reading (a stop sequence, a break): nothing to report
    return response


async def _cut_off(request: web.Request, frames: list[bytes], content_type: str) -> web.Response:
    """Send some of the body, then drop the connection without finishing it."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for frame in frames:
        await response.write(frame)
    await asyncio.sleep(0.01)
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


async def _create_session(request: web.Request) -> web.StreamResponse:
    owner = owner_of(request.headers[API_KEY_HEADER])
    state = _state(request)
    session = state.create_session(request.match_info["handle"], owner)
    replay = state.config.replay
    return web.json_response(replay.session_created_json(session.id) if replay else session.id)


async def _list_sessions(request: web.Request) -> web.StreamResponse:
    owner = owner_of(request.headers[API_KEY_HEADER])
    handle = request.match_info["handle"]
    sessions = [s for s in _state(request).sessions.values()
                if s.handle == handle and s.owner == owner]
    replay = _state(request).config.replay
    if replay is not None and replay.session_list == "ids":
        return web.json_response([s.id for s in sessions])
    return web.json_response([session_json(s) for s in sessions])


async def _history(request: web.Request) -> web.StreamResponse:
    found = _session_or_error(request)
    if isinstance(found, web.Response):
        return found
    turns = [turn_json(found, turn) for turn in found.turns]
    if _state(request).config.effective_history_order() == "newest-first":
        turns.reverse()
    return web.json_response(turns)


async def _delete_session(request: web.Request) -> web.StreamResponse:
    found = _session_or_error(request)
    if isinstance(found, web.Response):
        return found
    state = _state(request)
    state.sessions.pop(found.id, None)
    replay = state.config.replay
    if replay is not None and replay.deleted is not None:
        return _canned(replay.deleted)
    return web.json_response(True)


async def _admin_requests(request: web.Request) -> web.StreamResponse:
    entries = [{k: v for k, v in asdict(r).items() if k != "headers"} for r in
               _state(request).requests]
    return web.json_response(entries)


async def _admin_fault(request: web.Request) -> web.StreamResponse:
    try:
        fault = Fault.from_dict(await request.json())
    except (ValueError, TypeError) as exc:
        return _error(422, str(exc))
    _state(request).faults.append(fault)
    return web.json_response(True)


async def _admin_script(request: web.Request) -> web.StreamResponse:
    replies = await request.json()
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        return _error(422, "expected a JSON list of reply strings")
    _state(request).set_responder(replies)
    return web.json_response(True)


async def _admin_reset(request: web.Request) -> web.StreamResponse:
    _state(request).reset()
    return web.json_response(True)
