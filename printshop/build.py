"""The build plan: which outputs to make from which entries, what is already up
to date, who makes them (a process pool), and the outcome.

Single commands (`printshop dossier`, `cards`, `book`) always render what
they are asked for. `printshop build` plans every output of every entry,
skips those whose inputs have not changed (a content-hash manifest in
``output/.printshop/``), and renders the rest in worker processes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import __version__
from .config import Project
from .errors import PrintshopError, RenderError
from .load import Bestiary, Loaded, load_bestiary
from .output import target, write_atomic
from .report import Outcome, StageTally, plural
from .share import say_if_relative

LOGGER = logging.getLogger("printshop")
STAGES = ("dossiers", "cards", "book")
STATE_DIR = ".printshop"
PARTS_DIR = f"{STATE_DIR}/parts"  # records laid out for the parallel book


# ---- Making outputs: one function per kind, shared by the commands and the build ----

def make_dossier(renderer, item: Loaded, bestiary: Bestiary, folder: Path) -> list[Path]:
    """Render one dossier and write it atomically."""
    path = target(folder, f"{item.slug}.pdf")
    document = renderer.render(item, bestiary)
    write_atomic(path, renderer.pdf(item, bestiary, document))
    LOGGER.info("wrote %s (%d pages)", path, len(document.pages))
    return [path]


def make_cards(renderer, item: Loaded, names: Sequence[str], fmt: str, scale: int,
               folder: Path) -> list[Path]:
    """Draw one entry's cards, its alt text and meta snippet, and write them."""
    from .cards import alt_text, encode
    from .share import meta_snippet, pick_meta_preset

    config = renderer.config
    alt = alt_text(item, config)
    meta, meta_preset = None, pick_meta_preset(names)
    written = []
    for name in names:
        card = renderer.render(item, name, scale)
        encoded = encode(card, fmt)
        filename = f"{item.slug}-{name}.{encoded.extension}"
        if encoded.note:
            LOGGER.warning("%s: %s", filename, encoded.note)
        write_atomic(target(folder, filename), encoded.data)
        written.append(folder / filename)
        if name == meta_preset:
            meta = meta_snippet(item, config, filename, card.image.size, alt)
    write_atomic(target(folder, f"{item.slug}.alt.txt"), (alt + "\n").encode())
    written.append(folder / f"{item.slug}.alt.txt")
    if meta:
        write_atomic(target(folder, f"{item.slug}.meta.html"), meta.encode())
        written.append(folder / f"{item.slug}.meta.html")
    return written


def make_book(printer, bestiary: Bestiary, path: Path) -> list[Path]:
    """Lay out the book from every valid entry and write it."""
    _say_left_out(bestiary)
    laid_out = printer.render(bestiary)
    write_atomic(target(path.parent, path.name), printer.pdf(laid_out))
    LOGGER.info("wrote %s (%d pages, %d specimens)", path, laid_out.page_count,
                len(laid_out.records))
    return [path]


def _say_left_out(bestiary: Bestiary) -> None:
    """The book is printed without broken entries, and says which."""
    left_out = [item.display for item in bestiary.selected if not item.ok]
    if left_out:
        LOGGER.warning("the book leaves out %s with errors: %s",
                       plural(len(left_out), "entry"), ", ".join(left_out))


def _part_task(slug: str, key: str) -> "Task":
    """Laying out one record of the parallel book into the parts cache."""
    return Task("parts", slug, key, (f"{PARTS_DIR}/{key}.pdf", f"{PARTS_DIR}/{key}.json"))


def make_part(printer, bestiary: Bestiary, task: Task, out: Path) -> list[Path]:
    """Lay out one record of the parallel book into the parts cache."""
    from .book import render_part

    in_book = {item.slug for item in bestiary.valid}
    part = render_part(printer, bestiary.loaded[task.slug], bestiary, in_book)
    pdf_path, json_path = (out / relative for relative in task.outputs)
    write_atomic(pdf_path, part.pdf)
    write_atomic(json_path, json.dumps({"pages": part.pages, "anchors": part.anchors,
                                        "bookmarks": part.bookmarks,
                                        "glyphs": part.glyphs}).encode())
    return [pdf_path, json_path]


