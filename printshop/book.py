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
from typing import Sequence

from .config import Config, Project
from .dossier import dossier_context
from .errors import ConfigError, RenderError
from .gauge import angle_of, gauge_geometry
from .load import Bestiary, Loaded
from .press import PAPER, PDF_OPTIONS, Press

STYLESHEETS = ("fonts.css", "record.css", "book.css")
BLEED = re.compile(r"^\d{1,2}(\.\d+)?(mm|pt|in)$")
VARIANTS = ("pdf/a-2b", "pdf/a-3b", "pdf/a-3u", "pdf/ua-1", "pdf/ua-2")
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
    pdf_variant: str | None = None

    def __post_init__(self) -> None:
        if self.paper not in PAPER:
            raise ConfigError(f"paper must be one of {', '.join(PAPER)}, got {self.paper!r}")
        if self.bleed is not None and not BLEED.match(self.bleed):
            raise ConfigError(f"bleed must be a length like 3mm, 0.125in or 9pt, got "
                              f"{self.bleed!r}")
        if self.pdf_variant is not None and self.pdf_variant not in VARIANTS:
            raise ConfigError(f"pdf variant must be one of {', '.join(VARIANTS)}, got "
                              f"{self.pdf_variant!r}")


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
    return {"gauge": geometry, "needles": needles, "median": round(statistics.median(percents))}


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
                  parts: dict | None = None) -> str:
        config = self.project.config
        contexts = list(_book_contexts(self.project, bestiary, records).values())
        return self.press.html("book.html.j2", {
            "folios": _part_folios(records, parts) if parts else {},
            "pub": config.publication,
            "book": config.book,
            "created": config.created(),
            "edition": (config.created() or "")[:10],
            "records": contexts,
            "count": len(records),
            "foreword": self.foreword(),
            "dial": cover_dial(records, config),
            "histogram": risk_histogram(records, config),
            "league": salary_league(records),
            "version": _version(),
            "parts": parts,
        })

    def render(self, bestiary: Bestiary, records: Sequence[Loaded] | None = None,
               parts: dict | None = None) -> BookDocument:
        """Lay out the whole book in memory (see the module's note on page numbers).

        With ``parts`` (records laid out elsewhere), each record is a skeleton
        of empty sheets: see `stitch`.
        """
        records = order_records(records if records is not None else bestiary.valid,
                                self.project.config)
        if not records:
            raise RenderError("no valid entries to print a book from")
        main = self.press.render(self.main_html(bestiary, records, parts), self.stylesheets)
        located = _anchor_pages(main)
        front = located[records[0].slug]
        placeholder = located["index"]
        anchor_pages = {anchor: index - front + 1 for anchor, index in located.items()}
        index_html = self.press.html("book-index.html.j2", {
            "pub": self.project.config.publication,
            "sections": build_index(records, anchor_pages),
        })
        start = placeholder - front + 1
        index_sheets = [*self.stylesheets,
                        self.press.sheet_from(f"@page :first {{ counter-reset: page {start}; }}")]
        index = self.press.render(index_html, index_sheets)
        for i, page in enumerate(index.pages):
            for anchor in page.anchors:
                anchor_pages[anchor] = start + i
        joined = main.copy([*main.pages[:placeholder], *index.pages])
        return BookDocument(joined, front, list(records), anchor_pages)

    def pdf(self, book: BookDocument) -> bytes:
        options = dict(PDF_OPTIONS)
        if self.options.pdf_variant:
            options["pdf_variant"] = self.options.pdf_variant
        return book.document.write_pdf(finisher=page_labels(book.front_pages), **options)


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
# furniture. The book is then laid out as a skeleton in which every record is
# a run of empty sheets that carry, at the same places, the record's anchors,
# bookmarks and cross-reference numbers: WeasyPrint numbers the pages, fills
# in the contents, cross-references, index, outline and links, cheaply. Last,
# each record's pages are drawn onto its sheets (pikepdf), and the fonts the
# parts share are stored once.

