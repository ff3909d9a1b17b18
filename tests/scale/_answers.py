"""Distinct prompts, answered through every entry point, and a check that no reply crossed.

The local server's default reply echoes a one-line query, so a reply that answers another
prompt, or a prompt answered twice or never, shows at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

Models = tuple[ChatAssisterr, Assisterr]
Pairs = list[tuple[str, str]]

HANDLE = "scale-slm"
TIMEOUT = (5.0, 60.0)  # connect, read: generous, as two cores run the server and the workers


def make_prompts(count: int, tag: str) -> list[str]:
    """``count`` prompts, each distinct and naming ``tag``."""
    return [f"{tag} prompt {index}: what is {index} times {index}?" for index in range(count)]


def echo(prompt: str) -> str:
    """The local server's default answer to a one-line prompt."""
    return f"Hello from {HANDLE}! You said: {prompt}"


def model_options(server: EmulatorServer) -> dict[str, Any]:
    """Settings for a model of the server's handle, with no retries to hide a failure."""
    return {"model": HANDLE, "api_key": server.api_key, "base_url": server.base_url,
            "timeout": TIMEOUT, "max_retries": 0}


def answer_problems(sent: Iterable[str], answered: Iterable[tuple[str, str]]) -> list[str]:
    """What is wrong with ``answered`` (prompt, reply) pairs: crossed, lost or duplicated."""
    expected = Counter(sent)
    got = list(answered)
    problems = [f"{prompt!r} -> {reply[:100]!r}" for prompt, reply in got
                if reply != echo(prompt)]
    seen = Counter(prompt for prompt, _ in got)
    problems += [f"never answered: {prompt!r}" for prompt in expected - seen]
    problems += [f"answered {seen[p]} times, sent {expected[p]}: {p!r}"
                 for p in seen if seen[p] > expected[p]]
    return problems


def answer_all_ways(
    models: Models, prompts: list[str], run: Callable[[Awaitable[Pairs]], Pairs]
) -> Pairs:
    """Answer a quarter of ``prompts`` each through ``invoke``, ``abatch``, ``complete`` and
    ``acomplete``; ``run`` runs the async quarters to completion."""
    chat, llm = models
    lc_sync, lc_async, li_sync, li_async = (prompts[start::4] for start in range(4))
    pairs = [(prompt, str(chat.invoke(prompt).content)) for prompt in lc_sync]
    pairs += [(prompt, llm.complete(prompt).text) for prompt in li_sync]

    async def concurrently() -> Pairs:
        replies = await chat.abatch(lc_async, config={"max_concurrency": 4})
        completions = await asyncio.gather(*(llm.acomplete(prompt) for prompt in li_async))
        texts = [str(reply.content) for reply in replies] + [done.text for done in completions]
        return list(zip(lc_async + li_async, texts, strict=True))

    return pairs + run(concurrently())


def used_models(server: EmulatorServer, run: Callable[[Awaitable[Pairs]], Pairs]) -> Models:
    """Both models, each used sync and async in this process before they travel anywhere."""
    models = (ChatAssisterr(**model_options(server)), Assisterr(**model_options(server)))
    warm_up = make_prompts(8, "warm-up in the parent")
    assert answer_problems(warm_up, answer_all_ways(models, warm_up, run)) == []
    return models
