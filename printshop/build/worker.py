"""A worker: the entries and warm renderers that make tasks' outputs, anywhere (a
process of the local pool, or another machine). It returns bytes; it never writes."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from ..config import Project
from ..errors import PrintshopError
from ..load import Bestiary, load_bestiary
from .plan import Task, TaskResult


@dataclass(frozen=True)
class WorkerSetup:
    """All a worker needs to make outputs (picklable): the project, the selected
    entries, the book's options (`BookOptions`), the cards' (preset names, format,
    scale; None: every preset, PNG, 1x), and the dossiers' paper and PDF variant
    (None: the configured ones)."""

    project: Project
    options: object = None
    card_options: tuple | None = None
    selectors: tuple[str, ...] = ()
    paper: str | None = None
    variant: str | None = None

    def with_card_presets(self) -> WorkerSetup:
        """This setup, with every preset the project has when none was chosen."""
        if self.card_options is not None:
            return self
        from dataclasses import replace

        from ..cards import load_layouts, resolve_presets

        names = resolve_presets(load_layouts(self.project.layouts_dir), self.project.config)
        return replace(self, card_options=(tuple(names), "png", 1))


class Worker:
    """Makes tasks' outputs: the entries loaded once, renderers made on first use."""

    def __init__(self, setup: WorkerSetup, bestiary: Bestiary | None = None) -> None:
        self.setup = setup
        # The entries alone: the client has checked them and said every warning (the
        # missing-glyph check would only be redone here, on every worker).
        self.bestiary = bestiary or load_bestiary(setup.project.entries_dir, setup.selectors)
        self.renderers: dict[str, object] = {}

    @property
    def card_options(self) -> tuple:
        """The cards' preset names, format and scale."""
        if self.setup.card_options is None:
            self.setup = self.setup.with_card_presets()
        return self.setup.card_options

    def renderer(self, name: str):
        """The warm renderer ``name`` ("dossiers", "cards", "book"), made on first use."""
        if name not in self.renderers:
            self.renderers[name] = self._make_renderer(name)
        return self.renderers[name]

    def _make_renderer(self, name: str):
        project, options = self.setup.project, self.setup.options
        if name == "cards":
            from ..cards import Cards

            return Cards(project)
        if name == "press":  # one Press (fonts, templates) for the PDFs
            from ..press import Press

            return Press(project)
        press = self.renderer("press")
        if name == "dossiers":
            from ..dossier import Dossiers

            return Dossiers(project, self.setup.paper, press=press, variant=self.setup.variant)
        if name == "book":
            from ..book import Book

            return Book(project, options, press=press)
        raise ValueError(f"no renderer {name!r}")

    def run(self, task: Task, inputs: Mapping[str, bytes]) -> TaskResult:
        """Make one task's files (its kind's `make`, reading ``inputs``: relative path ->
        bytes); never raises (see `attempt`)."""
        from .kinds import KINDS

        return self.attempt(task, lambda: KINDS[task.stage].make(self, task, inputs))

    def attempt(self, task: Task, make: Callable[[], dict[str, bytes]]) -> TaskResult:
        """``make``'s files as ``task``'s result; never raises: an error is the result's,
        and warnings travel back in it, to be said once by the client."""
        result = TaskResult(task)
        start = time.perf_counter()
        with _Collect() as collect:
            try:
                result.files = make()
            except PrintshopError as error:
                result.error = error.message
            except Exception as error:  # a bug or a resource error: report it, keep building
                result.error = f"{type(error).__name__}: {error}"
        result.messages = collect.messages
        result.seconds = time.perf_counter() - start
        return result


class _Collect(logging.Handler):
    """Warnings of printshop and WeasyPrint, kept instead of said, while in effect."""

    LOGGERS = ("printshop", "weasyprint")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _Collect:
        self.saved = []
        for logger in map(logging.getLogger, self.LOGGERS):
            self.saved.append((logger, logger.handlers[:], logger.propagate))
            logger.handlers[:] = [self]
            logger.propagate = False
        return self

    def __exit__(self, *exc) -> None:
        for logger, handlers, propagate in self.saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate


_CURRENT: Worker | None = None  # this process's, in a local pool


def current() -> Worker:
    """This process's worker (a local pool's, set by `start`)."""
    assert _CURRENT is not None, "not in a worker process"
    return _CURRENT


def start(setup: WorkerSetup, bestiary: Bestiary | None = None,
          worker: Worker | None = None) -> Worker:
    """Make this process's worker (or adopt ``worker``, inherited warm by a fork)."""
    global _CURRENT
    _CURRENT = worker or Worker(setup, bestiary)
    return _CURRENT
