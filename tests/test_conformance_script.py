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

import pytest

import printshop

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
        "2b": {"files": 5, "passed": 3, "failed": 2, "errors": 1},
        "?": {"files": 0, "passed": 0, "failed": 0, "errors": 3},
        "ua1": {"files": 8, "passed": 4, "failed": 4, "errors": 0},
    })
    lines = table.splitlines()
    assert lines[0].split() == ["flavour", "standard", "files", "passed", "failed", "errors"]
    # In report order (FLAVOURS), the variants with no known flavour last.
    assert lines[2].split() == ["ua1", "PDF/UA-1", "8", "4", "4", "0"]
    assert lines[3].split() == ["2b", "PDF/A-2b", "5", "3", "2", "1"]
    assert lines[4].split() == ["?", "(no", "flavour)", "0", "0", "0", "3"]
    assert lines[-1].split() == ["all", "13", "7", "6", "4"]


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
  --pdf-variant [pdf/ua-1|pdf/ua-2|pdf/a-2b|pdf/a-3b|none]
                                  PDF/UA-1 (accessible, tagged: the default
                                  unless printshop.toml says otherwise),
                                  PDF/UA-2, PDF/A (archive), or none
                                  (untagged).
  --single-pass                   Lay out the whole book in one WeasyPrint
"""
VARIANTS = [(None, "ua1"), ("pdf/ua-1", "ua1"), ("pdf/ua-2", "ua2"), ("pdf/a-2b", "2b"),
            ("pdf/a-3b", "3b"), ("pdf/a-3u", "3u")]


def test_options_are_read_from_help():
    variant = conformance.option_in_help(BOOK_HELP, "--pdf-variant")
    assert variant.present and variant.accepts("pdf/ua-2") and variant.accepts("none")
    assert not variant.accepts("pdf/a-3u")
    assert conformance.option_in_help(BOOK_HELP, "--single-pass").present
    assert not conformance.option_in_help(BOOK_HELP, "--single").present
    assert not conformance.option_in_help("Options:\n  --paper [a4|letter]\n", "--pdf-variant").present
    free = conformance.option_in_help("  --pdf-variant TEXT  Variant.\n", "--pdf-variant")
    assert free.present and free.accepts("pdf/a-3u")


def test_variants_are_printshops_each_with_its_flavour():
    assert conformance.variants(printshop.PDF_VARIANTS) == conformance.VARIANTS
    assert conformance.VARIANTS[0] == (None, "ua1")  # the default, which is to be PDF/UA-1
    # Every variant printshop offers is checked, "none" (untagged) excepted ...
    assert [v for v, _ in conformance.VARIANTS[1:]] == [v for v in printshop.PDF_VARIANTS if v != "none"]
    assert all(flavour is not None for _, flavour in conformance.VARIANTS)
    assert dict(conformance.VARIANTS[1:]) == {
        "pdf/ua-1": "ua1", "pdf/ua-2": "ua2", "pdf/a-2b": "2b", "pdf/a-3b": "3b", "pdf/a-3u": "3u"}
    # ... and every flavour is reported, scheduled and named.
    for flavour in {f for _, f in conformance.VARIANTS}:
        assert flavour in conformance.FLAVOURS and flavour in conformance.CHECK_ORDER
        assert flavour in conformance.FLAVOUR_NAMES

    assert conformance.variants(("pdf/ua-1", "pdf/x-9", "none")) == [
        (None, "ua1"), ("pdf/ua-1", "ua1"), ("pdf/x-9", None)]


def test_a_missing_option_is_an_error_not_a_skip(tmp_path, monkeypatch):
    helps = {"dossier": "Options:\n  --output DIRECTORY\n  --paper [a4|letter]\n", "book": BOOK_HELP}
    monkeypatch.setattr(conformance, "printshop_help", lambda python, command: helps[command])
    combos = conformance.plan(sys.executable, tmp_path, ["dossier", "book"], VARIANTS)
    assert len(combos) == 6 * 3  # every variant: dossier, parallel book, single-pass book
    errors = {c.label: c.error for c in combos if c.error}
    assert set(errors) == {
        *(f"dossier, {v}" for v in ("pdf/a-2b", "pdf/a-3b", "pdf/a-3u", "pdf/ua-1", "pdf/ua-2")),
        "book (parallel), pdf/a-3u", "book (single-pass), pdf/a-3u",
    }
    assert errors["dossier, pdf/ua-1"] == "option not available: `printshop dossier` has no --pdf-variant"
    assert errors["book (parallel), pdf/a-3u"] == (
        "option not available: `printshop book --pdf-variant` does not accept pdf/a-3u")
    default = next(c for c in combos if c.label == "book (single-pass), default variant")
    assert default.flavour == "ua1" and default.argv[-1] == "--single-pass"
    ua2 = next(c for c in combos if c.label == "book (parallel), pdf/ua-2")
    assert ua2.flavour == "ua2" and ua2.argv[-2:] == ["--pdf-variant", "pdf/ua-2"] and not ua2.error
    assert all(str(c.outdir).startswith(str(tmp_path)) for c in combos)


def test_a_variant_without_a_flavour_is_an_error_not_a_skip(tmp_path, monkeypatch):
    help_text = "Options:\n  --pdf-variant [pdf/ua-1|pdf/x-9|none]\n  --single-pass\n"
    monkeypatch.setattr(conformance, "printshop_help", lambda python, command: help_text)
    monkeypatch.setattr(conformance, "VARIANTS", conformance.variants(("pdf/ua-1", "pdf/x-9", "none")))
    combos = conformance.plan(sys.executable, tmp_path, ["dossier", "book"])
    assert [c.label for c in combos if c.variant == "none"] == []  # untagged: nothing to check
    unknown = [c for c in combos if c.variant == "pdf/x-9"]
    assert len(unknown) == 3 and all(c.flavour == conformance.NO_FLAVOUR for c in unknown)
    assert all(c.error.startswith("no veraPDF flavour known for pdf/x-9") for c in unknown)
    assert all(not c.error for c in combos if c.variant != "pdf/x-9")


def test_the_cli_offers_every_variant_checked():
    # The real `printshop dossier/book --help`: nothing the script plans is an ERROR.
    combos = conformance.plan(sys.executable, Path("/nonexistent"), list(conformance.KINDS))
    assert [c.error for c in combos if c.error] == []
    assert len(combos) == len(conformance.VARIANTS) * 3


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
