"""A process pool that survives its tasks: crashes, hangs and memory blow-ups become results.

libcst's native parser can kill its process (a stack overflow on deeply nested input), and a
hostile file can make any parser spin. `concurrent.futures` breaks the whole pool on the first
dead worker and cannot stop a hung task, so botscan runs its own small pool: each worker takes
one task at a time, the parent watches a deadline per task, and a worker that dies or overruns
is killed, replaced, and its task reported as a `Failure`. Workers run their tasks in a thread
with a large stack and a raised recursion limit, and under an address-space cap.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_STACK_BYTES = 256 * 1024 * 1024
_RECURSION_LIMIT = 8000


@dataclass(frozen=True)
class Failure:
    reason: str  # "timeout", "memory", "crash" or "error"
    detail: str

    @property
    def out_of_memory(self) -> bool:
        return self.reason == "memory"


def _limit_memory(limit: int | None) -> None:
    if limit is None:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: the deadline still holds
        return


def _serve(conn: Any, func: Callable[[Any], Any]) -> None:
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, task = message
        try:
            result: Any = func(task)
        except MemoryError:
            result = Failure("memory", "ran out of memory")
        except Exception as exc:  # an analyzer bug must cost one file, not the scan
            result = Failure("error", f"{type(exc).__name__}: {str(exc)[:200]}")
        conn.send((index, result))


def _worker_main(conn: Any, func: Callable[[Any], Any], memory_limit: int | None) -> None:
    _limit_memory(memory_limit)
    sys.setrecursionlimit(_RECURSION_LIMIT)
    threading.stack_size(_STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(conn, func), daemon=True)
    thread.start()
    thread.join()


class _Worker(Generic[T]):
    def __init__(self, ctx: Any, func: Callable[[T], Any], memory_limit: int | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, func, memory_limit),
                                   daemon=True)
        self.process.start()
        child.close()
        self.task: int | None = None
        self.deadline = 0.0
        self.memory_limit = memory_limit

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.is_alive():
            self.process.kill()
        else:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _context() -> Any:
    # fork is fast and shares the loaded catalog; elsewhere, spawn (macOS forks unsafely).
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run(func: Callable[[T], R], tasks: Sequence[T], *, jobs: int, timeout: float,
        memory_limit: int | None = None) -> Iterator[tuple[int, R | Failure]]:
    """Run `func` over `tasks` in up to `jobs` worker processes; yield (index, result).

    Results arrive in completion order. A task that crashes its worker yields
    `Failure("crash", …)`, one that runs past `timeout` seconds `Failure("timeout", …)`.
    """
    if not tasks:
        return
    ctx = _context()
    pending = deque(range(len(tasks)))
    workers: list[_Worker[T]] = []
    try:
        for _ in range(max(1, min(jobs, len(tasks)))):
            workers.append(_Worker(ctx, func, memory_limit))
        while pending or any(w.task is not None for w in workers):
            for worker in workers:
                if worker.task is None and pending:
                    worker.task = pending.popleft()
                    worker.deadline = time.monotonic() + timeout
                    worker.conn.send((worker.task, tasks[worker.task]))
            busy = [w for w in workers if w.task is not None]
            wait_for = min(w.deadline for w in busy) - time.monotonic()
            multiprocessing.connection.wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy],
                timeout=max(0.0, wait_for),
            )
            for i, worker in enumerate(workers):
                outcome = _collect(worker)
                if outcome is None:
                    continue
                yield outcome
                if worker.task is not None:  # the worker is gone: replace it
                    worker.task = None
                    worker.stop(kill=True)
                    workers[i] = _Worker(ctx, func, memory_limit)
    finally:
        for worker in workers:
            worker.stop(kill=worker.task is not None)


def _collect(worker: _Worker[Any]) -> tuple[int, Any] | None:
    """A finished, crashed or overdue task of this worker, if any; leaves `task` set when the
    worker must be replaced."""
    task = worker.task
    if task is None:
        return None
    if worker.conn.poll():
        try:
            index, result = worker.conn.recv()
        except (EOFError, OSError):
            return task, _crash(worker)
        worker.task = None
        return index, result
    if not worker.process.is_alive():
        return task, _crash(worker)
    if time.monotonic() > worker.deadline:
        return task, Failure("timeout", "took longer than the per-file time limit")
    return None


def _crash(worker: _Worker[Any]) -> Failure:
    worker.process.join(timeout=1)
    code = worker.process.exitcode
    if code == -signal.SIGABRT and worker.memory_limit is not None:
        # Native code (libcst's Rust parser) aborts when an allocation fails; under the
        # address-space cap, that is the cap.
        return Failure("memory", "an allocation failed in native code (SIGABRT)")
    if code is not None and code < 0:
        return Failure("crash", f"the analyzer process was killed by signal {-code}")
    return Failure("crash", f"the analyzer process exited with code {code}")


def default_jobs() -> int:
    """Every core this process may run on: a container or `taskset` may allow fewer than the
    machine has, and `os.cpu_count()` counts the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on macOS or Windows
        return os.cpu_count() or 1
