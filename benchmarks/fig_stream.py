"""Figure 4: stream throughput and peak memory growth on a long reply.

Throughput is counted per second of the measuring process's CPU time: the server (another
process, on the other core) writes chunks at its own pace, which would otherwise cap raw
decoding and every client alike. The wall-clock rate is kept in each row's note.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from . import models
from .config import QUERY, Counts
from .harness import Candidate, Row, Samples, interleave, ratio_row
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
LC_FLOOR = "floor BaseChatModel.stream"
LI_FLOOR = "floor CustomLLM.stream_complete"


def cpu_timed(fn: Callable[[], object], wall: list[float]) -> Callable[[], float]:
    """Return ``fn``'s CPU time in this process; append its wall time to ``wall``."""

    def run() -> float:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu = time.process_time() - start_cpu
        wall.append(time.perf_counter() - start_wall)
        return cpu

    return run


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
            LC_FLOOR: (models.lc_floor(raw), reader(lambda m: m.stream(QUERY))),
            LI_FLOOR: (models.li_floor(raw), reader(lambda m: m.stream_complete(QUERY))),
        }
        readers: dict[str, Callable[[], None] | None] = {
            WIRE: lambda: raw.wire(QUERY),
            RAW: consume(lambda: raw.deltas(QUERY), n),
            RAW_STUB: consume(lambda: raw_stub.deltas(QUERY), n),
        }
        notes: dict[str, str] = {}
        for name, (made, call) in built.items():
            readers[name], notes[name] = models.candidate_of(made, call)
        walls: dict[str, list[float]] = {name: [] for name in readers}
        candidates = [
            Candidate(name, cpu_timed(fn, walls[name]) if fn else None, notes.get(name, ""))
            for name, fn in readers.items()
        ]
        speed = interleave(candidates, counts.stream_rounds, warmup=1, collect=True)
        memory = Samples()
        for name, fn in readers.items():
            if fn is not None and name in speed.values:
                memory.values[name] = [peak_growth(fn)]
            else:
                memory.notes[name] = speed.notes.get(name, "not available")
        raw.close()
        raw_stub.close()
        models.close(*(made for made, _ in built.values()))
    per_cpu = partial(ratio_row, FIGURE, speed, unit="chunks/CPU-s", show=lambda t: n / t)
    mib = partial(ratio_row, MEMORY, memory, unit="MiB", show=lambda b: b / 2**20)
    rows = [
        per_cpu(WIRE, versus=RAW),
        per_cpu(RAW),
        per_cpu(CORE, versus=RAW, limit=1.5),
        per_cpu(LC_FLOOR, versus=RAW),
        per_cpu(LC, versus=RAW),
        per_cpu(LC, versus=LC_FLOOR, label=f"{LC} / floor"),
        per_cpu(LI_FLOOR, versus=RAW),
        per_cpu(LI, versus=RAW),
        per_cpu(LI, versus=LI_FLOOR, label=f"{LI} / floor"),
        per_cpu(RAW_STUB),
        per_cpu(LC_PEER, versus=RAW_STUB),
        per_cpu(LI_PEER, versus=RAW_STUB),
        per_cpu(LC, versus=LC_PEER, limit=1.0, label=f"{LC} / {LC_PEER} (CPU time)"),
    ]
    for row in rows:
        wall = walls.get(row.candidate)
        if wall and not row.note:
            row.note = f"wall {n / statistics.median(wall):,.0f} chunks/s"
    rows += [mib(name, versus=None if name == RAW else RAW) for name in readers]
    return rows
