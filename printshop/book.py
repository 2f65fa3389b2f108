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

import itertools
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
from .press import PAPER, VARIANTS, Press, finish_pdf, write_pdf
from .structure import StructureJoin

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
        if self.pdf_variant is not None and self.pdf_variant not in VARIANTS:
            raise ConfigError(f"pdf variant must be one of {', '.join(VARIANTS)}, got "
                              f"{self.pdf_variant!r}")

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


def order_records(items: Sequence[Loaded], config: Config) -> list[Loaded]:
    """Entries in the configured order (by title unless told otherwise)."""
    order = config.book.order
    if isinstance(order, list):
        rank = {slug: i for i, slug in enumerate(order)}
        return sorted(items, key=lambda i: (rank.get(i.slug, len(rank)), i.entry.title.casefold()))
    keys = {
        "title": lambda i: (i.entry.title.casefold(), i.slug),
        "slug": lambda i: i.slug,
        "flight_risk": lambda i: (-i.entry.flight_risk.percent, i.entry.title.casefold()),
        "salary": lambda i: (-annual(i), i.entry.title.casefold()),
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
            index["aliases"][alias].append(f"{item.slug}--alias-{i}")
        for i, weapon in enumerate(entry.weaponry, 1):
            index["weaponry"][weapon.name].append(f"{item.slug}--weapon-{i}")
        for i, place in enumerate(entry.habitat, 1):
            index["habitat"][place.place].append(f"{item.slug}--habitat-{i}")
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

    ranked = sorted(records, key=lambda i: (-annual(i), i.entry.title.casefold()))
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

    def main_html(self, bestiary: Bestiary, records: list[Loaded], parts: dict | None = None,
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
            "parts": parts,
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


# ---- The parallel book --------------------------------------------------------
# Each record is laid out on its own, in a worker process, as pages with no
# furniture. Its page count fixes where every record, the appendix and the
# index start, so every page number (contents, cross-references, index) is
# known before the book itself is laid out. The book is then laid out as a
# run of small documents, one after the other, each written and dropped
# before the next (memory stays that of one piece, however long the book):
# the front matter, the body in pieces of about CHUNK_PAGES pages in which
# each record is a run of empty sheets carrying its running heads, folios,
# anchors, bookmarks and cross-reference numbers at the places the real pages
# have them, the appendix, the index. pikepdf joins the pieces, draws every
# record's pages onto its sheets, makes one outline, one table of named
# destinations and the page labels, and stores the fonts the parts share once.

#: Pages of the body laid out as one document of the parallel book.
CHUNK_PAGES = 96

#: A part has no furniture of its own (the skeleton's sheets carry it); it
#: paints the page's background, since it is drawn first.
PART_CSS = "\n".join(
    f"@page {selector} {{ "
    + " ".join(f"@{box} {{ content: none; }}" for box in (
        "top-left", "top-right", "bottom-left", "bottom-right", "bottom-center"))
    + " }"
    for selector in ("", ":left", ":right", "body", "body:left", "body:right", ":blank")
)


@dataclass
class Part:
    """One record laid out alone: its PDF pages and what the skeleton must carry."""

    slug: str
    pdf: bytes | Path  # the bytes, or the cached file (read one part at a time)
    sheets: list[dict]  # per page: anchors, bookmarks, xrefs (content-box coordinates)
    glyphs: dict[str, list] = field(default_factory=dict)  # see _used_glyphs


def _book_contexts(project: Project, bestiary: Bestiary, records: Sequence[Loaded]) -> dict:
    in_book = {item.slug for item in records}
    contexts = {}
    for item in records:
        context = dossier_context(item, bestiary, project)
        context["in_book"] = in_book
        contexts[item.slug] = context
    return contexts


def _part_folios(records: Sequence[Loaded], parts: dict[str, Part]) -> dict[str, int]:
    """Where each record will start, from the parts' page counts: body page 1 for the
    first, then the next odd page after the one before. Printed as plain numbers in
    the skeleton, so WeasyPrint need not lay out pages again to resolve them."""
    folios, page = {}, 1
    for item in records:
        folios[item.slug] = page
        page += len(parts[item.slug].sheets)
        page += 1 - page % 2  # the next record starts on a right-hand (odd) page
    return folios


def xref_digits(records: int) -> int:
    """How many digits the parallel book's parts reserve for a cross-reference's page
    number: room for 40 pages a record, however long the book."""
    return max(3, len(str(40 * records + 20)))


def render_part(book: "Book", item: Loaded, bestiary: Bestiary, in_book: set[str]) -> Part:
    """Lay out one record of the parallel book (runs in a worker process).

    It is written tagged (its structure tree joins the book's), with its
    cross-reference numbers as placeholders the join writes over.
    """
    context = dossier_context(item, bestiary, book.project)
    context["in_book"] = in_book
    context["xref_digits"] = xref_digits(len(in_book))
    html = book.press.html("book-part.html.j2", {"r": context, "pub": context["pub"]})
    sheets = [*book.stylesheets, book.press.sheet_from(PART_CSS)]
    document = book.press.render(html, sheets)
    targets = {f"{item.slug}--xref-{i}": s.slug for i, s in enumerate(context["specimens"], 1)
               if s.slug in in_book}
    pages = []
    seen: set[str] = set()  # a box split across pages is an anchor on each: keep the first
    for page in document.pages:
        x0, y0 = page._page_box.content_box_x(), page._page_box.content_box_y()
        sheet = {"anchors": [], "bookmarks": [], "xrefs": []}
        for anchor, (x, y, x2, y2) in page.anchors.items():  # in document order
            if anchor in seen:
                continue
            seen.add(anchor)
            where = {"x": round(x - x0, 3), "y": round(y - y0, 3)}
            if anchor in targets:
                sheet["xrefs"].append({**where, "w": round(x2 - x, 3), "h": round(y2 - y, 3),
                                       "target": targets[anchor]})
            elif INDEXED.search(anchor):
                # Only what the index links to: every element of a skeleton costs.
                sheet["anchors"].append({**where, "id": anchor})
        for level, label, (x, y), _state in page.bookmarks:
            sheet["bookmarks"].append({"level": level, "label": label,
                                       "x": round(x - x0, 3), "y": round(y - y0, 3)})
        pages.append(sheet)
    # Whole fonts (the same bytes in every part, so the book stores them once) and
    # no compression: the book compresses what it keeps once, on saving, and the
    # join writes the cross-reference numbers into the content. The links to
    # other records get stand-in anchors, so that they are tagged as links.
    document.pages[0].anchors.update({target: (0, 0, 0, 0) for target in sorted(
        set(targets.values()) - set(page_anchors(document)))})
    data = document.write_pdf(full_fonts=True, uncompressed_pdf=True, pdf_tags=True)
    return Part(item.slug, data, pages, _used_glyphs(document))


def page_anchors(document) -> set[str]:
    """Every anchor a laid-out document defines."""
    return {name for page in document.pages for name in page.anchors}


#: Per font: glyph -> (width in thousandths of the size, the text it stands for).
Glyphs = dict[str, dict[int, tuple[int, str]]]


def _used_glyphs(document) -> dict[str, list]:
    """Font name (as in /BaseFont) -> [glyph, width, text, character] for each glyph a
    written document drew with it: what the joined book's /W and /ToUnicode are
    made of (WeasyPrint's own figures). ``character`` is the code point of a
    stand-in glyph WeasyPrint draws for a character no font has (see `_StandIns`),
    else 0."""
    used: dict[str, dict[int, tuple]] = {}
    for font in getattr(document, "fonts", {}).values():
        name = font.name.decode() if isinstance(font.name, bytes) else str(font.name)
        drawn = used.setdefault(name.lstrip("/"), {})
        stand_ins = {glyph: code for code, glyph in getattr(font, "missing", {}).items()}
        for glyph, text in font.to_unicode.items():
            drawn[glyph] = (font.widths.get(glyph, 0), text, stand_ins.get(glyph, 0))
    return {name: [[glyph, *drawn[glyph]] for glyph in sorted(drawn)]
            for name, drawn in sorted(used.items())}


def _add_glyphs(glyphs: Glyphs, more: dict[str, list],
                changes: dict[str, dict[int, int]] | None = None) -> None:
    """Merge a part's or piece's glyphs (as `_used_glyphs` gives them, renumbered by
    ``changes``: see `_StandIns`) into the book's."""
    for name, drawn in more.items():
        book = glyphs.setdefault(name, {})
        renumber = (changes or {}).get(name, {})
        for glyph, width, text, _character in drawn:
            book.setdefault(renumber.get(glyph, glyph), (width, text))


def _body_chunks(records: Sequence[Loaded], folios: dict[str, int],
                 pages: int) -> list[list[Loaded]]:
    """Runs of records of about ``pages`` pages; each starts a document of its own."""
    chunks: list[list[Loaded]] = [[]]
    first = 1
    for item in records:
        if chunks[-1] and folios[item.slug] - first >= pages:
            chunks.append([])
            first = folios[item.slug]
        chunks[-1].append(item)
    return chunks


@dataclass
class _Piece:
    """One document of the parallel book, written, with what the join needs."""

    pdf: bytes
    anchors: set[str]  # the anchors it defines (others it links to are stand-ins)
    bookmarks: list  # WeasyPrint's bookmark tree, in PDF coordinates
    sheets: dict[str, int] = field(default_factory=dict)  # "slug--sheet-k" -> its page
    glyphs: dict[str, list] = field(default_factory=dict)  # see _used_glyphs


def _piece(document, variant: str, describe: Callable[[str], str]) -> _Piece:
    """Write one laid-out document of the parallel book, as ``variant``.

    Links to anchors in other pieces are kept by giving those names stand-in
    anchors here (WeasyPrint drops a link whose anchor it does not have); the
    join then points every name at the one piece that really has it. Fonts
    are whole and nothing is compressed: the join shares and packs them once.
    """
    anchors = page_anchors(document)
    sheets = {name: index for index, page in enumerate(document.pages)
              for name in page.anchors if "--sheet-" in name}
    elsewhere = {target for page in document.pages for kind, target, *_ in page.links
                 if kind == "internal" and target not in anchors}
    document.pages[0].anchors.update({name: (0, 0, 0, 0) for name in sorted(elsewhere)})
    bookmarks = document.make_bookmark_tree(scale=0.75, transform_pages=True)
    data = write_pdf(document, variant, describe=describe, whole=False, full_fonts=True,
                     uncompressed_pdf=True)
    return _Piece(data, anchors, bookmarks, sheets, _used_glyphs(document))


def stitch(book: "Book", bestiary: Bestiary, parts: dict[str, Part],
           records: Sequence[Loaded] | None = None) -> tuple[BookDocument, bytes]:
    """Lay out the book's pieces one at a time, then join them and draw the parts in."""
    records = book.records(bestiary, records)
    folios = _part_folios(records, parts)
    last = records[-1].slug
    appendix = folios[last] + len(parts[last].sheets)
    appendix += 1 - appendix % 2
    back = book.press.render(book.main_html(bestiary, records, section="back"),
                             book.starting_at(appendix))
    index_start = appendix + len(back.pages)
    index_start += 1 - index_start % 2
    anchor_pages = {"appendix": appendix, "index": index_start}
    # Links' words are read when each piece is written, by when the pages they
    # name are known (body pages only: no front-matter page is a link target here).
    options = {"variant": book.options.variant(book.project.config),
               "describe": link_words(records, anchor_pages, 0)}
    back = _piece(back, **options)
    folios.update({"#appendix": appendix, "#index": index_start})
    for item in records:
        anchor_pages[item.slug] = folios[item.slug]
        for k, sheet in enumerate(parts[item.slug].sheets):
            for anchor in sheet["anchors"]:
                anchor_pages.setdefault(anchor["id"], folios[item.slug] + k)
    index = book.index(records, anchor_pages, index_start)
    for i, page in enumerate(index.pages):
        for anchor in page.anchors:
            anchor_pages.setdefault(anchor, index_start + i)
    index = _piece(index, **options)
    front = book.press.render(book.main_html(bestiary, records, section="front", folios=folios),
                              book.stylesheets)
    front_pages = len(front.pages) + len(front.pages) % 2  # the body starts on the right
    front = _piece(front, **options)
    blank = _piece(book.press.render(
        book.press.html("book-blank.html.j2", {"pub": book.project.config.publication}),
        book.stylesheets), **options)
    _give_back_memory()
    # The sheets under the parts are transparent: a part paints its page's
    # background, then the sheet draws the running heads and folio over it.
    paper = book.project.config.colours.paper
    sheet_css = book.press.sheet_from(
        f"@page body {{ background: none; }} @page body:blank {{ background: {paper}; }}")

    def body():
        chunks = _body_chunks(records, folios, CHUNK_PAGES)
        for chunk in chunks:
            html = book.main_html(bestiary, chunk, parts=parts, section="body", folios=folios)
            document = book.press.render(
                html, [*book.starting_at(folios[chunk[0].slug], ":nth(1 of body)"), sheet_css])
            piece = _piece(document, **options)
            del document
            _give_back_memory()
            yield chunk, piece

    data, pages = _join(front, body(), [back, index], blank, parts, front_pages, folios)
    data = finish_pdf(data, options["variant"])
    laid_out = BookDocument(None, front_pages, list(records), anchor_pages)
    laid_out.pages_written = pages
    return laid_out, data


def _join(front: _Piece, body, back: list[_Piece], blank: _Piece, parts: dict[str, Part],
          front_pages: int, folios: dict[str, int]) -> tuple[bytes, int]:
    """One PDF from the pieces, each on a right-hand page (after a blank page where
    needed): parts drawn onto their sheets, one outline, one table of named
    destinations, page labels; streams that several pieces carry stored once."""
    import io
    import warnings

    import pikepdf


    destinations: dict[str, pikepdf.Object] = {}
    bookmarks: list = []
    glyphs: Glyphs = {}  # every glyph the book draws, per font
    fonts = _SharedFonts()
    drawn = 0
    # Each source is closed once copied: an open one keeps every object it has
    # parsed (whole fonts' widths and maps), about 1 MB a part.
    with pikepdf.open(io.BytesIO(front.pdf)) as pdf, warnings.catch_warnings():
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # names are made below

        def source_of(data: bytes | Path):
            if isinstance(data, Path):
                return pikepdf.open(data, access_mode=pikepdf.AccessMode.stream)
            return pikepdf.open(io.BytesIO(data))
        for key in ("/Outlines", "/Names", "/PageLabels"):
            if key in pdf.Root:
                del pdf.Root[key]

        def add(piece: _Piece, source, first: int) -> None:
            pages = {page.objgen: i for i, page in enumerate(source.pages)}
            names = pikepdf.NameTree(source.Root.Names.Dests) if "/Names" in source.Root \
                else {}
            for name in sorted(piece.anchors):
                if name in destinations or name not in names:
                    continue
                dest = names[name]
                destinations[name] = pikepdf.Array([pdf.pages[first + pages[dest[0].objgen]].obj,
                                                    *list(dest)[1:]])
            bookmarks.extend(_shift(piece.bookmarks, first))
            _add_glyphs(glyphs, piece.glyphs,
                        stand_ins.renumber(piece.glyphs, pdf.pages[first:first + len(pages)]))

        def append(piece: _Piece | None) -> tuple[int, list]:
            with source_of((piece or blank).pdf) as source:
                fonts.hold_back(source.pages)
                first = len(pdf.pages)
                pdf.pages.extend(source.pages)
                fonts.restore(pdf.pages[first:])
                kids = tree.adopt_pages(source, pdf.pages[first:]) if tree else []
                if piece is not None:
                    add(piece, source, first)
            return first, kids

        def draw(item: Loaded, piece: _Piece, first: int) -> dict[int, list]:
            """A record's pages drawn onto its sheets; its elements, by book page."""
            part = parts[item.slug]
            forms = []
            with source_of(part.pdf) as source:
                fonts.hold_back(source.pages)
                for k, laid_out in enumerate(part.sheets):
                    # The part's page as a form drawn under its sheet's furniture (so
                    # that readers meet the folio last), under a fixed name (pikepdf's
                    # add_overlay picks random ones: not reproducible).
                    at = first + piece.sheets[f"{item.slug}--sheet-{k}"]
                    sheet = pikepdf.Page(pdf.pages[at])
                    form = _as_form(pdf, source.pages[k])
                    fonts.restore([form])
                    nonlocal drawn
                    drawn += 1  # pages may share one resource dictionary: names unique
                    name = sheet.add_resource(form, pikepdf.Name.XObject,
                                              pikepdf.Name(f"/PrintshopPart{drawn}"))
                    # The sheet's own drawing leaves its transform in place: wrap it.
                    sheet.contents_add(pikepdf.Stream(pdf, b"q " + bytes(name) + b" Do Q\nq\n"),
                                       prepend=True)
                    sheet.contents_add(pikepdf.Stream(pdf, b"\nQ\n"), prepend=False)
                    forms.append((form, sheet))
                _add_glyphs(glyphs, part.glyphs,
                            stand_ins.renumber(part.glyphs, [form for form, _ in forms]))
                for (form, _sheet), laid_out in zip(forms, part.sheets):
                    numbers = [str(folios[x["target"]]) for x in laid_out["xrefs"]]
                    if numbers:
                        form.write(_write_numbers(form.read_bytes(), numbers,
                                                  form.Resources.Font, digits, glyphs))
                per_page = tree.adopt_forms(source, forms) if tree else []
            return {first + piece.sheets[f"{item.slug}--sheet-{k}"]: kids
                    for k, kids in enumerate(per_page)}

        def place(kids: list, first: int, count: int, drawn_kids: dict[int, list]) -> None:
            """A piece's elements into the book's tree, page by page; on a sheet, the
            record's own elements instead of the skeleton's."""
            page_of = {pdf.pages[i].objgen: i for i in range(first, first + count)}
            skeleton: dict[int, list] = {i: [] for i in range(first, first + count)}
            for kid in kids:
                page = kid.get("/Pg")
                skeleton[page_of.get(page.objgen if page is not None else None, first)].append(kid)
            for i in range(first, first + count):
                if i in drawn_kids:
                    tree.hand_links(skeleton[i], drawn_kids[i])
                    tree.append(drawn_kids[i])
                else:
                    tree.append(skeleton[i])

        tree = StructureJoin(pdf) if "/StructTreeRoot" in pdf.Root else None
        digits = _Digits()
        stand_ins = _StandIns()
        fonts.hold_back(pdf.pages)
        fonts.restore(pdf.pages)
        add(front, pdf, 0)
        for piece_parts, piece in itertools.chain(body, ((None, p) for p in back)):
            if len(pdf.pages) % 2:
                _, kids = append(None)
                if tree:
                    tree.append(kids)
            first, kids = append(piece)
            drawn_kids: dict[int, list] = {}
            for item in piece_parts or ():
                drawn_kids.update(draw(item, piece, first))
            if tree:
                place(kids, first, len(pdf.pages) - first, drawn_kids)
        if tree:
            tree.finish()
        pdf.Root.Names = pdf.make_indirect(pikepdf.Dictionary(Dests=pikepdf.Dictionary(
            Names=pikepdf.Array([v for name in sorted(destinations)
                                 for v in (pikepdf.String(name), destinations[name])]))))
        _outline(pdf, bookmarks)
        nums = [front_pages, pikepdf.Dictionary(S=pikepdf.Name.D, St=1)]
        if front_pages:
            nums = [0, pikepdf.Dictionary(S=pikepdf.Name.r), *nums]
        pdf.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(nums))
        _subset_fonts(fonts.fonts.values(), glyphs)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue(), len(pdf.pages)


def _subset_fonts(fonts, glyphs: Glyphs) -> None:
    """Cut each whole font the book embeds down to the glyphs it draws with it.

    Parts embed whole fonts so that every part carries the same bytes and the book
    stores each once; without this, a small book would carry whole fonts (a 4-entry
    book was 3.6x its single-pass size). Glyph numbers are kept (fontTools'
    retain_gids), so the pages' text needs no change. The /W widths and the
    /ToUnicode map are written anew from the glyphs drawn.
    """
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    programs: dict[tuple, tuple[object, dict[int, int]]] = {}  # glyph -> width
    for font in fonts:
        name = _font_name(font)
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor:
                continue
            stream = descriptor.FontFile2
            entry = programs.setdefault(stream.objgen, (stream, {}))
            entry[1].update((glyph, width) for glyph, (width, _) in glyphs.get(name, {}).items())
            if glyphs.get(name):
                descendant.W = _widths(glyphs[name])
                if "/ToUnicode" in font:
                    font.ToUnicode.write(_unicode_map(glyphs[name]))
    for stream, used in programs.values():
        if not used:
            continue
        options = subset.Options(retain_gids=True, passthrough_tables=True,
                                 ignore_missing_glyphs=True, notdef_outline=True,
                                 desubroutinize=True)
        options.drop_tables += ["GSUB", "GPOS", "SVG"]
        font = TTFont(io.BytesIO(stream.read_bytes()), recalcTimestamp=False)  # reproducible
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=sorted(set(used) | {0}))
        subsetter.subset(font)
        _add_stand_ins(font, used)
        out = io.BytesIO()
        font.save(out)
        stream.write(out.getvalue())
        stream.Length1 = len(out.getvalue())


