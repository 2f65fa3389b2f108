"""The parallel book's join: its parts and pieces made one PDF, with pikepdf.

Parts and pieces are copied in book order, each on a right-hand page (after a
blank page where needed); the parts' placeholder page numbers are written over
with the numbers (`pdffonts.write_numbers`); one outline, one table of named
destinations, the page labels (`common.label_ranges`) and one structure tree
(`structure`) are made; the fonts the parts share are stored once, then subset
(`pdffonts`). `Joined` joins body first, as the parts arrive; `join_front_first`
joins front matter first (the same PDF), when the front matter must come first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..pdffonts import Digits, SharedFonts, StandIns, add_glyphs, subset_fonts, write_numbers
from .common import blank_before, is_recto, label_ranges, on_recto
from .structure import BodyStructure, StructureJoin

if TYPE_CHECKING:
    from .parallel import RecordPart

LOGGER = logging.getLogger("printshop")


@dataclass
class Piece:
    """Front matter, appendix or index of the parallel book, written."""

    pdf: bytes
    anchors: list[str]  # the anchors it defines (others it links to are stand-ins)
    bookmarks: list  # WeasyPrint's bookmark tree, in PDF coordinates
    glyphs: dict[str, list] = field(default_factory=dict)  # see pdffonts.used_glyphs


def _adopt(pdf, stand_ins: StandIns, piece: Piece | RecordPart, source, first: int,
           destinations: dict, bookmarks: list, glyphs: dict) -> None:
    """A source copied into ``pdf`` at page ``first``: its named destinations,
    bookmarks and glyphs, in the book's terms."""
    import pikepdf

    pages = {page.objgen: i for i, page in enumerate(source.pages)}
    names = pikepdf.NameTree(source.Root.Names.Dests) if "/Names" in source.Root else {}
    for name in piece.anchors:
        if name in destinations or name not in names:
            continue
        dest = names[name]
        destinations[name] = pikepdf.Array([pdf.pages[first + pages[dest[0].objgen]].obj,
                                            *list(dest)[1:]])
    bookmarks.extend(_shift(piece.bookmarks, first))
    add_glyphs(glyphs, piece.glyphs,
               stand_ins.renumber(piece.glyphs, pdf.pages[first:first + len(pages)]))


def join_front_first(front: Piece, body: list[tuple[RecordPart, int]],
          back: list[Piece | Callable[[], Piece]], blank: Piece,
          front_pages: int, folios: dict[str, int],
          describe: Callable[[str], str]) -> tuple[bytes, int]:
    """One PDF: the front matter, each part at its folio, the back matter, each on a
    right-hand page (after a blank page where needed); page numbers written over
    the parts' placeholders; one outline, one table of named destinations, the
    page labels, one structure tree; fonts stored once and subset."""
    import io
    import warnings

    import pikepdf

    destinations: dict[str, pikepdf.Object] = {}
    bookmarks: list = []
    glyphs: dict = {}  # every glyph the book draws, per font
    fonts, stand_ins, digits = SharedFonts(), StandIns(), Digits()
    # Each source is closed once copied: an open one keeps every object it has
    # parsed (whole fonts' widths and maps), about 1 MB a part.
    with pikepdf.open(io.BytesIO(front.pdf)) as pdf, warnings.catch_warnings():
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # names are made below
        for key in ("/Outlines", "/Names", "/PageLabels"):
            if key in pdf.Root:
                del pdf.Root[key]
        tree = StructureJoin(pdf) if "/StructTreeRoot" in pdf.Root else None

        def add(piece: Piece | RecordPart, source, first: int) -> None:
            _adopt(pdf, stand_ins, piece, source, first, destinations, bookmarks, glyphs)

        def append(piece: Piece | RecordPart, folio: int | None = None) -> None:
            with open_pdf(piece.pdf) as source:  # open while its copied streams are read
                fonts.hold_back(source.pages)
                first = len(pdf.pages)
                pdf.pages.extend(source.pages)
                fonts.restore(pdf.pages[first:])
                if tree:
                    tree.append(tree.adopt_pages(source, pdf.pages[first:]))
                add(piece, source, first)
                for k, laid_out in enumerate(getattr(piece, "pages", ()) if folio else ()):
                    # Cross-references in the text, then the folio (last in the page's
                    # content), right-aligned on a right-hand page (k even).
                    numbers = [(str(folios[target]), False) for target in laid_out["xrefs"]]
                    _write_numbers(pdf.pages[first + k],
                                   [*numbers, (str(folio + k), is_recto(folio + k))],
                                   digits, glyphs)
                    _describe_links(pdf.pages[first + k], describe)

        fonts.hold_back(pdf.pages)
        fonts.restore(pdf.pages)
        add(front, pdf, 0)
        for part, folio in body:
            if blank_before(len(pdf.pages)):
                append(blank)
            append(part, folio)
        for piece in back:
            if callable(piece):  # laid out elsewhere meanwhile: wait for it now
                piece = piece()
            if blank_before(len(pdf.pages)):
                append(blank)
            append(piece)
        if tree:
            tree.finish()
        return _save_book(pdf, destinations, bookmarks, front_pages, fonts, glyphs), \
            len(pdf.pages)


