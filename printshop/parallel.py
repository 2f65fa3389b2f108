"""The parallel book: records laid out alone, in worker processes, then joined.

Each record is laid out on its own (`render_part`) as the pages it will have in
the book, furniture and all, tagged: running heads, and placeholders (slashed
zeros) for its folios and cross-reference numbers, which cannot be known until
every record before it is laid out. The parts' page counts fix where every
record, the appendix and the index start, so every page number is known before
the rest of the book is laid out: the front matter (whose contents list them),
the appendix and the index, each a small document of its own. pikepdf joins
everything in order (a blank page where a piece must start on the right),
writes the page numbers over the placeholders, and makes one outline, one table
of named destinations, the page labels and one structure tree
(`printshop.structure`); the fonts the parts share are stored once
(`printshop.pdffonts`). Memory is that of one piece at a time, however long the
book.

The parts are laid out in book order and joined (`_Joined`) as they arrive,
while the workers lay out the rest: a part's folios are known once the parts
before it are, its cross-references to earlier records too (those to later
ones wait for the last part). The index (whose layout is the longest piece, and
which starts as soon as the last part is in: the appendix's pages are counted
while the parts are laid out) and the front matter, which lists every page
number, are laid out last, in the workers, and the front matter is put before
the body. The
book's objects are the same as when it was joined front matter first; only
their numbering in the file (qpdf numbers them in the order they were made)
differs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .book import INDEXED, Book, BookDocument, link_words
from .dossier import dossier_context
from .load import Bestiary, Loaded
from .pdffonts import Digits, SharedFonts, StandIns, add_glyphs, subset_fonts, used_glyphs, \
    write_numbers
from .press import finish_pdf, one_annotation_per_link, write_pdf
from .structure import BodyStructure, StructureJoin

LOGGER = logging.getLogger("printshop")


@dataclass
class Part:
    """One record laid out alone, written: its pages and what the join needs."""

    slug: str
    pdf: bytes | Path  # the bytes, or the cached file (read one part at a time)
    pages: list[dict]  # per page: "anchors" (the index's) and "xrefs" (targets, in order)
    anchors: list[str]  # every anchor it defines (its named destinations)
    bookmarks: list  # WeasyPrint's bookmark tree, in PDF coordinates
    glyphs: dict[str, list] = field(default_factory=dict)  # see pdffonts.used_glyphs


@dataclass
class _Piece:
    """Front matter, appendix or index of the parallel book, written."""

    pdf: bytes
    anchors: list[str]  # the anchors it defines (others it links to are stand-ins)
    bookmarks: list  # WeasyPrint's bookmark tree, in PDF coordinates
    glyphs: dict[str, list] = field(default_factory=dict)  # see pdffonts.used_glyphs


def page_digits(records: int) -> int:
    """How many digits a part reserves for a page number (a folio, a cross-reference):
    room for 40 pages a record, however long the book."""
    return max(3, len(str(40 * records + 20)))


def part_css(digits: int) -> str:
    """A part's folios as placeholders, ``digits`` slashed zeros (a glyph nothing else
    uses) that the join writes over."""
    rule = f'content: "{"0" * digits}"; font-feature-settings: "zero";'
    return (f"@page body:left {{ @bottom-left {{ {rule} }} }}\n"
            f"@page body:right {{ @bottom-right {{ {rule} }} }}\n")


def render_part(book: Book, item: Loaded, bestiary: Bestiary, in_book: set[str]) -> Part:
    """Lay out one record of the parallel book (runs in a worker process)."""
    context = dossier_context(item, bestiary, book.project)
    context["in_book"] = in_book
    context["xref_digits"] = digits = page_digits(len(in_book))
    html = book.press.html("book-part.html.j2", {"r": context, "pub": context["pub"]})
    document = book.press.render(html, [*book.stylesheets, book.press.sheet_from(part_css(digits))])
    targets = {f"{item.slug}--xref-{i}": s.slug for i, s in enumerate(context["specimens"], 1)
               if s.slug in in_book}
    pages = []
    seen: set[str] = set()  # a box split across pages is an anchor on each: keep the first
    for page in document.pages:
        laid_out: dict[str, list] = {"anchors": [], "xrefs": []}
        for anchor in page.anchors:  # in document order
            if anchor in seen:
                continue
            seen.add(anchor)
            if anchor in targets:
                laid_out["xrefs"].append(targets[anchor])
            elif INDEXED.search(anchor):
                laid_out["anchors"].append(anchor)
        pages.append(laid_out)
    anchors = _with_stand_ins(document)
    bookmarks = document.make_bookmark_tree(scale=0.75, transform_pages=True)
    one_annotation_per_link(document)
    # Whole fonts (the same bytes in every part, so the book stores them once) and
    # no compression: the join rewrites the page numbers, and compresses once.
    data = document.write_pdf(full_fonts=True, uncompressed_pdf=True, pdf_tags=True)
    return Part(item.slug, data, pages, anchors, bookmarks, used_glyphs(document))


def _with_stand_ins(document) -> list[str]:
    """The anchors a document defines; links to anchors it does not have are kept by
    giving those names stand-in anchors (WeasyPrint drops a link whose anchor it
    does not have), and the join points every name at the one place that has it."""
    anchors = {name for page in document.pages for name in page.anchors}
    elsewhere = {target for page in document.pages for kind, target, *_ in page.links
                 if kind == "internal" and target not in anchors}
    document.pages[0].anchors.update({name: (0, 0, 0, 0) for name in sorted(elsewhere)})
    return sorted(anchors)


def _piece(document, variant: str, describe: Callable[[str], str]) -> _Piece:
    """Write one laid-out document of the parallel book, as ``variant``: whole fonts,
    nothing compressed (the join shares and packs them once)."""
    anchors = _with_stand_ins(document)
    bookmarks = document.make_bookmark_tree(scale=0.75, transform_pages=True)
    data = write_pdf(document, variant, describe=describe, whole=False, full_fonts=True,
                     uncompressed_pdf=True)
    return _Piece(data, anchors, bookmarks, used_glyphs(document))


def _part_folios(records: Sequence[Loaded], parts: dict[str, Part]) -> dict[str, int]:
    """Where each record will start, from the parts' page counts: body page 1 for the
    first, then the next odd page after the one before."""
    folios, page = {}, 1
    for item in records:
        folios[item.slug] = page
        page += len(parts[item.slug].pages)
        page += 1 - page % 2  # the next record starts on a right-hand (odd) page
    return folios


def blank_piece(book: Book) -> _Piece:
    """The blank page put where a record or piece must start on the right."""
    return _piece(book.press.render(
        book.press.html("book-blank.html.j2", {"pub": book.project.config.publication}),
        book.stylesheets), book.options.variant(book.project.config), lambda target: target)


def back_pages(book: Book, bestiary: Bestiary) -> int:
    """The appendix's pages, laid out ahead of time (while the parts are): where it
    starts is not known yet, but only its folios depend on that, not its pages."""
    return len(book.press.render(book.main_html(bestiary, book.records(bestiary, None),
                                                section="back"),
                                 book.starting_at(1)).pages)


def stitch(book: Book, bestiary: Bestiary, parts: dict[str, Part],
           records: Sequence[Loaded] | None = None,
           submit: Callable | None = None, body: "_Joined | None" = None,
           expected_back: int | None = None) -> tuple[BookDocument, bytes]:
    """Lay out the front matter, appendix and index, then join them with the parts.

    ``body``: the parts already joined, in book order, as they were laid out
    (`print_book`); else they are joined here. With ``submit`` (a process pool's,
    whose workers are forks of this process and hold ``build._WORKER``), the index
    (the longest piece: its columns) and the front matter are laid out in the
    workers while this process lays out and writes the appendix and numbers the
    body; with ``expected_back`` (`back_pages`), the index is started before the
    appendix is laid out (and laid out again, here, should the appendix not have
    those pages).
    """
    started = time.perf_counter()
    records = book.records(bestiary, records)
    if body is None:
        body = _Joined(blank_piece(book))
        for item in records:
            body.add_part(parts[item.slug])
    folios = _part_folios(records, parts)
    assert folios == body.folios, "the body's folios are the parts' page counts'"
    last = records[-1].slug
    appendix = folios[last] + len(parts[last].pages)
    appendix += 1 - appendix % 2
    variant = book.options.variant(book.project.config)
    slugs = [item.slug for item in records]

    def page_numbers(back_count: int) -> tuple[int, dict[str, int]]:
        index_start = appendix + back_count
        index_start += 1 - index_start % 2
        anchor_pages = {"appendix": appendix, "index": index_start}
        for item in records:
            anchor_pages[item.slug] = folios[item.slug]
            for k, laid_out in enumerate(parts[item.slug].pages):
                for anchor in laid_out["anchors"]:
                    anchor_pages.setdefault(anchor, folios[item.slug] + k)
        return index_start, anchor_pages

    def start_index(index_start: int, anchor_pages: dict[str, int]) -> Callable[[], _Piece]:
        job = submit(_index_in_worker, slugs, dict(anchor_pages), index_start, variant)

        def index() -> _Piece:
            piece, more = job.result()
            for anchor, page in more.items():
                anchor_pages.setdefault(anchor, page)
            return piece
        return index

    index = None
    if submit is not None and expected_back is not None:
        index_start, anchor_pages = page_numbers(expected_back)
        index = start_index(index_start, anchor_pages)
    back = book.press.render(book.main_html(bestiary, records, section="back"),
                             book.starting_at(appendix))
    if index is None or len(back.pages) != expected_back:
        if index is not None:  # laid out ahead with other pages: the index again, here
            LOGGER.debug("book: the appendix has %d pages, not %d: the index again",
                         len(back.pages), expected_back)
            submit = None
        index_start, anchor_pages = page_numbers(len(back.pages))
        if submit is not None:
            index = start_index(index_start, anchor_pages)
    # Links' words are read when each piece is written, by when the pages they
    # name are known (body pages only: no front-matter page is a link target here).
    describe = link_words(records, anchor_pages, 0)
    folios = {**folios, "#appendix": appendix, "#index": index_start}
    if submit is not None:
        # Beside the index, in the other worker: the parent holds the body meanwhile.
        front_job = submit(_front_in_worker, slugs, folios, dict(anchor_pages), variant)
    back = _piece(back, variant, describe)
    body.number_pages(describe)  # before the index's own anchors join anchor_pages
    LOGGER.debug("book: appendix laid out and written, body numbered in %.2f s",
                 time.perf_counter() - started)
    if submit is None:
        index = _index_piece(book, records, anchor_pages, index_start, variant)[0]
        front = _front_piece(book, bestiary, records, folios, describe, variant)
    else:
        front = front_job.result()
    _give_back_memory()
    LOGGER.debug("book: front matter and appendix in %.2f s", time.perf_counter() - started)
    started = time.perf_counter()
    if _has_stand_ins(front) or _has_stand_ins(body.blank):
        # Stand-in glyphs are numbered in the order the book meets them (`StandIns`):
        # the front matter's first. Joined again in that order (a rare book).
        body.pdf.close()
        with _open(front.pdf) as source:
            front_pages = len(source.pages) + len(source.pages) % 2
        data, pages = _join(front, [(parts[slug], folios[slug]) for slug in slugs],
                            [back, index], body.blank, front_pages, folios, describe)
    else:
        data, pages, front_pages = body.finish(front, [back, index])
    LOGGER.debug("book: joined in %.2f s", time.perf_counter() - started)
    laid_out = BookDocument(None, front_pages, list(records), anchor_pages)
    laid_out.pages_written = pages
    return laid_out, finish_pdf(data, variant)


def _has_stand_ins(piece: _Piece) -> bool:
    """Whether a piece draws stand-in glyphs (see `StandIns`)."""
    return any(character for drawn in piece.glyphs.values() for *_, character in drawn)


def _front_piece(book: Book, bestiary: Bestiary, records: Sequence[Loaded],
                 folios: dict[str, int], describe: Callable[[str], str],
                 variant: str) -> _Piece:
    """The front matter laid out (its contents list ``folios``) and written."""
    started = time.perf_counter()
    front = book.press.render(book.main_html(bestiary, records, section="front", folios=folios),
                              book.stylesheets)
    laid = time.perf_counter()
    piece = _piece(front, variant, describe)
    LOGGER.debug("book: front matter laid out in %.2f s, written in %.2f s", laid - started,
                 time.perf_counter() - laid)
    return piece


def _front_in_worker(slugs: list[str], folios: dict[str, int], anchor_pages: dict[str, int],
                     variant: str) -> _Piece:
    """`_front_piece` in a pool's worker, with the book it inherited (`print_book`)."""
    from .build import _WORKER

    bestiary = _WORKER["bestiary"]
    records = [bestiary.loaded[slug] for slug in slugs]
    return _front_piece(_WORKER["book"], bestiary, records, folios,
                        link_words(records, anchor_pages, 0), variant)


