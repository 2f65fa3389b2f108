"""scripts/conformance.py (`make conformance`) without Java or veraPDF.

tests/data/verapdf-sample.xml is a real veraPDF 1.28.2 report, made with

    verapdf -f ua1 --format xml --maxfailuresdisplayed 1 dossiers/sdet.pdf dossiers/broken.pdf

on the dossier `printshop dossier sdet` wrote before PDF/UA-1 became the
default (it fails rules 7.1-8 and 7.2-19) and a file that is not a PDF (a
parse error), in /tmp/verapdf-sample/.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path

import pikepdf
import pytest

from conftest import DATA, ROOT

SAMPLE = DATA / "verapdf-sample.xml"
SAMPLE_DIR = "/tmp/verapdf-sample/dossiers"


def _load():
    spec = importlib.util.spec_from_file_location("conformance", ROOT / "scripts" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


conformance = _load()


def test_parse_report_reads_failed_rules_and_parse_errors():
    results = conformance.parse_report(SAMPLE.read_text(encoding="utf-8"))
    assert [r.path for r in results] == [f"{SAMPLE_DIR}/sdet.pdf", f"{SAMPLE_DIR}/broken.pdf"]

    sdet, broken = results
    assert sdet.error is None and not sdet.passed
    assert [(r.rule, r.checks) for r in sdet.rules] == [("7.1-8", 1), ("7.2-19", 1)]
    assert sdet.rules[1].description == "L element may contain only L, LI and Caption elements"
    assert sdet.rules[1].message == "L element contains Span element(s) instead of L, LI or Caption"
    assert sdet.rules[0].description.startswith("The Catalog dictionary of a conforming file shall contain")

    assert not broken.rules and not broken.passed
    assert broken.error == ("veraPDF could not check it (PARSE): Exception: Couldn't parse stream "
                            "caused by exception: End of file is reached")


def test_failure_lines_name_file_flavour_rule_and_description():
    sdet = conformance.parse_report(SAMPLE.read_text(encoding="utf-8"))[0]
    lines = [conformance.format_failure("dossier-default/dossiers/sdet.pdf", "ua1", r) for r in sdet.rules]
    assert lines[1] == ("dossier-default/dossiers/sdet.pdf: ua1: rule 7.2-19 (1 checks): "
                        "L element may contain only L, LI and Caption elements")
    assert lines[0].startswith("dossier-default/dossiers/sdet.pdf: ua1: rule 7.1-8 (1 checks): The Catalog")


def test_compliant_file_and_rule_order():
    # The shape of a compliant job and of several failed rules, as veraPDF writes them.
    xml = """<?xml version="1.0" encoding="utf-8"?><report><jobs>
      <job><item size="1"><name>/x/ok.pdf</name></item>
        <validationReport jobEndStatus="normal" profileName="PDF/A-2B validation profile"
            statement="PDF file is compliant with Validation Profile requirements." isCompliant="true">
          <details passedRules="144" failedRules="0" passedChecks="237388" failedChecks="0"></details>
        </validationReport></job>
      <job><item size="1"><name>/x/bad.pdf</name></item>
        <validationReport jobEndStatus="normal" isCompliant="false">
          <details failedRules="3">
            <rule clause="7.18.5" testNumber="2" status="failed" failedChecks="76"><description>b</description></rule>
            <rule clause="7.1" testNumber="10" status="failed" failedChecks="1"><description>a2</description></rule>
            <rule clause="7.1" testNumber="3" status="failed" failedChecks="1962"><description>a1</description></rule>
            <rule clause="6.2" testNumber="1" status="passed" failedChecks="0"><description>no</description></rule>
          </details>
        </validationReport></job>
    </jobs></report>"""
    ok, bad = conformance.parse_report(xml)
    assert ok.passed and ok.rules == []
    assert [r.rule for r in bad.rules] == ["7.1-3", "7.1-10", "7.18.5-2"]
    assert bad.rules[0].checks == 1962


def test_summary_table_counts_per_flavour():
    table = conformance.format_summary({
        "ua1": {"files": 8, "passed": 4, "failed": 4, "errors": 0},
        "x4": {"files": 5, "passed": 0, "failed": 5, "errors": 2},
    })
    lines = table.splitlines()
    assert lines[0].split() == ["flavour", "standard", "checked", "by", "files", "passed", "failed", "errors"]
    assert lines[2].split() == ["ua1", "PDF/UA-1", "veraPDF", "8", "4", "4", "0"]
    assert lines[3].split() == ["x4", "PDF/X-4", "printshop's", "own", "checks", "5", "0", "5", "2"]
    assert lines[-1].split() == ["all", "13", "4", "9", "2"]


def _fake_launcher(tmp_path: Path, report: str) -> Path:
    (tmp_path / "report.xml").write_text(report, encoding="utf-8")
    launcher = tmp_path / "verapdf"
    launcher.write_text(f'#!/bin/sh\ncat "{tmp_path / "report.xml"}"\nexit 1\n', encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return launcher


def test_run_verapdf_gives_every_file_a_result(tmp_path):
    report = SAMPLE.read_text(encoding="utf-8").replace(SAMPLE_DIR, str(tmp_path))
    launcher = _fake_launcher(tmp_path, report)
    files = [tmp_path / "sdet.pdf", tmp_path / "broken.pdf", tmp_path / "lost.pdf"]
    results = conformance.run_verapdf(launcher, "ua1", files)
    assert [r.rule for r in results[files[0]].rules] == ["7.1-8", "7.2-19"]
    assert "PARSE" in results[files[1]].error
    assert results[files[2]].error == "missing from veraPDF's report"

    garbled = _fake_launcher(tmp_path, "Exception in thread main")
    results = conformance.run_verapdf(garbled, "ua1", files[:1])
    assert "its XML report did not parse" in results[files[0]].error


def test_verapdf_is_found_or_the_message_says_how_to_install_it(tmp_path):
    missing = tmp_path / "shared" / "verapdf"
    with pytest.raises(conformance.SetupError) as info:
        conformance.find_verapdf({}, default=missing)
    message = str(info.value)
    assert str(missing) in message and "VERAPDF" in message
    assert "verapdf.org" in message and "github.com/veraPDF" in message and "Java 17" in message

    with pytest.raises(conformance.SetupError, match="VERAPDF=/nowhere/verapdf"):
        conformance.find_verapdf({"VERAPDF": "/nowhere/verapdf"}, default=missing)

    launcher = _fake_launcher(tmp_path, "")
    assert conformance.find_verapdf({"VERAPDF": str(launcher)}, default=missing) == launcher
    assert conformance.find_verapdf({"VERAPDF": str(tmp_path)}, default=missing) == launcher
    assert conformance.find_verapdf({}, default=launcher) == launcher


BOOK_HELP = """\
Options:
  --bleed LENGTH                  Bleed around the trim, e.g. 3mm or 0.125in.
  --pdf-variant [pdf/a-2b|pdf/a-3b|pdf/a-3u|pdf/ua-1|pdf/ua-2]
                                  Write a PDF/A (archive) or PDF/UA variant.
  --single-pass                   Lay out the whole book in one WeasyPrint