def make_stitched_book(printer, bestiary: Bestiary, out: Path, path: Path,
                       keys: dict[str, str]) -> list[Path]:
    """Join the cached parts into the book (the parts were laid out by other tasks,
    under the keys the plan gave them: ``keys``, slug -> key)."""
    from .book import RecordPart, stitch

    parts = {}
    for item in bestiary.valid:
        pdf, about = (out / PARTS_DIR / f"{keys[item.slug]}.{ext}" for ext in ("pdf", "json"))
        if not pdf.is_file() or not about.is_file():
            raise RenderError(f"the laid-out part of {item.display} is missing from "
                              f"{out / PARTS_DIR}; build again")
        parts[item.slug] = RecordPart(item.slug, pdf, **json.loads(about.read_text()))
    _say_left_out(bestiary)
    laid_out = stitch(printer, bestiary, parts)
    write_atomic(target(path.parent, path.name), laid_out.pdf())
    keep = {f"{key}.{ext}" for key in keys.values() for ext in ("pdf", "json")}
    for stale in (out / PARTS_DIR).glob("*"):  # parts no book needs any more (ours alone)
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
    LOGGER.info("wrote %s (%d pages, %d specimens)", path, laid_out.page_count,
                len(laid_out.records))
    return [path]


# ---- The single commands ----

def check(project: Project, selectors: Sequence[str] = ()) -> Bestiary:
    """Load and validate the selected entries (all by default); characters no bundled
    font has are warnings at their fields."""
    from .fonts import load_fonts

    coverage = load_fonts(project.layouts_dir, project.fonts_dir).coverage()
    return load_bestiary(project.entries_dir, selectors, coverage)


def _each(outcome: Outcome, items: Sequence[Loaded], make: Callable[[Loaded], list[Path]]):
    for item in items:
        try:
            outcome.written.extend(make(item))
        except PrintshopError as error:
            outcome.failures.append(f"{item.display}: {error.message}")


def dossiers(project: Project, selectors: Sequence[str] = (), output: Path | None = None,
             paper: str | None = None, variant: str | None = None) -> Outcome:
    """Render a dossier PDF per valid selected entry into ``output/dossiers``."""
    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    if bestiary.valid:
        from .dossier import Dossiers

        renderer = Dossiers(project, paper, variant=variant)
        folder = (output or project.output_dir) / "dossiers"
        _each(outcome, bestiary.valid, lambda item: make_dossier(renderer, item, bestiary, folder))
    return outcome


def cards(project: Project, selectors: Sequence[str] = (), presets: Sequence[str] = (),
          fmt: str = "png", scale: int = 1, output: Path | None = None,
          jobs: int | None = 1) -> Outcome:
    """Draw share cards for each valid selected entry, with alt text and meta tags;
    on ``jobs`` processes (all cores if None) when there is more than one entry."""
    from .cards import Cards

    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    renderer = Cards(project)
    names = _preset_names(renderer, presets)
    out = output or project.output_dir
    if bestiary.valid:
        say_if_relative(project.config)
    if (jobs or os.cpu_count() or 1) > 1 and len(bestiary.valid) > 1:
        tasks = [Task("cards", item.slug, item.slug, ()) for item in bestiary.valid]
        for result in _execute(project, bestiary, tasks, jobs, out,
                               card_options=(tuple(names), fmt, scale)):
            for message in result.messages:
                LOGGER.warning("%s", message)
            outcome.written.extend(out / path for path, _, _ in result.written)
            if result.error:
                outcome.failures.append(f"{bestiary.loaded[result.task.slug].display}: "
                                        f"{result.error}")
        return outcome
    _each(outcome, bestiary.valid,
          lambda item: make_cards(renderer, item, names, fmt, scale, out / "cards"))
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
    logs why).
    """
    from .book import Book, BookOptions, book_path, choose

    bestiary = check(project)
    outcome = Outcome(problems=list(bestiary.problems))
    if not bestiary.valid:
        outcome.failures.append("no valid entries: the book was not printed")
        return outcome
    options = options or BookOptions(paper=project.config.print.paper)
    target_path = book_path(project, output)
    if path is None and single_pass is not None:
        path = "single" if single_pass else "parallel"
    chosen = choose(len(bestiary.valid), jobs, path)
    LOGGER.info("%s", chosen.describe())
    if not chosen.parallel:
        try:
            outcome.written.extend(make_book(Book(project, options), bestiary, target_path))
        except PrintshopError as error:
            outcome.failures.append(f"book: {error.message}")
        return outcome
    from .book import print_book

    out = output or project.output_dir
    common = fingerprint(project)
    in_book = sorted(item.slug for item in bestiary.valid)
    keys = {item.slug: part_key(common, item, bestiary, in_book, options)
            for item in bestiary.valid}
    try:
        # Made warm here, before the workers are forked from this process.
        printer = Book(project, options)
        _say_left_out(bestiary)
        failures, laid_out = print_book(printer, bestiary, out, keys, chosen.workers,
                                        lambda message: LOGGER.warning("%s", message))
        outcome.failures.extend(failures)
        if laid_out is not None:
            write_atomic(target(target_path.parent, target_path.name), laid_out.pdf())
            LOGGER.info("wrote %s (%d pages, %d specimens)", target_path, laid_out.page_count,
                        len(laid_out.records))
            outcome.written.append(target_path)
    except PrintshopError as error:
        outcome.failures.append(f"book: {error.message}")
    return outcome


# ---- The build: plan, cache, pool ----

@dataclass(frozen=True)
class Task:
    """One unit of work: an entry's dossier, its cards, its part of the book, or the book."""

    stage: str
    slug: str | None
    key: str
    outputs: tuple[str, ...]  # relative to the output folder
    after: tuple[str, ...] = ()  # keys of the tasks that must finish first
    parts: tuple[tuple[str, str], ...] = ()  # the book's: (slug, key) of each record's part