def _index_piece(book: Book, records: Sequence[Loaded], anchor_pages: dict[str, int],
                 index_start: int, variant: str) -> tuple[_Piece, dict[str, int]]:
    """The index laid out and written (its page counter from ``index_start``), and the
    pages of the anchors it defines (added to ``anchor_pages``)."""
    started = time.perf_counter()
    index = book.index(records, anchor_pages, index_start)
    laid = time.perf_counter()
    own: dict[str, int] = {}
    for i, page in enumerate(index.pages):
        for anchor in page.anchors:
            if anchor not in anchor_pages:
                own.setdefault(anchor, index_start + i)
    anchor_pages.update(own)
    piece = _piece(index, variant, link_words(records, anchor_pages, 0))
    LOGGER.debug("book: index laid out in %.2f s, written in %.2f s", laid - started,
                 time.perf_counter() - laid)
    return piece, own


def _index_in_worker(slugs: list[str], anchor_pages: dict[str, int], index_start: int,
                     variant: str) -> tuple[_Piece, dict[str, int]]:
    """`_index_piece` in a pool's worker, with the book it inherited (`print_book`)."""
    from .build import _WORKER

    bestiary = _WORKER["bestiary"]
    return _index_piece(_WORKER["book"], [bestiary.loaded[slug] for slug in slugs],
                        anchor_pages, index_start, variant)


