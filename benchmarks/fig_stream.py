"""Figure 4: stream throughput (chunks/s) and peak memory growth on a long reply."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from . import models
from .config import QUERY, Counts
from .harness import Candidate, Row, Samples, interleave, ratio_row, timed
from .raw import HANDLE, RawAssisterr, RawOpenAI, count
from .servers import ServerProcess

FIGURE = "4 stream throughput"
MEMORY = "4 stream peak memory"
WIRE = "raw bytes, no decoding (server pace)"
RAW = "raw requests + JSON decode -> emulator"
RAW_STUB = "raw requests + SSE/JSON decode -> stub"
CORE = "AssisterrClient.stream"
LC = "ChatAssisterr.stream"
LI = "Assisterr.stream_complete"
LC_PEER = "ChatOpenAI.stream"
LI_PEER = "OpenAI.stream_complete (llama-index)"


def consume(open_stream: Callable[[], Iterable[Any]], expected: int) -> Callable[[], None]:
    """Read a whole stream; fail if it carried fewer chunks than the server sent."""

    def run() -> None:
        got = count(iter(open_stream()))
        if got < expected:
            raise RuntimeError(f"got {got} chunks, expected {expected}")

    return run


def peak_growth(fn: Callable[[], object]) -> float:
    """Peak traced memory above the starting point while ``fn`` runs, in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak - start)


def run(counts: Counts) -> list[Row]:
    """Time each candidate (interleaved), then trace each one's memory in a separate pass."""
    n = counts.stream_chunks
    with ServerProcess(chunks=n) as ep:
        raw, raw_stub = RawAssisterr(ep), RawOpenAI(ep)
        core = models.core_client(ep)

        def reader(open_stream: Callable[[Any], Iterable[Any]]) -> Callable[[Any], Any]:
            return lambda m: consume(lambda: open_stream(m), n)

        built = {
            CORE: (core, reader(lambda m: m.stream(HANDLE, QUERY))),
            LC: (models.chat_assisterr(ep), reader(lambda m: m.stream(QUERY))),
            LI: (models.assisterr_llm(ep), reader(lambda m: m.stream_complete(QUERY))),
            LC_PEER: (models.chat_openai(ep), reader(lambda m: m.stream(QUERY))),
            LI_PEER: (models.openai_llm(ep), reader(lambda m: m.stream_complete(QUERY))),
        }
        readers: dict[str, Callable[[], None] | None] = {
            WIRE: lambda: raw.wire(QUERY),
            RAW: consume(lambda: raw.deltas(QUERY), n),
            RAW_STUB: consume(lambda: raw_stub.deltas(QUERY), n),
        }
        notes: dict[str, str] = {}
        for name, (made, call) in built.items():
            readers[name], notes[name] = models.candidate_of(made, call)
        candidates = [Candidate(name, timed(fn) if fn else None, notes.get(name, ""))
                      for name, fn in readers.items()]
        speed = interleave(candidates, counts.stream_rounds, warmup=1)
        memory = Samples()
        for name, fn in readers.items():
            if fn is not None and name in speed.values:
                memory.values[name] = [peak_growth(fn)]
            else:
                memory.notes[name] = speed.notes.get(name, "not available")
        raw.close()
        raw_stub.close()
        if core[0] is not None:
            core[0].close()
    per_second = partial(ratio_row, FIGURE, speed, unit="chunks/s", show=lambda t: n / t)
    mib = partial(ratio_row, MEMORY, memory, unit="MiB", show=lambda b: b / 2**20)
    rows = [
        per_second(WIRE, versus=RAW),
        per_second(RAW),
        per_second(CORE, versus=RAW, limit=1.5),
        per_second(LC, versus=RAW),
        per_second(LI, versus=RAW),
        per_second(RAW_STUB),
        per_second(LC_PEER, versus=RAW_STUB),
        per_second(LI_PEER, versus=RAW_STUB),
        per_second(LC, versus=LC_PEER, limit=1.0, label=f"{LC} / {LC_PEER} (time)"),
    ]
    rows += [mib(name, versus=None if name == RAW else RAW) for name in readers]
    return rows
