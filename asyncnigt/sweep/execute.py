"""Running the runs of a sweep, in this process or in a pool of worker processes.

Each run is one call of :func:`~asyncnigt.runner.run_scenario`, which assembles the run
directory under a temporary name and renames it into place: a run directory is complete
or absent. Runs are independent and seeded by their own seed, so which process runs
them, and in which order, changes nothing in their files.

Worker processes are started with ``spawn`` (no state inherited from the parent), each
with a share of the cores: ``ASYNCNIGT_THREADS`` (the gym oracle's default ``threads``,
see :mod:`asyncnigt.threads`) is set to the cores divided by the processes unless the
user set it. They ignore SIGINT: on Ctrl-C the parent stops the pool, which sends
SIGTERM; a worker turns it into ``SystemExit`` so that ``run_scenario`` removes its
half-built directory. On Linux a worker also gets SIGTERM when the sweep process dies
(even by SIGKILL); elsewhere a worker whose parent died finishes its current run and
takes no further task.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError
from ..threads import THREADS_VARIABLE, cores


@dataclass(frozen=True)
class TaskResult:
    name: str
    wall_seconds: float
    error: tuple[str, str] | None = None  # (path, message) of a ScenarioError


def is_complete(out: str | Path) -> bool:
    """A run directory exists only once complete; ``summary.csv`` is written last."""
    return (Path(out) / "summary.csv").is_file()


def run_task(task) -> TaskResult:
    """Run one cell × seed into ``task.out``."""
    from ..runner import run_scenario
    from ..scenario import parse_scenario

    start = time.perf_counter()
    try:
        run_scenario(parse_scenario(task.doc), task.out)
    except ScenarioError as err:  # not picklable as is: carried back as data
        return TaskResult(task.name, time.perf_counter() - start, (err.path, err.message))
    return TaskResult(task.name, time.perf_counter() - start)


def run_tasks(tasks, jobs: int, on_done) -> None:
    """Run ``tasks``; ``on_done(TaskResult)`` is called in this process after each."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_done(_checked(run_task(task)))
        return
    context = multiprocessing.get_context("spawn")
    processes = min(jobs, len(tasks))
    with _threads_per_process(processes):  # the spawned processes inherit it
        pool = context.Pool(processes, initializer=_init_worker)
    try:
        args = [(task, os.getpid()) for task in tasks]
        for result in pool.imap_unordered(_pool_task, args):
            on_done(_checked(result))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


@contextmanager
def _threads_per_process(processes: int):
    """``ASYNCNIGT_THREADS`` = cores // processes (at least 1) in this process's
    environment while the pool starts, unless already set."""
    if THREADS_VARIABLE in os.environ:
        yield
        return
    os.environ[THREADS_VARIABLE] = str(max(1, cores() // processes))
    try:
        yield
    finally:
        del os.environ[THREADS_VARIABLE]


def _checked(result: TaskResult) -> TaskResult:
    if result.error is not None:
        path, message = result.error
        raise ScenarioError(path, f"{message} (run {result.name})")
    return result


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate)
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: SIGTERM when the parent dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _terminate(signum, frame):
    """First SIGTERM: unwind (removing the half-built run); later ones are ignored
    (Linux may deliver the parent-death signal twice)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _pool_task(arg) -> TaskResult:
    task, parent = arg
    if os.getppid() != parent:  # the sweep was killed: leave the rest to the resume
        raise SystemExit(1)
    return run_task(task)
