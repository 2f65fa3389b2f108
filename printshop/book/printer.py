"""The book's printer: its options, stylesheets and HTML, warm for either path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..config import Config, Project
from ..dossier import dossier_context
from ..errors import ConfigError, RenderError
from ..load import Bestiary, Loaded
from ..press import PAPER, Press, check_variant, colour_variables
from .charts import cover_dial, risk_histogram, salary_league
from .common import LaidOutBook, build_index, order_records

STYLESHEETS = ("fonts.css", "record.css", "book.css")
BLEED = re.compile(r"^\d{1,2}(\.\d+)?(mm|pt|in)$")
#: Margins (top, bottom, inner, outer). Inner + outer equals the dossier's
#: left + right, so a record paginates the same in the book as alone.
MARGINS = {"a4": (22, 20, 22, 14), "letter": (22, 20, 22, 14),
           "a5": (16, 16, 17, 11), "trade": (16, 16, 17, 11)}


@dataclass(frozen=True)
class BookOptions:
    """The print shop's choices for one printing."""

    paper: str = "a4"
    bleed: str | None = None  # a CSS length, e.g. "3mm"
    marks: bool = False
    pdf_variant: str | None = None  # None: the configured one (printshop.toml [print])

    def __post_init__(self) -> None:
        if self.paper not in PAPER:
            raise ConfigError(f"paper must be one of {', '.join(PAPER)}, got {self.paper!r}")
        if self.bleed is not None and not BLEED.match(self.bleed):
            raise ConfigError(f"bleed must be a length like 3mm, 0.125in or 9pt, got "
                              f"{self.bleed!r}")
        if self.pdf_variant is not None:
            check_variant(self.pdf_variant)

    def variant(self, config: Config) -> str:
        """The PDF variant to write: the one asked for, else the configured one."""
        return self.pdf_variant or config.print.pdf_variant


def book_path(project: Project, output: Path | None) -> Path:
    """Where the book is written: OUTPUT/book/<book.filename>."""
    return (output or project.output_dir) / "book" / project.config.book.filename


def book_css(project: Project, options: BookOptions) -> str:
    """Paper, mirrored margins and print marks, from the options."""
    colours = project.config.colours
    top, bottom, inner, outer = MARGINS[options.paper]
    css = [colour_variables(project),
           f"@page {{ size: {PAPER[options.paper]}; margin: {top}mm {outer}mm {bottom}mm "
           f"{inner}mm; background: {colours.paper}; }}",
           f"@page :left {{ margin-left: {outer}mm; margin-right: {inner}mm; }}",
           f"@page :right {{ margin-left: {inner}mm; margin-right: {outer}mm; }}",
           f"@page cover {{ margin: 0; background: {colours.ink}; }}"]
    if options.bleed:
        css.append(f"@page {{ bleed: {options.bleed}; }}")
    if options.marks:
        css.append("@page { marks: crop cross; }")
        if not options.bleed:
            css.append("@page { bleed: 6mm; }")  # room outside the trim for the marks
    return "\n".join(css) + "\n"


class Book:
    """Lays out and writes the book; warm state is shared through `Press`.

    `render` is the single pass (`printshop.book.single`); the parallel path
    (`printshop.book.parallel`) lays out its pieces with the same HTML and stylesheets.
    """

    def __init__(self, project: Project, options: BookOptions | None = None,
                 press: Press | None = None) -> None:
        self.project = project
        self.options = options or BookOptions(paper=project.config.print.paper)
        self.press = press or Press(project)
        self.stylesheets = [self.press.sheet(name) for name in STYLESHEETS]
        self.stylesheets.append(self.press.sheet_from(book_css(project, self.options)))

    def render(self, bestiary: Bestiary, records: Sequence[Loaded] | None = None) -> LaidOutBook:
        """Lay out the whole book in memory, in one pass (`single.lay_out`)."""
        from .single import lay_out

        return lay_out(self, bestiary, self.records(bestiary, records))

    def pdf(self, book: LaidOutBook) -> bytes:
        """The laid-out book's PDF bytes."""
        return book.pdf()

    def variant(self) -> str:
        """The PDF variant this printing writes."""
        return self.options.variant(self.project.config)

    def records(self, bestiary: Bestiary, records: Sequence[Loaded] | None) -> list[Loaded]:
        """The records to print, in the book's order."""
        records = order_records(records if records is not None else bestiary.valid,
                                self.project.config)
        if not records:
            raise RenderError("no valid entries to print a book from")
        return records

    def foreword(self) -> str | None:
        """The foreword's HTML, from Markdown with raw HTML switched off."""
        name = self.project.config.book.foreword
        if not name:
            return None
        path = (self.project.root / name).resolve()
        if not path.is_relative_to(self.project.root.resolve()) or not path.is_file():
            raise ConfigError(f"book.foreword: no file {name!r} in the project")
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark", {"html": False}).render(path.read_text(encoding="utf-8"))

    def main_html(self, bestiary: Bestiary, records: list[Loaded],
                  section: str | None = None, folios: dict | None = None) -> str:
        """The book's HTML: all of it, or one ``section`` of the parallel book."""
        config = self.project.config
        in_book = {item.slug for item in records}
        return self.press.html("book.html.j2", {
            "section": section,
            "folios": folios or {},
            "pub": config.publication,
            "book": config.book,
            "created": config.created(),
            "edition": (config.created() or "")[:10],
            "records": [dossier_context(item, bestiary, self.project, in_book)
                        for item in records],
            "count": len(records),
            "foreword": self.foreword() if section in (None, "front") else None,
            "dial": cover_dial(records, config),
            "histogram": risk_histogram(records, config),
            "league": salary_league(records),
            "version": _version(),
        })

    def index(self, records: Sequence[Loaded], anchor_pages: dict[str, int], start: int):
        """Lay out the index, its page counter starting at body page ``start``."""
        html = self.press.html("book-index.html.j2", {
            "pub": self.project.config.publication,
            "sections": build_index(records, anchor_pages),
        })
        return self.press.render(html, self.starting_at(start))

    def starting_at(self, folio: int, selector: str = ":first") -> list:
        """The book's stylesheets, for a document whose first page is body page ``folio``."""
        return [*self.stylesheets,
                self.press.sheet_from(f"@page {selector} {{ counter-reset: page {folio}; }}")]


def _version() -> str:
    from .. import __version__

    return __version__
