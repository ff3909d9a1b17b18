"""How many times each figure is measured: the full run, and a quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass

QUERY = "hi"


@dataclass(frozen=True)
class Counts:
    """Iteration counts; every figure is a median over ``*_rounds`` interleaved rounds."""

    overhead_rounds: int = 800
    ttft_rounds: int = 30
    fanout_rounds: int = 10
    fanout_calls: int = 200
    fanout_concurrency: int = 50
    fanout_latency: float = 0.05
    ttft_chunk_delay: float = 0.05
    stream_rounds: int = 4
    stream_chunks: int = 20_000
    import_rounds: int = 15
    big_event_chars: int = 4 * 1024 * 1024
    big_event_rounds: int = 7
    scale_prompts: int = 2_000
    scale_latency: float = 0.05
    scale_rounds: int = 3


FULL = Counts()
QUICK = Counts(overhead_rounds=40, ttft_rounds=3, fanout_rounds=1, stream_rounds=1,
               stream_chunks=2_000, import_rounds=1, big_event_chars=512 * 1024,
               big_event_rounds=1, scale_prompts=200, scale_rounds=1)
