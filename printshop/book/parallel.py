"""The parallel book: records laid out alone, in worker processes, then joined.

Each record is laid out on its own (`render_part`) as the pages it will have in
the book, furniture and all, tagged: running heads, and placeholders (slashed
zeros) for its folios and cross-reference numbers, which cannot be known until
every record before it is laid out. The parts' page counts fix where every
record, the appendix and the index start, so every page number is known before
the rest of the book is laid out: the front matter (whose contents list them),
the appendix and the index, each a small document of its own (a piece).
`join` makes them one PDF. Memory is that of one piece at a time, however long
the book.

The parts are laid out in book order (by the build's workers) and joined
(`Joining`, on the build's client) as they arrive, while the workers lay out
the rest: a part's folios are known once the parts
before it are, its cross-references to earlier records too (those to later
ones wait for the last part). The index (whose layout is the longest piece, and
which starts as soon as the last part is in: the appendix's pages are counted
while the parts are laid out) and the front matter, which lists every page
number, are laid out last, in the workers, and the front matter is put before
the body. The book's objects are the same as when it was joined front matter
first; only their numbering in the file (qpdf numbers them in the order they
were made) differs.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from ..dossier import dossier_context
from ..errors import RenderError
from ..load import Bestiary, Loaded
from ..pdffonts import used_glyphs
from ..press import finish_pdf, one_annotation_per_link, write_pdf
from .common import INDEXED, LaidOutBook, anchor_folios, link_words, on_recto, recto_folio
from .join import Joined, Piece, join_front_first, open_pdf

if TYPE_CHECKING:
    from .printer import Book

LOGGER = logging.getLogger("printshop")


@dataclass
class RecordPart:
    """One record laid out alone, written: its pages and what the join needs."""

    slug: str
    pdf: bytes | Path | Callable[[], bytes]  # or where to read it (one part at a time)
    pages: list[dict]  # per page: "anchors" (the index's) and "xrefs" (targets, in order)
    anchors: list[str]  # every anchor it defines (its named destinations)
    bookmarks: list  # WeasyPrint's bookmark tree, in PDF coordinates
    glyphs: dict[str, list] = field(default_factory=dict)  # see pdffonts.used_glyphs

    # The parts cache: a part is two files, ``<stem>.pdf`` and ``<stem>.json``.

    @staticmethod
    def files(stem: str) -> tuple[str, str]:
        """The names of a part's two files in the parts cache."""
        return f"{stem}.pdf", f"{stem}.json"

    def to_files(self, stem: str) -> dict[str, bytes]:
        """The part as its two files: its PDF, and what the join needs as JSON."""
        pdf, about = self.files(stem)
        data = self.pdf() if callable(self.pdf) else self.pdf
        if isinstance(data, Path):
            data = data.read_bytes()
        return {pdf: data, about: json.dumps({"pages": self.pages, "anchors": self.anchors,
                                              "bookmarks": self.bookmarks,
                                              "glyphs": self.glyphs}).encode()}

    @classmethod
    def from_files(cls, slug: str, stem: str, files: Mapping[str, bytes]) -> RecordPart:
        """A part from its two files in ``files`` (its PDF read when it is joined)."""
        pdf, about = cls.files(stem)
        if pdf not in files or about not in files:
            raise RenderError(f"the laid-out part of {slug} is missing from the parts "
                              "cache; build again")
        return cls(slug, lambda: files[pdf], **json.loads(files[about]))


# ---- Parts: a record laid out alone ----

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


def render_part(book: Book, item: Loaded, bestiary: Bestiary, in_book: set[str]) -> RecordPart:
    """Lay out one record of the parallel book (runs in a worker process)."""
    context = dossier_context(item, bestiary, book.project, in_book)
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
    return RecordPart(item.slug, data, pages, anchors, bookmarks, used_glyphs(document))


def _with_stand_ins(document) -> list[str]:
    """The anchors a document defines; links to anchors it does not have are kept by
    giving those names stand-in anchors (WeasyPrint drops a link whose anchor it
    does not have), and the join points every name at the one place that has it."""
    anchors = {name for page in document.pages for name in page.anchors}
    elsewhere = {target for page in document.pages for kind, target, *_ in page.links
                 if kind == "internal" and target not in anchors}
    document.pages[0].anchors.update({name: (0, 0, 0, 0) for name in sorted(elsewhere)})
    return sorted(anchors)


# ---- Page numbers, from the parts' page counts ----

def _body_folios(records: Sequence[Loaded], parts: dict[str, RecordPart]
                 ) -> tuple[dict[str, int], int]:
    """Where each record will start, from the parts' page counts, and where the
    appendix will: body page 1 for the first, then each on a right-hand page."""
    folios, folio = {}, 1
    for item in records:
        folios[item.slug] = folio = recto_folio(folio)
        folio += len(parts[item.slug].pages)
    return folios, recto_folio(folio)