class Joined:
    """The parallel book being joined, body first: the parts in book order as they are
    laid out (a blank page where one must start on the right), their page numbers
    written as soon as the pages they name are known; then (`finish`) the front
    matter put before them and the back matter after. The same PDF, byte for byte,
    as joining front matter, parts and back matter in that order (`join_front_first`), which
    must wait for the front matter, and so for every part."""

    def __init__(self, blank: Piece) -> None:
        import pikepdf

        self.pdf = pikepdf.new()
        self.blank = blank
        with open_pdf(blank.pdf) as source:
            tagged = "/StructTreeRoot" in source.Root
        self.tree = BodyStructure(self.pdf) if tagged else None
        self.fonts, self.stand_ins, self.digits = SharedFonts(), StandIns(), Digits()
        self.glyphs: dict = {}  # every glyph the body draws, per font
        self.destinations: dict = {}
        self.bookmarks: list = []  # pages counted from the body's first
        self.folios: dict[str, int] = {}  # where each record joined so far starts
        self.parts: list[tuple[RecordPart, int]] = []  # (part, its first page in the body)
        self.waiting: list[tuple[int, list]] = []  # pages whose cross-references wait
        self.numbered = False

    def _add(self, piece: Piece | RecordPart, source, first: int, destinations: dict,
             bookmarks: list, glyphs: dict) -> None:
        _adopt(self.pdf, self.stand_ins, piece, source, first, destinations, bookmarks, glyphs)

    def _append(self, piece: Piece | RecordPart, destinations: dict | None = None,
                bookmarks: list | None = None, glyphs: dict | None = None) -> int:
        """Copy a part or piece at the end; its first page's index."""
        import warnings

        import pikepdf

        with open_pdf(piece.pdf) as source, warnings.catch_warnings():
            # (open while its copied streams are read; the names are made in `finish`)
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            self.fonts.hold_back(source.pages)
            first = len(self.pdf.pages)
            self.pdf.pages.extend(source.pages)
            self.fonts.restore(self.pdf.pages[first:])
            if self.tree:
                self.tree.append(self.tree.adopt_pages(source, self.pdf.pages[first:]))
            self._add(piece, source, first,
                      self.destinations if destinations is None else destinations,
                      self.bookmarks if bookmarks is None else bookmarks,
                      self.glyphs if glyphs is None else glyphs)
        return first

    def add_part(self, part: RecordPart) -> None:
        """Join the next record's part (in book order); write its folios and the
        cross-references to records already joined."""
        if blank_before(len(self.pdf.pages)):
            self._append(self.blank)
        folio = self.folios[part.slug] = len(self.pdf.pages) + 1
        first = self._append(part)
        self.parts.append((part, first))
        for k, laid_out in enumerate(part.pages):
            numbers = [*laid_out["xrefs"], folio + k]
            if all(target in self.folios for target in laid_out["xrefs"]):
                self._number(first + k, numbers)
            else:
                self.waiting.append((first + k, numbers))

    def _number(self, page: int, numbers: list) -> None:
        """Write a part's page's numbers: cross-references (record slugs) in the text,
        then the folio (last in the page's content), right-aligned on a right-hand
        page (an odd folio)."""
        *targets, folio = numbers
        _write_numbers(self.pdf.pages[page],
                       [*((str(self.folios[target]), False) for target in targets),
                        (str(folio), is_recto(folio))], self.digits, self.glyphs)

    def number_pages(self, describe: Callable[[str], str]) -> None:
        """Every part joined: the page numbers that waited for later records, and the
        links' words, now that the pages they lead to are known."""
        for page, numbers in self.waiting:
            self._number(page, numbers)
        self.waiting = []
        for part, first in self.parts:
            for k in range(len(part.pages)):
                _describe_links(self.pdf.pages[first + k], describe)
        self.numbered = True

    def finish(self, front: Piece, back: list[Piece | Callable[[], Piece]]
               ) -> tuple[bytes, int, int]:
        """The book's bytes and pages, and the front matter's pages: the front matter
        put before the body, the back matter after it, each on a right-hand page;
        one outline, one table of named destinations, the page labels, one
        structure tree; fonts subset."""
        import warnings

        import pikepdf

        assert self.numbered
        pdf = self.pdf
        destinations: dict = {}
        bookmarks: list = []
        glyphs: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # names are made below
            front_pages, version = self._prepend(front, destinations, bookmarks, glyphs)
            for name, destination in self.destinations.items():
                destinations.setdefault(name, destination)
            bookmarks.extend(_shift(self.bookmarks, front_pages))
            for name, drawn in self.glyphs.items():
                book = glyphs.setdefault(name, {})
                for glyph, figures in drawn.items():
                    book.setdefault(glyph, figures)
            for piece in back:
                if callable(piece):  # laid out elsewhere meanwhile: wait for it now
                    waited = time.perf_counter()
                    piece = piece()
                    LOGGER.debug("book: waited %.2f s for the index",
                                 time.perf_counter() - waited)
                if blank_before(len(pdf.pages)):
                    self._append(self.blank, destinations, bookmarks, glyphs)
                self._append(piece, destinations, bookmarks, glyphs)
            if self.tree:
                self.tree.finish()
            data = _save_book(pdf, destinations, bookmarks, front_pages, self.fonts, glyphs,
                              version)
            pages = len(pdf.pages)
            pdf.close()
            return data, pages, front_pages

    def _prepend(self, front: Piece, destinations: dict, bookmarks: list, glyphs: dict
                 ) -> tuple[int, str]:
        """Put the front matter (and a blank page if its pages are odd) before the body,
        with its catalog entries, /Info and /ID; the pages before the body, and the
        front matter's PDF version."""
        pdf = self.pdf
        with open_pdf(front.pdf) as source:
            count = len(source.pages)
            self.fonts.hold_back(source.pages)
            for k, page in enumerate(source.pages):
                pdf.pages.insert(k, page)
            self.fonts.restore(pdf.pages[:count])
            # Not its named destinations: the book has always left them out
            # (`join_front_first` drops the front matter's /Names before reading them).
            self._add(front, source, 0, {}, bookmarks, glyphs)
            for key, value in source.Root.items():
                if key not in ("/Pages", "/StructTreeRoot", "/Outlines", "/Names",
                               "/PageLabels"):
                    pdf.Root[key] = _copy(pdf, source, value)
            for key, value in source.trailer.items():
                if key in ("/Info", "/ID"):
                    pdf.trailer[key] = _copy(pdf, source, value)
            version = source.pdf_version
            more = []
            if blank_before(count):  # the body starts on the right
                blank = open_pdf(self.blank.pdf)
                self.fonts.hold_back(blank.pages)
                pdf.pages.insert(count, blank.pages[0])
                self.fonts.restore(pdf.pages[count:count + 1])
                self._add(self.blank, blank, count, destinations, bookmarks, glyphs)
                more.append((blank, pdf.pages[count:count + 1]))
            if self.tree:
                self.tree.prepend(source, more)
            for opened, _ in more:
                opened.close()
        return on_recto(count), version