@dataclass
class TaskResult:
    task: Task
    written: list[tuple[str, int, int]] = field(default_factory=list)  # path, size, mtime_ns
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


class Manifest:
    """What printshop wrote, from which inputs: output path -> key, size, mtime."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_DIR / "manifest.json"
        self.root = folder
        try:
            self.outputs = json.loads(self.path.read_text(encoding="utf-8"))["outputs"]
        except (OSError, ValueError, KeyError, TypeError):
            self.outputs = {}

    def fresh(self, relative: str, key: str) -> bool:
        record = self.outputs.get(relative)
        if not record or record["key"] != key:
            return False
        try:
            stat = (self.root / relative).stat()
        except OSError:
            return False
        return stat.st_size == record["size"] and stat.st_mtime_ns == record["mtime_ns"]

    def record(self, relative: str, key: str, size: int, mtime_ns: int) -> None:
        self.outputs[relative] = {"key": key, "size": size, "mtime_ns": mtime_ns}

    def save(self) -> None:
        data = json.dumps({"version": 1, "outputs": self.outputs}, indent=1, sort_keys=True)
        write_atomic(self.path, data.encode())


def part_key(common: str, item: Loaded, bestiary: Bestiary, in_book: Sequence[str],
             options) -> str:
    """What a record's part of the book depends on (its cross-references included; not
    the PDF variant: parts are written alike for every one)."""
    from dataclasses import replace

    related = [(r.slug, bestiary.title_of(r.slug)) for r in item.entry.related if r.slug]
    return _digest(common, "part", item.digest, related, list(in_book),
                   replace(options, pdf_variant=None))


def _digest(*parts: object) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(repr(part).encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def _tree_digest(folder: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        hasher.update(str(path.relative_to(folder)).encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def fingerprint(project: Project) -> str:
    """Everything every output depends on: printshop itself, config, layouts, fonts."""
    code = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):  # printshop.book's too
        code.update(path.read_bytes())
    return _digest(__version__, code.hexdigest(), project.config.model_dump_json(),
                   _tree_digest(project.layouts_dir), _tree_digest(project.fonts_dir))


def plan(project: Project, bestiary: Bestiary, stages: Sequence[str], force: bool,
         manifest: Manifest, card_names: Sequence[str],
         book_options=None, jobs: int | None = None) -> tuple[list[Task], dict[str, int]]:
    """The tasks to run, and how many outputs of each stage are already up to date.

    The book is one task (the single pass) or a task per record's part and one
    joining them, as `printshop.book.path` predicts faster (parts already laid out
    cost nothing); the choice is logged.
    """
    from .book import BookOptions, choose

    book_options = book_options or BookOptions(paper=project.config.print.paper)
    variant = book_options.variant(project.config)
    common = fingerprint(project)
    tasks, fresh = [], {stage: 0 for stage in stages}
    if "book" in stages:
        fresh["parts"] = 0
    valid = bestiary.valid

    def add(task: Task) -> None:
        if not force and all(manifest.fresh(out, task.key) for out in task.outputs):
            fresh[task.stage] += 1
        else:
            tasks.append(task)

    if "book" in stages and valid:
        from .book import book_path

        path = book_path(project, None).relative_to(project.output_dir)
        in_book = sorted(i.slug for i in valid)
        parts = {item.slug: part_key(common, item, bestiary, in_book, book_options)
                 for item in valid}
        key = _digest(common, "book", variant, sorted((i.slug, i.digest) for i in valid),
                      sorted(i.display for i in bestiary.selected if not i.ok))
        if force or not manifest.fresh(str(path), key):
            part_tasks = [_part_task(slug, part) for slug, part in parts.items()]
            cached = [task for task in part_tasks if not force and all(
                (project.output_dir / out).is_file() for out in task.outputs)]
            chosen = choose(len(valid), jobs, cached=len(cached))
            LOGGER.info("%s", chosen.describe())
            if not chosen.parallel:
                tasks.append(Task("book", None, key, (str(path),)))  # no parts: one pass
            else:
                waits = []
                for task in part_tasks:
                    if task in cached:
                        fresh["parts"] += 1
                    else:
                        tasks.append(task)
                        waits.append(task.key)
                tasks.append(Task("book", None, key, (str(path),), tuple(waits),
                                  tuple(parts.items())))
        else:
            fresh["book"] += 1
    for item in valid:
        related = [(r.slug, bestiary.title_of(r.slug)) for r in item.entry.related if r.slug]
        if "dossiers" in stages:
            key = _digest(common, "dossier", variant, item.digest, related)
            add(Task("dossiers", item.slug, key, (f"dossiers/{item.slug}.pdf",)))
        if "cards" in stages:
            key = _digest(common, "cards", item.digest, list(card_names))
            outputs = tuple(f"cards/{item.slug}-{name}.png" for name in card_names) + (
                f"cards/{item.slug}.alt.txt", f"cards/{item.slug}.meta.html")
            add(Task("cards", item.slug, key, outputs))
    return tasks, fresh


_WORKER: dict = {}


def _init_worker(project: Project, bestiary: Bestiary, out: Path | None = None,
                 options=None, card_options: tuple | None = None) -> None:
    """Per process: the project, entries, output folder, book options and card options
    (presets, format, scale; by default all presets, PNG, 1x); renderers are made on
    first use."""
    _WORKER.clear()
    _WORKER.update(project=project, bestiary=bestiary, out=out or project.output_dir,
                   options=options, card_options=card_options)


def _renderer(stage: str):
    if stage not in _WORKER:
        from .press import Press

        press = _WORKER.setdefault("press", Press(_WORKER["project"]))
        if stage == "dossiers":
            from .dossier import Dossiers

            options = _WORKER["options"]
            _WORKER[stage] = Dossiers(_WORKER["project"], press=press,
                                      variant=options.pdf_variant if options else None)
        elif stage == "cards":
            from .cards import Cards

            _WORKER[stage] = Cards(_WORKER["project"])
        else:
            from .book import Book

            _WORKER[stage] = Book(_WORKER["project"], _WORKER["options"], press=press)
    return _WORKER[stage]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_task(task: Task) -> TaskResult:
    """Make one task's outputs (in a worker process); never raises."""
    bestiary = _WORKER["bestiary"]
    result = TaskResult(task)
    collect = _Collect()
    loggers = [logging.getLogger(name) for name in ("printshop", "weasyprint")]
    saved = [(logger.handlers[:], logger.propagate) for logger in loggers]
    for logger in loggers:  # warnings travel back with the result, printed once
        logger.handlers[:] = [collect]
        logger.propagate = False
    start = time.perf_counter()
    try:
        out = _WORKER["out"]
        if task.stage == "dossiers":
            paths = make_dossier(_renderer("dossiers"), bestiary.loaded[task.slug], bestiary,
                                 out / "dossiers")
        elif task.stage == "cards":
            renderer = _renderer("cards")
            names, fmt, scale = _WORKER["card_options"] or (tuple(renderer.presets), "png", 1)
            paths = make_cards(renderer, bestiary.loaded[task.slug], names, fmt, scale,
                               out / "cards")
        elif task.stage == "parts":
            paths = make_part(_renderer("book"), bestiary, task, out)
        elif not task.parts:  # the single pass (`plan` chose it)
            paths = make_book(_renderer("book"), bestiary, out / task.outputs[0])
        else:
            paths = make_stitched_book(_renderer("book"), bestiary, out, out / task.outputs[0],
                                       dict(task.parts))
        for path in paths:
            stat = path.stat()
            result.written.append((str(path.relative_to(out)), stat.st_size, stat.st_mtime_ns))
    except PrintshopError as error:
        result.error = error.message
    except Exception as error:  # a bug or a resource error: report it, keep building
        result.error = f"{type(error).__name__}: {error}"
    finally:
        for logger, (handlers, propagate) in zip(loggers, saved):
            logger.handlers[:] = handlers
            logger.propagate = propagate
    result.messages = collect.messages
    result.seconds = time.perf_counter() - start
    return result


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
              force: bool = False, progress=None,
              say: Callable[[str], None] = print, variant: str | None = None) -> Outcome:
    """Plan and make every output (PDFs as ``variant``, by default the configured
    one); ``progress`` is told of each finished task."""
    from .book import BookOptions

    options = BookOptions(paper=project.config.print.paper, pdf_variant=variant)
    started = time.perf_counter()
    bestiary = check(project)
    stages = [*only[:only.index("book")], "parts", *only[only.index("book"):]] \
        if "book" in only else list(only)
    report = Outcome(problems=list(bestiary.problems),
                     stages={stage: StageTally() for stage in stages})
    folder = project.output_dir
    with build_lock(folder, say):
        _remove_own_temporaries(folder)
        manifest = Manifest(folder)
        card_names = _card_presets(project) if "cards" in only else []
        if card_names:
            say_if_relative(project.config)
        tasks, fresh = plan(project, bestiary, only, force, manifest, card_names, options, jobs)
        for stage, count in fresh.items():
            report.stages[stage].fresh = count
        report.stale = _stale(manifest, bestiary)
        if progress:
            progress.start({stage: sum(1 for t in tasks if t.stage == stage) for stage in stages})
        try:
            for result in _execute(project, bestiary, tasks, jobs, options=options):
                stage = report.stages[result.task.stage]
                stage.seconds = time.perf_counter() - started
                for relative, size, mtime_ns in result.written:
                    manifest.record(relative, result.task.key, size, mtime_ns)
                if result.error:
                    stage.failed += 1
                    where = result.task.slug or "book"
                    report.failures.append(f"{result.task.stage} {where}: {result.error}")
                else:
                    stage.built += 1
                if progress:
                    progress.done(result)
        finally:
            manifest.save()
            if progress:
                progress.stop()
    report.seconds = time.perf_counter() - started
    return report


