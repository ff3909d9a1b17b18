"""Figure 7: a batch job, one process with ``abatch`` against Ray Data with two workers.

Many prompts at 50 ms server latency. One process: one ``ChatAssisterr.abatch`` with 64 calls
in flight. Ray Data: two workers, each answering its half with one ``abatch`` of 32 in flight,
so 64 in flight in all and the same ideal, ceil(prompts / 64) x latency. Ray's start-up,
shutdown and the fixed cost of a job (starting its workers) are measured on their own, and
one row is end to end. Ray is imported only when this figure runs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from types import ModuleType
from typing import Any

from . import models
from .config import Counts
from .harness import Row, Samples, ratio_row
from .raw import HANDLE
from .servers import Endpoints, ServerProcess

FIGURE = "7 batch at scale"
IDEAL = "ideal: ceil(prompts / 64) x latency"
ONE = "one process: ChatAssisterr.abatch, 64 in flight"
RAY_JOB = "Ray Data job: 2 workers x abatch, 32 in flight each"
RAY_E2E = "Ray end to end: ray.init + job + ray.shutdown"
RAY_INIT = "Ray start-up: ray.init"
RAY_SMALL_JOB = "Ray Data job of 2 prompts (its workers' start-up)"
RAY_WORK = "Ray Data job less its workers' start-up (job - job of 2)"
RAY_SHUTDOWN = "Ray shutdown: ray.shutdown"
RAY_ROWS = (RAY_JOB, RAY_WORK, RAY_E2E, RAY_INIT, RAY_SMALL_JOB, RAY_SHUTDOWN)
WORKERS = 2
IN_FLIGHT = 64
RAY_ENV = {  # read when Ray is imported and started: a quiet runtime on loopback
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # else Linux gives Ray the outward address
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",  # Ray's default for a new local cluster, said, so it is quiet
}


def prompts_for(count: int) -> list[str]:
    return [f"prompt {index}: what is {index} plus one?" for index in range(count)]


def check_answers(prompts: list[str], answered: list[tuple[str, str]]) -> None:
    """A run whose replies do not answer their prompts is not measured as fast."""
    if sorted(answered) != sorted((p, f"Hello from {HANDLE}! You said: {p}") for p in prompts):
        raise RuntimeError("replies do not match their prompts")


class AnswerBatch:
    """Ray Data map class: each worker holds the model and answers a batch with ``abatch``."""

    def __init__(self, model: Any, in_flight: int) -> None:
        self.model = model
        self.in_flight = in_flight

    async def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        prompts = [str(prompt) for prompt in batch["prompt"]]
        replies = await self.model.abatch(prompts, config={"max_concurrency": self.in_flight})
        return {"prompt": prompts, "reply": [str(reply.content) for reply in replies]}


def ray_job(ray: ModuleType, model: Any, prompts: list[str]) -> float:
    """Seconds for Ray Data to answer ``prompts``: one block per worker, answered as one
    batch by one ``abatch``, and no more than one block at a time per worker."""
    started = time.perf_counter()
    rows = (
        ray.data.from_items([{"prompt": p} for p in prompts], override_num_blocks=WORKERS)
        .map_batches(AnswerBatch, fn_constructor_args=(model, IN_FLIGHT // WORKERS),
                     batch_size=None, num_cpus=0.5,
                     compute=ray.data.ActorPoolStrategy(size=WORKERS,
                                                        max_tasks_in_flight_per_actor=1))
        .take_all()
    )
    elapsed = time.perf_counter() - started
    check_answers(prompts, [(row["prompt"], row["reply"]) for row in rows])
    return elapsed


def one_process(model: Any, prompts: list[str]) -> float:
    started = time.perf_counter()
    replies = asyncio.run(model.abatch(prompts, config={"max_concurrency": IN_FLIGHT}))
    elapsed = time.perf_counter() - started
    check_answers(prompts, [(p, str(r.content)) for p, r in zip(prompts, replies, strict=True)])
    return elapsed


@contextmanager
def ray_environment() -> Iterator[ModuleType | None]:
    """``ray`` imported with :data:`RAY_ENV` set (None if not installed); the environment
    restored afterwards."""
    # Ray caches the token per process: one for the whole process, never written to ~/.ray.
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    saved = {name: os.environ.get(name) for name in RAY_ENV}
    os.environ.update(RAY_ENV)
    try:
        try:
            import ray
            import ray.data
        except ImportError:
            yield None
        else:
            logging.getLogger("ray.data").setLevel(logging.WARNING)  # not a line per job
            yield ray
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ray_round(ray: ModuleType, model: Any, prompts: list[str], samples: Samples) -> None:
    """One start, a job, a job of 2 prompts, the job again, one shutdown; each timed."""
    temp_dir = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths live here
    try:
        started = time.perf_counter()
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING", object_store_memory=128 * 1024**2,
                 _temp_dir=temp_dir)
        init = time.perf_counter() - started
        try:
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            context.wait_for_min_actors_s = 120  # both workers up before the first batch
            first_job = ray_job(ray, model, prompts)
            small_job = ray_job(ray, model, prompts[:WORKERS])
            job = ray_job(ray, model, prompts)
        finally:
            stopping = time.perf_counter()
            ray.shutdown()
            shutdown = time.perf_counter() - stopping
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    for name, value in ((RAY_INIT, init), (RAY_SMALL_JOB, small_job), (RAY_JOB, job),
                        (RAY_WORK, max(job - small_job, 0.0)),  # noise, on tiny runs
                        (RAY_SHUTDOWN, shutdown),
                        (RAY_E2E, init + first_job + shutdown)):
        samples.values.setdefault(name, []).append(value)


def measure(ep: Endpoints, counts: Counts, samples: Samples) -> None:
    """Round by round: one process (while Ray is down), then a Ray round."""
    model, why = models.chat_assisterr(ep)
    if model is None:
        drop(samples, (ONE, *RAY_ROWS), why)
        return
    prompts = prompts_for(counts.scale_prompts)
    one_process(model, prompts[:IN_FLIGHT])  # warm-up: imports, first connections
    with ray_environment() as ray:
        if ray is None:
            drop(samples, RAY_ROWS, "not available: ray is not installed (the bench extra)")
        for _ in range(counts.scale_rounds):
            samples.values.setdefault(ONE, []).append(one_process(model, prompts))
            if ray is None or RAY_JOB in samples.notes:
                continue
            try:
                ray_round(ray, model, prompts, samples)
            except Exception as exc:
                drop(samples, RAY_ROWS, f"failed: {type(exc).__name__}: {exc}"[:160])
    models.close((model, ""))


def drop(samples: Samples, names: tuple[str, ...], why: str) -> None:
    """No samples for ``names``, and ``why`` as their note."""
    for name in names:
        samples.values.pop(name, None)
        samples.notes[name] = why


def run(counts: Counts) -> list[Row]:
    """Measure one process and Ray, round by round, and return the figure's rows."""
    samples = Samples()
    with ServerProcess(latency=counts.scale_latency) as ep:
        measure(ep, counts, samples)
    samples.values[IDEAL] = [math.ceil(counts.scale_prompts / IN_FLIGHT) * counts.scale_latency]
    row = partial(ratio_row, FIGURE, samples, unit="ms")
    return [
        row(IDEAL),
        row(ONE, versus=IDEAL),
        row(RAY_JOB, versus=IDEAL),
        row(RAY_JOB, versus=ONE, label=f"{RAY_JOB} / one process"),
        row(RAY_WORK, versus=IDEAL),
        row(RAY_E2E, versus=IDEAL),
        row(RAY_E2E, versus=ONE, label=f"{RAY_E2E} / one process"),
        row(RAY_INIT, versus=IDEAL),
        row(RAY_SMALL_JOB, versus=IDEAL),
        row(RAY_SHUTDOWN, versus=IDEAL),
    ]