def _page_numbers(records: Sequence[Loaded], parts: dict[str, RecordPart],
                  folios: dict[str, int], appendix: int, back_pages: int
                  ) -> tuple[int, dict[str, int]]:
    """Where the index will start, after an appendix of ``back_pages`` pages, and the
    folio of every anchor the index and the links name (but the index's own)."""
    index_start = recto_folio(appendix + back_pages)
    anchor_pages = {"appendix": appendix, "index": index_start}
    for item in records:
        anchor_pages[item.slug] = folios[item.slug]
        anchor_folios((page["anchors"] for page in parts[item.slug].pages), folios[item.slug],
                      anchor_pages)
    return index_start, anchor_pages


# ---- Pieces: the front matter, appendix and index ----

def _piece(document, variant: str, describe: Callable[[str], str]) -> Piece:
    """Write one laid-out document of the parallel book, as ``variant``: whole fonts,
    nothing compressed (the join shares and packs them once)."""
    anchors = _with_stand_ins(document)
    bookmarks = document.make_bookmark_tree(scale=0.75, transform_pages=True)
    data = write_pdf(document, variant, describe=describe, whole=False, full_fonts=True,
                     uncompressed_pdf=True)
    return Piece(data, anchors, bookmarks, used_glyphs(document))


def blank_piece(book: Book) -> Piece:
    """The blank page put where a record or piece must start on the right."""
    return _piece(book.press.render(
        book.press.html("book-blank.html.j2", {"pub": book.project.config.publication}),
        book.stylesheets), book.variant(), lambda target: target)


def back_pages(book: Book, bestiary: Bestiary) -> int:
    """The appendix's pages, laid out ahead of time (while the parts are): where it
    starts is not known yet, but only its folios depend on that, not its pages."""
    return len(book.press.render(book.main_html(bestiary, book.records(bestiary, None),
                                                section="back"),
                                 book.starting_at(1)).pages)


def _front_piece(book: Book, bestiary: Bestiary, records: Sequence[Loaded],
                 folios: dict[str, int], describe: Callable[[str], str],
                 variant: str) -> Piece:
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
                     variant: str) -> Piece:
    """`_front_piece` in a pool's worker, with its warm book."""
    from ..build.worker import current

    worker = current()
    bestiary = worker.bestiary
    records = [bestiary.loaded[slug] for slug in slugs]
    return _front_piece(worker.renderer("book"), bestiary, records, folios,
                        link_words(records, anchor_pages, 0), variant)


def _index_piece(book: Book, records: Sequence[Loaded], anchor_pages: dict[str, int],
                 index_start: int, variant: str) -> tuple[Piece, dict[str, int]]:
    """The index laid out and written (its page counter from ``index_start``), and the
    pages of the anchors it defines (added to ``anchor_pages``)."""
    started = time.perf_counter()
    index = book.index(records, anchor_pages, index_start)
    laid = time.perf_counter()
    own = {anchor: folio for anchor, folio in anchor_folios(
        (page.anchors for page in index.pages), index_start).items()
        if anchor not in anchor_pages}
    anchor_pages.update(own)
    piece = _piece(index, variant, link_words(records, anchor_pages, 0))
    LOGGER.debug("book: index laid out in %.2f s, written in %.2f s", laid - started,
                 time.perf_counter() - laid)
    return piece, own


def _index_in_worker(slugs: list[str], anchor_pages: dict[str, int], index_start: int,
                     variant: str) -> tuple[Piece, dict[str, int]]:
    """`_index_piece` in a pool's worker, with its warm book."""
    from ..build.worker import current

    worker = current()
    bestiary = worker.bestiary
    return _index_piece(worker.renderer("book"), [bestiary.loaded[slug] for slug in slugs],
                        anchor_pages, index_start, variant)


def _start_index(submit: Callable, slugs: list[str], anchor_pages: dict[str, int],
                 index_start: int, variant: str) -> Callable[[], Piece]:
    """The index laid out in a worker: a call that waits for it, and adds the pages of
    its own anchors to ``anchor_pages``."""
    job = submit(_index_in_worker, slugs, dict(anchor_pages), index_start, variant)

    def index() -> Piece:
        piece, more = job.result()
        for anchor, page in more.items():
            anchor_pages.setdefault(anchor, page)
        return piece
    return index


# ---- The book: pieces laid out, everything joined ----

