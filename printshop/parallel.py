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
from .structure import StructureJoin

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


def stitch(book: Book, bestiary: Bestiary, parts: dict[str, Part],
           records: Sequence[Loaded] | None = None,
           submit: Callable | None = None) -> tuple[BookDocument, bytes]:
    """Lay out the front matter, appendix and index, then join them with the parts.

    With ``submit`` (a process pool's, whose workers are forks of this process and
    hold ``build._WORKER``), the index, the longest piece (its columns), is laid
    out in a worker while this process lays out the front matter and joins
    everything before it.
    """
    started = time.perf_counter()
    records = book.records(bestiary, records)
    folios = _part_folios(records, parts)
    last = records[-1].slug
    appendix = folios[last] + len(parts[last].pages)
    appendix += 1 - appendix % 2
    back = book.press.render(book.main_html(bestiary, records, section="back"),
                             book.starting_at(appendix))
    index_start = appendix + len(back.pages)
    index_start += 1 - index_start % 2
    anchor_pages = {"appendix": appendix, "index": index_start}
    for item in records:
        anchor_pages[item.slug] = folios[item.slug]
        for k, laid_out in enumerate(parts[item.slug].pages):
            for anchor in laid_out["anchors"]:
                anchor_pages.setdefault(anchor, folios[item.slug] + k)
    # Links' words are read when each piece is written, by when the pages they
    # name are known (body pages only: no front-matter page is a link target here).
    describe = link_words(records, anchor_pages, 0)
    variant = book.options.variant(book.project.config)
    if submit is not None:
        job = submit(_index_in_worker, [item.slug for item in records], dict(anchor_pages),
                     index_start, variant)

        def index() -> _Piece:
            piece, more = job.result()
            for anchor, page in more.items():
                anchor_pages.setdefault(anchor, page)
            return piece
    back = _piece(back, variant, describe)
    if submit is None:
        index = _index_piece(book, records, anchor_pages, index_start, variant)[0]
    folios.update({"#appendix": appendix, "#index": index_start})
    front = book.press.render(book.main_html(bestiary, records, section="front", folios=folios),
                              book.stylesheets)
    front_pages = len(front.pages) + len(front.pages) % 2  # the body starts on the right
    front = _piece(front, variant, describe)
    blank = _piece(book.press.render(
        book.press.html("book-blank.html.j2", {"pub": book.project.config.publication}),
        book.stylesheets), variant, describe)
    _give_back_memory()
    LOGGER.debug("book: front matter, appendix and blank page laid out and written in %.2f s",
                 time.perf_counter() - started)
    started = time.perf_counter()
    body = [(parts[item.slug], folios[item.slug]) for item in records]
    data, pages = _join(front, body, [back, index], blank, front_pages, folios, describe)
    LOGGER.debug("book: joined in %.2f s", time.perf_counter() - started)
    laid_out = BookDocument(None, front_pages, list(records), anchor_pages)
    laid_out.pages_written = pages
    return laid_out, finish_pdf(data, variant)


def _index_piece(book: Book, records: Sequence[Loaded], anchor_pages: dict[str, int],
                 index_start: int, variant: str) -> tuple[_Piece, dict[str, int]]:
    """The index laid out and written (its page counter from ``index_start``), and the
    pages of the anchors it defines (added to ``anchor_pages``)."""
    index = book.index(records, anchor_pages, index_start)
    own: dict[str, int] = {}
    for i, page in enumerate(index.pages):
        for anchor in page.anchors:
            if anchor not in anchor_pages:
                own.setdefault(anchor, index_start + i)
    anchor_pages.update(own)
    return _piece(index, variant, link_words(records, anchor_pages, 0)), own


def _index_in_worker(slugs: list[str], anchor_pages: dict[str, int], index_start: int,
                     variant: str) -> tuple[_Piece, dict[str, int]]:
    """`_index_piece` in a pool's worker, with the book it inherited (`print_book`)."""
    from .build import _WORKER

    bestiary = _WORKER["bestiary"]
    return _index_piece(_WORKER["book"], [bestiary.loaded[slug] for slug in slugs],
                        anchor_pages, index_start, variant)


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
            """A copied source's destinations, bookmarks and glyphs, in the book."""
            pages = {page.objgen: i for i, page in enumerate(source.pages)}
            names = pikepdf.NameTree(source.Root.Names.Dests) if "/Names" in source.Root \
                else {}
            for name in piece.anchors:
                if name in destinations or name not in names:
                    continue
                dest = names[name]
                destinations[name] = pikepdf.Array([pdf.pages[first + pages[dest[0].objgen]].obj,
                                                    *list(dest)[1:]])
            bookmarks.extend(_shift(piece.bookmarks, first))
            add_glyphs(glyphs, piece.glyphs,
                       stand_ins.renumber(piece.glyphs, pdf.pages[first:first + len(pages)]))

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
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue(), len(pdf.pages)


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


def part_weight(item: Loaded) -> int:
    """How long a record's part takes to lay out, roughly: its entry's size."""
    try:
        return item.path.stat().st_size
    except OSError:
        return 0


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
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from . import build

    valid = {item.slug: item for item in bestiary.valid}
    tasks = sorted((build._part_task(slug, key) for slug, key in keys.items()),
                   key=lambda task: (-part_weight(valid[task.slug]), task.slug))
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
        futures = {pool.submit(build.run_task, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                take(future.result())
            except Exception as error:  # the worker died (killed, out of memory)
                take(build.TaskResult(futures[future], error=f"worker failed: {error}"))
        LOGGER.debug("book: %d parts laid out by %d workers in %.2f s", len(tasks), workers,
                     time.perf_counter() - started)
        if failures:
            return failures, None, b""

        def submit(*args):
            # The index is the last task: the workers leave once it is done, so the
            # join that follows does not share memory with idle workers.
            job = pool.submit(*args)
            pool.shutdown(wait=False)
            return job

        return [], *_stitch_cached(book, bestiary, out, keys, submit)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stitch_cached(book: Book, bestiary: Bestiary, out: Path, keys: dict[str, str],
                   submit: Callable | None = None) -> tuple[BookDocument, bytes]:
    """`stitch` the parts cached under ``keys``, then forget the parts no book needs."""
    import json

    from .build import PARTS_DIR
    from .errors import RenderError

    parts = {}
    for item in bestiary.valid:
        pdf, about = (out / PARTS_DIR / f"{keys[item.slug]}.{ext}" for ext in ("pdf", "json"))
        if not pdf.is_file() or not about.is_file():
            raise RenderError(f"the laid-out part of {item.display} is missing from "
                              f"{out / PARTS_DIR}; build again")
        parts[item.slug] = Part(item.slug, pdf, **json.loads(about.read_text()))
    laid_out, data = stitch(book, bestiary, parts, submit=submit)
    keep = {f"{key}.{ext}" for key in keys.values() for ext in ("pdf", "json")}
    for stale in (out / PARTS_DIR).glob("*"):  # parts no book needs any more (ours alone)
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
    return laid_out, data