def _adopt(pdf, stand_ins: StandIns, piece: _Piece | Part, source, first: int,
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


def _join(front: _Piece, body: list[tuple[Part, int]],
          back: list[_Piece | Callable[[], _Piece]], blank: _Piece,
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

        def add(piece: _Piece | Part, source, first: int) -> None:
            _adopt(pdf, stand_ins, piece, source, first, destinations, bookmarks, glyphs)

        def append(piece: _Piece | Part, folio: int | None = None) -> None:
            with _open(piece.pdf) as source:  # open while its copied streams are read
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
                    _write_page_numbers(pdf.pages[first + k],
                                        [*numbers, (str(folio + k), k % 2 == 0)],
                                        digits, glyphs, describe)

        fonts.hold_back(pdf.pages)
        fonts.restore(pdf.pages)
        add(front, pdf, 0)
        for part, folio in body:
            if len(pdf.pages) % 2:
                append(blank)
            append(part, folio)
        for piece in back:
            if callable(piece):  # laid out elsewhere meanwhile: wait for it now
                piece = piece()
            if len(pdf.pages) % 2:
                append(blank)
            append(piece)
        if tree:
            tree.finish()
        return _save_book(pdf, destinations, bookmarks, front_pages, fonts, glyphs), \
            len(pdf.pages)


class _Joined:
    """The parallel book being joined, body first: the parts in book order as they are
    laid out (a blank page where one must start on the right), their page numbers
    written as soon as the pages they name are known; then (`finish`) the front
    matter put before them and the back matter after. The same PDF, byte for byte,
    as joining front matter, parts and back matter in that order (`_join`), which
    must wait for the front matter, and so for every part."""

    def __init__(self, blank: _Piece) -> None:
        import pikepdf

        self.pdf = pikepdf.new()
        self.blank = blank
        with _open(blank.pdf) as source:
            tagged = "/StructTreeRoot" in source.Root
        self.tree = BodyStructure(self.pdf) if tagged else None
        self.fonts, self.stand_ins, self.digits = SharedFonts(), StandIns(), Digits()
        self.glyphs: dict = {}  # every glyph the body draws, per font
        self.destinations: dict = {}
        self.bookmarks: list = []  # pages counted from the body's first
        self.folios: dict[str, int] = {}  # where each record joined so far starts
        self.parts: list[tuple[Part, int]] = []  # (part, its first page in the body)
        self.waiting: list[tuple[int, list]] = []  # pages whose cross-references wait
        self.numbered = False

    def _add(self, piece: _Piece | Part, source, first: int, destinations: dict,
             bookmarks: list, glyphs: dict) -> None:
        _adopt(self.pdf, self.stand_ins, piece, source, first, destinations, bookmarks, glyphs)

    def _append(self, piece: _Piece | Part, destinations: dict | None = None,
                bookmarks: list | None = None, glyphs: dict | None = None) -> int:
        """Copy a part or piece at the end; its first page's index."""
        import warnings

        import pikepdf

        with _open(piece.pdf) as source, warnings.catch_warnings():
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

    def add_part(self, part: Part) -> None:
        """Join the next record's part (in book order); write its folios and the
        cross-references to records already joined."""
        if len(self.pdf.pages) % 2:
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
                        (str(folio), folio % 2 == 1)], self.digits, self.glyphs)

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

    def finish(self, front: _Piece, back: list[_Piece | Callable[[], _Piece]]
               ) -> tuple[bytes, int, int]:
        """The book's bytes and pages, and the front matter's pages: the front matter
        (and a blank page if its pages are odd) put before the body, the back matter
        after it, each on a right-hand page; one outline, one table of named
        destinations, the page labels, one structure tree; fonts subset."""
        import warnings

        import pikepdf

        assert self.numbered
        pdf = self.pdf
        destinations: dict = {}
        bookmarks: list = []
        glyphs: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # names are made below
            with _open(front.pdf) as source:
                count = len(source.pages)
                self.fonts.hold_back(source.pages)
                for k, page in enumerate(source.pages):
                    pdf.pages.insert(k, page)
                self.fonts.restore(pdf.pages[:count])
                # Not its named destinations: the book has always left them out
                # (`_join` drops the front matter's /Names before reading them).
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
                if count % 2:  # the body starts on the right
                    blank = _open(self.blank.pdf)
                    self.fonts.hold_back(blank.pages)
                    pdf.pages.insert(count, blank.pages[0])
                    self.fonts.restore(pdf.pages[count:count + 1])
                    self._add(self.blank, blank, count, destinations, bookmarks, glyphs)
                    more.append((blank, pdf.pages[count:count + 1]))
                if self.tree:
                    self.tree.prepend(source, more)
                for opened, _ in more:
                    opened.close()
            front_pages = count + count % 2
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
                if len(pdf.pages) % 2:
                    self._append(self.blank, destinations, bookmarks, glyphs)
                self._append(piece, destinations, bookmarks, glyphs)
            if self.tree:
                self.tree.finish()
            data = _save_book(pdf, destinations, bookmarks, front_pages, self.fonts, glyphs,
                              version)
            pages = len(pdf.pages)
            pdf.close()
            return data, pages, front_pages


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
    nums = [front_pages, pikepdf.Dictionary(S=pikepdf.Name.D, St=1)]
    if front_pages:
        nums = [0, pikepdf.Dictionary(S=pikepdf.Name.r), *nums]
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