#: A part has no furniture and no page background of its own.
PART_CSS = "\n".join(
    f"@page {selector} {{ background: none; "
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


def render_part(book: "Book", item: Loaded, bestiary: Bestiary, in_book: set[str]) -> Part:
    """Lay out one record of the parallel book (runs in a worker process)."""
    context = dossier_context(item, bestiary, book.project)
    context["in_book"] = in_book
    html = book.press.html("book-part.html.j2", {"r": context, "pub": context["pub"]})
    sheets = [*book.stylesheets, book.press.sheet_from(PART_CSS)]
    document = book.press.render(html, sheets)
    targets = {f"{item.slug}--xref-{i}": s.slug for i, s in enumerate(context["specimens"], 1)}
    pages = []
    seen: set[str] = set()  # a box split across pages is an anchor on each: keep the first
    for page in document.pages:
        x0, y0 = page._page_box.content_box_x(), page._page_box.content_box_y()
        sheet = {"anchors": [], "bookmarks": [], "xrefs": []}
        for anchor, (x, y, *_rest) in sorted(page.anchors.items()):
            if anchor in seen:
                continue
            seen.add(anchor)
            where = {"x": round(x - x0, 3), "y": round(y - y0, 3)}
            if anchor in targets:
                sheet["xrefs"].append({**where, "target": targets[anchor]})
            elif INDEXED.search(anchor):
                # Only what the index links to: every element of a skeleton costs.
                sheet["anchors"].append({**where, "id": anchor})
        for level, label, (x, y), _state in page.bookmarks:
            sheet["bookmarks"].append({"level": level, "label": label,
                                       "x": round(x - x0, 3), "y": round(y - y0, 3)})
        pages.append(sheet)
    # Whole fonts (the same bytes in every part, so the book stores them once) and
    # no compression: the book compresses what it keeps once, on saving.
    return Part(item.slug, document.write_pdf(full_fonts=True, uncompressed_pdf=True), pages)


def stitch(book: "Book", bestiary: Bestiary, parts: dict[str, Part],
           records: Sequence[Loaded] | None = None) -> tuple[BookDocument, bytes]:
    """Lay out the skeleton, then draw every part's pages onto its sheets."""
    import io

    import pikepdf

    skeleton = book.render(bestiary, records, parts=parts)
    data = skeleton.document.write_pdf(finisher=page_labels(skeleton.front_pages))
    located = _anchor_pages(skeleton.document)
    skeleton.pages_written = len(skeleton.document.pages)
    skeleton.document = None  # the layout is large; only its PDF is needed now
    _give_back_memory()
    drawn = 0
    programs: dict[str, object] = {}  # font program hash -> its stream in the book
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for slug, part in parts.items():
            pdf_source = part.pdf if isinstance(part.pdf, Path) else io.BytesIO(part.pdf)
            with pikepdf.open(pdf_source) as source:
                known = _hold_back_font_programs(source, programs)
                for k in range(len(part.sheets)):
                    # The part's page as a form drawn over its sheet, under a fixed
                    # name (pikepdf's add_overlay picks random ones: not reproducible).
                    sheet = pikepdf.Page(pdf.pages[located[f"{slug}--sheet-{k}"]])
                    form = pdf.copy_foreign(pikepdf.Page(source.pages[k]).as_form_xobject())
                    _restore_font_programs(form, programs, known)
                    drawn += 1  # pages may share one resource dictionary: names unique
                    name = sheet.add_resource(form, pikepdf.Name.XObject,
                                              pikepdf.Name(f"/PrintshopPart{drawn}"))
                    # The sheet's own drawing leaves its transform in place: wrap it.
                    sheet.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
                    sheet.contents_add(pikepdf.Stream(pdf, b"\nQ q " + bytes(name) + b" Do Q\n"),
                                       prepend=False)
        _share_streams(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return skeleton, out.getvalue()


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


def _font_descriptors(container):
    """The font descriptors a resource dictionary's fonts use (Type0 fonts included)."""
    for _, font in container.get("/Resources", {}).get("/Font", {}).items():
        for target in font.get("/DescendantFonts", [font]):
            descriptor = target.get("/FontDescriptor")
            if descriptor is not None:
                yield descriptor


def _hold_back_font_programs(source, programs: dict) -> set[str]:
    """Mark, in a part, the font programs the book already has, so they are not copied.

    Parts embed whole fonts, the same bytes in every part: copying each part's
    copy and sharing afterwards would hold hundreds of megabytes at once.
    """
    import hashlib

    import pikepdf

    known = set()
    for page in source.pages:
        for descriptor in _font_descriptors(page.obj):
            if "/FontFile2" not in descriptor:
                continue
            digest = hashlib.sha256(descriptor.FontFile2.read_raw_bytes()).hexdigest()
            descriptor.PrintshopProgram = pikepdf.String(digest)
            if digest in programs:
                del descriptor.FontFile2
                known.add(digest)
    return known


def _restore_font_programs(form, programs: dict, known: set[str]) -> None:
    """Point a copied part's fonts at the book's single copy of each program."""
    for descriptor in _font_descriptors(form):
        if "/PrintshopProgram" not in descriptor:
            continue
        digest = str(descriptor.PrintshopProgram)
        del descriptor.PrintshopProgram
        if digest in known or "/FontFile2" not in descriptor:
            descriptor.FontFile2 = programs[digest]
        else:
            programs[digest] = descriptor.FontFile2


def _share_streams(pdf) -> None:
    """Store once each stream that several parts carry (font programs, ToUnicode maps):
    separately laid-out parts would otherwise each bring their own copy."""
    import hashlib

    import pikepdf

    canonical: dict[str, pikepdf.Object] = {}
    replace: dict[tuple[int, int], pikepdf.Object] = {}
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        header = sorted((str(k), repr(v)) for k, v in obj.items() if k != "/Length")
        key = hashlib.sha256(repr(header).encode() + obj.read_raw_bytes()).hexdigest()
        first = canonical.setdefault(key, obj)
        if first.objgen != obj.objgen:
            replace[obj.objgen] = first
    if not replace:
        return

    def relink(container) -> None:
        keys = container.keys() if isinstance(container, pikepdf.Dictionary) else \
            range(len(container))
        for key in list(keys):
            value = container[key]
            if not isinstance(value, pikepdf.Object):
                continue  # numbers and booleans come back as Python values
            if value.is_indirect and value.objgen in replace:
                container[key] = replace[value.objgen]
            elif not value.is_indirect and isinstance(value, (pikepdf.Dictionary,
                                                               pikepdf.Array)):
                relink(value)

    for obj in pdf.objects:
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
            relink(obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj)