def _card_presets(project: Project) -> list[str]:
    from .cards import load_layouts, resolve_presets

    return list(resolve_presets(load_layouts(project.layouts_dir), project.config))


def _remove_own_temporaries(folder: Path) -> None:
    """Temporary files a killed build left (".name.XXXX.tmp", never renamed into place)."""
    for sub in ("dossiers", "cards", "book", STATE_DIR, PARTS_DIR):
        for path in (folder / sub).glob(".*.tmp"):
            try:
                path.unlink()
            except OSError:
                pass


def _stale(manifest: Manifest, bestiary: Bestiary) -> list[str]:
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


def _execute(project: Project, bestiary: Bestiary, tasks: list[Task], jobs: int | None,
             out: Path | None = None, options=None,
             card_options: tuple | None = None) -> Iterator[TaskResult]:
    """Run tasks in a pool (or here, with one job), each once the tasks it waits for are done.

    The book's parts come first: the book is the longest chain of work.
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    order = sorted(tasks, key=lambda t: {"parts": 0, "book": 1}.get(t.stage, 2))
    if jobs == 1 or len(tasks) <= 1:
        _init_worker(project, bestiary, out, options, card_options)
        failed: set[str] = set()
        for task in order:
            result = _skipped(task) if failed & set(task.after) else run_task(task)
            if result.error:
                failed.add(task.key)
            yield result
        return
    # Here, not at the top: a single command never starts a pool (multiprocessing
    # and concurrent.futures cost a cold `printshop dossier` ~5 ms to import).
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_init_worker,
                             initargs=(project, bestiary, out, options, card_options)) as pool:
        waiting = list(order)
        unfinished = {task.key for task in order}
        failed = set()
        pending: dict = {}
        while waiting or pending:
            for task in [t for t in waiting if not unfinished & set(t.after)]:
                waiting.remove(task)
                if failed & set(task.after):
                    unfinished.discard(task.key)
                    failed.add(task.key)
                    yield _skipped(task)
                else:
                    pending[pool.submit(run_task, task)] = task
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


def _skipped(task: Task) -> TaskResult:
    return TaskResult(task, error="not made: a part it needs failed")

