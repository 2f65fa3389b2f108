"""The build plan: which outputs to make from which entries, and the outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .config import Project
from .errors import PrintshopError
from .load import Bestiary, Problem, load_bestiary
from .output import target, write_atomic

LOGGER = logging.getLogger("printshop")


@dataclass
class Outcome:
    """What a command made and what went wrong, for the summary and the exit status."""

    written: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not any(p.severity == "error" for p in self.problems)


def check(project: Project, selectors: Sequence[str] = ()) -> Bestiary:
    """Load and validate the selected entries (all by default)."""
    return load_bestiary(project.entries_dir, selectors)


def dossiers(
    project: Project,
    selectors: Sequence[str] = (),
    output: Path | None = None,
    paper: str | None = None,
) -> Outcome:
    """Render a dossier PDF per valid selected entry into ``output/dossiers``."""
    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    folder = (output or project.output_dir) / "dossiers"
    valid = bestiary.valid
    if not valid:
        return outcome
    from .dossier import PDF_OPTIONS, Dossiers

    renderer = Dossiers(project, paper)
    for item in valid:
        path = target(folder, f"{item.slug}.pdf")
        try:
            document = renderer.render(item, bestiary)
            write_atomic(path, document.write_pdf(**PDF_OPTIONS))
        except PrintshopError as error:
            outcome.failures.append(f"{item.display}: {error.message}")
            continue
        LOGGER.info("wrote %s (%d pages)", path, len(document.pages))
        outcome.written.append(path)
    return outcome


def cards(
    project: Project,
    selectors: Sequence[str] = (),
    presets: Sequence[str] = (),
    fmt: str = "png",
    scale: int = 1,
    output: Path | None = None,
) -> Outcome:
    """Draw share cards for each valid selected entry, with alt text and meta tags."""
    from .cards import Cards, alt_text, encode, meta_snippet

    bestiary = check(project, selectors)
    outcome = Outcome(problems=list(bestiary.problems))
    renderer = Cards(project)
    names = list(presets) or list(renderer.presets)
    unknown = [name for name in names if name not in renderer.presets]
    if unknown:
        raise PrintshopError(f"unknown preset {', '.join(unknown)}; choose from "
                             f"{', '.join(renderer.presets)} (or add one to printshop.toml)")
    folder = (output or project.output_dir) / "cards"
    for item in bestiary.valid:
        alt = alt_text(item, project.config)
        meta = None
        for name in names:
            card = renderer.render(item, name, scale)
            encoded = encode(card, fmt)
            filename = f"{item.slug}-{name}.{encoded.extension}"
            if encoded.note:
                LOGGER.warning("%s: %s", filename, encoded.note)
            try:
                write_atomic(target(folder, filename), encoded.data)
            except PrintshopError as error:
                outcome.failures.append(f"{item.display}: {error.message}")
                continue
            outcome.written.append(folder / filename)
            if meta is None or name == "og":
                meta = meta_snippet(item, project.config, filename, card.image.size, alt)
        try:
            write_atomic(target(folder, f"{item.slug}.alt.txt"), (alt + "\n").encode())
            if meta:
                write_atomic(target(folder, f"{item.slug}.meta.html"), meta.encode())
        except PrintshopError as error:
            outcome.failures.append(f"{item.display}: {error.message}")
    return outcome


def book(project: Project, output: Path | None = None, options=None) -> Outcome:
    """Print every valid entry as one book PDF; invalid ones are left out, and said so."""
    from .book import Book, book_path

    bestiary = check(project)
    outcome = Outcome(problems=list(bestiary.problems))
    left_out = [item.display for item in bestiary.selected if not item.ok]
    if left_out:
        LOGGER.warning("the book leaves out %d entr%s with errors: %s", len(left_out),
                       "y" if len(left_out) == 1 else "ies", ", ".join(left_out))
    if not bestiary.valid:
        outcome.failures.append("no valid entries: the book was not printed")
        return outcome
    printer = Book(project, options)
    laid_out = printer.render(bestiary)
    path = book_path(project, output)
    write_atomic(target(path.parent, path.name), printer.pdf(laid_out))
    LOGGER.info("wrote %s (%d pages, %d specimens)", path, len(laid_out.document.pages),
                len(laid_out.records))
    outcome.written.append(path)
    return outcome
