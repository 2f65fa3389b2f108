"""The commands that make outputs: `printshop dossier`, `cards`, `book` (always
render what they are asked for) and `build` (plans every output of every entry,
skips those up to date, renders the rest). Each runs tasks on an `Executor` and
is the client: it alone writes the files the tasks return."""

from __future__ import annotations

import fcntl
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..config import Project
from ..errors import PrintshopError
from ..output import target, write_atomic
from ..report import Outcome, StageTally
from ..share import say_if_relative
from .execute import Executor, FolderFiles, LocalPool
from .kinds import KINDS
from .plan import PARTS_DIR, STAGES, STATE_DIR, Manifest, Task, TaskResult, check, plan, skipped
from .worker import Worker, WorkerSetup

LOGGER = logging.getLogger("printshop")


# ---- The client's side of a result: its files written, its warnings said ----

def write_result(result: TaskResult, out: Path) -> list[Path]:
    """Write a result's files atomically under ``out``; a failed write fails the
    result (and nothing of it is recorded)."""
    written = []
    try:
        for relative, data in result.files.items():
            folder, _, name = relative.rpartition("/")
            path = target(out / folder, name)
            write_atomic(path, data)
            LOGGER.log(logging.DEBUG if result.task.stage == "parts" else logging.INFO,
                       "wrote %s", path)
            written.append(path)
    except PrintshopError as error:
        result.error = error.message
        return []
    return written


def land(result: TaskResult, out: Path) -> list[Path]:
    """A result on the client: its files written (none if it failed, or if a write
    fails: then it failed), and once the parallel book is in, the parts it no longer
    needs forgotten."""
    written = write_result(result, out) if not result.error else []
    if not result.error and result.task.stage == "book" and result.task.parts:
        forget_parts(out, result.task)
    return written


def forget_parts(out: Path, book: Task) -> None:
    """Parts no book needs any more (the parts cache is ours alone)."""
    keep = {Path(relative).name for relative in book.inputs}
    for stale in (out / PARTS_DIR).glob("*"):
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)


def with_book_joined(executor: Executor, tasks: Sequence[Task], worker: Worker, out: Path,
                     helpers: Callable[[], Callable | None] | None = None
                     ) -> Iterator[TaskResult]:
    """The executor's results, and the parallel book's: joined here, on the client, from
    the parts cache, each part as soon as it and those before it are written (the
    caller writes each result before asking for the next), while the rest are laid
    out. ``helpers`` gives, when the parts are all in, where the book's last pieces
    may be laid out (`LocalPool.helpers`; else here)."""
    book = next((task for task in tasks if task.stage == "book" and task.parts), None)
    if book is None:
        yield from executor.run(tasks)
        return
    kind, slugs = KINDS["book"], {key: slug for slug, key in book.parts}
    joining = kind.joining(worker, book, FolderFiles(out))  # the book made warm here
    waiting, cached = set(book.after), [slug for slug, key in book.parts
                                        if key not in book.after]
    steps: list[TaskResult] = []

    def join(*ready: str) -> None:
        if not any(step.error for step in steps):
            steps.append(worker.attempt(book, lambda: joining.ready(*ready) or {}))

    def finish() -> TaskResult:
        join(*cached)
        failed = next((step for step in steps if step.error), None)
        result = failed or worker.attempt(book, lambda: kind.finish(
            worker, book, joining, helpers() if helpers else None))
        result.messages[:0] = [m for step in steps if step is not result for m in step.messages]
        result.seconds += sum(step.seconds for step in steps if step is not result)
        return result

    for result in executor.run([task for task in tasks if task is not book]):
        yield result
        if result.task.key in waiting:
            waiting.discard(result.task.key)
            if result.error:
                steps.append(skipped(book))
            else:
                join(*cached, slugs[result.task.key])
                cached = []
            if not waiting:
                yield finish()
    if not book.after:  # every part was laid out already
        yield finish()


def _run(tasks: Sequence[Task], executor: Executor, worker: Worker, out: Path,
         outcome: Outcome, describe: Callable[[Task], str], helpers=None) -> None:
    """Run a command's tasks and write their files; failures said as ``describe`` names
    the task."""
    for result in with_book_joined(executor, tasks, worker, out, helpers):
        for message in result.messages:
            LOGGER.warning("%s", message)
        written = land(result, out)
        if result.task.stage != "parts":  # the parts cache is no output of the command
            outcome.written.extend(written)
        if result.error:
            outcome.failures.append(f"{describe(result.task)}: {result.error}")


