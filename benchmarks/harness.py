"""Interleaved measurement and the rows of the result table."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Candidate:
    """One thing to measure: ``run`` returns one sample (seconds), or None if unavailable."""

    name: str
    run: Callable[[], float] | None
    note: str = ""


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """Wrap ``fn`` so that calling it returns its wall time in seconds."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


@dataclass
class Samples:
    """Samples per candidate, and why a candidate has none."""

    values: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        found = self.values.get(name)
        return statistics.median(found) if found else None


def interleave(candidates: list[Candidate], rounds: int, warmup: int = 1,
               seed: int = 7, collect: bool = False) -> Samples:
    """Run every candidate once per round, in a shuffled order, ``warmup`` rounds unrecorded.

    ``collect`` runs a full garbage collection before each round (for few, long rounds: a
    full collection with the frameworks loaded costs ~0.1 s). A candidate that raises is
    dropped, with the error as its note.
    """
    samples = Samples()
    live = []
    for candidate in candidates:
        if candidate.run is None:
            samples.notes[candidate.name] = candidate.note or "not available"
        else:
            live.append(candidate)
            samples.values[candidate.name] = []
    rng = random.Random(seed)
    for index in range(warmup + rounds):
        order = live[:]
        rng.shuffle(order)
        if collect:
            gc.collect()
        for candidate in order:
            assert candidate.run is not None
            try:
                value = candidate.run()
            except Exception as exc:
                samples.notes[candidate.name] = f"failed: {type(exc).__name__}: {exc}"[:160]
                samples.values.pop(candidate.name, None)
                live.remove(candidate)
                continue
            if index >= warmup:
                samples.values[candidate.name].append(value)
    return samples


@dataclass
class Row:
    """One line of the result table."""

    figure: str
    candidate: str
    value: float | None
    unit: str
    ratio: float | None = None
    versus: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    samples: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio_row(
    figure: str,
    samples: Samples,
    name: str,
    *,
    unit: str,
    scale: float = 1e3,
    versus: str | None = None,
    limit: float | None = None,
    label: str | None = None,
    show: Callable[[float], float] | None = None,
) -> Row:
    """A row for ``name``: its median, its ratio to ``versus``, checked against ``limit``."""
    value = samples.median(name)
    base = samples.median(versus) if versus else None
    ratio = value / base if value is not None and base else None
    note = samples.notes.get(name, "")
    if versus and base is None and value is not None:
        note = f"baseline {versus}: {samples.notes.get(versus, 'missing')}"
    shown = None if value is None else (show(value) if show else value * scale)
    return Row(
        figure=figure,
        candidate=label or name,
        value=shown,
        unit=unit,
        ratio=ratio,
        versus=versus or "",
        target=f"<= {limit:g}x" if limit is not None else "",
        met=None if limit is None or ratio is None else ratio <= limit,
        note=note,
        samples=len(samples.values.get(name, [])),
    )


def compare_row(figure: str, label: str, ours: float | None, theirs: dict[str, float | None],
                target: str = "< best peer") -> Row:
    """Our ratio over the best (lowest) of the peers' ratios; met when below 1."""
    known = {k: v for k, v in theirs.items() if v is not None}
    if ours is None or not known:
        missing = "ours" if ours is None else "no peer measured"
        return Row(figure, label, None, "", target=target, note=f"not comparable: {missing}")
    best_name, best = min(known.items(), key=lambda item: item[1])
    ratio = ours / best
    return Row(figure, label, None, "", ratio=ratio, versus=best_name, target=target,
               met=ratio < 1.0)