def _save_book(pdf, destinations: dict, bookmarks: list, front_pages: int,
               fonts: SharedFonts, glyphs: dict, min_version=None) -> bytes:
    """The joined book's names, outline, page labels (roman for the front matter)
    and fonts cut to what it draws, saved deterministically."""
    import io

    import pikepdf

    pdf.Root.Names = pdf.make_indirect(pikepdf.Dictionary(Dests=pikepdf.Dictionary(
        Names=pikepdf.Array([v for name in sorted(destinations)
                             for v in (pikepdf.String(name), destinations[name])]))))
    _outline(pdf, bookmarks)
    nums = []
    for first, style in label_ranges(front_pages):
        nums.extend([first, pikepdf.Dictionary(
            {f"/{key}": pikepdf.Name(f"/{value}") if key == "S" else value
             for key, value in style.items()})])
    pdf.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(nums))
    subset_fonts(fonts.fonts.values(), glyphs)
    out = io.BytesIO()
    options = {"min_version": min_version} if min_version is not None else {}
    pdf.save(out, deterministic_id=True, compress_streams=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate, **options)
    return out.getvalue()


def _copy(pdf, source, value):
    """A copy in ``pdf`` of an object of ``source``, direct or not."""
    import pikepdf

    if getattr(value, "is_indirect", False):
        return pdf.copy_foreign(value)
    if isinstance(value, (pikepdf.Dictionary, pikepdf.Array)):
        return pdf.copy_foreign(source.make_indirect(pikepdf.Array([value])))[0]
    return value


def _write_numbers(page, numbers: list[tuple[str, bool]], digits: Digits, glyphs: dict) -> None:
    """A part's page's numbers written over the placeholders (its content compressed
    again right away, so that memory holds it packed)."""
    import zlib

    import pikepdf

    content = page.obj.Contents
    fonts = page.obj.Resources.get("/Font", {})
    data = write_numbers(content.read_bytes(), numbers, fonts, digits, glyphs)
    content.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)


def _describe_links(page, describe: Callable[[str], str]) -> None:
    """A part's page's links' words, and their print flag."""
    import pikepdf

    for annotation in page.obj.get("/Annots", []):
        target = annotation.get("/Dest")
        if isinstance(target, pikepdf.String):
            annotation.Contents = pikepdf.String(describe(str(target)))
        # Printed with the page, as PDF/A asks (WeasyPrint sets it for its PDF/A
        # variants only; parts are written alike for every variant).
        annotation.F = 4


def open_pdf(data: bytes | Path | Callable[[], bytes]):
    import io

    import pikepdf

    if callable(data):  # a part's PDF, read when it is joined
        data = data()
    if isinstance(data, Path):
        return pikepdf.open(data, access_mode=pikepdf.AccessMode.stream)
    return pikepdf.open(io.BytesIO(data))


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


