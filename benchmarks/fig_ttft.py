"""Figure 2: time to first token; the server sends a chunk at once, then one per 50 ms."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from . import models
from .config import QUERY, Counts
from .harness import Candidate, Row, interleave, ratio_row
from .raw import HANDLE, RawAssisterr, RawOpenAI, afirst_token_time, first_token_time
from .servers import ServerProcess

FIGURE = "2 time to first token"
RAW = "raw requests reader -> emulator"
RAW_STUB = "raw requests reader -> OpenAI stub"
CORE = "AssisterrClient.stream"
ACORE = "AsyncAssisterrClient.stream"
LC = "ChatAssisterr.stream"
ALC = "ChatAssisterr.astream"
LI = "Assisterr.stream_complete"
LC_FLOOR = "floor BaseChatModel.stream"
LI_FLOOR = "floor CustomLLM.stream_complete"
LC_PEER = "ChatOpenAI.stream"
LI_PEER = "OpenAI.stream_complete (llama-index)"
CHUNKS = 3


def _content(chunk: Any) -> str:
    return str(chunk.content)


def _delta(response: Any) -> str:
    return str(response.delta or "")


def run(counts: Counts) -> list[Row]:
    """Measure every candidate, interleaved, and return the figure's rows."""
    loop = asyncio.new_event_loop()
    with ServerProcess(chunks=CHUNKS, chunk_delay=counts.ttft_chunk_delay) as ep:
        raw, raw_stub = RawAssisterr(ep), RawOpenAI(ep)
        core, acore = models.core_client(ep), models.async_core_client(ep)
        chat = models.chat_assisterr(ep)

        def sync(open_stream: Any, text: Any = str) -> Any:
            return lambda m: lambda: first_token_time(lambda: open_stream(m), text)

        def asyn(open_stream: Any, text: Any = str) -> Any:
            return lambda m: lambda: loop.run_until_complete(
                afirst_token_time(lambda: open_stream(m), text))

        built = {
            CORE: (core, sync(lambda m: m.stream(HANDLE, QUERY))),
            ACORE: (acore, asyn(lambda m: m.stream(HANDLE, QUERY))),
            LC: (chat, sync(lambda m: m.stream(QUERY), _content)),
            ALC: (chat, asyn(lambda m: m.astream(QUERY), _content)),
            LI: (models.assisterr_llm(ep), sync(lambda m: m.stream_complete(QUERY), _delta)),
            LC_FLOOR: (models.lc_floor(raw), sync(lambda m: m.stream(QUERY), _content)),
            LI_FLOOR: (models.li_floor(raw), sync(lambda m: m.stream_complete(QUERY), _delta)),
            LC_PEER: (models.chat_openai(ep), sync(lambda m: m.stream(QUERY), _content)),
            LI_PEER: (models.openai_llm(ep), sync(lambda m: m.stream_complete(QUERY), _delta)),
        }
        candidates = [
            Candidate(RAW, lambda: first_token_time(lambda: raw.deltas(QUERY))),
            Candidate(RAW_STUB, lambda: first_token_time(lambda: raw_stub.deltas(QUERY))),
        ]
        for name, (made, call) in built.items():
            candidates.append(Candidate(name, *models.candidate_of(made, call)))
        samples = interleave(candidates, counts.ttft_rounds, warmup=2)
        raw.close()
        raw_stub.close()
        models.close(*(made for made, _ in built.values()))
        if acore[0] is not None:
            loop.run_until_complete(acore[0].close())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    row = partial(ratio_row, FIGURE, samples, unit="ms")
    return [
        row(RAW),
        row(CORE, versus=RAW, limit=1.1),
        row(ACORE, versus=RAW, limit=1.1),
        row(LC, versus=RAW, limit=1.1),
        row(ALC, versus=RAW, limit=1.1),
        row(LI, versus=RAW, limit=1.1),
        row(LC_FLOOR, versus=RAW),
        row(LC, versus=LC_FLOOR, label=f"{LC} / floor"),
        row(LI_FLOOR, versus=RAW),
        row(LI, versus=LI_FLOOR, label=f"{LI} / floor"),
        row(RAW_STUB),
        row(LC_PEER, versus=RAW_STUB),
        row(LI_PEER, versus=RAW_STUB),
    ]