# ---- The single commands ----

def dossiers(project: Project, selectors: Sequence[str] = (), output: Path | None = None,
             paper: str | None = None, variant: str | None = None) -> Outcome:
    """Render a dossier PDF per valid selected entry into ``output/dossiers``."""
    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    if bestiary.valid:
        setup = WorkerSetup(project, selectors=tuple(selectors), paper=paper, variant=variant)
        kind = KINDS["dossiers"]
        tasks = [Task("dossiers", item.slug, item.slug, kind.outputs(setup, item.slug, ""))
                 for item in bestiary.valid]
        out, worker = output or project.output_dir, Worker(setup, bestiary)
        with LocalPool(setup, out, 1, bestiary, worker) as executor:
            _run(tasks, executor, worker, out, outcome,
                 lambda task: bestiary.loaded[task.slug].display)
    return outcome


def cards(project: Project, selectors: Sequence[str] = (), presets: Sequence[str] = (),
          fmt: str = "png", scale: int = 1, output: Path | None = None,
          jobs: int | None = 1) -> Outcome:
    """Draw share cards for each valid selected entry, with alt text and meta tags;
    on ``jobs`` processes (all cores if None) when there is more than one entry."""
    from ..cards import Cards

    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    names = _preset_names(Cards(project), presets)
    if not bestiary.valid:
        return outcome
    say_if_relative(project.config)
    setup = WorkerSetup(project, card_options=(tuple(names), fmt, scale),
                        selectors=tuple(selectors))
    kind = KINDS["cards"]
    tasks = [Task("cards", item.slug, item.slug, kind.outputs(setup, item.slug, ""))
             for item in bestiary.valid]
    out, worker = output or project.output_dir, Worker(setup, bestiary)
    with LocalPool(setup, out, jobs, bestiary, worker) as executor:
        _run(tasks, executor, worker, out, outcome,
             lambda task: bestiary.loaded[task.slug].display)
    return outcome


def _preset_names(renderer, presets: Sequence[str]) -> list[str]:
    names = list(presets) or list(renderer.presets)
    unknown = [name for name in names if name not in renderer.presets]
    if unknown:
        raise PrintshopError(f"unknown preset {', '.join(unknown)}; choose from "
                             f"{', '.join(renderer.presets)} (or add one to printshop.toml)")
    return names


def book(project: Project, output: Path | None = None, options=None, jobs: int | None = None,
         single_pass: bool | None = None, path: str | None = None) -> Outcome:
    """Print every valid entry as one book PDF; invalid ones are left out, and said so.

    In one WeasyPrint pass, or with records laid out in parallel and joined: as
    ``path`` says ("single" or "parallel"; ``single_pass`` True or False says the
    same), else as the cost model of `printshop.book.path` predicts faster (and
    logs why). The build's plan, of the book alone, everything made anew.
    """
    from ..book import BookOptions

    bestiary = check(project)
    outcome = Outcome(problems=list(bestiary.problems))
    if not bestiary.valid:
        outcome.failures.append("no valid entries: the book was not printed")
        return outcome
    options = options or BookOptions(paper=project.config.print.paper)
    if path is None and single_pass is not None:
        path = "single" if single_pass else "parallel"
    out = output or project.output_dir
    setup = WorkerSetup(project, options)
    try:
        tasks, _ = plan(setup, bestiary, ["book"], True, Manifest(out), jobs, path)
    except PrintshopError as error:
        outcome.failures.append(f"book: {error.message}")
        return outcome
    worker = Worker(setup, bestiary)
    with LocalPool(setup, out, jobs, bestiary, worker) as executor:
        _run(tasks, executor, worker, out, outcome, lambda task: " ".join(
            filter(None, [task.stage if task.slug else "book", task.slug])), executor.helpers)
    return outcome


# ---- The build ----

