"""Benchmark: the whole build of N synthetic entries (default 50) on the local pool
(``--jobs 2``) against a Dask cluster of two single-thread worker processes on
this machine, in the same run; the per-task costs and bytes `docs/scaling.md`
models a large build from.

    .venv/bin/python benchmarks/bench_dask.py [--entries 50] [--rounds 1]

Each build runs in a fresh process (the client), into an empty output folder. A
fresh cluster is started for each Dask round before the clock starts (a cluster
is up before a build on it) and builds twice: cold (its workers import
printshop and WeasyPrint, unpack the project and warm their renderers during the
build; the pool's workers are forked from a client already warm) and warm (the
same build again, as on a cluster that outlives its builds).
Figures measured inside the client: each task's `TaskResult.seconds` (on the
worker), the planner (loading and checking the entries, planning), the client's
writing of the files, the book (joined on the client as its parts come in, then
its last pieces laid out and written: `Book.finish`), and the bytes sent and
returned (`DaskExecutor.traffic`; the pool's results by the same count).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def client(project: Path, scheduler: str | None) -> dict:
    """One build, measured from inside (run in its own process)."""
    from printshop.build import commands
    from printshop.config import load_project

    spent = {"planner": 0.0, "writing": 0.0, "book finish": 0.0}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    commands.check = timed("planner", commands.check)
    commands.plan = timed("planner", commands.plan)
    commands.write_result = timed("writing", commands.write_result)
    book = type(commands.KINDS["book"])
    book.finish = timed("book finish", book.finish)
    executors = []
    if scheduler:
        from printshop.build import dask

        made = dask.DaskExecutor.__init__

        def keep(self, *args, **kwargs):
            made(self, *args, **kwargs)
            executors.append(self)

        dask.DaskExecutor.__init__ = keep
    tasks = []

    class Collect:
        def start(self, totals):
            pass

        def done(self, result):
            tasks.append({"stage": result.task.stage, "seconds": result.seconds,
                          "bytes": sum(map(len, result.files.values())),
                          "error": result.error})

        def stop(self):
            pass

    project_ = load_project(project)
    start = time.perf_counter()
    outcome = commands.run_build(project_, jobs=2, progress=Collect(), say=lambda text: None,
                                 scheduler=scheduler)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "failures": outcome.failures, "tasks": tasks, **spent,
            "traffic": executors[0].traffic if executors else None}


def one_build(project: Path, scheduler: str | None) -> dict:
    """A build in a fresh process: its wall time, and what it measured."""
    output = project / "output"
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, __file__, "--client", str(project)]
    if scheduler:
        command += ["--scheduler", scheduler]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    figures = json.loads(done.stdout.splitlines()[-1])
    if figures["failures"]:
        raise SystemExit("\n".join(figures["failures"]))
    return {"wall": wall, **figures}


def dask_builds(project: Path) -> tuple[dict, dict]:
    """A build on a fresh cluster (its workers cold), then the same build again on it
    (warm: a cluster outlives its builds)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as cluster:
        return (one_build(project, cluster.scheduler_address),
                one_build(project, cluster.scheduler_address))


def per_stage(tasks: list[dict]) -> dict[str, tuple[int, float, float]]:
    """stage -> (tasks, median seconds, median bytes) of the workers' tasks."""
    stages = {}
    for stage in ("dossiers", "cards", "parts"):
        mine = [task for task in tasks if task["stage"] == stage]
        if mine:
            stages[stage] = (len(mine), statistics.median(t["seconds"] for t in mine),
                             statistics.median(t["bytes"] for t in mine))
    return stages


def _book(run: dict) -> float:
    return sum(task["seconds"] for task in run["tasks"] if task["stage"] == "book")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scheduler", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if arguments.client:
        print(json.dumps(client(arguments.client, arguments.scheduler)))
        return
    from printshop.synthetic import write_synthetic

    count = arguments.entries
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "p"
        write_synthetic(project / "entries", count)
        shutil.copy(ROOT / "printshop.toml", project)
        local, cold, warm = [], [], []
        for round_ in range(arguments.rounds):  # alternated: the machine is shared
            if round_ % 2 == 0:
                local.append(one_build(project, None))
            for runs, run in zip((cold, warm), dask_builds(project)):
                runs.append(run)
            if round_ % 2 == 1:
                local.append(one_build(project, None))
        report(count, local, cold, warm)


def report(count: int, local: list[dict], cold: list[dict], warm: list[dict]) -> None:
    best_local, best_cold, best_dask = (min(runs, key=lambda run: run["wall"])
                                        for runs in (local, cold, warm))
    print(f"{count} synthetic entries, full build (dossiers, cards, book), "
          f"{len(local)} round(s), best of each:")
    print(f"  local pool --jobs 2:                  {best_local['wall']:6.1f} s wall "
          f"({best_local['seconds']:.1f} s in run_build)")
    print(f"  Dask, 2 workers x 1 thread, cold:     {best_cold['wall']:6.1f} s wall "
          f"({best_cold['seconds']:.1f} s in run_build)")
    print(f"  Dask, the same cluster's next build:  {best_dask['wall']:6.1f} s wall "
          f"({best_dask['seconds']:.1f} s in run_build)")
    print(f"  ratio Dask / local: cold {best_cold['wall'] / best_local['wall']:.2f}x, "
          f"warm {best_dask['wall'] / best_local['wall']:.2f}x")
    traffic = best_dask["traffic"]
    print("bytes per entry (Dask):")
    print(f"  to the workers: bundle and setup {traffic['bundle'] / count:10.0f} "
          f"(once per build: {traffic['bundle']} B, to each worker)")
    print(f"                  task arguments   {traffic['arguments'] / count:10.0f}")
    print(f"  back:           results          {traffic['results'] / count:10.0f}")
    for name, run in (("local", best_local), ("Dask, warm", best_dask)):
        print(f"per task ({name}): stage, tasks, median seconds on the worker, median bytes")
        for stage, (tasks, seconds, size) in per_stage(run["tasks"]).items():
            print(f"  {stage:9} {tasks:4d} {seconds:8.3f} s {size:10.0f} B")
        print(f"  on the client: planner (check + plan) {run['planner']:.2f} s; writing "
              f"{run['writing']:.2f} s for {sum(t['bytes'] for t in run['tasks'])} B "
              f"in {len(run['tasks'])} results; the book: joining the parts "
              f"{_book(run) - run['book finish']:.2f} s as they come, then its last "
              f"pieces and writing {run['book finish']:.2f} s")


if __name__ == "__main__":
    main()