def stitch(book: Book, bestiary: Bestiary, parts: dict[str, RecordPart],
           records: Sequence[Loaded] | None = None,
           submit: Callable | None = None, body: Joined | None = None,
           expected_back: int | None = None) -> LaidOutBook:
    """Lay out the front matter, appendix and index, then join them with the parts.

    ``body``: the parts already joined, in book order, as they were laid out
    (`Joining`); else they are joined here. With ``submit`` (a process pool's,
    whose workers are forks of this process: `build.worker.current`), the index
    (the longest piece: its columns) and the front matter are laid out in the
    workers while this process lays out and writes the appendix and numbers the
    body; with ``expected_back`` (`back_pages`), the index is started before the
    appendix is laid out (and laid out again, here, should the appendix not have
    those pages).
    """
    started = time.perf_counter()
    records = book.records(bestiary, records)
    if body is None:
        body = Joined(blank_piece(book))
        for item in records:
            body.add_part(parts[item.slug])
    folios, appendix = _body_folios(records, parts)
    assert folios == body.folios, "the body's folios are the parts' page counts'"
    variant, slugs = book.variant(), [item.slug for item in records]
    index = None
    if submit is not None and expected_back is not None:
        index_start, anchor_pages = _page_numbers(records, parts, folios, appendix, expected_back)
        index = _start_index(submit, slugs, anchor_pages, index_start, variant)
    back = book.press.render(book.main_html(bestiary, records, section="back"),
                             book.starting_at(appendix))
    if index is None or len(back.pages) != expected_back:
        if index is not None:  # laid out ahead with other pages: the index again, here
            LOGGER.debug("book: the appendix has %d pages, not %d: the index again",
                         len(back.pages), expected_back)
            submit = None
        index_start, anchor_pages = _page_numbers(records, parts, folios, appendix,
                                                  len(back.pages))
        if submit is not None:
            index = _start_index(submit, slugs, anchor_pages, index_start, variant)
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
    data, pages, front_pages = _join(body, front, [back, index], parts, slugs, folios, describe)
    data = finish_pdf(data, variant)
    return LaidOutBook(list(records), front_pages, pages, anchor_pages, lambda: data)


def _join(body: Joined, front: Piece, back: list[Piece | Callable[[], Piece]],
          parts: dict[str, RecordPart], slugs: list[str], folios: dict[str, int],
          describe: Callable[[str], str]) -> tuple[bytes, int, int]:
    """The book's bytes and pages, and the front matter's pages: ``front`` put before
    the joined ``body``, ``back`` after it."""
    started = time.perf_counter()
    if _has_stand_ins(front) or _has_stand_ins(body.blank):
        # Stand-in glyphs are numbered in the order the book meets them (`StandIns`):
        # the front matter's first. Joined again in that order (a rare book).
        body.pdf.close()
        with open_pdf(front.pdf) as source:
            front_pages = on_recto(len(source.pages))
        data, pages = join_front_first(front, [(parts[slug], folios[slug]) for slug in slugs],
                                       back, body.blank, front_pages, folios, describe)
    else:
        data, pages, front_pages = body.finish(front, back)
    LOGGER.debug("book: joined in %.2f s", time.perf_counter() - started)
    return data, pages, front_pages


def _has_stand_ins(piece: Piece) -> bool:
    """Whether a piece draws stand-in glyphs (see `pdffonts.StandIns`)."""
    return any(character for drawn in piece.glyphs.values() for *_, character in drawn)


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


# ---- The parts joined as they are laid out ----

class Joining:
    """The parallel book joined as its parts are laid out (elsewhere, in any order):
    each part, read from ``files`` (the parts cache, under ``stems``: slug -> the
    part's `RecordPart.files` stem), is joined as soon as it and the parts before
    it in book order are laid out (`ready`), while the rest are; the appendix's
    pages (`back_pages`) are counted before the first. Then `finish`."""

    def __init__(self, book: Book, bestiary: Bestiary, stems: dict[str, str],
                 files: Mapping[str, bytes]) -> None:
        self.book, self.bestiary, self.stems, self.files = book, bestiary, stems, files
        self.order = [item.slug for item in book.records(bestiary, None)]
        self.laid_out: set[str] = set()
        self.parts: dict[str, RecordPart] = {}
        self.body: Joined | None = None
        self.expected_back = 0
        self.started = time.perf_counter()

    @property
    def complete(self) -> bool:
        return len(self.parts) == len(self.order)

    def ready(self, *slugs: str) -> None:
        """These parts are laid out: join every part that now can be."""
        self.laid_out.update(slugs)
        if self.body is None:
            self.body = Joined(blank_piece(self.book))
            self.expected_back = back_pages(self.book, self.bestiary)
        while not self.complete and self.order[len(self.parts)] in self.laid_out:
            slug = self.order[len(self.parts)]
            self.parts[slug] = part = RecordPart.from_files(slug, self.stems[slug], self.files)
            self.body.add_part(part)

    def finish(self, submit: Callable | None = None) -> LaidOutBook:
        """The book, every part joined (`stitch`; ``submit`` as there)."""
        LOGGER.debug("book: %d parts laid out and joined in %.2f s", len(self.order),
                     time.perf_counter() - self.started)
        return stitch(self.book, self.bestiary, self.parts, submit=submit, body=self.body,
                      expected_back=self.expected_back)
