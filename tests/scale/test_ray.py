"""Models travel to Ray: remote tasks and a Ray Data ``map_batches`` answer every prompt.

A local Ray runtime (two CPUs, no dashboard, loopback only, logs in a temporary folder)
runs for this module; the local server runs in the driver and the workers reach it over
127.0.0.1. Every reply must answer its own prompt, the key must stay out of Ray's logs, and
no Ray process may outlive ``ray.shutdown()``. Ray is imported here only, never by the
packages.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from assisterr_emulator import EmulatorServer

from ._answers import Models, answer_all_ways, answer_problems, make_prompts, used_models

DATA_PROMPTS = 240
DATA_BATCH = 20
TASKS = 6
PROMPTS_PER_TASK = 12
RESULT_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 30.0

pytestmark = [
    pytest.mark.slow,  # a Ray runtime takes seconds to start and stop
    # Ray Data's own context sets its deprecated fields when it is made.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
]

# Read when Ray is imported and started: a quiet runtime on loopback. Without the cluster
# switch (its name notwithstanding), Ray on Linux gives every process the machine's outward
# address.
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "token",  # Ray's default for a new local cluster, said, so it does not warn
}


@dataclass
class LocalRay:
    """The ``ray`` module of a started runtime, and the processes and files it made."""

    ray: ModuleType
    temp_dir: Path
    worker_pids: set[int] = field(default_factory=set)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[LocalRay]:
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-"))  # short: Ray's socket paths live here
    # Ray caches the token per process: one for the whole process, kept out of ~/.ray.
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    with pytest.MonkeyPatch.context() as env:
        for name, value in RAY_ENV.items():
            env.setenv(name, value)
        import ray
        import ray.data

        before = descendants(os.getpid())  # others' children (a multiprocessing helper)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING", object_store_memory=128 * 1024**2,
                 _temp_dir=str(temp_dir))
        ray.data.DataContext.get_current().enable_progress_bars = False
        started = LocalRay(ray, temp_dir)
        try:
            assert ray.util.get_node_ip_address() == "127.0.0.1", "Ray was imported earlier"
            yield started
        finally:
            started.worker_pids |= descendants(os.getpid()) - before
            ray.shutdown()
    left = alive_after(started.worker_pids, SHUTDOWN_TIMEOUT)
    shutil.rmtree(temp_dir, ignore_errors=True)
    assert left == {}, f"Ray processes left after shutdown: {left}"


def answer_remotely(models: Models, prompts: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """A Ray task: the driver's models answer ``prompts`` in a worker process."""
    return os.getpid(), answer_all_ways(models, prompts, asyncio.run)


class AnswerBatch:
    """A Ray Data map class: each worker holds both models, and answers a batch with
    ``abatch`` and concurrent ``acomplete`` calls."""

    def __init__(self, models: Models) -> None:
        self.chat, self.llm = models

    async def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        prompts = [str(prompt) for prompt in batch["prompt"]]
        replies = await self.chat.abatch(prompts, config={"max_concurrency": 8})
        completions = await asyncio.gather(*(self.llm.acomplete(p) for p in prompts))
        return {"prompt": prompts,
                "chat_reply": [str(reply.content) for reply in replies],
                "llm_reply": [done.text for done in completions],
                "pid": [os.getpid()] * len(prompts)}


def test_models_made_in_the_driver_answer_in_remote_tasks(
    local_ray: LocalRay, server: EmulatorServer
) -> None:
    ray = local_ray.ray
    models = ray.put(used_models(server, asyncio.run))  # pickled once, read by every task
    task = ray.remote(answer_remotely)
    tasks = [make_prompts(PROMPTS_PER_TASK, f"ray task {n}") for n in range(TASKS)]
    results = ray.get([task.remote(models, prompts) for prompts in tasks],
                      timeout=RESULT_TIMEOUT)
    pids = {pid for pid, _ in results}
    local_ray.worker_pids |= pids
    assert os.getpid() not in pids
    answered = [pair for _, pairs in results for pair in pairs]
    assert answer_problems([p for prompts in tasks for p in prompts], answered) == []


def test_ray_data_map_batches_answers_every_prompt_with_both_models(
    local_ray: LocalRay, server: EmulatorServer
) -> None:
    ray = local_ray.ray
    prompts = make_prompts(DATA_PROMPTS, "ray data")
    rows = (
        ray.data.from_items([{"prompt": prompt} for prompt in prompts])
        .map_batches(AnswerBatch, fn_constructor_args=(used_models(server, asyncio.run),),
                     batch_size=DATA_BATCH, compute=ray.data.ActorPoolStrategy(size=2),
                     num_cpus=0.5)  # I/O-bound: both workers and Ray Data's own tasks fit
        .take_all()
    )
    pids = {row["pid"] for row in rows}
    local_ray.worker_pids |= pids
    assert os.getpid() not in pids
    assert answer_problems(prompts, [(r["prompt"], r["chat_reply"]) for r in rows]) == []
    assert answer_problems(prompts, [(r["prompt"], r["llm_reply"]) for r in rows]) == []
    assert server.chat_requests()[-1].api_key == server.api_key  # it travelled with the models
    assert files_containing(server.api_key, local_ray.temp_dir) == []


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        stat = _stat(int(entry)) if entry.isdigit() else None
        if stat is not None:
            children.setdefault(int(stat[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive_after(pids: set[int], timeout: float) -> dict[int, str]:
    """The processes of ``pids`` still running (not exited, not zombies) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid: _cmdline(pid) for pid in pids if _running(pid)}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _running(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has exited, only its entry waits


def _stat(pid: int) -> list[str] | None:
    """``[state, ppid, ...]`` from /proc/PID/stat, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def files_containing(text: str, folder: Path) -> list[str]:
    """Files under ``folder`` (Ray's logs and session files) whose bytes contain ``text``."""
    needle = text.encode()
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path))
        except OSError:  # a file Ray removed meanwhile
            continue
    return found
