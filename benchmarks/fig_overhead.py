"""Figure 1: per-call overhead over a raw ``requests`` post to the same server."""

from __future__ import annotations

from functools import partial

from . import models
from .config import QUERY, Counts
from .harness import Candidate, Row, compare_row, interleave, ratio_row, timed
from .raw import HANDLE, RawAssisterr, RawOpenAI
from .servers import ServerProcess

FIGURE = "1 per-call overhead"
RAW = "raw requests -> emulator"
RAW_STUB = "raw requests -> OpenAI stub"
CORE = "AssisterrClient.chat"
LC = "ChatAssisterr.invoke"
LI = "Assisterr.complete"
LC_FLOOR = "floor BaseChatModel.invoke"
LI_FLOOR = "floor CustomLLM.complete"
LC_PEER = "ChatOpenAI.invoke"
LI_PEER = "OpenAI.complete (llama-index)"


def run(counts: Counts) -> list[Row]:
    """Measure every candidate, interleaved, and return the figure's rows."""
    with ServerProcess() as ep:
        raw, raw_stub = RawAssisterr(ep), RawOpenAI(ep)
        core = models.core_client(ep)
        built = {
            CORE: (core, lambda m: timed(lambda: m.chat(HANDLE, QUERY))),
            LC: (models.chat_assisterr(ep), lambda m: timed(lambda: m.invoke(QUERY))),
            LI: (models.assisterr_llm(ep), lambda m: timed(lambda: m.complete(QUERY))),
            LC_FLOOR: (models.lc_floor(raw), lambda m: timed(lambda: m.invoke(QUERY))),
            LI_FLOOR: (models.li_floor(raw), lambda m: timed(lambda: m.complete(QUERY))),
            LC_PEER: (models.chat_openai(ep), lambda m: timed(lambda: m.invoke(QUERY))),
            LI_PEER: (models.openai_llm(ep), lambda m: timed(lambda: m.complete(QUERY))),
        }
        candidates = [Candidate(RAW, timed(lambda: raw.post(QUERY))),
                      Candidate(RAW_STUB, timed(lambda: raw_stub.post(QUERY)))]
        for name, (made, call) in built.items():
            candidates.append(Candidate(name, *models.candidate_of(made, call)))
        samples = interleave(candidates, counts.overhead_rounds,
                             warmup=max(3, counts.overhead_rounds // 20))
        raw.close()
        raw_stub.close()
        models.close(*(made for made, _ in built.values()))
    row = partial(ratio_row, FIGURE, samples, unit="ms")
    rows = [
        row(RAW),
        row(CORE, versus=RAW, limit=1.1),
        row(LC_FLOOR, versus=RAW),
        row(LC, versus=RAW),
        row(LC, versus=LC_FLOOR, limit=1.1, label=f"{LC} / floor"),
        row(LI_FLOOR, versus=RAW),
        row(LI, versus=RAW),
        row(LI, versus=LI_FLOOR, limit=1.1, label=f"{LI} / floor"),
        row(RAW_STUB),
        row(LC_PEER, versus=RAW_STUB),
        row(LI_PEER, versus=RAW_STUB),
    ]
    peers = {LC_PEER: rows[9].ratio, LI_PEER: rows[10].ratio}
    for ours in (rows[1], rows[3], rows[6]):
        rows.append(compare_row(FIGURE, f"{ours.candidate} / best peer", ours.ratio, peers,
                                target="< both peers"))
    return rows
