"""Figure 3: async fan-out, many concurrent calls against a server with 50 ms latency."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp

from . import models
from .config import QUERY, Counts
from .harness import Candidate, Row, interleave, ratio_row
from .raw import HANDLE, PEER_MODEL
from .servers import Endpoints, ServerProcess

FIGURE = "3 async fan-out"
IDEAL = "ideal (rounds x latency)"
RAW = "raw aiohttp -> emulator"
RAW_STUB = "raw aiohttp -> OpenAI stub"
CORE = "AsyncAssisterrClient.chat"
LC = "ChatAssisterr.abatch"
LI = "Assisterr.acomplete"
LC_PEER = "ChatOpenAI.abatch"
LI_PEER = "OpenAI.acomplete (llama-index)"


async def gather_limited(call: Callable[[], Awaitable[Any]], calls: int, limit: int) -> None:
    """Run ``calls`` calls through ``asyncio.gather`` with a semaphore of ``limit``."""
    semaphore = asyncio.Semaphore(limit)

    async def one() -> None:
        async with semaphore:
            await call()

    await asyncio.gather(*(one() for _ in range(calls)))


class RawAio:
    """Raw ``aiohttp`` posts to the emulator and the stub, from one session."""

    def __init__(self, ep: Endpoints) -> None:
        self.ep = ep
        self.session: aiohttp.ClientSession | None = None

    async def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        return self.session

    async def emulator(self) -> str:
        session = await self._session()
        url = f"{self.ep.emulator}/api/v1/slm/{HANDLE}/chat/"
        async with session.post(url, json={"query": QUERY},
                                headers={"X-Api-Key": self.ep.api_key}) as response:
            response.raise_for_status()
            return str((await response.json())["message"])

    async def stub(self) -> str:
        session = await self._session()
        body = {"model": PEER_MODEL, "messages": [{"role": "user", "content": QUERY}]}
        async with session.post(f"{self.ep.stub}/v1/chat/completions", json=body,
                                headers={"Authorization": "Bearer stub"}) as response:
            response.raise_for_status()
            return str((await response.json())["choices"][0]["message"]["content"])

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def run(counts: Counts) -> list[Row]:
    """Measure every candidate, interleaved, and return the figure's rows."""
    calls, limit = counts.fanout_calls, counts.fanout_concurrency
    loop = asyncio.new_event_loop()

    def wall(make: Callable[[], Awaitable[Any]]) -> Callable[[], float]:
        def run_once() -> float:
            start = time.perf_counter()
            loop.run_until_complete(make())  # type: ignore[arg-type]
            return time.perf_counter() - start
        return run_once

    def gathered(call: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Callable[[], float]]:
        return lambda m: wall(lambda: gather_limited(lambda: call(m), calls, limit))

    def batched(m: Any) -> Callable[[], float]:
        return wall(lambda: m.abatch([QUERY] * calls, config={"max_concurrency": limit}))

    with ServerProcess(latency=counts.fanout_latency) as ep:
        raw = RawAio(ep)
        acore = models.async_core_client(ep)
        built = {
            CORE: (acore, gathered(lambda m: m.chat(HANDLE, QUERY))),
            LC: (models.chat_assisterr(ep), batched),
            LI: (models.assisterr_llm(ep), gathered(lambda m: m.acomplete(QUERY))),
            LC_PEER: (models.chat_openai(ep), batched),
            LI_PEER: (models.openai_llm(ep), gathered(lambda m: m.acomplete(QUERY))),
        }
        candidates = [
            Candidate(RAW, wall(lambda: gather_limited(raw.emulator, calls, limit))),
            Candidate(RAW_STUB, wall(lambda: gather_limited(raw.stub, calls, limit))),
        ]
        for name, (made, call) in built.items():
            candidates.append(Candidate(name, *models.candidate_of(made, call)))
        samples = interleave(candidates, counts.fanout_rounds, warmup=1, collect=True)
        loop.run_until_complete(raw.close())
        if acore[0] is not None:
            loop.run_until_complete(acore[0].close())
        made_models = [made for made, _ in built.values()]
        loop.run_until_complete(models.aclose_peers(*made_models))
        models.close(*made_models)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    samples.values[IDEAL] = [math.ceil(calls / limit) * counts.fanout_latency]
    row = partial(ratio_row, FIGURE, samples, unit="ms")
    return [
        row(IDEAL),
        row(RAW, versus=IDEAL),
        row(CORE, versus=IDEAL, limit=1.3),
        row(LC, versus=IDEAL, limit=1.3),
        row(LI, versus=IDEAL, limit=1.3),
        row(RAW_STUB, versus=IDEAL),
        row(LC_PEER, versus=IDEAL),
        row(LI_PEER, versus=IDEAL),
        row(CORE, versus=RAW, label=f"{CORE} / raw"),
        row(LC, versus=RAW, label=f"{LC} / raw"),
        row(LI, versus=RAW, label=f"{LI} / raw"),
        row(LC, versus=LC_PEER, limit=1.0, label=f"{LC} / {LC_PEER}"),
        row(LI, versus=LI_PEER, limit=1.0, label=f"{LI} / {LI_PEER}"),
    ]
