"""The build on a Dask distributed cluster: `DaskExecutor`, and what runs on its workers.

The client sends the project once (`bundle`, scattered to every worker under
its digest), then submits each task with the futures of the tasks it reads
from; the scheduler reruns the tasks of a worker that dies. A worker keeps one
warm `Worker` per (bundle, setup), as a pool process does. Results come back
as bytes, in the order they finish; the client writes them.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pickle
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import __version__
from ..config import Project
from ..errors import PrintshopError
from .bundle import Bundle, load_bundle, make_bundle
from .execute import Executor, in_order
from .plan import Task, TaskResult, skipped
from .worker import Worker, WorkerSetup

EXTRA = "pip install 'printshop[dask]'"
RETRIES = 2  # besides the reruns of a dead worker's tasks, which the scheduler does itself
CONNECT_SECONDS = 10
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


class DaskExecutor(Executor):
    """Runs the build's tasks on the Dask cluster whose scheduler is at ``address``."""

    def __init__(self, address: str, setup: WorkerSetup,
                 say: Callable[[str], None] = print) -> None:
        distributed = _import_distributed()
        self.setup, self.say = setup, say
        try:
            self.client = distributed.Client(address, timeout=CONNECT_SECONDS,
                                             set_as_default=False)
        except Exception as error:  # OSError, TimeoutError, a bad address: all said alike
            raise PrintshopError(f"cannot reach the Dask scheduler at {address}: "
                                 f"{_first_line(error)}") from None
        try:
            say(f"building on the Dask cluster at {address} ({_dashboard(self.client)})")
            self._check_versions()
            bundle = make_bundle(setup.project)
            self.token = _digest(bundle.digest, repr(setup))
            # Sent once to every worker (one that joins later fetches them from another),
            # under keys the content names.
            keys = (f"printshop-bundle-{bundle.digest}", f"printshop-setup-{self.token}")
            sent = self.client.scatter(dict(zip(keys, (bundle, setup))), broadcast=True)
            self.bundle, self.remote_setup = (sent[key] for key in keys)
            #: Bytes sent and received: the bundle and setup, the tasks' arguments, their
            #: results (what the client writes).
            self.traffic = {"bundle": len(bundle.data) + len(pickle.dumps(setup)),
                            "arguments": 0, "results": 0}
            #: How many tasks the cluster runs at once (its workers' threads, now).
            self.slots = sum(worker["nthreads"] for worker in
                             self.client.scheduler_info()["workers"].values())
        except BaseException:
            self.client.close()
            raise

    def _check_versions(self) -> None:
        """Every worker runs this printshop (those that join later are checked per task)."""
        if not self.client.scheduler_info().get("workers"):
            self.say("no Dask workers yet: waiting for the first to join")
            self.client.wait_for_workers(1)
        try:
            versions = self.client.run(worker_version)
        except Exception as error:
            raise PrintshopError(f"the Dask workers cannot run printshop "
                                 f"({_first_line(error)}): install printshop {__version__} "
                                 "on each") from None
        for address, version in sorted(versions.items()):
            if version != __version__:
                raise PrintshopError(_mismatch(address, version))
        self.client.run(quieten)

    def run(self, tasks: Iterable[Task]) -> Iterator[TaskResult]:
        """Submit every task at once (a task's dependencies as futures), and yield
        results as they finish."""
        from distributed import as_completed

        order = in_order(tasks)
        futures: dict[str, object] = {}
        produced: dict[str, str] = {}  # relative path -> key of the task making it
        for task in order:
            for relative in task.outputs:
                produced[relative] = task.key
        cached = self._scatter_cached(order, produced)
        submitted = {}
        for task in order:
            inputs = {relative: futures.get(produced[relative]) if relative in produced
                      else cached[relative] for relative in task.inputs}
            waits = [futures[key] for key in task.after if key in futures]
            self.traffic["arguments"] += len(pickle.dumps((self.token, __version__, task)))
            future = self.client.submit(
                run_on_worker, self.bundle, self.remote_setup, self.token, __version__, task,
                inputs, waits, key=f"printshop-{task.stage}-{task.slug or 'book'}-{task.key}",
                retries=RETRIES, pure=False, priority=1 if task.stage in ("parts", "book") else 0)
            futures[task.key] = future
            submitted[future.key] = task
        failed: set[str] = set()
        for future in as_completed(list(futures.values()), loop=self.client.loop):
            task = submitted[future.key]
            result = self._result(future, task, failed)
            if result.error:
                failed.add(task.key)
            self.traffic["results"] += sum(len(data) for data in result.files.values())
            future.release()
            yield result

    def _scatter_cached(self, tasks: list[Task], produced: dict[str, str]) -> dict[str, object]:
        """The inputs no task of this build makes (parts laid out by an earlier one), sent
        from the client's output folder in one go."""
        out = self.setup.project.output_dir
        wanted = sorted({relative for task in tasks for relative in task.inputs
                         if relative not in produced})
        data = []
        for relative in wanted:
            try:
                data.append((out / relative).read_bytes())
            except OSError:
                data.append(None)  # the task says what is missing
        self.traffic["arguments"] += sum(len(item or b"") for item in data)
        return dict(zip(wanted, self.client.scatter(data) if data else []))

    def _result(self, future, task: Task, failed: set[str]) -> TaskResult:
        if future.status != "error":
            return future.result()
        if failed & set(task.after):
            return skipped(task)
        error = future.exception()
        if isinstance(error, PrintshopError):  # printshop differs on that worker
            return TaskResult(task, error=error.message)
        return TaskResult(task, error=f"worker failed: {_first_line(error)}")

    def close(self) -> None:
        self.client.close()


