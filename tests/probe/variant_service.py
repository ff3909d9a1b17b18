"""A purpose-built Assisterr-like service that speaks another dialect than the local server.

What a real deployment might plausibly send: SSE with CRLF, ``data:`` without a space, compact
``{"content": ...}`` events under an ``event:`` line, a keep-alive comment first, two events
per chunk and no end marker; 13-digit session ids wrapped in an object; the session list as
plain id strings; history oldest first; 403 as plain text; a 307 to the path with its slash.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from assisterr_emulator import AppThread, ResponderRequest

KEY = "variant-key"
PREFIX = "/api/v1/slm/{handle}"
EPOCH = datetime(2025, 1, 1)


def reply_to(request: ResponderRequest) -> str:
    """The variant's model: also plugged into a replaying local server, so texts match."""
    return f"You asked: {request.query} Here is my answer."


class _Variant:
    def __init__(self) -> None:
        self.sessions: dict[str, list[dict[str, Any]]] = {}
        self.ids = itertools.count(1734000000000)
        self.ticks = itertools.count()

    def now(self) -> str:
        return (EPOCH + timedelta(seconds=next(self.ticks))).isoformat()

    @web.middleware
    async def checks(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.endswith("/"):
            raise web.HTTPTemporaryRedirect(str(request.url.with_path(request.path + "/")))
        if request.headers.get("X-Api-Key") != KEY:
            return web.Response(status=403, text="Forbidden: bad API key",
                                content_type="text/plain")
        return await handler(request)

    async def query(self, request: web.Request) -> str | web.Response:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            detail = [{"type": "missing", "loc": ["body", "query"], "msg": "Field required"}]
            return web.json_response({"detail": detail}, status=422)
        return str(body["query"])

    def session(self, request: web.Request) -> list[dict[str, Any]] | web.Response:
        turns = self.sessions.get(request.match_info["sid"])
        if turns is None:
            return web.json_response({"error": "no such session"}, status=404)
        return turns

    async def answer(self, request: web.Request) -> tuple[str, str] | web.Response:
        query = await self.query(request)
        if isinstance(query, web.Response):
            return query
        text = reply_to(ResponderRequest(request.match_info["handle"], query, None, ()))
        if "sid" in request.match_info:
            turns = self.session(request)
            if isinstance(turns, web.Response):
                return turns
            for is_user, said in ((True, query), (False, text)):
                turns.append({"_id": str(next(self.ids)), "is_user": is_user, "query": said,
                              "created_at": self.now()})
        return query, text

    async def chat(self, request: web.Request) -> web.StreamResponse:
        answered = await self.answer(request)
        if isinstance(answered, web.Response):
            return answered
        return web.json_response({"message": answered[1], "message_at": self.now(),
                                  "is_user": False})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        answered = await self.answer(request)
        if isinstance(answered, web.Response):
            return answered
        words = answered[1].split(" ")
        events = [b"event: token\r\ndata:" + json.dumps(
            {"content": word if i == 0 else " " + word, "type": "token"},
            separators=(",", ":")).encode() + b"\r\n\r\n" for i, word in enumerate(words)]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b": keep-alive\r\n\r\n" + b"".join(events[:2]))
        for pair in range(2, len(events), 2):
            await asyncio.sleep(0.005)
            await response.write(b"".join(events[pair : pair + 2]))
        await response.write_eof()
        return response

    async def create(self, request: web.Request) -> web.StreamResponse:
        sid = str(next(self.ids))
        self.sessions[sid] = []
        return web.json_response({"session_id": sid, "status": "created"})

    async def listing(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(list(self.sessions))

    async def history(self, request: web.Request) -> web.StreamResponse:
        turns = self.session(request)
        return turns if isinstance(turns, web.Response) else web.json_response(turns)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        turns = self.session(request)
        if isinstance(turns, web.Response):
            return turns
        del self.sessions[request.match_info["sid"]]
        return web.Response(status=204)


def variant_service() -> AppThread:
    """The variant, ready to start (a context manager)."""
    variant = _Variant()
    app = web.Application(middlewares=[variant.checks])
    for method, path, handler in (
        ("POST", "/chat/", variant.chat),
        ("POST", "/chat/stream/", variant.stream),
        ("POST", "/session/create/", variant.create),
        ("GET", "/session/list/", variant.listing),
        ("POST", "/session/{sid}/chat/", variant.chat),
        ("POST", "/session/{sid}/chat/stream/", variant.stream),
        ("GET", "/session/{sid}/history/", variant.history),
        ("DELETE", "/session/{sid}/", variant.delete),
    ):
        app.router.add_route(method, PREFIX + path, handler)
    return AppThread(app, name="variant-service")
