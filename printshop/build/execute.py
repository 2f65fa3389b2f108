"""Who runs the tasks: an `Executor` starts each task once those it waits for are
done and yields the results as tasks finish. `LocalPool` is this machine's: a
process pool, or this process for one job or one task."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, Mapping, Protocol, Sequence

from ..load import Bestiary
from .kinds import KINDS
from .plan import Task, TaskResult, skipped
from .worker import Worker, WorkerSetup, current, start


class Executor(Protocol):
    """Runs tasks; the client writes what they return."""

    def run(self, tasks: Sequence[Task]) -> Iterator[TaskResult]:
        """Each task's result as it finishes, every task once its ``after`` are done; a
        task one of them failed for is not run, and its result says so (`skipped`)."""

    def close(self) -> None:
        """Stop the workers."""


class FolderFiles(Mapping[str, bytes]):
    """The files under a folder, by relative path, each read when it is asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __getitem__(self, relative: str) -> bytes:
        try:
            return (self.folder / relative).read_bytes()
        except OSError as error:
            raise KeyError(relative) from error

    def __contains__(self, relative: object) -> bool:
        return isinstance(relative, str) and (self.folder / relative).is_file()

    def __iter__(self):
        return (str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.is_file())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def in_order(tasks: Sequence[Task]) -> list[Task]:
    """The order to start tasks in: by their kind's rank (the book's parts first), then
    as planned."""
    return sorted(tasks, key=lambda task: KINDS[task.stage].rank)


class LocalPool:
    """This machine's executor: ``jobs`` worker processes (all cores if None) reading
    their inputs from the output folder ``out``; this process for one job or one
    task. A ``worker`` made here (warm) is inherited by the forked workers."""

    def __init__(self, setup: WorkerSetup, out: Path, jobs: int | None = None,
                 bestiary: Bestiary | None = None, worker: Worker | None = None) -> None:
        self.setup, self.out, self.bestiary, self.worker = setup, out, bestiary, worker
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.pool = None

    def run(self, tasks: Sequence[Task]) -> Iterator[TaskResult]:
        order = in_order(tasks)
        if self.jobs == 1 or len(order) <= 1:
            yield from self._here(order)
        else:
            yield from self._pooled(order)

    def _here(self, order: list[Task]) -> Iterator[TaskResult]:
        worker = self.worker = self.worker or Worker(self.setup, self.bestiary)
        failed: set[str] = set()
        for task in order:
            result = skipped(task) if failed & set(task.after) else worker.run(
                task, FolderFiles(self.out))
            if result.error:
                failed.add(task.key)
            yield result

    def _pooled(self, order: list[Task]) -> Iterator[TaskResult]:
        # Here, not at the top: a single command never starts a pool (multiprocessing
        # and concurrent.futures cost a cold `printshop dossier` ~5 ms to import).
        from concurrent.futures import FIRST_COMPLETED, wait

        pool = self.start(len(order))
        waiting = list(order)
        unfinished = {task.key for task in order}
        failed: set[str] = set()
        pending: dict = {}
        while waiting or pending:
            for task in [t for t in waiting if not unfinished & set(t.after)]:
                waiting.remove(task)
                if failed & set(task.after):
                    unfinished.discard(task.key)
                    failed.add(task.key)
                    yield skipped(task)
                else:
                    pending[pool.submit(_run, task, self.out)] = task
            if not pending:
                continue
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # the worker died (killed, out of memory)
                    result = TaskResult(task, error=f"worker failed: {error}")
                unfinished.discard(task.key)
                if result.error:
                    failed.add(task.key)
                yield result

    def start(self, tasks: int):
        """The process pool (started on first use): at most a worker per task."""
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                max_workers=min(self.jobs, tasks), mp_context=multiprocessing.get_context("fork"),
                initializer=start, initargs=(self.setup, self.bestiary, self.worker))
        return self.pool

    def helpers(self) -> Callable | None:
        """For the book's last two pieces (`book.stitch`'s ``submit``): a call that runs
        a function in a worker (None without a pool). The pool winds down after the
        second, so that the join that follows does not share memory with idle workers."""
        pool, submitted = self.pool, []
        if pool is None:
            return None

        def submit(*args):
            submitted.append(pool.submit(*args))
            if len(submitted) == 2:
                pool.shutdown(wait=False)
            return submitted[-1]
        return submit

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _run(task: Task, out: Path) -> TaskResult:
    """A task in a pool's worker process."""
    return current().run(task, FolderFiles(out))
