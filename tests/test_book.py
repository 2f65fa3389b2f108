"""The book as a reader sees it: contents, folios, cross-references, index, outline, links."""

from __future__ import annotations

import io
import re
import shutil

import pikepdf
import pytest
from click.testing import CliRunner

from conftest import FAILURES, ROOT, SEED, no_render_warnings
from pdfview import (links, reader_texts, tag_sequence, metadata, outline, page_boxes, page_labels, page_texts, qpdf_check,
                     squash)
from printshop.cli import main


def print_book(project, options=None, records=None):
    from printshop.book import Book
    from printshop.load import load_bestiary

    bestiary = load_bestiary(project.entries_dir)
    printer = Book(project, options)
    with no_render_warnings():
        laid_out = printer.render(bestiary, records(bestiary) if records else None)
        data = printer.pdf(laid_out)
    return laid_out, data


@pytest.fixture(scope="module")
def bundled(project):
    return print_book(project)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from printshop.config import load_project
    from printshop.synthetic import write_synthetic

    root = tmp_path_factory.mktemp("synthetic")
    shutil.copy(ROOT / "printshop.toml", root)
    write_synthetic(root / "entries", 12, seed=3)
    return print_book(load_project(root))


def starts(laid_out) -> dict[str, int]:
    """Slug -> physical page index where the record's dossier starts."""
    return {item.slug: laid_out.anchor_pages[item.slug] + laid_out.front_pages - 1
            for item in laid_out.records}


@pytest.fixture(params=["bundled", "synthetic"])
def book(request):
    return request.getfixturevalue(request.param)


def test_contents_numbers_are_where_each_dossier_starts(book):
    laid_out, data = book
    labels, texts = page_labels(data), page_texts(data)
    contents = next(i for i, t in enumerate(texts) if squash(t).startswith("CONTENTS"))
    # WeasyPrint writes one link annotation per box of a link: take the whole lines.
    toc = [link for link in links(data) if link["page"] == contents]
    by_title = {}
    for link in toc:
        match = re.fullmatch(r"(\w.+?)\s*\.{3,}\s*(\d+)", link["text"])
        if match:
            by_title[match[1].strip(" .")] = (int(match[2]), link["target"])
    assert len(by_title) == len(laid_out.records) + 2
    for item in laid_out.records:
        printed, target = by_title[item.entry.title]
        start = starts(laid_out)[item.slug]
        assert labels[start] == str(printed), item.slug
        assert target == start, "the contents line links to the dossier's first page"
        assert f"FILE RECORD {item.slug.upper()}" in squash(texts[start])
    appendix = next(i for i, t in enumerate(texts)
                    if squash(t).startswith("APPENDIX: THE BESTIARY IN CHARTS"))
    index = next(i for i, t in enumerate(texts) if squash(t).startswith("INDEX"))
    assert by_title["Appendix: the bestiary in charts"] == (int(labels[appendix]), appendix)
    assert by_title["Index"] == (int(labels[index]), index)


def test_every_dossier_starts_on_a_right_hand_odd_page(book):
    laid_out, data = book
    labels = page_labels(data)
    for slug, start in starts(laid_out).items():
        assert start % 2 == 0, f"{slug} starts on a left-hand page"  # page 1 is a right page
        assert int(labels[start]) % 2 == 1


def test_page_labels_and_printed_folios(book):
    laid_out, data = book
    labels, texts = page_labels(data), page_texts(data)
    front = laid_out.front_pages
    assert labels[:front] == ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii"][:front]
    assert labels[front:] == [str(n) for n in range(1, len(labels) - front + 1)]
    contents = next(i for i, t in enumerate(texts) if squash(t).startswith("CONTENTS"))
    assert squash(texts[contents]).endswith(labels[contents]), "the folio printed is the label"
    for index in range(front, len(texts)):
        words = squash(texts[index]).split()
        if words:
            assert labels[index] in words, (index, words[-5:])
        else:
            assert index % 2 == 1, "only left-hand pages are left blank"