def _open(data: bytes | Path):
    import io

    import pikepdf

    if isinstance(data, Path):
        return pikepdf.open(data, access_mode=pikepdf.AccessMode.stream)
    return pikepdf.open(io.BytesIO(data))


def _write_page_numbers(page, numbers: list[tuple[str, bool]], digits: Digits, glyphs: dict,
                        describe: Callable[[str], str]) -> None:
    """A part's page in the book: its page numbers written over the placeholders (its
    content compressed again right away, so that memory holds it packed), and its
    links' words, now that the pages they lead to are known, and their print flag."""
    import zlib

    import pikepdf

    content = page.obj.Contents
    fonts = page.obj.Resources.get("/Font", {})
    data = write_numbers(content.read_bytes(), numbers, fonts, digits, glyphs)
    content.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)
    for annotation in page.obj.get("/Annots", []):
        target = annotation.get("/Dest")
        if isinstance(target, pikepdf.String):
            annotation.Contents = pikepdf.String(describe(str(target)))
        # Printed with the page, as PDF/A asks (WeasyPrint sets it for its PDF/A
        # variants only; parts are written alike for every variant).
        annotation.F = 4


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


def print_book(book: Book, bestiary: Bestiary, out: Path, keys: dict[str, str], jobs: int,
               warn: Callable[[str], None]) -> tuple[list[str], BookDocument | None, bytes]:
    """The parallel book from start to end: each record laid out alone into the parts
    cache (``out``/.printshop/parts, under ``keys``: slug -> key) by ``jobs`` worker
    processes, the index in one of them, the rest here; then joined.

    The workers are forks of this process made after ``book`` is warm (WeasyPrint
    imported, fonts configured, stylesheets parsed), so they start at once rather
    than each paying for WeasyPrint's import; the largest records go first, so no
    worker is left with a long one at the end. Returns the failures (none: the
    laid-out book and its bytes).
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from . import build

    order = [item.slug for item in book.records(bestiary, None)]
    tasks = [build._part_task(slug, keys[slug]) for slug in order]
    build._init_worker(book.project, bestiary, out, book.options)
    build._WORKER.update(press=book.press, book=book)  # inherited by the forks
    failures: list[str] = []

    def take(result) -> None:
        for message in result.messages:
            warn(message)
        if result.error:
            failures.append(f"parts {result.task.slug}: {result.error}")

    started = time.perf_counter()
    workers = min(jobs, len(tasks))
    if workers <= 1:
        for task in tasks:
            take(build.run_task(task))
        if failures:
            return failures, None, b""
        return [], *_stitch_cached(book, bestiary, out, keys)
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("fork"))
    try:
        # In book order, so that each part can be joined as soon as it is laid out
        # (the parts before it are, by then, mostly joined): the join is done while
        # the workers lay out the rest, not after them.
        futures = {pool.submit(build.run_task, task): task for task in tasks}
        body = _Joined(blank_piece(book))  # the workers are forked: this stays here
        expected_back = back_pages(book, bestiary)
        done: dict[str, bool] = {}
        joined = 0
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    result = future.result()
                except Exception as error:  # the worker died (killed, out of memory)
                    result = build.TaskResult(futures[future], error=f"worker failed: {error}")
                take(result)
                done[futures[future].slug] = not result.error
            while not failures and joined < len(order) and done.get(order[joined]):
                body.add_part(_cached_part(bestiary.loaded[order[joined]], out,
                                           keys[order[joined]]))
                joined += 1
        LOGGER.debug("book: %d parts laid out by %d workers and joined in %.2f s",
                     len(tasks), workers, time.perf_counter() - started)
        if failures:
            return failures, None, b""
        submitted = []

        def submit(*args):
            # The index and the front matter are the last tasks: the workers leave
            # once they are done, so the join that follows does not share memory
            # with idle workers.
            submitted.append(pool.submit(*args))
            if len(submitted) == 2:
                pool.shutdown(wait=False)
            return submitted[-1]

        return [], *_stitch_cached(book, bestiary, out, keys, submit, body, expected_back)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cached_part(item: Loaded, out: Path, key: str) -> Part:
    """A part from the parts cache (its PDF read when it is joined)."""
    import json

    from .build import PARTS_DIR
    from .errors import RenderError

    pdf, about = (out / PARTS_DIR / f"{key}.{ext}" for ext in ("pdf", "json"))
    if not pdf.is_file() or not about.is_file():
        raise RenderError(f"the laid-out part of {item.display} is missing from "
                          f"{out / PARTS_DIR}; build again")
    return Part(item.slug, pdf, **json.loads(about.read_text()))


def _stitch_cached(book: Book, bestiary: Bestiary, out: Path, keys: dict[str, str],
                   submit: Callable | None = None, body: _Joined | None = None,
                   expected_back: int | None = None) -> tuple[BookDocument, bytes]:
    """`stitch` the parts cached under ``keys``, then forget the parts no book needs."""
    parts = {item.slug: _cached_part(item, out, keys[item.slug]) for item in bestiary.valid}
    laid_out, data = stitch(book, bestiary, parts, submit=submit, body=body,
                            expected_back=expected_back)
    keep = {f"{key}.{ext}" for key in keys.values() for ext in ("pdf", "json")}
    from .build import PARTS_DIR

    for stale in (out / PARTS_DIR).glob("*"):  # parts no book needs any more (ours alone)
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
    return laid_out, data