def _add_stand_ins(font, used: dict[int, int]) -> None:
    """Give a subset TrueType font the stand-in glyphs drawn past its last glyph
    (see `_StandIns`): each a box (the .notdef outline) as wide as the page's text
    says, as WeasyPrint's own subsetting gives them. Without them, viewers draw
    such glyphs at a width of their own and the text runs out of its column."""
    order = font.getGlyphOrder()
    extra = [glyph for glyph in used if glyph >= len(order)]
    if not extra or "glyf" not in font:
        return
    glyf, hmtx = font["glyf"], font["hmtx"]
    scale = font["head"].unitsPerEm / 1000
    notdef = glyf[order[0]]
    for glyph in range(len(order), max(extra) + 1):
        name = f"printshop.standin{glyph}"
        order.append(name)
        glyf.glyphs[name] = notdef
        hmtx.metrics[name] = (round(used.get(glyph, 0) * scale), 0)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    font["maxp"].numGlyphs = len(order)


def _widths(drawn: dict[int, tuple[int, str]]):
    """A CID font's /W array: runs of consecutive glyphs with their widths."""
    import pikepdf

    runs: list = []
    for glyph in sorted(drawn):
        if runs and runs[-2] + len(runs[-1]) == glyph:
            runs[-1].append(drawn[glyph][0])
        else:
            runs += [glyph, [drawn[glyph][0]]]
    return pikepdf.Array([pikepdf.Array(r) if isinstance(r, list) else r for r in runs])


