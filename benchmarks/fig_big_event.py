"""Figure 6: one big event (4 MiB), SSE framing against bare JSON framing.

The event arrives in 1 KiB reads: fed so to the stream decoder alone, then through both
core clients from a server writing 1 KiB HTTP chunks. Decoding must be linear in the
event's size for every framing, so SSE should cost about what bare JSON costs. Times are
CPU time of the measuring process, as in figure 4; wall time is in the notes.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from functools import partial
from typing import Any

from .bulk import CHUNK_BYTES, CONTENT_TYPE, event_body
from .config import Counts
from .fig_stream import cpu_timed
from .harness import Candidate, Row, interleave, ratio_row
from .servers import ServerProcess

FIGURE = "6 one big event"
DECODER = "StreamDecoder, {} framing, 1 KiB reads"
CORE = "AssisterrClient.stream, {} framing"
ACORE = "AsyncAssisterrClient.stream, {} framing"
LIMIT = 2.0


def decode_in_reads(body: bytes, size: int) -> Callable[[], None]:
    """Feed ``body`` to a fresh decoder in 1 KiB reads; fail unless all text came out."""
    from assisterr_core import StreamDecoder

    def run() -> None:
        decoder = StreamDecoder(CONTENT_TYPE)
        got = 0
        for start in range(0, len(body), CHUNK_BYTES):
            got += sum(map(len, decoder.feed(body[start : start + CHUNK_BYTES])))
        got += sum(map(len, decoder.close()))
        if got != size:
            raise RuntimeError(f"decoded {got} characters, expected {size}")

    return run


def checked(size: int, text_length: Callable[[], int]) -> Callable[[], None]:
    """Run ``text_length``; fail unless it counted ``size`` characters of text."""

    def run() -> None:
        got = text_length()
        if got != size:
            raise RuntimeError(f"streamed {got} characters, expected {size}")

    return run


def run(counts: Counts) -> list[Row]:
    """Measure decoder and clients per framing, interleaved; SSE over JSON is the figure."""
    from assisterr_core import AssisterrClient, AsyncAssisterrClient

    size = counts.big_event_chars
    loop = asyncio.new_event_loop()
    with ServerProcess() as ep:
        options: dict[str, Any] = {"api_key": ep.api_key, "base_url": ep.bulk, "max_retries": 0}
        core, acore = AssisterrClient(**options), AsyncAssisterrClient(**options)

        def streamed(framing: str) -> int:  # the handle names the framing, the query the size
            return sum(map(len, core.stream(framing, str(size))))

        async def astreamed(framing: str) -> int:
            return sum([len(delta) async for delta in acore.stream(framing, str(size))])

        readers: dict[str, Callable[[], None]] = {}
        for framing in ("json", "sse"):
            readers[DECODER.format(framing)] = decode_in_reads(event_body(framing, size), size)
            readers[CORE.format(framing)] = checked(size, partial(streamed, framing))
            readers[ACORE.format(framing)] = checked(
                size, partial(lambda f: loop.run_until_complete(astreamed(f)), framing))
        walls: dict[str, list[float]] = {name: [] for name in readers}
        candidates = [Candidate(name, cpu_timed(fn, walls[name])) for name, fn in readers.items()]
        samples = interleave(candidates, counts.big_event_rounds, warmup=1, collect=True)
        core.close()
        loop.run_until_complete(acore.close())
    loop.close()
    row = partial(ratio_row, FIGURE, samples, unit="ms CPU")
    rows = []
    for label in (DECODER, CORE, ACORE):
        rows.append(row(label.format("json")))
        rows.append(row(label.format("sse"), versus=label.format("json"), limit=LIMIT))
    for each in rows:
        wall = walls.get(each.candidate)
        if wall and not each.note:
            each.note = f"wall {statistics.median(wall) * 1e3:,.0f} ms"
    return rows
