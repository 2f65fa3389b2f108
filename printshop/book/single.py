"""The single pass: the whole book laid out by WeasyPrint as one document.

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

from typing import TYPE_CHECKING

from ..load import Bestiary, Loaded
from ..press import write_pdf
from .common import LaidOutBook, anchor_folios, label_ranges, link_words

if TYPE_CHECKING:
    from .printer import Book


def lay_out(book: Book, bestiary: Bestiary, records: list[Loaded]) -> LaidOutBook:
    """The book laid out in memory (see the module's note on page numbers), in order."""
    main = book.press.render(book.main_html(bestiary, records), book.stylesheets)
    located = anchor_folios((page.anchors for page in main.pages), 0)  # page indexes
    front, placeholder = located[records[0].slug], located["index"]
    anchor_pages = anchor_folios((page.anchors for page in main.pages), 1 - front)
    start = placeholder - front + 1
    index = book.index(records, anchor_pages, start)
    anchor_folios((page.anchors for page in index.pages), start, anchor_pages)
    document = main.copy([*main.pages[:placeholder], *index.pages])

    def write() -> bytes:
        return write_pdf(document, book.variant(), finishers=(page_labels(front),),
                         describe=link_words(records, anchor_pages, front))

    return LaidOutBook(list(records), front, len(document.pages), anchor_pages, write)


def page_labels(front_pages: int):
    """A WeasyPrint finisher: the PDF page labels (`common.label_ranges`)."""
    import pydyf

    def finish(document, pdf) -> None:
        nums = pydyf.Array()
        for first, style in label_ranges(front_pages):
            nums.extend([first, pydyf.Dictionary(
                {key: f"/{value}" if key == "S" else value for key, value in style.items()})])
        pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": nums})

    return finish