"""


def test_options_are_read_from_help():
    variant = conformance.option_in_help(BOOK_HELP, "--pdf-variant")
    assert variant.present and variant.accepts("pdf/ua-2") and not variant.accepts("pdf/x-4")
    assert conformance.option_in_help(BOOK_HELP, "--single-pass").present
    assert not conformance.option_in_help(BOOK_HELP, "--single").present
    assert not conformance.option_in_help("Options:\n  --paper [a4|letter]\n", "--pdf-variant").present
    free = conformance.option_in_help("  --pdf-variant TEXT  Variant.\n", "--pdf-variant")
    assert free.present and free.accepts("pdf/x-4")


def test_a_missing_option_is_an_error_not_a_skip(tmp_path, monkeypatch):
    helps = {"dossier": "Options:\n  --output DIRECTORY\n  --paper [a4|letter]\n", "book": BOOK_HELP}
    monkeypatch.setattr(conformance, "printshop_help", lambda python, command: helps[command])
    combos = conformance.plan(sys.executable, tmp_path, ["dossier", "book"])
    assert len(combos) == 7 * 3  # every variant: dossier, parallel book, single-pass book
    errors = {c.label: c.error for c in combos if c.error}
    assert set(errors) == {
        *(f"dossier, {v}" for v in ("pdf/a-2b", "pdf/a-3b", "pdf/a-3u", "pdf/ua-1", "pdf/ua-2", "pdf/x-4")),
        "book (parallel), pdf/x-4", "book (single-pass), pdf/x-4",
    }
    assert errors["dossier, pdf/ua-1"] == "option not available: `printshop dossier` has no --pdf-variant"
    assert errors["book (parallel), pdf/x-4"] == (
        "option not available: `printshop book --pdf-variant` does not accept pdf/x-4")
    default = next(c for c in combos if c.label == "book (single-pass), default variant")
    assert default.flavour == "ua1" and default.argv[-1] == "--single-pass"
    assert all(str(c.outdir).startswith(str(tmp_path)) for c in combos)


def _pdf(path: Path, *, x4: bool) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    if x4:
        icc = bytearray(128)
        icc[12:16] = b"prtr"
        profile = pikepdf.Stream(pdf, bytes(icc))
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
            OutputConditionIdentifier=pikepdf.String("FOGRA39"),
            DestOutputProfile=pdf.make_indirect(profile),
        )])
        page.TrimBox = pikepdf.Array([10, 10, 585, 832])
        page.BleedBox = pikepdf.Array([0, 0, 595, 842])
        pdf.docinfo["/Trapped"] = pikepdf.Name("/False")
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["{http://www.npes.org/pdfx/ns/id/}GTS_PDFXVersion"] = "PDF/X-4"
            meta["dc:title"] = "A dossier"
            meta["xmp:CreateDate"] = "2026-11-28T00:00:00+00:00"
            meta["xmp:ModifyDate"] = "2026-11-28T00:00:00+00:00"
            meta["pdf:Trapped"] = "False"
    else:
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))))
    pdf.save(path, force_version="1.6" if x4 else "1.7", deterministic_id=True)
    return path


def test_pdfx4_checks(tmp_path):
    good = conformance.check_pdfx4(_pdf(tmp_path / "x4.pdf", x4=True))
    assert good.passed, good.rules

    bad = conformance.check_pdfx4(_pdf(tmp_path / "plain.pdf", x4=False))
    rules = {r.rule: r for r in bad.rules}
    assert {"pdfx-version", "pdfx-outputintent", "pdfx-xmp", "pdfx-version-key", "pdfx-trapped",
            "pdfx-trimbox", "pdfx-fonts"} <= set(rules)
    assert rules["pdfx-fonts"].message == "Helvetica"
    assert rules["pdfx-trimbox"].message == "page 1"
    line = conformance.format_failure("plain.pdf", "x4", rules["pdfx-trimbox"])
    assert line == "plain.pdf: x4: rule pdfx-trimbox (1 checks): Every page shall have a TrimBox or an ArtBox"


def test_keep_refuses_output_and_non_empty_folders(tmp_path):
    with pytest.raises(SystemExit):
        conformance.parse_args(["--keep", str(ROOT / "output")])
    (tmp_path / "old.pdf").write_bytes(b"")
    with pytest.raises(SystemExit):
        conformance.parse_args(["--keep", str(tmp_path)])
    with pytest.raises(SystemExit):
        conformance.parse_args(["--only", "cards"])
    args = conformance.parse_args(["--only", "books", "--keep", str(tmp_path / "new"), "-j", "1"])
    assert args.kinds == ["book"] and args.keep == (tmp_path / "new").resolve() and args.jobs == 1
    assert os.path.basename(conformance.DEFAULT_VERAPDF) == "verapdf"
