"""The dossier PDF as a reader sees it: text, outline, metadata, fonts, pixels."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import FAILURES, ROOT, SEED, no_render_warnings, seed_data
from pdfview import (compare_images, embedded_fonts, metadata, outline, page_texts,
                     render_page, squash)

PARTS = [
    "[01] The Org-Chart Architecture",
    "[02] The Habitat (Natural Range)",
    "[03] Salary Delusion",
    "[04] The Flight Risk",
    "[05] The Bullshit Metrics",
    "[06] Signature Weaponry",
    "[07] Survival / Encounter Guide",
    "[08] The JD Autopsy: What Do They Actually Do?",
    "[09] Day-in-the-Life Log",
    "[10] The Burn Ward (Unfiltered Complaints)",
    "[11] Related Specimens",
]


@pytest.fixture(scope="module")
def text(seed_pdf) -> str:
    return squash(" ".join(page_texts(seed_pdf)))


def test_masthead_and_every_part_heading(seed_pdf, text):
    first = squash(page_texts(seed_pdf)[0])
    assert first.startswith("OTIOSE / ADULTHOOD / JUNIOR AI/ML MODEL TRAINING ASSISTANT")
    assert "FILE RECORD JUNIOR-AI-ML-MODEL-TRAINING-ASSISTANT" in first
    assert "WHAT DOES A JUNIOR AI/ML MODEL TRAINING ASSISTANT ACTUALLY DO?" in first
    positions = [text.upper().find(part.upper()) for part in PARTS]
    assert all(p >= 0 for p in positions), dict(zip(PARTS, positions))
    assert positions == sorted(positions), "parts print in order"
    assert "PRODUCED BY OTIOSE" in text and "A D U L T H O O D" in first


def test_every_field_of_the_seed_is_printed(bestiary, text):
    entry = bestiary.loaded[SEED].entry
    expected = [*entry.aliases, "$146,027", "PER YEAR", "MARKET AVERAGE", entry.salary.footnote,
                entry.salary.quote, "FLIGHT RISK: 85%", "HIGH RISK", entry.flight_risk.diagnosis,
                "[IF ENGAGED:]", entry.encounter[0].advice, "[SOURCE REDACTED]",
                "LINKEDIN ILLUSION", "OTIOSE TRANSLATION", "10:00–11:00", "15:00–16:00",
                "— teamblind.com", "— r/cscareerquestions", "98%", "91%", "84%"]
    for part in (entry.metrics, entry.weaponry):
        expected += [t.name for t in part] + [t.description for t in part]
    expected += [f"{h.place} ({h.detail})" for h in entry.habitat]
    expected += [p.illusion for p in entry.jd_autopsy] + [p.translation for p in entry.jd_autopsy]
    expected += [s.title for s in entry.day_log] + [s.description for s in entry.day_log]
    expected += [c.quote for c in entry.burn_ward]
    expected += [bestiary.title_of(r.slug) for r in entry.related]
    expected += [r.description for r in entry.related]
    expected += [f"File record {r.slug}".upper() for r in entry.related]
    upper = text.upper()
    missing = [e for e in expected if squash(e).upper() not in upper]
    assert not missing


def test_running_head_and_page_x_of_y(seed_pdf):
    pages = [squash(t) for t in page_texts(seed_pdf)]
    total = len(pages)
    assert 3 <= total <= 5
    for number, page in enumerate(pages, 1):
        assert f"page {number} of {total}" in page
        assert "The Corporate Bestiary" in page
        if number > 1:
            assert "FILE RECORD: JUNIOR-AI-ML-MODEL-TRAINING-ASSISTANT" in page
            assert "OTIOSE / ADULTHOOD" in page


def test_outline_has_title_and_eleven_parts(seed_pdf):
    marks = outline(seed_pdf)
    assert marks[0] == (1, "Junior AI/ML Model Training Assistant")
    assert [title for level, title in marks[1:]] == PARTS
    assert all(level == 2 for level, _ in marks[1:])


def test_metadata(seed_pdf, bestiary):
    info = metadata(seed_pdf)
    assert info["Title"] == "Junior AI/ML Model Training Assistant"
    assert info["Author"] == "OTIOSE"
    assert info["Subject"] == ("The Corporate Bestiary, file record JUNIOR-AI-ML-MODEL-TRAINING-"
                               "ASSISTANT: What does a Junior AI/ML Model Training Assistant "
                               "actually do?")
    assert info["Keywords"] == ", ".join(bestiary.loaded[SEED].entry.aliases)
    assert info["Lang"] == "en"
    assert info["CreationDate"].startswith("D:20261128")
    assert info["mediabox"] == "0.0,0.0,595.3,841.9"  # A4


def test_fonts_are_the_bundled_ones_embedded_and_subset(seed_pdf):
    fonts = embedded_fonts(seed_pdf)
    families = {"Bestiary-Sans": "IBM Plex Sans", "Bestiary-Mono": "IBM Plex Mono",
                "Bestiary-Display": "Oswald"}
    assert fonts, "fonts are embedded"
    for base, family in fonts.items():
        tag, _, name = base.lstrip("/").partition("+")
        assert len(tag) == 6 and tag.isupper(), f"{base} is subset"
        expected = next(v for k, v in families.items() if name.startswith(k))
        assert family.startswith(expected), (base, family)
    names = {b.partition("+")[2] for b in fonts}
    assert {"Bestiary-Sans", "Bestiary-Mono", "Bestiary-Display-Semi-Bold"} <= names


def test_rerender_is_byte_identical_also_in_a_new_process(seed_pdf, renderer, bestiary, tmp_path):
    assert renderer.pdf(bestiary.loaded[SEED], bestiary) == seed_pdf
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SOURCE_DATE_EPOCH", None)
    subprocess.run([sys.executable, "-m", "printshop", "--project", str(ROOT), "dossier", SEED,
                    "--output", str(tmp_path)], check=True, env=env, capture_output=True)
    assert (tmp_path / "dossiers" / f"{SEED}.pdf").read_bytes() == seed_pdf


def test_source_date_epoch_sets_the_date(renderer, bestiary, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data = renderer.pdf(bestiary.loaded[SEED], bestiary)
    assert metadata(data)["CreationDate"].startswith("D:20231114221320")


def test_letter_paper(project, bestiary):
    from printshop.dossier import Dossiers

    with no_render_warnings():
        data = Dossiers(project, paper="letter").pdf(bestiary.loaded[SEED], bestiary)
    assert metadata(data)["mediabox"] == "0.0,0.0,612.0,792.0"


def test_first_page_matches_golden_image(seed_pdf):
    compare_images(render_page(seed_pdf, 0, dpi=50), ROOT / "tests" / "golden" / "dossier-p1.png",
                   FAILURES, "dossier-p1")


def test_second_page_matches_golden_image(seed_pdf):
    compare_images(render_page(seed_pdf, 1, dpi=50), ROOT / "tests" / "golden" / "dossier-p2.png",
                   FAILURES, "dossier-p2")


def test_golden_comparison_catches_a_change(seed_pdf, tmp_path):
    """The image check can fail: a page with one part moved does not pass."""
    image = render_page(seed_pdf, 0, dpi=50)
    shifted = image.transform(image.size, 0, (1, 0, 0, 0, 1, 12))  # content moved up 12 px
    with pytest.raises(AssertionError, match="differ by more than"):
        compare_images(shifted, ROOT / "tests" / "golden" / "dossier-p1.png", tmp_path, "shift")
    assert (tmp_path / "shift-actual.png").exists() and (tmp_path / "shift-expected.png").exists()


def test_a_range_salary_hourly_and_no_org_chart(scratch, monkeypatch):
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary

    data = seed_data()
    del data["salary"]["amount"]
    data.pop("org_chart", None)
    data["salary"].update(range={"low": 16, "high": 21}, period="hour")
    data["flight_risk"]["percent"] = 10
    del data["flight_risk"]["band"]
    scratch.write("hourly-role", data)
    project = scratch.project
    bestiary = load_bestiary(project.entries_dir)
    with no_render_warnings():
        pdf = Dossiers(project).pdf(bestiary.loaded["hourly-role"], bestiary)
    text = squash(" ".join(page_texts(pdf)))
    assert "$16–$21 PER HOUR" in text
    assert "LOW RISK" in text, "the band label comes from the configured bands"
    assert "VP of AI Transformation" not in text


def test_long_words_wrap_inside_the_page(scratch):
    """A 280-letter word in every kind of box, and a 8,400-letter one, stay on the page."""
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary
    from pdfview import chars_outside

    word = "Supercalifragilistic" * 14
    data = seed_data()
    data["title"] = "The " + word
    data["aliases"][0] = word
    data["org_chart"] = {"reports_to": ["Board"], "peers": [word, "Peer"]}
    data["metrics"][0]["name"] = word
    data["weaponry"][0]["description"] = word * 30
    data["day_log"][0]["title"] = word
    data["related"][0]["title"] = word
    data["burn_ward"][0]["source"] = word
    data["salary"]["amount"] = 999_999_999
    scratch.write("long-words", data)
    project = scratch.project
    bestiary = load_bestiary(project.entries_dir)
    with no_render_warnings():
        pdf = Dossiers(project).pdf(bestiary.loaded["long-words"], bestiary)
    assert chars_outside(pdf, margin_pt=18 * 72 / 25.4) == []
    assert word[:40] in squash(" ".join(page_texts(pdf))).replace(" ", "")


def test_tagged_pdf_gives_the_gauge_alt_text(seed_pdf):
    import io

    import pikepdf

    alts = []
    with pikepdf.open(io.BytesIO(seed_pdf)) as pdf:
        assert pdf.Root.MarkInfo.Marked
        stack = [pdf.Root.StructTreeRoot]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary):
                if "/Alt" in node:
                    alts.append(str(node.Alt))
                kids = node.get("/K")
                if kids is not None:
                    stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids])
            elif isinstance(node, pikepdf.Array):
                stack.extend(node)
    assert ("Flight-risk gauge: a dial from 0 to 100% in bands (LOW RISK 0–24%, MODERATE RISK "
            "25–49%, ELEVATED RISK 50–74%, HIGH RISK 75–100%); the needle points at 85%, "
            "HIGH RISK.") in alts


def test_pdf_ua_1_by_default(seed_pdf):
    """With no option given, the dossier says it is PDF/UA-1 and is what that asks:
    XMP metadata with the identifier, the title shown, a language, a structure tree,
    marked content (veraPDF's full check is `make conformance`)."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(seed_pdf)) as pdf:
        xmp = pdf.open_metadata()
        assert xmp.get("{http://www.aiim.org/pdfua/ns/id/}part") == "1"
        assert "Junior AI/ML Model Training Assistant" in str(xmp.get("dc:title"))
        assert pdf.Root.ViewerPreferences.DisplayDocTitle
        assert str(pdf.Root.Lang) == "en"
        assert pdf.Root.MarkInfo.Marked
        assert "/StructTreeRoot" in pdf.Root


def test_variant_none_is_untagged_and_variants_are_tagged(renderer, bestiary):
    import io

    import pikepdf

    from printshop.dossier import Dossiers

    item = bestiary.loaded[SEED]
    for variant, tagged, part in (("none", False, None), ("pdf/a-3b", True, "3"),
                                  ("pdf/ua-2", True, None)):
        dossiers = Dossiers(renderer.project, press=renderer.press, variant=variant)
        with pikepdf.open(io.BytesIO(dossiers.pdf(item, bestiary))) as pdf:
            assert ("/StructTreeRoot" in pdf.Root) == tagged, variant
            if part:
                assert pdf.open_metadata().get("{http://www.aiim.org/pdfa/ns/id/}part") == part
            if variant == "pdf/ua-2":
                assert pdf.pdf_version == "2.0"


def test_readers_agree_on_the_dossier_text_and_its_order(seed_pdf):
    """PDFium, pypdf and poppler read the same words, in the same order, on each page
    (after NFKC: each splits ligatures and spaced letters its own way)."""
    import unicodedata

    from pdfview import reader_texts

    texts = reader_texts(seed_pdf)
    for index in range(len(texts["pdfium"])):
        words = {reader: unicodedata.normalize("NFKC", squash(pages[index])).replace(" ", "")
                 for reader, pages in texts.items()}
        assert words["pdfium"] == words["pypdf"] == words["poppler"], index


def test_org_chart_is_a_figure_that_says_how_the_roles_relate(renderer, bestiary):
    """The chart's boxes are text; a figure before them says, in words, who is above,
    beside and below the role (its alternate text, read first)."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(renderer.pdf(bestiary.loaded["sdet"], bestiary))) as pdf:
        alts = [str(o.Alt) for o in pdf.objects
                if isinstance(o, pikepdf.Dictionary) and o.get("/S") == "/Figure" and "/Alt" in o]
    assert ("Org chart: from the top, Director of Engineering, then QA Manager, above SDET, "
            "beside Backend Engineer, Manual QA Tester, DevOps Engineer; no direct reports.") in alts