def test_blank_pages_carry_no_header_or_footer(bundled):
    laid_out, data = bundled
    texts = page_texts(data)
    blanks = [i for i, t in enumerate(texts) if not squash(t)]
    assert blanks, "the bundled book has blank left pages"
    assert all(i % 2 == 1 for i in blanks)


def test_cross_references_print_and_link_the_right_page(book):
    laid_out, data = book
    labels = page_labels(data)
    start = starts(laid_out)
    checked = set()
    for link in links(data):
        match = re.fullmatch(r"p\. (\d+)", link["text"])
        if not match:
            continue
        assert labels[link["target"]] == match[1]
        assert link["target"] in start.values()
        checked.add((link["page"], link["target"]))
    expected = {(start[item.slug] + n, start[r.slug]) for item in laid_out.records
                for n in range(8) for r in item.entry.related if r.slug in start}
    assert checked <= expected
    assert len(checked) == sum(1 for item in laid_out.records for r in item.entry.related
                               if r.slug in start)


def test_related_not_in_this_edition(project):
    laid_out, data = print_book(project, records=lambda b: [b.loaded[SEED]])
    text = squash(" ".join(page_texts(data)))
    assert text.upper().count("NOT IN THIS EDITION") == 3
    assert not re.search(r"\bp\. \d", text), "no page references to roles not printed"
    assert "1 SPECIMEN ·" in text.upper()


def test_index_numbers_join_ranges_and_link_where_the_term_is(book):
    laid_out, data = book
    labels, texts = page_labels(data), page_texts(data)
    index_start = next(i for i, t in enumerate(texts) if squash(t).startswith("INDEX"))
    runs = [l for l in links(data) if l["page"] >= index_start]
    assert runs
    for link in runs:
        match = re.fullmatch(r"(\d+)(?:–(\d+))?", link["text"])
        assert match, link
        assert labels[link["target"]] == match[1]
        if match[2]:
            assert int(match[2]) > int(match[1])
    from printshop.book import build_index

    for section in build_index(laid_out.records, laid_out.anchor_pages):
        for _, terms in section["letters"]:
            for term in terms:
                for run in term["runs"]:
                    for folio in range(run["start"], run["end"] + 1):
                        page = texts[folio + laid_out.front_pages - 1]
                        assert squash(term["term"])[:20] in squash(page).replace("- ", "-"), (
                            term["term"], folio)


def test_page_ranges():
    from printshop.book import page_ranges

    assert page_ranges([12, 13, 14, 3, 9, 4]) == [(3, 4), (9, 9), (12, 14)]
    assert page_ranges([]) == []


def test_outline_holds_front_matter_roles_parts_and_back_matter(bundled):
    laid_out, data = bundled
    marks = outline(data)
    top = [title for level, title in marks if level == 1]
    titles = [item.entry.title for item in laid_out.records]
    assert top == ["The Corporate Bestiary", "Colophon", "Contents", *titles,
                   "Appendix: the bestiary in charts", "Index"]
    parts = [title for level, title in marks if level == 2 and title.startswith("[")]
    assert len(parts) == 11 * len(titles)


def test_a_record_paginates_the_same_in_the_book_as_alone(synthetic, tmp_path):
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary

    laid_out, data = synthetic
    project_root = laid_out.records[0].path.parent.parent
    from printshop.config import load_project

    project = load_project(project_root)
    bestiary = load_bestiary(project.entries_dir)
    renderer = Dossiers(project)
    order = sorted(starts(laid_out).items(), key=lambda kv: kv[1])
    texts = page_texts(data)
    for (slug, start), following in zip(order, [*order[1:], (None, None)]):
        end = following[1] if following[1] is not None else start + 6
        in_book = len([i for i in range(start, end) if i < len(texts) and squash(texts[i])
                       and "APPENDIX" not in squash(texts[i])[:40]])
        alone = len(renderer.render(bestiary.loaded[slug], bestiary).pages)
        assert in_book == alone, slug


