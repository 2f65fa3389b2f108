"""The book: every entry in one PDF, with front matter, contents, index and charts.

Printed one of two ways, chosen by a cost model (`path.choose`), to the same pages:

- `single`: the whole book laid out by WeasyPrint as one document;
- `parallel`: each record laid out alone (a `RecordPart`), in worker processes,
  then the front matter, appendix and index, and (`join`) everything made one
  PDF with pikepdf, with one structure tree (`structure`).

Both lay out with a `printer.Book` (options, stylesheets, HTML), share what
`common` holds (order, folios, page labels, right-hand pages, where anchors
landed, the index, links' words) and the charts (`charts`), and return a
`LaidOutBook`.
"""

from .common import LaidOutBook, build_index, order_records, page_ranges, roman
from .parallel import Joining, RecordPart, render_part, stitch
from .path import choose
from .printer import MARGINS, Book, BookOptions, book_path

__all__ = ["MARGINS", "Book", "BookOptions", "Joining", "LaidOutBook", "RecordPart", "book_path",
           "build_index", "choose", "order_records", "page_ranges",
           "render_part", "roman", "stitch"]
