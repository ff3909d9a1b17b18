"""An OpenAI-compatible stub that answers like the Assisterr emulator, with its timing.

It serves ``/v1/chat/completions`` and ``/v1/completions`` (plain JSON and SSE streams).
The reply comes from the same responder as the emulator, split into the same chunks,
sent with the same latency and the same delay between chunks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from assisterr_emulator import EmulatorConfig, Responder, ResponderRequest
from assisterr_emulator.responders import split_words

CONFIG_KEY = web.AppKey("stub_config", EmulatorConfig)
RESPONDER_KEY = web.AppKey("stub_responder", object)


def build_stub_app(config: EmulatorConfig, responder: Responder) -> web.Application:
    """The stub application, sharing ``config`` (latency, chunk_delay) with the emulator."""
    app = web.Application()
    app[CONFIG_KEY] = config
    app[RESPONDER_KEY] = responder
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_post("/v1/completions", _completions)
    return app


def _prompt_text(body: dict[str, Any]) -> str:
    if "prompt" in body:
        prompt = body["prompt"]
        return prompt if isinstance(prompt, str) else "".join(map(str, prompt))
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content", "")
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _reply_chunks(request: web.Request, body: dict[str, Any]) -> list[str]:
    responder: Responder = request.app[RESPONDER_KEY]  # type: ignore[assignment]
    ask = ResponderRequest(str(body.get("model", "stub")), _prompt_text(body), None, ())
    reply: str | Iterable[str] = responder(ask)
    return split_words(reply) if isinstance(reply, str) else [str(c) for c in reply]


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    return await _answer(request, chat=True)


async def _completions(request: web.Request) -> web.StreamResponse:
    return await _answer(request, chat=False)


async def _answer(request: web.Request, *, chat: bool) -> web.StreamResponse:
    body = await request.json()
    config = request.app[CONFIG_KEY]
    chunks = _reply_chunks(request, body)
    if config.latency:
        await asyncio.sleep(config.latency)
    model = str(body.get("model", "stub"))
    if not body.get("stream"):
        return web.json_response(_full(model, "".join(chunks), chat=chat))
    frames = [_sse(_chunk(model, text, chat=chat, first=i == 0)) for i, text in enumerate(chunks)]
    tail = _sse(_chunk(model, "", chat=chat, finish=True))
    if (body.get("stream_options") or {}).get("include_usage"):
        tail += _sse(_usage_chunk(model, chat=chat))
    frames[-1] += tail + b"data: [DONE]\n\n"  # same number of HTTP chunks as the emulator
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for index, frame in enumerate(frames):
        if index and config.chunk_delay:
            await asyncio.sleep(config.chunk_delay)
        await response.write(frame)
    await response.write_eof()
    return response


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def _full(model: str, text: str, *, chat: bool) -> dict[str, Any]:
    if chat:
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None,
                                  "message": {"role": "assistant", "content": text}}
        kind = "chat.completion"
    else:
        choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "text": text}
        kind = "text_completion"
    return {"id": "stub-1", "object": kind, "created": int(time.time()), "model": model,
            "choices": [choice], "usage": _usage()}


def _chunk(
    model: str, text: str, *, chat: bool, first: bool = False, finish: bool = False
) -> dict[str, Any]:
    reason = "stop" if finish else None
    if chat:
        delta: dict[str, Any] = {"content": text}
        if first:
            delta["role"] = "assistant"
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": reason,
                                  "logprobs": None}
        kind = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text, "finish_reason": reason, "logprobs": None}
        kind = "text_completion"
    return {"id": "stub-1", "object": kind, "created": 0, "model": model, "choices": [choice]}


def _usage_chunk(model: str, *, chat: bool) -> dict[str, Any]:
    kind = "chat.completion.chunk" if chat else "text_completion"
    return {"id": "stub-1", "object": kind, "created": 0, "model": model, "choices": [],
            "usage": _usage()}
