"""The book: every entry in one PDF, with front matter, contents, index and charts.

How page numbers are made right (WeasyPrint lays out one document at a time):

1. The main document (cover, front matter, contents, every record, appendix)
   is laid out once. WeasyPrint resolves the contents' page numbers and the
   cross-references ("p. 57") itself, with ``target-counter()``. It ends with
   an empty placeholder page where the index will start.
2. Where every anchor landed is read from the laid-out pages; the index is
   built from that (consecutive pages joined as 12-14) and laid out as a
   small second document whose page counter starts at the placeholder's.
3. The pages are joined (the placeholder replaced by the index) and written
   with the PDF page labels (i, ii, iii... then 1, 2, 3...).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .config import Config, Project
from .dossier import dossier_context
from .errors import ConfigError, RenderError
from .gauge import angle_of, gauge_geometry
from .load import Bestiary, Loaded
from .model import flat
from .press import PAPER, Press, check_variant, write_pdf

STYLESHEETS = ("fonts.css", "record.css", "book.css")
BLEED = re.compile(r"^\d{1,2}(\.\d+)?(mm|pt|in)$")
HOURS_A_YEAR = 2080  # 40 hours x 52 weeks, to rank hourly and yearly figures together
#: Margins (top, bottom, inner, outer). Inner + outer equals the dossier's
#: left + right, so a record paginates the same in the book as alone.
MARGINS = {"a4": (22, 20, 22, 14), "letter": (22, 20, 22, 14),
           "a5": (16, 16, 17, 11), "trade": (16, 16, 17, 11)}
INDEX_KINDS = (("aliases", "Aliases and disguises"), ("weaponry", "Signature weaponry"),
               ("habitat", "Habitats"))
INDEXED = re.compile(r"--(alias|weapon|habitat)-\d+$")  # the anchors the index links to


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


@dataclass
class BookDocument:
    """The laid-out book, in memory: WeasyPrint's document and where things landed."""

    document: object
    front_pages: int
    records: list[Loaded]
    anchor_pages: dict[str, int] = field(default_factory=dict)  # anchor -> folio

    @property
    def page_count(self) -> int:
        return len(self.document.pages) if self.document is not None else self.pages_written

    pages_written: int = 0

    def folio(self, page_index: int) -> str:
        """The number printed on a page (roman in the front matter)."""
        if page_index < self.front_pages:
            return roman(page_index + 1)
        return str(page_index - self.front_pages + 1)


