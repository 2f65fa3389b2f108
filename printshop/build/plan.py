"""The build plan: which outputs to make from which entries, and which are already up
to date (a content-hash manifest in ``output/.printshop/``). Runs on the client,
the machine that owns the output folder."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .. import __version__
from ..config import Project
from ..load import Bestiary, Loaded, load_bestiary
from ..output import write_atomic

if TYPE_CHECKING:
    from .worker import WorkerSetup

LOGGER = logging.getLogger("printshop")
STAGES = ("dossiers", "cards", "book")
STATE_DIR = ".printshop"
PARTS_DIR = f"{STATE_DIR}/parts"  # records laid out for the parallel book


@dataclass(frozen=True)
class Task:
    """One unit of work: an entry's dossier, its cards, its part of the book, or the book."""

    stage: str
    slug: str | None
    key: str
    outputs: tuple[str, ...]  # relative to the output folder
    after: tuple[str, ...] = ()  # keys of the tasks that must finish first
    parts: tuple[tuple[str, str], ...] = ()  # the book's: (slug, key) of each record's part
    inputs: tuple[str, ...] = ()  # files it reads, relative to the output folder


@dataclass
class TaskResult:
    """A task's outputs as bytes (relative path -> bytes), for the client to write."""

    task: Task
    files: dict[str, bytes] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # warnings, said once by the client
    error: str | None = None
    seconds: float = 0.0


def skipped(task: Task) -> TaskResult:
    """The result of a task not run because one it waits for failed."""
    return TaskResult(task, error="not made: a part it needs failed")


def check(project: Project, selectors: Sequence[str] = ()) -> Bestiary:
    """Load and validate the selected entries (all by default); characters no bundled
    font has are warnings at their fields."""
    from ..fonts import load_fonts

    coverage = load_fonts(project.layouts_dir, project.fonts_dir).coverage()
    return load_bestiary(project.entries_dir, selectors, coverage)


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


def digest(*parts: object) -> str:
    """A key: the SHA-256 of the parts' reprs."""
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
    for path in sorted(Path(__file__).parent.parent.rglob("*.py")):  # all of printshop/
        code.update(path.read_bytes())
    return digest(__version__, code.hexdigest(), project.config.model_dump_json(),
                  _tree_digest(project.layouts_dir), _tree_digest(project.fonts_dir))


def related(item: Loaded, bestiary: Bestiary) -> list[tuple[str, str]]:
    """The entries an entry names, with their titles (its cross-references print them)."""
    return [(r.slug, bestiary.title_of(r.slug)) for r in item.entry.related if r.slug]


def part_keys(common: str, bestiary: Bestiary, options) -> dict[str, str]:
    """Slug -> what each record's part of the book depends on (its cross-references
    included; not the PDF variant: parts are written alike for every one)."""
    from dataclasses import replace

    in_book = sorted(item.slug for item in bestiary.valid)
    options = replace(options, pdf_variant=None)
    return {item.slug: digest(common, "part", item.digest, related(item, bestiary), in_book,
                              options)
            for item in bestiary.valid}


def plan(setup: WorkerSetup, bestiary: Bestiary, stages: Sequence[str], force: bool,
         manifest: Manifest, jobs: int | None = None, path: str | None = None,
         available: int | None = None) -> tuple[list[Task], dict[str, int]]:
    """The tasks to run, and how many outputs of each stage are already up to date.

    The book is one task (the single pass) or a task per record's part, in book
    order, and one joining them: as ``path`` says ("single", "parallel"), else as
    `printshop.book.path` predicts faster (parts already laid out cost nothing);
    the choice is logged. ``available``: the processes there are to run ``jobs`` on
    (default: this machine's cores).
    """
    from .kinds import KINDS

    common = fingerprint(setup.project)
    tasks, fresh = [], {stage: 0 for stage in stages}

    def add(task: Task) -> None:
        if not force and all(manifest.fresh(out, task.key) for out in task.outputs):
            fresh[task.stage] += 1
        else:
            tasks.append(task)

    if "book" in stages and bestiary.valid:
        fresh["parts"] = 0
        tasks += _book_tasks(setup, bestiary, common, force, manifest, fresh, jobs, path,
                             available)
    for item in bestiary.valid:
        for stage in ("dossiers", "cards"):
            if stage in stages:
                kind = KINDS[stage]
                key = kind.key(setup, common, item, bestiary)
                add(Task(stage, item.slug, key, kind.outputs(setup, item.slug, key)))
    return tasks, fresh


def _book_tasks(setup: WorkerSetup, bestiary: Bestiary, common: str, force: bool,
                manifest: Manifest, fresh: dict[str, int], jobs: int | None,
                path: str | None, available: int | None = None) -> list[Task]:
    """The book's tasks: none if it is up to date, else the single pass, or the parts
    not yet laid out and the join."""
    from ..book import choose, order_records
    from .kinds import KINDS

    book, parts = KINDS["book"], KINDS["parts"]
    key = book.key(setup, common, None, bestiary)
    outputs = book.outputs(setup, None, key)
    if not force and all(manifest.fresh(out, key) for out in outputs):
        fresh["book"] += 1
        return []
    keys = part_keys(common, bestiary, setup.options)
    order = order_records(bestiary.valid, setup.project.config)
    part_tasks = [Task("parts", item.slug, keys[item.slug],
                       parts.outputs(setup, item.slug, keys[item.slug])) for item in order]
    cached = [task for task in part_tasks if not force and all(
        (manifest.root / out).is_file() for out in task.outputs)]
    chosen = choose(len(bestiary.valid), jobs, path, cached=len(cached), available=available)
    LOGGER.info("%s", chosen.describe())
    if not chosen.parallel:
        return [Task("book", None, key, outputs)]  # no parts: one pass
    fresh["parts"] += len(cached)
    todo = [task for task in part_tasks if task not in cached]
    return [*todo, Task("book", None, key, outputs, tuple(task.key for task in todo),
                        tuple((task.slug, task.key) for task in part_tasks),
                        tuple(out for task in part_tasks for out in task.outputs))]