def test_metadata_and_reproducible(project, bundled):
    laid_out, data = bundled
    info = metadata(data)
    assert info["Title"] == "The Corporate Bestiary" and info["Author"] == "OTIOSE"
    assert info["Lang"] == "en"
    assert print_book(project)[1] == data


@pytest.mark.parametrize("paper, size", [("a5", (419.5, 595.3)), ("trade", (432.0, 648.0)),
                                         ("letter", (612.0, 792.0))])
def test_paper_sizes(project, paper, size):
    from printshop.book import BookOptions

    laid_out, data = print_book(project, BookOptions(paper=paper))
    box = page_boxes(data, 10)["MediaBox"]
    assert (round(box[2] - box[0], 1), round(box[3] - box[1], 1)) == size
    assert qpdf_check(data) == ""


def test_bleed_and_marks_set_trim_and_bleed_boxes(project):
    from printshop.book import BookOptions

    laid_out, data = print_book(project, BookOptions(paper="a4", bleed="3mm", marks=True))
    boxes = page_boxes(data, 10)
    bleed = 3 * 72 / 25.4
    media, trim, bleed_box = boxes["MediaBox"], boxes["TrimBox"], boxes["BleedBox"]
    assert round(trim[2] - trim[0], 1) == 595.3 and round(trim[3] - trim[1], 1) == 841.9
    assert round(media[2] - media[0], 1) == round(595.28 + 2 * bleed, 1)
    assert [round(b - t, 1) for b, t in zip(bleed_box[:2], trim[:2])] == [-round(bleed, 1)] * 2


@pytest.mark.parametrize("variant", ["pdf/a-3b", "pdf/ua-1"])
@pytest.mark.parametrize("path", ["single", "parallel"])
def test_pdf_variants(project, variant, path, tmp_path):
    """Both paths write what the variant claims: its XMP identifier, a structure
    tree, and (PDF/A) every annotation printed with the page."""
    from printshop import build
    from printshop.book import BookOptions

    options = BookOptions(pdf_variant=variant)
    if path == "single":
        laid_out, data = print_book(project, options)
    else:
        assert build.book(project, tmp_path, options, jobs=1, path="parallel").ok
        data = (tmp_path / "book" / "bestiary.pdf").read_bytes()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        xmp = pdf.Root.Metadata.read_bytes().decode()
        if variant.startswith("pdf/a"):
            assert "pdfaid:part" in xmp and ">3<" in xmp.replace('"3"', ">3<")
            annotations = [a for page in pdf.pages for a in page.get("/Annots", ())]
            assert annotations and all(int(a.get("/F", 0)) & 4 for a in annotations)
        else:
            assert "pdfuaid:part" in xmp
        assert pdf.Root.MarkInfo.Marked and "/StructTreeRoot" in pdf.Root
    assert qpdf_check(data) == ""


def test_qpdf_check_passes(book, bestiary, renderer):
    assert qpdf_check(book[1]) == ""
    assert qpdf_check(renderer.pdf(bestiary.loaded[SEED], bestiary)) == ""


