"""Loading and validating entries: every problem, at its line and column, in words."""

from __future__ import annotations

import pytest
import yaml

from printshop.load import MODELINE, load_bestiary, load_entry
from conftest import ROOT, SEED, seed_data

BAD = MODELINE + """
title: 123
titel: Typo
aliases: []
habitat:
  - place: Somewhere
    detail: one
    detail: two
salary:
  amount: 100
  period: month
  currency: usd
flight_risk:
  percent: 150
  diagnosis: no
day_log:
  - start: 10:00
    end: 9:00
    title: Morning
    description: Coffee.
related:
  - match: 50
    description: Nobody.
"""

EXPECTED = """\
entries/bad.yaml:2:1: metrics: required field is missing
entries/bad.yaml:2:1: weaponry: required field is missing
entries/bad.yaml:2:1: encounter: required field is missing
entries/bad.yaml:2:1: jd_autopsy: required field is missing
entries/bad.yaml:2:1: burn_ward: required field is missing
entries/bad.yaml:2:8: title: must be text, got a whole number 123
entries/bad.yaml:3:1: titel: unknown field; did you mean 'title'?
entries/bad.yaml:4:10: aliases: must have at least 1 item(s)
entries/bad.yaml:8:5: habitat[0].detail: duplicate key 'detail' (first at line 7); delete one of them
entries/bad.yaml:11:11: salary.period: must be one of 'year' or 'hour', got 'month'
entries/bad.yaml:12:13: salary.currency: must be a three-letter currency code like 'USD', got 'usd'
entries/bad.yaml:14:12: flight_risk.percent: must be 0-100, got 150
entries/bad.yaml:18:10: day_log[0].end: must be a 24-hour time like '09:30', got '9:00'
entries/bad.yaml:22:5: related[0]: give exactly one of 'slug' (a role in the bestiary) or 'title' (one that is not)"""


def problems_of(scratch, monkeypatch, *selectors):
    monkeypatch.chdir(scratch.root)
    return [str(p) for p in load_bestiary(scratch.entries, selectors).problems]


def test_every_problem_reported_at_once_with_place(scratch, monkeypatch):
    scratch.write("bad", BAD)
    assert "\n".join(problems_of(scratch, monkeypatch)) == EXPECTED


def test_seed_entry_is_valid_and_complete(bestiary):
    item = bestiary.loaded[SEED]
    assert item.ok and not item.problems
    entry = item.entry
    assert entry.title == "Junior AI/ML Model Training Assistant"
    assert entry.aliases == ["AI Data Annotator", "ML Data Curator", "AI Training Specialist",
                             "Prompt Validation Specialist"]
    assert [h.place for h in entry.habitat] == [
        "Large Tech Corporations", "AI/ML Platform Vendors", "Boutique AI Consulting Firms"]
    assert entry.salary.amount == 146027 and entry.salary.period == "year"
    assert entry.flight_risk.percent == 85 and entry.flight_risk.band == "HIGH RISK"
    assert len(entry.metrics) == 3 and len(entry.weaponry) == 3
    assert [s.start for s in entry.day_log] == ["10:00", "13:00", "15:00"]
    assert [c.source for c in entry.burn_ward] == [None, "teamblind.com", "r/cscareerquestions"]
    assert [(r.slug, r.match) for r in entry.related] == [
        ("lead-backend-data-procurement-analyst", 98), ("enterprise-architect", 91),
        ("sdet", 84)]
    assert [bestiary.title_of(r.slug) for r in entry.related] == [
        "Lead Backend Data Procurement Analyst", "Enterprise Architect", "SDET"]
    assert len(entry.jd_autopsy) == 3 and entry.encounter[0].situation == "If engaged"


@pytest.mark.parametrize("text, expected", [
    ("", "1:1: the file is empty; an entry needs at least 'title'"),
    ("- a\n- b\n", "1:1: an entry must be a mapping of fields (title: ..., aliases: ...)"),
    ("title: [unclosed\n", "2:1: YAML syntax error: while parsing a flow sequence"),
    ("title: !!python/object:os.system x\n",
     "1:8: title: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"),
    ("a: &x [1]\nb: *x\n", "2:4: b: anchors (&name) and aliases (*name) are not allowed"),
    ("<<: {title: x}\n", "1:1: merge keys (<<) are not allowed"),
])
def test_broken_yaml_gets_a_placed_message(scratch, monkeypatch, text, expected):
    scratch.write("broken", text)
    found = problems_of(scratch, monkeypatch)
    assert any(expected in line for line in found), found
    assert all(line.startswith("entries/broken.yaml:") for line in found)