# ---- On the workers ----

_WORKERS: dict[str, Worker] = {}
_LOCK = threading.Lock()  # one task at a time per process: the renderers are not shared


def worker_version() -> str:
    """This worker's printshop version (read at call time)."""
    import printshop

    return printshop.__version__


def run_on_worker(bundle: Bundle, setup: WorkerSetup, token: str, version: str, task: Task,
                  inputs: dict, waits: list) -> TaskResult:
    """Run one task with the warm `Worker` of its (bundle, setup); the inputs are the
    results of the tasks making them, or bytes. Raises only if printshop differs."""
    if worker_version() != version:
        raise PrintshopError(_mismatch(_worker_address(), worker_version(), version))
    needed = [value for value in inputs.values() if isinstance(value, TaskResult)] + waits
    if any(result.error for result in needed):
        return skipped(task)
    data = {relative: value.files[relative] if isinstance(value, TaskResult) else value
            for relative, value in inputs.items() if value is not None}
    with _LOCK:
        worker = _WORKERS.get(token)
        if worker is None:
            _allocate_as_usual()
            local = load_bundle(bundle, _cache())
            _WORKERS.clear()  # one project at a time: an earlier build's renderers go
            worker = _WORKERS[token] = Worker(replace(setup, project=local))
        result = worker.run(task, data)
    return _client_paths(result, worker.setup.project, setup.project)


#: A Dask worker's housekeeping, slowed for long CPU-bound tasks (milliseconds; the
#: defaults are 100, 500 and 20): on a small machine its wake-ups took the GIL and the
#: cores from the renderers (dossiers 25% slower per task on 2 cores).
QUIET_INTERVALS = {"memory_monitor": 2000, "monitor": 5000, "tick": 1000}


def quieten(dask_worker) -> None:
    """Run on each worker at the start of a build: no statistical profiler (it samples
    every thread every 10 ms) and rarer monitoring (`QUIET_INTERVALS`). Heartbeats and
    everything the scheduler relies on are left as they are."""
    callbacks = dask_worker.periodic_callbacks
    for name in ("profile", "profile-cycle"):
        if name in callbacks:
            callbacks[name].stop()
    for name, milliseconds in QUIET_INTERVALS.items():
        if name in callbacks:
            callbacks[name].callback_time = milliseconds


def _allocate_as_usual() -> None:
    """Undo what Dask's MALLOC_TRIM_THRESHOLD_ does to glibc: it pins the size above
    which memory is mapped anew at 128 KiB, so each page laid out, card drawn or PDF
    written maps and unmaps its buffers (tasks measured 10-30% slower). Raised here
    to about where glibc's own adjustment takes it; memory still goes back."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.mallopt(M_MMAP_THRESHOLD, 16 * 2**20)
    libc.mallopt(M_TRIM_THRESHOLD, 32 * 2**20)


def _cache() -> Path | None:
    """The Dask worker's own folder (gone with it), else `bundle.cache_dir`."""
    try:
        from distributed import get_worker

        return Path(get_worker().local_directory) / "printshop-bundles"
    except ValueError:  # not in a Dask worker
        return None


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:
        return "this process"  # not in a Dask worker


def _client_paths(result: TaskResult, here: Project, there: Project) -> TaskResult:
    """Messages name the client's files, not this worker's copy of them."""
    swaps = [(str(here.layouts_dir), str(there.layouts_dir)),
             (str(here.fonts_dir), str(there.fonts_dir)), (str(here.root), str(there.root))]

    def swap(text: str) -> str:
        for mine, theirs in swaps:
            text = text.replace(mine, theirs)
        return text

    result.messages = [swap(message) for message in result.messages]
    if result.error:
        result.error = swap(result.error)
    return result


# ---- Helpers ----

def _dashboard(client) -> str:
    try:
        return f"dashboard: {client.dashboard_link}"
    except (KeyError, TypeError):  # the scheduler serves none
        return "no dashboard"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise PrintshopError(f"building on a Dask cluster needs distributed: {EXTRA}") from None
    return distributed


def _mismatch(address: str, theirs: str, ours: str = __version__) -> str:
    return (f"Dask worker {address} runs printshop {theirs}, this build printshop {ours}: "
            "install the same version on every worker")


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _digest(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()