def test_book_command(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--project", str(ROOT), "book", "--output", str(out),
                                       "--paper", "a5", "--bleed", "3mm", "--marks"])
    assert result.exit_code == 0, result.output
    data = (out / "book" / "bestiary.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and "TrimBox" in page_boxes(data, 0)
    result = CliRunner().invoke(main, ["--project", str(ROOT), "book", "--output", str(out),
                                       "--bleed", "lots"])
    assert result.exit_code == 1
    assert "bleed must be a length like 3mm, 0.125in or 9pt, got 'lots'" in result.output


def test_foreword_from_markdown_is_front_matter(scratch):
    from conftest import seed_data

    (scratch.root / "foreword.md").write_text(
        "# A word first\n\nEvery role here is *real*, in the way **weather** is real.\n\n"
        "<script>alert(1)</script>\n", encoding="utf-8")
    config = scratch.root / "printshop.toml"
    config.write_text(config.read_text() + '\n[book]\nforeword = "foreword.md"\n')
    scratch.write("role", seed_data())
    laid_out, data = print_book(scratch.project)
    texts = [squash(t) for t in page_texts(data)]
    labels = page_labels(data)
    foreword = next(i for i, t in enumerate(texts) if t.startswith("FOREWORD"))
    assert "Every role here is real, in the way weather is real." in texts[foreword]
    # Raw HTML in the Markdown is text, printed as written (markdown-it, html off).
    assert "<script>alert(1)</script>" in texts[foreword]
    assert b"/JavaScript" not in data and b"/JS" not in data
    assert foreword < laid_out.front_pages and foreword % 2 == 0
    contents = next(i for i, t in enumerate(texts) if t.startswith("CONTENTS"))
    assert re.search(rf"Foreword \.+ ?{labels[foreword]}\b", texts[contents])
    assert ("Foreword" in [title for _, title in outline(data)])


def assert_reading_order(data, laid_out):
    """In every reader's text, a cross-reference's number follows its "p." and a body
    page's last words are its running head and folio (the furniture comes last)."""
    for reader, texts in reader_texts(data).items():
        for index, text in enumerate(texts):
            words = squash(text).split()
            for i, word in enumerate(words):
                if word == "p.":
                    assert i + 1 < len(words) and words[i + 1].isdigit(), \
                        (reader, index, words[i - 3:i + 3])
            folio = laid_out.folio(index)
            if index >= laid_out.front_pages and words:
                assert words[-1] == folio, (reader, index, words[-6:])


def link_words(data: bytes) -> list[tuple[int, str]]:
    """Every link's words for readers that speak them (its /Contents), by page."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [(index, str(annot.get("/Contents", ""))) for index, page in enumerate(pdf.pages)
                for annot in page.obj.get("/Annots", []) if annot.get("/Subtype") == "/Link"]


def words_per_page(data):
    return [sorted(squash(text).split()) for text in page_texts(data)]


@pytest.mark.parametrize("which", ["bundled", "synthetic"])
def test_parallel_book_matches_the_single_pass_page_for_page(which, request, tmp_path):
    """Records laid out in two worker processes and joined: same pages, words, outline,
    page labels, links, structure tree and reading order as WeasyPrint's single pass."""
    from printshop import build
    from printshop.config import load_project

    laid_out, single = request.getfixturevalue(which)
    project = load_project(laid_out.records[0].path.parent.parent)
    outcome = build.book(project, tmp_path, jobs=2, path="parallel")  # whatever the model says
    assert outcome.ok, outcome.failures
    parallel = (tmp_path / "book" / "bestiary.pdf").read_bytes()
    assert words_per_page(parallel) == words_per_page(single)
    assert outline(parallel, pages=True) == outline(single, pages=True)
    assert page_labels(parallel) == page_labels(single)
    assert {(l["page"], l["target"]) for l in links(parallel)} == \
        {(l["page"], l["target"]) for l in links(single)}
    assert link_words(parallel) == link_words(single), "what each link says, page included"
    assert metadata(parallel)["Title"] == metadata(single)["Title"]
    assert tag_sequence(parallel) == tag_sequence(single), "the same structure, the same text"
    for data in (single, parallel):
        assert_reading_order(data, laid_out)
    assert len(parallel) <= 1.25 * len(single), "fonts are stored once and subset"
    assert qpdf_check(parallel) == ""
    from pdfview import compare_images, render_page

    # And what a reader sees: at most 30 pixels of a page differ (antialiasing of
    # the joined forms); a cross-reference number set 1 pt high differs by 56.
    for index in range(len(page_labels(single))):
        expected = tmp_path / "expected.png"
        render_page(single, index, dpi=72).save(expected)
        compare_images(render_page(parallel, index, dpi=72), expected, FAILURES,
                       f"parallel-{which}-page-{index + 1}", tolerance=24, max_fraction=0.00006)
    again = tmp_path / "again"
    assert build.book(project, again, jobs=1, path="parallel").ok
    assert (again / "book" / "bestiary.pdf").read_bytes() == parallel, "reproducible"


def qdf_objects(data: bytes) -> bytes:
    """A PDF's objects as qpdf's QDF form writes them (numbered in reading order,
    streams uncompressed), without what depends on how they were numbered in the
    file: the original numbers, the /ID (a hash of the file) and the offsets."""
    import shutil
    import subprocess
    import tempfile

    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is installed by scripts/system-deps.sh (Debian package qpdf)"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run([qpdf, "--qdf", "--object-streams=disable",
                               "--stream-data=uncompress", handle.name, "-"],
                              capture_output=True, check=True)
    body = done.stdout.split(b"\nxref\n")[0]
    return b"\n".join(line for line in body.split(b"\n")
                      if not line.startswith(b"%% Original object ID")
                      and not line.lstrip().startswith(b"/ID ["))