def test_not_utf8_and_binary(scratch, monkeypatch):
    (scratch.entries / "latin.yaml").write_bytes(b"title: caf\xe9\n")
    (scratch.entries / "blob.yaml").write_bytes(b"\x00\x01\x02")
    found = problems_of(scratch, monkeypatch)
    assert "entries/blob.yaml:1:1: this is a binary file, not YAML text" in found
    assert ("entries/latin.yaml:1:11: not UTF-8 (byte 0xe9); save the file as UTF-8") in found


def test_yaml_1_1_surprises_stay_text(scratch, monkeypatch):
    """10:00 is not 600, 'no' is not false, a date is text."""
    data = seed_data()
    data["flight_risk"]["diagnosis"] = "no"
    data["aliases"] = ["2024-01-01", "on"]
    dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    text = dumped.replace("'10:00'", "10:00").replace("'no'", "no").replace("'on'", "on")
    text = text.replace("'2024-01-01'", "2024-01-01")
    assert "start: 10:00" in text and "diagnosis: no" in text
    scratch.write("role", MODELINE + "\n" + text)
    monkeypatch.chdir(scratch.root)
    item = load_entry(scratch.entries / "role.yaml")
    assert item.ok, [str(p) for p in item.problems]
    assert item.entry.day_log[0].start == "10:00"
    assert item.entry.flight_risk.diagnosis == "no"
    assert item.entry.aliases == ["2024-01-01", "on"]


def test_bom_and_crlf_are_fine(scratch, monkeypatch):
    source = (ROOT / "entries" / f"{SEED}.yaml").read_text(encoding="utf-8")
    (scratch.entries / "role.yaml").write_bytes(
        b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode("utf-8"))
    monkeypatch.chdir(scratch.root)
    item = load_entry(scratch.entries / "role.yaml")
    assert item.ok, [str(p) for p in item.problems]


def test_unknown_key_without_close_match_lists_the_fields(scratch, monkeypatch):
    data = seed_data()
    data["salary"]["zzz"] = 1
    scratch.write("role", data)
    found = problems_of(scratch, monkeypatch)
    assert len(found) == 1
    assert found[0].endswith("salary.zzz: unknown field; expected one of: label, amount, range, "
                             "currency, period, footnote, quote")


def test_salary_needs_exactly_one_figure_and_ordered_range(scratch, monkeypatch):
    data = seed_data()
    data["salary"]["range"] = {"low": 21, "high": 16}
    scratch.write("role", data)
    found = problems_of(scratch, monkeypatch)
    assert any("salary.range: low (21.0) must not exceed high (16.0)" in f for f in found), found
    del data["salary"]["amount"]
    data["salary"]["range"] = {"low": 16, "high": 21}
    data["salary"]["period"] = "hour"
    scratch.write("role", data)
    assert problems_of(scratch, monkeypatch) == []


def test_file_name_must_be_a_slug(scratch, monkeypatch):
    scratch.write("Bad Name", seed_data())
    found = problems_of(scratch, monkeypatch)
    assert found == ["entries/Bad Name.yaml:1:1: the file name must be the entry's slug: "
                     "lowercase letters, digits and hyphens, ending in .yaml (e.g. bad-name.yaml)"]


def test_duplicate_slugs(scratch, monkeypatch, tmp_path):
    scratch.write("role", seed_data())
    (scratch.entries / "role.yml").write_text((scratch.entries / "role.yaml").read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "role.yaml").write_text((scratch.entries / "role.yaml").read_text())
    found = problems_of(scratch, monkeypatch, "role", str(elsewhere / "role.yaml"))
    assert f"{elsewhere / 'role.yaml'}:1:1: slug 'role' is already used by entries/role.yaml; " \
           "rename one file" in found
    found = problems_of(scratch, monkeypatch)
    assert "entries/role.yml:1:1: slug 'role' is already used by entries/role.yaml; " \
           "rename one file" in found


def test_related_slug_must_exist_with_did_you_mean(scratch, monkeypatch):
    other = seed_data()
    other["title"] = "Enterprise Architect"
    scratch.write("enterprise-architect", other)
    data = seed_data()
    data["related"][1] = {"slug": "enterprise-architekt", "match": 91, "description": "x"}
    path = scratch.write("role", data)
    found = problems_of(scratch, monkeypatch, "role")
    line, column = next((i, text.index("enterprise-architekt") + 1)
                        for i, text in enumerate(path.read_text().splitlines(), 1)
                        if "enterprise-architekt" in text)
    assert found == [f"entries/role.yaml:{line}:{column}: related[1].slug: no entry "
                     "'enterprise-architekt' in the bestiary; did you mean "
                     "'enterprise-architect'? (use 'title' for a role that is not in it)"]
    data["related"][1]["slug"] = "enterprise-architect"
    scratch.write("role", data)
    assert problems_of(scratch, monkeypatch, "role") == []


