"""What both ways of printing the book share, written once: the records' order,
folios and page labels, where a piece starts (a right-hand page), where each
anchor landed, the index, and the words a link says."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from ..config import Config
from ..load import Loaded
from ..model import flat

HOURS_A_YEAR = 2080  # 40 hours x 52 weeks, to rank hourly and yearly figures together
INDEX_KINDS = (("aliases", "Aliases and disguises"), ("weaponry", "Signature weaponry"),
               ("habitat", "Habitats"))
INDEXED = re.compile(r"--(alias|weapon|habitat)-\d+$")  # the anchors the index links to
#: What the book's fixed anchors are called when a link's words name them.
SECTION_NAMES = {"foreword": "Foreword", "contents": "Contents",
                 "appendix": "Appendix: the bestiary in charts", "index": "Index"}


@dataclass
class LaidOutBook:
    """The book laid out, by either path: where things landed, and its PDF."""

    records: list[Loaded]
    front_pages: int
    page_count: int
    anchor_pages: dict[str, int]  # anchor -> folio (the front matter's: 0, -1, ...)
    write: Callable[[], bytes]  # the PDF's bytes (the single pass writes them when asked)

    def pdf(self) -> bytes:
        return self.write()

    def folio(self, page_index: int) -> str:
        """The number printed on a page (roman in the front matter)."""
        return folio_label(page_index - self.front_pages + 1, self.front_pages)


# ---- Order ----

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


# ---- Pages: folios, labels, right-hand pages ----

def roman(number: int) -> str:
    """``number`` in lower-case roman numerals: 4 -> "iv"."""
    values = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
              (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = ""
    for value, letters in values:
        while number >= value:
            out += letters
            number -= value
    return out


def folio_label(folio: int, front_pages: int) -> str:
    """A folio as printed: body pages 1, 2, 3...; the front matter's (0, -1, ... counted
    back from the body) roman, from its first page's i."""
    return str(folio) if folio > 0 else roman(folio + front_pages)


def label_ranges(front_pages: int) -> list[tuple[int, dict[str, str | int]]]:
    """The PDF page labels (ISO 32000-1, 12.4.2): from each first page, its style (and
    first number): roman for the front matter, then 1, 2, 3..."""
    ranges: list[tuple[int, dict[str, str | int]]] = [(front_pages, {"S": "D", "St": 1})]
    return [(0, {"S": "r"}), *ranges] if front_pages else ranges


def blank_before(printed: int) -> int:
    """The blank pages put before the next piece, ``printed`` pages in: every piece
    (front matter, record, appendix, index) starts on a right-hand page."""
    return printed % 2


def on_recto(printed: int) -> int:
    """The pages before the next piece, ``printed`` pages in (a blank page counted)."""
    return printed + blank_before(printed)


def recto_folio(folio: int) -> int:
    """The folio of the first right-hand page from body page ``folio`` on."""
    return on_recto(folio - 1) + 1


def is_recto(folio: int) -> bool:
    """Whether a body page is a right-hand one (an odd folio)."""
    return folio % 2 == 1


def anchor_folios(pages: Iterable[Iterable[str]], first: int,
                  into: dict[str, int] | None = None) -> dict[str, int]:
    """Anchor -> folio, the pages' anchors (in order, the first of ``first``) added to
    ``into``; an anchor keeps the first page it is on (a box split across pages is
    an anchor on each), and one ``into`` has keeps its folio."""
    located = {} if into is None else into
    for k, anchors in enumerate(pages):
        for anchor in anchors:
            located.setdefault(anchor, first + k)
    return located


# ---- The index ----

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


# ---- Cross-references in words ----

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
        return f"{label}, page {folio_label(page, front_pages)}"

    return describe