def test_parallel_book_joined_body_first_is_the_front_first_join(project, tmp_path,
                                                                  monkeypatch):
    """The parts are joined as they are laid out, the front matter put before them last
    (`join.Joined`): the same objects as joining front matter, parts and back
    matter in that order (`join.join_front_first`, still taken when the front
    matter draws stand-in glyphs); only their numbering in the file differs."""
    from printshop import build
    from printshop.book import parallel

    assert build.book(project, tmp_path / "body-first", jobs=2, path="parallel").ok
    monkeypatch.setattr(parallel, "_has_stand_ins", lambda piece: True)
    assert build.book(project, tmp_path / "front-first", jobs=2, path="parallel").ok
    body_first, front_first = ((tmp_path / way / "book" / "bestiary.pdf").read_bytes()
                               for way in ("body-first", "front-first"))
    assert qdf_objects(body_first) == qdf_objects(front_first)


def test_the_cost_model_chooses_and_says_why():
    from printshop.book.path import SINGLE_PASS_MAX_RECORDS, break_even, choose

    even = break_even(2)
    assert even is not None and even > 1, "two workers do not pay for their start at 1 entry"
    small = choose(even - 1, jobs=2, available=2)
    assert not small.parallel
    assert small.describe().startswith(f"book: single pass: {even - 1} entr")
    assert f"below the {even} where 2 workers pay for their start" in small.reason
    assert not choose(1, jobs=2, available=2).parallel
    assert choose(even, jobs=2, available=2).parallel
    assert choose(even - 1, jobs=2, available=2).parallel is False
    assert choose(200, jobs=2, available=2).parallel
    # One worker cannot win on time; past the single pass's memory bound it is taken.
    assert not choose(50, jobs=1, available=2).parallel
    assert not choose(50, jobs=8, available=1).parallel, "jobs beyond the cores do not count"
    big = choose(SINGLE_PASS_MAX_RECORDS + 1, jobs=1, available=2)
    assert big.parallel and "memory" in big.reason
    # Parts already laid out (a build) cost nothing: the parallel path is then cheap.
    assert choose(even - 1, jobs=2, cached=even - 1, available=2).parallel
    # Forced either way, whatever the model says.
    assert choose(200, jobs=2, forced="single").name == "single pass"
    assert choose(1, jobs=2, forced="parallel").parallel


@pytest.mark.parametrize("flag, path", [("--single-pass", "single pass"),
                                        ("--parallel", "parallel"), (None, None)])
def test_book_command_says_which_path(tmp_path, flag, path):
    from printshop.book.path import choose

    out = tmp_path / "out"
    args = ["--project", str(ROOT), "-v", "book", "--output", str(out), "--jobs", "2"]
    result = CliRunner().invoke(main, args + ([flag] if flag else []))
    assert result.exit_code == 0, result.output
    path = path or choose(4, jobs=2).name
    said = [line for line in result.output.splitlines() if line.startswith("book: ")]
    assert said and said[0].startswith(f"book: {path}: 4 entries"), result.output
    assert (out / "book" / "bestiary.pdf").read_bytes().startswith(b"%PDF-")