def _unicode_map(drawn: dict[int, tuple[int, str]]) -> bytes:
    """A /ToUnicode CMap of the glyphs drawn (in WeasyPrint's form: bfchar lines)."""
    pairs = [b"<%04x> <%s>" % (glyph, text.encode("utf-16-be").hex().encode())
             for glyph, (_width, text) in sorted(drawn.items()) if text]
    blocks = b"".join(b"%d beginbfchar\n%s\nendbfchar\n" % (len(pairs[i:i + 100]),
                                                              b"\n".join(pairs[i:i + 100]))
                      for i in range(0, len(pairs), 100))
    return (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo\n<< /Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <ffff>\nendcodespacerange\n" + blocks
            + b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")


_TEXT_OPS = re.compile(rb"/([^\s/\[\]<>()]+)\s+[-+\d.]+\s+Tf|\[([^\]]*)\]\s*TJ")
_GLYPH = re.compile(rb"<([0-9a-fA-F]*)>")


def _font_name(font) -> str:
    """A PDF font's name, as /BaseFont gives it (with its subset tag)."""
    return str(font.get("/BaseFont", "")).lstrip("/")


def _font_program(font):
    """The TrueType program a Type0 PDF font embeds, read lazily by fontTools, or None."""
    import io

    from fontTools.ttLib import TTFont

    try:
        program = font.DescendantFonts[0].FontDescriptor.FontFile2.read_bytes()
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return TTFont(io.BytesIO(program), lazy=True)


class _Digits:
    """Per font of the book: the placeholder glyph (the slashed zero of the font's
    "zero" feature) and the glyphs of 0-9, or None; read once per font."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, list[int]] | None] = {}

    def __call__(self, font) -> tuple[int, list[int]] | None:
        name = _font_name(font)
        if name not in self._known:
            self._known[name] = self._read(font)
        return self._known[name]

    @staticmethod
    def _read(font) -> tuple[int, list[int]] | None:
        face = _font_program(font)
        if face is None:
            return None
        cmap = face.getBestCmap() or {}
        if "GSUB" not in face or not all(ord(d) in cmap for d in "0123456789"):
            return None
        for record in face["GSUB"].table.FeatureList.FeatureRecord:
            if record.FeatureTag != "zero":
                continue
            for index in record.Feature.LookupListIndex:
                for table in face["GSUB"].table.LookupList.Lookup[index].SubTable:
                    alternate = getattr(table, "mapping", {}).get(cmap[ord("0")])
                    if alternate:
                        return (face.getGlyphID(alternate),
                                [face.getGlyphID(cmap[ord(d)]) for d in "0123456789"])
        return None


def _rewrite_text(content: bytes, fonts,
                  rewrite: Callable[[object, list[int]], list[int | None] | None]) -> bytes:
    """``content`` with each text array's glyphs passed through ``rewrite(font,
    glyphs)``, which returns them changed (None for a glyph to drop) or None to
    leave the array alone. Glyphs are 2-byte codes, as WeasyPrint writes them for
    its CID fonts; the spacing numbers between them stay where they are."""
    out, last, font = [], 0, None
    for match in _TEXT_OPS.finditer(content):
        if match.group(1) is not None:
            font = fonts.get("/" + match.group(1).decode("latin-1"))
            continue
        if font is None:
            continue
        array = match.group(2)
        tokens = list(_GLYPH.finditer(array))
        glyphs = [int(t.group(1)[i:i + 4], 16) for t in tokens
                  for i in range(0, len(t.group(1)), 4)]
        changed = rewrite(font, glyphs)
        if changed is None:
            continue
        written, at, k = [], 0, 0
        for token in tokens:
            n = len(token.group(1)) // 4
            written += [array[at:token.start()], b"<", b"".join(
                b"%04x" % g for g in changed[k:k + n] if g is not None), b">"]
            k, at = k + n, token.end()
        written.append(array[at:])
        out += [content[last:match.start(2)], b"".join(written)]
        last = match.end(2)
    out.append(content[last:])
    return b"".join(out)


def _write_numbers(content: bytes, numbers: list[str], fonts, digits: _Digits,
                   glyphs: Glyphs) -> bytes:
    """Write a part's cross-reference page numbers over its placeholders (runs of
    slashed zeros, one text array each, in document order); placeholder glyphs past
    a number's digits are dropped. The digits drawn join ``glyphs`` (with the
    placeholder's width: the font's figures are tabular)."""
    todo = list(numbers)

    def rewrite(font, drawn: list[int]) -> list[int | None] | None:
        known = digits(font)
        if known is None or not todo:
            return None
        placeholder, figures = known
        at = [i for i, glyph in enumerate(drawn) if glyph == placeholder]
        if not at:
            return None
        number = todo.pop(0)
        if len(number) > len(at):
            raise RenderError(f"page {number} has more digits than the {len(at)} a "
                              "cross-reference reserves")
        changed: list[int | None] = list(drawn)
        for k, i in enumerate(at):
            changed[i] = figures[int(number[k])] if k < len(number) else None
        book = glyphs.setdefault(_font_name(font), {})
        width = book.get(placeholder, (0, ""))[0]
        for digit in number:
            book.setdefault(figures[int(digit)], (width, digit))
        return changed

    content = _rewrite_text(content, fonts, rewrite)
    if todo:
        raise RenderError(f"{len(todo)} cross-reference number(s) found no placeholder")
    return content


class _StandIns:
    """One number per character for the stand-in glyphs of characters no font has.

    WeasyPrint draws such a character with a glyph number past the font's last
    glyph, counting per document: two parts can give one number to different
    characters. The book numbers each (font, character) once and rewrites the
    text of a part or piece whose numbers differ (only such text is read).
    """

    def __init__(self) -> None:
        self._counts: dict[str, int | None] = {}
        self._numbers: dict[str, dict[int, int]] = {}

    def _count(self, font) -> int | None:
        name = _font_name(font)
        if name not in self._counts:
            face = _font_program(font)
            self._counts[name] = face["maxp"].numGlyphs if face is not None else None
        return self._counts[name]

    def renumber(self, drawn: dict[str, list], containers) -> dict[str, dict[int, int]]:
        """The book's numbers for a source's stand-in glyphs (font -> old -> new), and
        its text rewritten to match, in ``containers`` (pages or forms)."""
        fonts = {_font_name(font): font for container in containers
                 for font_map in _SharedFonts._font_maps(container, set())
                 for font in font_map.values()}
        changes: dict[str, dict[int, int]] = {}
        for name, items in drawn.items():
            count = self._count(fonts[name]) if name in fonts else None
            if count is None:
                continue
            numbers = self._numbers.setdefault(name, {})
            for glyph, _width, _text, character in items:
                if glyph >= count and character:
                    number = numbers.setdefault(character, count + len(numbers))
                    if number != glyph:
                        changes.setdefault(name, {})[glyph] = number
        if changes:
            def rewrite(font, glyphs):
                table = changes.get(_font_name(font))
                return [table.get(g, g) for g in glyphs] if table else None

            for stream, font_map in _text_streams(containers):
                stream.write(_rewrite_text(stream.read_bytes(), font_map, rewrite))
        return changes


def _text_streams(containers):
    """(content stream, its /Font map) of pages or forms, and of the forms they draw."""
    import pikepdf

    seen: set = set()
    stack = list(containers)
    while stack:
        container = stack.pop()
        obj = getattr(container, "obj", container)
        resources = obj.get("/Resources")
        if resources is None:
            continue
        font_map = resources.get("/Font", {})
        contents = obj.get("/Contents") if "/Contents" in obj else obj
        for stream in (contents if isinstance(contents, pikepdf.Array) else [contents]):
            if isinstance(stream, pikepdf.Stream) and stream.objgen not in seen:
                seen.add(stream.objgen)
                yield stream, font_map
        for _, xobject in resources.get("/XObject", {}).items():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                stack.append(xobject)


def _as_form(pdf, page):
    """A part's page as a form XObject of the book. Its content stream is copied as
    it is, so its data is read from the part's file only when the book is saved
    (pikepdf's ``as_form_xobject`` reads it into memory first)."""
    import pikepdf

    contents = page.obj.get("/Contents")
    if not isinstance(contents, pikepdf.Stream) or "/Rotate" in page.obj:
        return pdf.copy_foreign(pikepdf.Page(page).as_form_xobject())
    form = pdf.copy_foreign(contents)
    form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    form.BBox = pikepdf.Array([float(v) for v in page.obj.MediaBox])
    resources = page.obj.Resources
    if not resources.is_indirect:
        resources = page.obj.Resources = page.owner.make_indirect(resources)
    form.Resources = pdf.copy_foreign(resources)
    return form


def _shift(bookmarks: list, first: int) -> list:
    """A WeasyPrint bookmark tree with its page numbers moved ``first`` pages on."""
    return [(title, (page + first, x, y), _shift(children, first), state)
            for title, (page, x, y), children, state in bookmarks]


def _outline(pdf, bookmarks: list, parent=None) -> tuple[list, int]:
    """The PDF outline of a WeasyPrint bookmark tree (as WeasyPrint writes it)."""
    import pikepdf

    count = len(bookmarks)
    items = []
    for title, (page, x, y), children, state in bookmarks:
        item = pdf.make_indirect(pikepdf.Dictionary(
            Title=pikepdf.String(title),
            Dest=pikepdf.Array([pdf.pages[page].obj, pikepdf.Name.XYZ, x, y, 0])))
        kids, kids_count = _outline(pdf, children, item)
        item.Count = -kids_count if state == "closed" else kids_count
        if state != "closed":
            count += kids_count
        if items:
            item.Prev = items[-1]
            items[-1].Next = item
        if kids:
            item.First, item.Last = kids[0], kids[-1]
        if parent is not None:
            item.Parent = parent
        items.append(item)
    if parent is None and items:
        root = pdf.make_indirect(pikepdf.Dictionary(Count=count, First=items[0], Last=items[-1]))
        for item in items:
            item.Parent = root
        pdf.Root.Outlines = root
    return items, count


def _give_back_memory() -> None:
    """Collect the dropped layout and hand freed memory back to the system (glibc), so
    the joining that follows does not stack on top of it."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _SharedFonts:
    """Every font of the joined book stored once.

    Parts and pieces embed whole fonts (widths and Unicode maps for every glyph),
    so a font is the same object, byte for byte, wherever it is used. Before a
    source's pages are copied, each font the book already has is swapped, in the
    source's resources, for a small marker naming it; after copying, the markers
    point at the book's copy. Nothing is copied twice, so memory does not grow
    with the number of parts that share a font.
    """

    MARK = "/PrintshopFont"

    def __init__(self) -> None:
        self.fonts: dict[str, object] = {}  # digest -> the font in the book

    @staticmethod
    def _font_maps(container, seen: set):
        """The /Font resource dictionaries of a page or form, and of its forms."""
        resources = container.get("/Resources")
        if resources is None or resources.objgen in seen and resources.objgen != (0, 0):
            return
        seen.add(resources.objgen)
        if "/Font" in resources:
            yield resources.Font
        for _, xobject in resources.get("/XObject", {}).items():
            if xobject.get("/Subtype") == "/Form":
                yield from _SharedFonts._font_maps(xobject, seen)

    @staticmethod
    def _digest(obj, hashes: dict) -> str:
        """A hash of an object and everything it refers to (streams by their bytes)."""
        import hashlib

        import pikepdf

        key = obj.objgen if getattr(obj, "is_indirect", False) else None
        if key and key in hashes:
            return hashes[key]
        if isinstance(obj, pikepdf.Stream):
            parts = [repr(sorted((str(k), _SharedFonts._digest(v, hashes))
                                 for k, v in obj.stream_dict.items() if k != "/Length")),
                     hashlib.sha256(obj.read_raw_bytes()).hexdigest()]
        elif isinstance(obj, pikepdf.Dictionary):
            parts = sorted((str(k), _SharedFonts._digest(v, hashes)) for k, v in obj.items())
        elif isinstance(obj, pikepdf.Array):
            parts = [_SharedFonts._digest(v, hashes) for v in obj]
        else:
            parts = [repr(obj)]
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()
        if key:
            hashes[key] = digest
        return digest

    def hold_back(self, containers) -> None:
        """Swap, in a source about to be copied, the fonts the book has for markers."""
        import pikepdf

        hashes: dict = {}
        seen: set = set()
        for container in containers:
            for font_map in self._font_maps(container, seen):
                for name, font in list(font_map.items()):
                    if self.MARK in font:
                        continue
                    if isinstance(font.get("/Encoding"), pikepdf.Stream):
                        # WeasyPrint's own encoding, written where a document draws
                        # stand-ins for missing characters (mapped to .notdef), covers
                        # that document's glyphs only. The book's fonts carry every
                        # glyph drawn, stand-ins included (`_add_stand_ins`): identity.
                        font.Encoding = pikepdf.Name("/Identity-H")
                    digest = self._digest(font, hashes)
                    if digest in self.fonts:
                        font_map[name] = pikepdf.Dictionary({self.MARK: pikepdf.String(digest)})
                    else:
                        font[self.MARK] = pikepdf.String(digest)

    def restore(self, containers) -> None:
        """Point the copied markers at the book's fonts; adopt fonts seen first."""
        seen: set = set()
        for container in containers:
            for font_map in self._font_maps(container, seen):
                for name, font in list(font_map.items()):
                    if self.MARK not in font:
                        continue
                    digest = str(font[self.MARK])
                    if digest in self.fonts and font.objgen != self.fonts[digest].objgen:
                        font_map[name] = self.fonts[digest]
                    else:
                        del font[self.MARK]
                        self.fonts[digest] = font
