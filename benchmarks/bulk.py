"""A server for figure 6: one big event on the stream endpoint, written in 1 KiB HTTP chunks.

``POST /api/v1/slm/{framing}/chat/stream/`` with ``{"query": "<size>"}`` answers one event
of ``size`` characters, framed as SSE (``sse``) or bare JSON (``json``), in small chunks,
so that a client sees the event arrive in many reads, as from a slow or far-away server.
"""

from __future__ import annotations

import json

from aiohttp import web

CHUNK_BYTES = 1024
FRAMINGS = ("sse", "json")
CONTENT_TYPE = "text/event-stream"  # the service's type for both: the client must detect
WORDS = "lorem ipsum dolor sit amet "


def event_text(size: int) -> str:
    """The event's text: words, ``size`` characters long."""
    return (WORDS * (size // len(WORDS) + 1))[:size]


def event_body(framing: str, size: int) -> bytes:
    """One ``{"message": text}`` event, as an SSE data line or as a bare JSON object."""
    event = json.dumps({"message": event_text(size)}).encode()
    return b"data: " + event + b"\n\n" if framing == "sse" else event


async def _big_event(request: web.Request) -> web.StreamResponse:
    framing = request.match_info["framing"]
    if framing not in FRAMINGS:
        raise web.HTTPNotFound()
    body = event_body(framing, int((await request.json())["query"]))
    response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(body), CHUNK_BYTES):
        await response.write(body[start : start + CHUNK_BYTES])
    await response.write_eof()
    return response


def build_bulk_app() -> web.Application:
    app = web.Application(client_max_size=1024)
    app.router.add_post("/api/v1/slm/{framing}/chat/stream/", _big_event)
    return app