@contextmanager
def build_lock(folder: Path, say: Callable[[str], None]) -> Iterator[None]:
    """One build at a time per output folder; a second one waits, and says so."""
    lock_dir = folder / STATE_DIR
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
        handle = open(lock_dir / "lock", "a+")
    except OSError as error:
        raise PrintshopError(f"cannot write to {folder}: {error.strerror or error}") from error
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another build is writing to {folder}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_build(project: Project, jobs: int | None = None, only: Sequence[str] = STAGES,
              force: bool = False, progress=None, say: Callable[[str], None] = print,
              variant: str | None = None, executor: Executor | None = None,
              scheduler: str | None = None) -> Outcome:
    """Plan and make every output (PDFs as ``variant``, by default the configured
    one) on ``executor`` (one passed in is left open), else on the Dask cluster
    whose ``scheduler`` is given, else on a `LocalPool` of ``jobs``; ``progress`` is
    told of each finished task."""
    from ..book import BookOptions

    started = time.perf_counter()
    setup = WorkerSetup(project, BookOptions(paper=project.config.print.paper,
                                             pdf_variant=variant), variant=variant)
    if "cards" in only:
        setup = setup.with_card_presets()
    bestiary = check(project)
    stages = [*only[:only.index("book")], "parts", *only[only.index("book"):]] \
        if "book" in only else list(only)
    report = Outcome(problems=list(bestiary.problems),
                     stages={stage: StageTally() for stage in stages})
    folder = project.output_dir
    own, worker = executor is None, Worker(setup, bestiary)
    if executor is None and scheduler:
        from .dask import DaskExecutor

        executor = DaskExecutor(scheduler, setup, say)
    executor = executor or LocalPool(setup, folder, jobs, bestiary, worker)
    helpers = getattr(executor, "helpers", None) if only == ["book"] else None
    # A cluster runs as many tasks at once as its workers have threads.
    slots = getattr(executor, "slots", None)
    try:
        with build_lock(folder, say):
            _remove_own_temporaries(folder)
            manifest = Manifest(folder)
            if setup.card_options and setup.card_options[0]:
                say_if_relative(project.config)
            tasks, fresh = plan(setup, bestiary, only, force, manifest, slots or jobs,
                                available=slots)
            for stage, count in fresh.items():
                report.stages[stage].fresh = count
            report.stale = _stale(manifest, bestiary)
            if progress:
                progress.start({stage: sum(1 for t in tasks if t.stage == stage)
                                for stage in stages})
            try:
                for result in with_book_joined(executor, tasks, worker, folder, helpers):
                    _take(result, folder, manifest, report.stages[result.task.stage], report)
                    report.stages[result.task.stage].seconds = time.perf_counter() - started
                    if progress:
                        progress.done(result)
            finally:
                manifest.save()
                if progress:
                    progress.stop()
    finally:
        if own:
            executor.close()
    report.seconds = time.perf_counter() - started
    return report


def _take(result: TaskResult, folder: Path, manifest: Manifest, stage: StageTally,
          report: Outcome) -> None:
    """A build's result: its files written and recorded, the tally counted."""
    for relative, path in zip(result.files, land(result, folder)):
        stat = path.stat()
        manifest.record(relative, result.task.key, stat.st_size, stat.st_mtime_ns)
    if result.error:
        stage.failed += 1
        report.failures.append(f"{result.task.stage} {result.task.slug or 'book'}: "
                               f"{result.error}")
    else:
        stage.built += 1


def _remove_own_temporaries(folder: Path) -> None:
    """Temporary files a killed build left (".name.XXXX.tmp", never renamed into place)."""
    for sub in ("dossiers", "cards", "book", STATE_DIR, PARTS_DIR):
        for path in (folder / sub).glob(".*.tmp"):
            try:
                path.unlink()
            except OSError:
                pass


def _stale(manifest: Manifest, bestiary) -> list[str]:
    """Outputs printshop wrote for entries that are gone (left in place, never deleted)."""
    slugs = set(bestiary.loaded)
    stale = []
    for relative in manifest.outputs:
        stage, _, name = relative.partition("/")
        if stage in ("dossiers", "cards") and not any(
                name == f"{slug}.pdf" or name.startswith(f"{slug}-") or name.startswith(f"{slug}.")
                for slug in slugs):
            stale.append(relative)
    return sorted(stale)
