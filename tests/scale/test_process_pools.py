"""Models made and used in one process answer from ``ProcessPoolExecutor`` workers.

A forked worker inherits the parent's models with their live connections (a pooled
``requests`` connection, an aiohttp session on an open loop) and must open its own; a spawned
worker receives them pickled, as their settings. Every reply must answer its own prompt,
in the workers and in the parent calling at the same time, and no worker may warn.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from assisterr_emulator import EmulatorServer

from ._answers import Models, answer_all_ways, answer_problems, make_prompts, used_models

TASKS = 8
PROMPTS_PER_TASK = 12
RESULT_TIMEOUT = 90.0

_adopted: Models | None = None  # a worker's models, when the pool's initializer handed them
_noticed: list[str] = []  # warnings and log records (WARNING and up) seen in a worker


class _Notice(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _noticed.append(f"{record.name}: {record.getMessage()}"[:300])


def start_worker(models: Models | None = None) -> None:
    """Pool initializer: report what a user would see on stderr; keep ``models``, if given."""
    global _adopted
    _adopted = models
    logging.captureWarnings(True)  # warnings shown by default go to the log, and so here
    logging.getLogger().addHandler(_Notice(logging.WARNING))


def answer_task(prompts: list[str], models: Models | None = None) -> dict[str, Any]:
    """A pool task: the given models (pickled with it) or the adopted ones answer ``prompts``."""
    chosen = models or _adopted
    assert chosen is not None, "no models: neither handed to the task nor to the worker"
    pairs = answer_all_ways(chosen, prompts, asyncio.run)
    noticed = _noticed[:]
    _noticed.clear()
    return {"pid": os.getpid(), "pairs": pairs, "noticed": noticed}


def check_reports(reports: list[dict[str, Any]], tasks: list[list[str]]) -> None:
    assert all(report["pid"] != os.getpid() for report in reports)
    assert [notice for report in reports for notice in report["noticed"]] == []
    answered = [pair for report in reports for pair in report["pairs"]]
    assert answer_problems([p for task in tasks for p in task], answered) == []


def test_forked_workers_inherit_live_models_and_open_their_own_connections(
    server: EmulatorServer,
) -> None:
    """The parent keeps its loop open and calls while the workers do, over the connections
    its children inherited: a shared socket would cross replies."""
    loop = asyncio.new_event_loop()
    try:
        models = used_models(server, loop.run_until_complete)
        tasks = [make_prompts(PROMPTS_PER_TASK, f"forked task {n}") for n in range(TASKS)]
        parents = make_prompts(TASKS * PROMPTS_PER_TASK, "parent meanwhile")
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"),
                                 initializer=start_worker, initargs=(models,)) as pool:
            futures = [pool.submit(answer_task, task) for task in tasks]  # models not pickled
            parent_pairs = answer_all_ways(models, parents, loop.run_until_complete)
            reports = [future.result(RESULT_TIMEOUT) for future in futures]
        assert answer_problems(parents, parent_pairs) == []
        check_reports(reports, tasks)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def test_spawned_workers_receive_the_models_pickled_with_each_task(
    server: EmulatorServer,
) -> None:
    models = used_models(server, asyncio.run)
    tasks = [make_prompts(PROMPTS_PER_TASK, f"spawned task {n}") for n in range(TASKS)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                             initializer=start_worker) as pool:
        futures = [pool.submit(answer_task, task, models) for task in tasks]
        reports = [future.result(RESULT_TIMEOUT) for future in futures]
    check_reports(reports, tasks)