def test_unknown_selector(scratch, monkeypatch):
    scratch.write("junior-role", seed_data())
    assert problems_of(scratch, monkeypatch, "junior-rol") == [
        "junior-rol: no such entry; did you mean 'junior-role'?"]
    assert problems_of(scratch, monkeypatch, "nosuch") == [
        "nosuch: no such entry; the entries are junior-role"]


def test_missing_modeline_is_a_warning(scratch, monkeypatch):
    scratch.write("role", yaml.safe_dump(seed_data(), allow_unicode=True))
    monkeypatch.chdir(scratch.root)
    bestiary = load_bestiary(scratch.entries)
    assert [p.severity for p in bestiary.problems] == ["warning"]
    assert bestiary.valid, "a warning does not stop an entry"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_positions_count_only_lf_crlf_and_cr_as_line_ends(scratch, monkeypatch, separator, end):
    """The YAML parser also ends lines at U+0085, U+2028 and U+2029; editors show
    them inside a line. A problem after one is placed where an editor shows it,
    whatever the file's line ends (issue 15)."""
    data = seed_data()
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    text = text.replace("title: ", f'title: "A{separator}B" #', 1)
    text = text.replace("percent: 85", "percent: eighty")
    lines = text.split("\n")
    line = next(i for i, value in enumerate(lines, 1) if "percent: eighty" in value)
    column = lines[line - 1].index("eighty") + 1
    (scratch.entries / "role.yaml").write_bytes((MODELINE + "\n" + text).replace("\n", end)
                                                 .encode("utf-8"))
    monkeypatch.chdir(scratch.root)
    problems = [p for p in load_entry(scratch.entries / "role.yaml").problems
                if p.severity == "error"]
    assert [(p.line, p.column, p.field) for p in problems] == \
        [(line + 1, column, "flight_risk.percent")]  # + 1: the modeline


@pytest.mark.parametrize("text, expected", [
    ('"foo\\nbar": 1\n', '1:1: "foo\\nbar": unknown field; expected one of:'),
    ("key ends with two colons:: 1\n", '1:1: "key ends with two colons:": unknown field;'),
    ("[flow]: block\n", "1:1: keys must be plain names; this key is a list: write a field name"),
    ("? []\n: x\n", "1:3: keys must be plain names; this key is a list: write a field name"),
    ('"": 1\n', '1:1: an empty key (""); write a field name'),
    ("!!int 3: x\n", "1:1: keys must be plain names; this key is not text: write a field name"),
    ("{\n?\n}\n", "2:1: an empty key (a ? with no name); write a field name"),
    ("title: !!set {a, b}\n", "1:8: title: tag 'tag:yaml.org,2002:set' is not allowed; entries "
     "are plain data (text, numbers, lists and mappings)"),
    ("title: *nowhere\n", "1:8: anchors (&name) and aliases (*name) are not allowed; write"),
    ("title:\n", "1:7: title: must be text, got an empty value"),
])
def test_odd_keys_give_one_clean_line(scratch, monkeypatch, text, expected):
    """Keys are quoted and escaped as JSON in the field path, parser objects never
    show, and every problem is one line `path:line:column: ...` (issue 15)."""
    import re

    (scratch.entries / "role.yaml").write_text(MODELINE + "\n" + text, encoding="utf-8")
    lines = [line for line in problems_of(scratch, monkeypatch)
             if "required field" not in line]
    for line in problems_of(scratch, monkeypatch):
        assert re.fullmatch(r"[^\n]+:\d+:\d+: [^\n]+", line), line
    line, column, rest = expected.split(":", 2)
    assert len(lines) == 1 and lines[0].startswith(
        f"entries/role.yaml:{int(line) + 1}:{column}:{rest}"), lines


@pytest.mark.parametrize("text, expected", [
    ("a: &x 1\nb: &x 2\n", ["2:4: anchors (&name) and aliases (*name) are not allowed; "
                            "write the value out in full"]),
    ("{ &a [x]: 1, *a : 2 }\n", ["1:3: keys must be plain names; this key is a list: "
                                "write a field name",
                                "1:14: anchors (&name) and aliases (*name) are not allowed; "
                                "write the value out in full"]),
    ("...\n", ["1:1: the file is empty; an entry needs at least 'title'"]),
    ("# comment\n...\n", ["1:1: the file is empty; an entry needs at least 'title'"]),
])
def test_anchors_and_empty_documents_are_named(text, expected):
    """One message per problem, at the place to change (issue 15)."""
    from printshop.load import parse_entry

    _, _, problems = parse_entry(text, "f.yaml")
    assert [str(p) for p in problems] == [f"f.yaml:{line}" for line in expected]