def roman(number: int) -> str:
    values = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
              (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = ""
    for value, letters in values:
        while number >= value:
            out += letters
            number -= value
    return out


def annual(item: Loaded) -> float:
    """A salary as a yearly figure (the midpoint of a range; hourly x 2080)."""
    salary = item.entry.salary
    value = salary.amount if salary.range is None else (salary.range.low + salary.range.high) / 2
    return value * (HOURS_A_YEAR if salary.period == "hour" else 1)


def by_title(item: Loaded) -> str:
    """The sort key of an entry's title as printed (whitespace as the page shows it)."""
    return flat(item.entry.title).casefold()


def order_records(items: Sequence[Loaded], config: Config) -> list[Loaded]:
    """Entries in the configured order (by title unless told otherwise)."""
    order = config.book.order
    if isinstance(order, list):
        rank = {slug: i for i, slug in enumerate(order)}
        return sorted(items, key=lambda i: (rank.get(i.slug, len(rank)), by_title(i)))
    keys = {
        "title": lambda i: (by_title(i), i.slug),
        "slug": lambda i: i.slug,
        "flight_risk": lambda i: (-i.entry.flight_risk.percent, by_title(i)),
        "salary": lambda i: (-annual(i), by_title(i)),
    }
    return sorted(items, key=keys[order])


def page_ranges(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted page numbers joined into runs: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return [(a, b) for a, b in runs]


def index_occurrences(records: Sequence[Loaded]) -> dict[str, dict[str, list[str]]]:
    """For each kind of index, each term and the anchors where it is printed."""
    index: dict[str, dict[str, list[str]]] = {kind: defaultdict(list) for kind, _ in INDEX_KINDS}
    for item in records:
        entry = item.entry
        for i, alias in enumerate(entry.aliases, 1):
            index["aliases"][flat(alias)].append(f"{item.slug}--alias-{i}")
        for i, weapon in enumerate(entry.weaponry, 1):
            index["weaponry"][flat(weapon.name)].append(f"{item.slug}--weapon-{i}")
        for i, place in enumerate(entry.habitat, 1):
            index["habitat"][flat(place.place)].append(f"{item.slug}--habitat-{i}")
    return index


def build_index(records: Sequence[Loaded], anchor_pages: dict[str, int]) -> list[dict]:
    """The index as printed: kinds, letters, terms, page runs with the anchor each links to."""
    sections = []
    for kind, heading in INDEX_KINDS:
        terms = []
        for term, anchors in index_occurrences(records)[kind].items():
            first_anchor: dict[int, str] = {}
            for anchor in anchors:
                first_anchor.setdefault(anchor_pages[anchor], anchor)
            runs = [{"start": a, "end": b, "anchor": first_anchor[a]}
                    for a, b in page_ranges(list(first_anchor))]
            terms.append({"term": term, "runs": runs})
        terms.sort(key=lambda t: (t["term"].casefold(), t["term"]))
        letters: dict[str, list] = defaultdict(list)
        for term in terms:
            initial = term["term"][:1].upper()
            letters[initial if initial.isalpha() else "#"].append(term)
        sections.append({"kind": kind, "heading": heading,
                         "letters": sorted(letters.items(), key=lambda kv: (kv[0] == "#", kv[0]))})
    return sections


def risk_histogram(records: Sequence[Loaded], config: Config) -> dict:
    """Bars of the flight-risk distribution (10-point bins), as SVG geometry."""
    counts = [0] * 10
    for item in records:
        counts[min(item.entry.flight_risk.percent // 10, 9)] += 1
    width, height, left, bottom = 480.0, 200.0, 34.0, 170.0
    top = max(counts) or 1
    bar = (width - left) / 10
    bars = []
    for i, count in enumerate(counts):
        h = (bottom - 16) * count / top
        bars.append({"x": round(left + i * bar + 3, 2), "y": round(bottom - h, 2),
                     "w": round(bar - 6, 2), "h": round(h, 2), "count": count,
                     "label": f"{i * 10}–{i * 10 + 9 if i < 9 else 100}",
                     "colour": config.band_for(i * 10 + 5).colour,
                     "cx": round(left + (i + 0.5) * bar, 2)})
    return {"width": width, "height": height, "bottom": bottom, "left": left, "bars": bars,
            "top": top}


def salary_league(records: Sequence[Loaded], rows: int = 28) -> list[dict]:
    """The salary league table as SVG row geometry, in chunks that fit a page."""
    from .model import salary_figure

    ranked = sorted(records, key=lambda i: (-annual(i), by_title(i)))
    top = annual(ranked[0]) if ranked else 1
    chunks = []
    for start in range(0, len(ranked), rows):
        chunk = ranked[start:start + rows]
        chunks.append({
            "height": 22 * len(chunk) + 4,
            "rows": [{"rank": start + n + 1, "title": item.entry.title, "slug": item.slug,
                      "figure": salary_figure(item.entry.salary),
                      "period": item.entry.salary.period,
                      "y": 22 * n + 2,
                      "w": round(150 * annual(item) / top, 2)} for n, item in enumerate(chunk)],
        })
    return chunks


def cover_dial(records: Sequence[Loaded], config: Config) -> dict:
    """The cover's visual: one dial with every role's needle on it."""
    geometry = gauge_geometry(0, config.flight_risk.bands, "", width=400)
    cx, cy = geometry.centre
    needles = []
    for item in records:
        angle = angle_of(item.entry.flight_risk.percent)
        tip = (round(cx + geometry.radius * 0.74 * math.cos(angle), 2),
               round(cy - geometry.radius * 0.74 * math.sin(angle), 2))
        needles.append(tip)
    percents = [item.entry.flight_risk.percent for item in records] or [0]
    return {"gauge": geometry, "needles": needles, "median": round(statistics.median(percents)),
            "low": min(percents), "high": max(percents)}


#: What the book's fixed anchors are called when a link's words name them.
SECTION_NAMES = {"foreword": "Foreword", "contents": "Contents",
                 "appendix": "Appendix: the bestiary in charts", "index": "Index"}


def link_words(records: Sequence[Loaded], anchor_pages: dict[str, int],
               front_pages: int) -> Callable[[str], str]:
    """A link's words for readers that speak it (its annotation's /Contents): what it
    leads to and the page printed there, "Enterprise Architect, page 13"."""
    labels = dict(SECTION_NAMES)
    titles = {item.slug: item.entry.title for item in records}
    labels.update(titles)
    for terms in index_occurrences(records).values():
        for term, anchors in terms.items():
            for anchor in anchors:
                labels[anchor] = f"{term} ({titles[anchor.split('--')[0]]})"

    def describe(target: str) -> str:
        label = labels.get(target, target)
        page = anchor_pages.get(target)
        if page is None:
            return label
        return f"{label}, page {page if page > 0 else roman(page + front_pages)}"

    return describe


def book_css(project: Project, options: BookOptions) -> str:
    """Paper, mirrored margins and print marks, from the options."""
    colours = project.config.colours.model_dump()
    lines = "".join(f"--{name}: {value};" for name, value in colours.items())
    top, bottom, inner, outer = MARGINS[options.paper]
    css = [f":root {{{lines}}}",
           f"@page {{ size: {PAPER[options.paper]}; margin: {top}mm {outer}mm {bottom}mm "
           f"{inner}mm; background: {colours['paper']}; }}",
           f"@page :left {{ margin-left: {outer}mm; margin-right: {inner}mm; }}",
           f"@page :right {{ margin-left: {inner}mm; margin-right: {outer}mm; }}",
           f"@page cover {{ margin: 0; background: {colours['ink']}; }}"]
    if options.bleed:
        css.append(f"@page {{ bleed: {options.bleed}; }}")
    if options.marks:
        css.append("@page { marks: crop cross; }")
        if not options.bleed:
            css.append("@page { bleed: 6mm; }")  # room outside the trim for the marks
    return "\n".join(css) + "\n"


def page_labels(front_pages: int):
    """A WeasyPrint finisher: PDF page labels i, ii, iii... then 1, 2, 3..."""
    import pydyf

    def finish(document, pdf) -> None:
        nums = pydyf.Array()
        if front_pages:
            nums.extend([0, pydyf.Dictionary({"S": "/r"})])
        nums.extend([front_pages, pydyf.Dictionary({"S": "/D", "St": 1})])
        pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": nums})

    return finish


class Book:
    """Lays out and writes the book; warm state is shared through `Press`."""

    def __init__(self, project: Project, options: BookOptions | None = None,
                 press: Press | None = None) -> None:
        self.project = project
        self.options = options or BookOptions(paper=project.config.print.paper)
        self.press = press or Press(project)
        self.stylesheets = [self.press.sheet(name) for name in STYLESHEETS]
        self.stylesheets.append(self.press.sheet_from(book_css(project, self.options)))

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
        contexts = list(_book_contexts(self.project, bestiary, records).values())
        return self.press.html("book.html.j2", {
            "section": section,
            "folios": folios or {},
            "pub": config.publication,
            "book": config.book,
            "created": config.created(),
            "edition": (config.created() or "")[:10],
            "records": contexts,
            "count": len(records),
            "foreword": self.foreword() if section in (None, "front") else None,
            "dial": cover_dial(records, config),
            "histogram": risk_histogram(records, config),
            "league": salary_league(records),
            "version": _version(),
        })

    def render(self, bestiary: Bestiary, records: Sequence[Loaded] | None = None) -> BookDocument:
        """Lay out the whole book in memory (see the module's note on page numbers)."""
        records = self.records(bestiary, records)
        main = self.press.render(self.main_html(bestiary, records), self.stylesheets)
        located = _anchor_pages(main)
        front = located[records[0].slug]
        placeholder = located["index"]
        anchor_pages = {anchor: index - front + 1 for anchor, index in located.items()}
        start = placeholder - front + 1
        index = self.index(records, anchor_pages, start)
        for i, page in enumerate(index.pages):
            for anchor in page.anchors:
                anchor_pages[anchor] = start + i
        joined = main.copy([*main.pages[:placeholder], *index.pages])
        return BookDocument(joined, front, list(records), anchor_pages)

    def records(self, bestiary: Bestiary, records: Sequence[Loaded] | None) -> list[Loaded]:
        """The records to print, in the book's order."""
        records = order_records(records if records is not None else bestiary.valid,
                                self.project.config)
        if not records:
            raise RenderError("no valid entries to print a book from")
        return records

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

    def pdf(self, book: BookDocument) -> bytes:
        return write_pdf(book.document, self.options.variant(self.project.config),
                         finishers=(page_labels(book.front_pages),),
                         describe=link_words(book.records, book.anchor_pages, book.front_pages))


def _anchor_pages(document) -> dict[str, int]:
    """Anchor -> index of the page it is on."""
    located = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            located.setdefault(anchor, index)
    return located


def _version() -> str:
    from . import __version__

    return __version__


def book_path(project: Project, output: Path | None) -> Path:
    return (output or project.output_dir) / "book" / project.config.book.filename


def _book_contexts(project: Project, bestiary: Bestiary, records: Sequence[Loaded]) -> dict:
    in_book = {item.slug for item in records}
    contexts = {}
    for item in records:
        context = dossier_context(item, bestiary, project)
        context["in_book"] = in_book
        contexts[item.slug] = context
    return contexts
