"""Hostile and broken input: clear errors, nothing lost, nothing leaked.

Every text field of an entry is filled with hostile strings (the Big List of
Naughty Strings, markup, template syntax, file URLs, control and bidi
characters, combining marks, emoji sequences, a 10,000-letter word), and the
real `printshop build` prints the dossiers, cards and book from them.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import shutil
import socket
from pathlib import Path

import pikepdf
import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT, SEED, DATA, Scratch, seed_data
from pdfview import chars_outside, page_texts, qpdf_check, squash
from printshop.cli import main
from printshop.load import MAX_BYTES, MODELINE, load_bestiary

BLNS = json.loads((DATA / "blns.json").read_text(encoding="utf-8"))
SECRET = "PRINTSHOP-SECRET-7f3a9c"  # the content of a local file that must never print
LONG_WORD = "Synergy" * 1428 + "!!!!"  # 10,000 letters, no break opportunity
EXTRA = [
    '<img src="file:///etc/passwd">', "url(file:///etc/passwd)",
    "<link rel=stylesheet href='file:///etc/passwd'>", "<style>@import 'file:///etc/passwd';</style>",
    "<iframe src='http://127.0.0.1:9/'></iframe>", "<object data='file:///etc/shadow'></object>",
    "<svg><image href='file:///etc/passwd'/></svg>", "{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}",
    "{{ ''.__class__.__mro__ }}", "${7*7} #{7*7} <%= 7*7 %>", "</style></head><body>",
    "]]><!-- -->", "\u202eevil.exe\u202c right-to-left override", "\u2066isolate\u2069 \u200f",
    "zero\u200bwidth\u200cjoin\u200dhere\ufeff", "Z\u0351\u0357\u0304\u0350\u0300a\u0352\u0300lgo",
    "e" + "\u0301" * 60, "👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 👍🏽 ❤️", "\x00nul \x07bell \x1b[31mansi\x1b[0m \x7f",
    "\ud7ff\ue000\uffff", "𝕳𝖔𝖘𝖙𝖎𝖑𝖊 𝓽𝓮𝔁𝓽", "مرحبا بالعالم שלום", "テスト 测试 테스트",
]
HOSTILE = [s for s in BLNS + EXTRA if s.strip()]
#: Fields whose text has a fixed shape (times, codes, slugs): not free text.
SHAPED = {"start", "end", "currency", "period", "slug"}


def text_slots(data, path=()):
    """Paths of every free-text value in an entry."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in SHAPED:
                yield from text_slots(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from text_slots(value, (*path, index))
    elif isinstance(data, str):
        yield path


def put(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def hostile_entries(strings: list[str]) -> list[dict]:
    """Seed-shaped entries whose every text field holds the next hostile string;
    every string lands in at least one field of one entry."""
    base = seed_data()
    slots = list(text_slots(base))
    entries = []
    for start in range(0, len(strings), len(slots)):
        data = copy.deepcopy(base)
        for n, slot in enumerate(slots):
            put(data, slot, strings[(start + n) % len(strings)])
        entries.append(data)
    return entries


def dump(data: dict) -> str:
    return MODELINE + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False,
                                            width=1000)


def plain(text: str) -> bool:
    """Printable ASCII: text a PDF's text layer gives back exactly (whitespace aside)."""
    return all(32 <= ord(ch) < 127 or ch in "\t\n" for ch in text)


def bare(text: str) -> str:
    """Text without its whitespace (lines wrap anywhere) and case (some headings
    print in capitals), to find a string in a page's text."""
    return re.sub(r"\s+", "", text).casefold()


def stream_bytes(path: Path) -> bytes:
    """A PDF's bytes with every stream decoded, to search for leaked content."""
    chunks = [path.read_bytes()]
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    chunks.append(obj.read_bytes())
                except pikepdf.PdfError:
                    chunks.append(obj.read_raw_bytes())
    return b"".join(chunks)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """The real CLI builds every output from the hostile entries, with no network."""
    scratch = Scratch(tmp_path_factory.mktemp("hostile") / "project")
    entries = hostile_entries(HOSTILE)
    long = seed_data()
    for slot in text_slots(long):
        if slot[-1] in ("description", "diagnosis", "quote", "translation", "detail"):
            put(long, slot, LONG_WORD)
    entries.append(long)
    for n, data in enumerate(entries):
        data["title"] = f"Hostile role {n}: {data['title']}"[:300]
        scratch.write(f"hostile-{n}", dump(data))
    attempts = []
    real_connect = socket.socket.connect

    def connect(self, address):  # any network attempt at all, from any library
        attempts.append(address)
        if isinstance(address, tuple):
            raise OSError(errno.ENETUNREACH, "no network in tests")
        return real_connect(self, address)  # local (Unix) sockets are not the network

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", connect)
    mp.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or [])
    mp.chdir(scratch.root)
    try:
        result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q"])
    finally:
        mp.undo()
    return scratch, entries, result, attempts


def test_hostile_text_in_every_field_builds_everything(hostile_build):
    scratch, entries, result, attempts = hostile_build
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert attempts == [], "rendering tried to reach the network"
    out = scratch.root / "output"
    for n in range(len(entries)):
        pdf = (out / "dossiers" / f"hostile-{n}.pdf").read_bytes()
        assert qpdf_check(pdf) == ""
        # Within the paper, 5 mm from its edges. Not within the 18 mm margin: Pango
        # does not count the ink of stacked combining marks ("Zalgo" text, in the
        # list) in a line's width, and such a line's marks reach 16 pt past it.
        assert chars_outside(pdf, margin_pt=5 * 72 / 25.4) == [], "text runs off the page"
        for preset in ("og", "square", "portrait", "story"):
            assert (out / "cards" / f"hostile-{n}-{preset}.png").stat().st_size > 0
    book = (out / "book" / "bestiary.pdf").read_bytes()
    assert qpdf_check(book) == ""
    assert chars_outside(book, margin_pt=5 * 72 / 25.4) == []  # as above
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_hostile_text_prints_literally(hostile_build):
    """Markup, template syntax and injection strings print as the text they are."""
    scratch, entries, result, _ = hostile_build
    out = scratch.root / "output"
    texts = [bare(" ".join(page_texts((out / "dossiers" / f"hostile-{n}.pdf").read_bytes())))
             for n in range(len(entries) - 1)]
    book = bare(" ".join(page_texts((out / "book" / "bestiary.pdf").read_bytes())))
    checked = 0
    for n, data in enumerate(entries[:-1]):
        for slot in text_slots(data):
            value = data
            for key in slot:
                value = value[key]
            if plain(value) and slot != ("title",):
                assert bare(value) in texts[n], (slot, value)
                assert bare(value) in book, (slot, value)
                checked += 1
    assert checked > 250
    assert "49" not in "".join(texts).replace("2049", ""), "{{ 7*7 }} is never evaluated"


def test_a_10000_letter_word_stays_on_the_page(hostile_build):
    """The word is broken to fit the column: no text runs off the paper."""
    scratch, entries, _, _ = hostile_build
    pdf = (scratch.root / "output" / "dossiers" / f"hostile-{len(entries) - 1}.pdf").read_bytes()
    text = "".join(page_texts(pdf))
    assert text.count("Synergy") >= 1428 * 4
    assert chars_outside(pdf, margin_pt=18 * 72 / 25.4) == []


def test_control_characters_never_reach_a_terminal(scratch, monkeypatch):
    """An unknown key made of escape sequences is reported, escaped, not replayed."""
    scratch.write("ansi", MODELINE + '\n"\\e[2J\\e[31mtitle\\u202e": x\ntitle: "ok"\n')
    monkeypatch.chdir(scratch.root)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\u202e" not in result.output
    # The odd key is quoted and escaped as JSON, then made printable.
    assert 'entries/ansi.yaml:2:1: "\\u001b[2J\\u001b[31mtitle\\u202e": unknown field' \
        in result.output


# ---- Broken files: each reported in place, the others still built --------------

VALID = dump(seed_data())  # the seed, its related roles by title: it stands alone
BILLION_LAUGHS = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{chr(c)}: &{chr(c)} [*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},"
    f"*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)}]\n" for c in range(ord("b"), ord("j")))
BROKEN = {
    "prose": (b"Just a paragraph someone pasted, not an entry.\n",
              "1:1: an entry must be a mapping of fields"),
    "syntax": (b"title: [unclosed\naliases: x\n",
               "2:8: YAML syntax error: while parsing a flow sequence did not find expected "
               "',' or ']' (it started at line 1, column 8)"),
    "empty": (b"", "1:1: the file is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1:1: this is a binary file"),
    "latin": ("title: Caf\u00e9 manager\n".encode("latin-1"), "1:11: not UTF-8 (byte 0xe9)"),
    "huge": (b"title: x\n" + b"#" * MAX_BYTES, "1:1: the file is 1,000,009 bytes"),
    "types": (VALID.replace("percent: 85", "percent: eighty-five").encode(),
              "flight_risk.percent: must be a whole number, got text"),
    "missing": (MODELINE.encode() + b"\ntitle: Lonely\n", "aliases: required field is missing"),
    "range": (VALID.replace("percent: 85", "percent: 185").encode(),
              "flight_risk.percent: must be 0-100, got 185"),
    "unknown": (VALID.replace("title:", "titel:", 1).encode(),
                "titel: unknown field; did you mean 'title'?"),
    "twice": (VALID.replace("title:", "title: Once\ntitle:", 1).encode(), "duplicate key 'title'"),
    "laughs": (BILLION_LAUGHS.encode(), "anchors (&name) and aliases (*name) are not allowed"),
    "pickle": (b"title: !!python/object/apply:os.system ['touch /tmp/printshop-pwned']\n",
               "is not allowed"),
}


@pytest.fixture
def broken_project(scratch):
    for name, (data, _) in BROKEN.items():
        (scratch.entries / f"{name}.yaml").write_bytes(data)
    (scratch.entries / "dup.yml").write_text(VALID, encoding="utf-8")
    (scratch.entries / "dup.yaml").write_text(VALID, encoding="utf-8")
    # These three are fine: a byte-order mark, Windows line ends, old Mac line ends.
    bom = VALID.replace("title: Junior", "title: Bom Junior")
    (scratch.entries / "with-bom.yaml").write_bytes(b"\xef\xbb\xbf" + bom.encode())
    crlf = VALID.replace("title: Junior", "title: Crlf Junior").replace("\n", "\r\n")
    (scratch.entries / "with-crlf.yaml").write_bytes(crlf.encode())
    cr = VALID.replace("title: Junior", "title: Cr Junior").replace("\n", "\r")
    (scratch.entries / "with-cr.yaml").write_bytes(cr.encode())
    return scratch


class _Indented(yaml.SafeDumper):
    """YAML with sequences indented under their key, as hand-written YAML often is."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def tabbed(text: str) -> str:
    """The entry as someone whose editor indents with tabs would type it."""
    data = yaml.safe_load(text)
    dumped = yaml.dump(data, Dumper=_Indented, allow_unicode=True, sort_keys=False,
                       width=1000, indent=4)
    return MODELINE + "\n" + re.sub(r"(?m)^((?:    )+)",
                                    lambda m: "\t" * (len(m.group(1)) // 4), dumped)


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_tabs_in_indentation_are_refused_at_their_place_with_the_fix(scratch, monkeypatch, end):
    """YAML indents with spaces; a tab there is reported where it is, with what to do,
    whatever the line ends (nothing is rewritten behind the editor's back)."""
    text = tabbed(VALID)
    assert "\n\t" in text and "\n\t\t" in text
    first = next(i for i, line in enumerate(text.split("\n"), 1) if line.startswith("\t"))
    others = sum(line.startswith("\t") for line in text.split("\n")) - 1
    scratch.write("tabbed", text.replace("\n", end))
    monkeypatch.chdir(scratch.root)
    problems = [str(p) for p in load_bestiary(scratch.entries).problems]
    assert problems == [
        f"entries/tabbed.yaml:{first}:1: a tab in the indentation; YAML indents with spaces only: "
        "replace the tabs before the text of the line with spaces (most editors: 'Convert "
        f"Indentation to Spaces'); {others} other line(s) also start with a tab"]


def test_a_tab_after_spaces_is_placed_at_the_tab(scratch, monkeypatch):
    scratch.write("mixed", VALID.replace("\n  percent: ", "\n  \tpercent: "))
    monkeypatch.chdir(scratch.root)
    line = VALID.split("\n").index(next(x for x in VALID.split("\n") if "  percent: " in x)) + 1
    problems = [str(p) for p in load_bestiary(scratch.entries).problems]
    assert len(problems) == 1 and problems[0].startswith(
        f"entries/mixed.yaml:{line}:3: a tab in the indentation;"), problems


def test_a_tab_inside_a_block_scalar_is_content_and_kept(scratch, monkeypatch):
    """After the block's own indentation, a tab is text: it reaches the model as a tab."""
    text = re.sub(r"(?m)^title: .*$", "title: |-\n  Junior\n  \tTabbed\n  \t\ttwice", VALID, count=1)
    for name, end in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        scratch.write(f"block-{name}", text.replace("\n", end))
    monkeypatch.chdir(scratch.root)
    loaded = load_bestiary(scratch.entries).loaded
    for name in ("lf", "crlf", "cr"):
        item = loaded[f"block-{name}"]
        assert item.ok, [str(p) for p in item.problems]
        assert item.entry.title == "Junior\n\tTabbed\n\t\ttwice"


def test_every_broken_file_is_reported_and_the_rest_is_built(broken_project, monkeypatch):
    monkeypatch.chdir(broken_project.root)
    (broken_project.entries / "tabbed.yaml").write_text(
        tabbed(VALID.replace("title: Junior", "title: Tabbed Junior")), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--jobs", "2", "-q"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for name, (_, expected) in BROKEN.items():
        lines = [line for line in result.output.splitlines()
                 if line.startswith(f"entries/{name}.yaml:")]
        assert lines and re.match(rf"entries/{name}\.yaml:\d+:\d+: ", lines[0]), (name, lines)
        assert any(expected in line for line in lines), (name, lines)
    assert re.search(r"entries/dup\.y(a)?ml:1:1: slug 'dup' is already used by", result.output)
    assert not Path("/tmp/printshop-pwned").exists(), "a Python tag was run"
    out = broken_project.root / "output"
    assert re.search(r"(?m)^entries/tabbed\.yaml:\d+:1: a tab in the indentation;", result.output)
    for good in ("with-bom", "with-crlf", "with-cr"):
        assert (out / "dossiers" / f"{good}.pdf").is_file(), result.output
        assert (out / "cards" / f"{good}-og.png").is_file()
    assert not (out / "dossiers" / "range.pdf").exists()
    book = squash(" ".join(page_texts((out / "book" / "bestiary.pdf").read_bytes())))
    for title in ("Bom Junior", "Crlf Junior", "Cr Junior"):
        assert title in book
    assert re.search(r"the book leaves out \d+ entries with errors", result.output)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_alias_bomb_is_refused_quickly(scratch, monkeypatch):
    import time

    scratch.write("laughs", BILLION_LAUGHS.replace('"lol"', '"' + "lol" * 300 + '"'))
    monkeypatch.chdir(scratch.root)
    start = time.perf_counter()
    problems = load_bestiary(scratch.entries).problems
    assert time.perf_counter() - start < 5  # 10^9 strings if expanded; refused unexpanded
    assert len([p for p in problems if "aliases" in p.message]) >= 8


def test_a_link_out_of_the_entries_folder_is_not_read(scratch, monkeypatch, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text(VALID.replace("title: Junior", f"title: {SECRET}"), encoding="utf-8")
    (scratch.entries / "linked.yaml").symlink_to(secret)
    monkeypatch.chdir(scratch.root)
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q"])
    assert result.exit_code == 1
    assert "entries/linked.yaml:1:1: this is a link to a file outside the entries folder" \
        in result.output
    assert SECRET not in result.output
    assert not (scratch.root / "output" / "dossiers" / "linked.pdf").exists()


# ---- Nothing leaked --------------------------------------------------------------

def test_no_output_contains_a_local_file(scratch, monkeypatch, tmp_path):
    """Entries that point at a local file in every way markup can: the file's content
    is in no output, and the renderer asked only for layouts and fonts."""
    secret = tmp_path / "secret.css"
    secret.write_text(f"/* {SECRET} */ body {{ background: red }} .{SECRET} {{}}\n")
    (tmp_path / "secret.svg").write_text(f"<svg xmlns='http://www.w3.org/2000/svg'>"
                                         f"<text>{SECRET}</text></svg>")
    uri, svg = secret.as_uri(), (tmp_path / "secret.svg").as_uri()
    pointers = [f'<img src="{svg}">', f"url({uri})", f"<link rel=stylesheet href='{uri}'>",
                f"<style>@import '{uri}';</style>", f"<object data='{svg}'></object>",
                f"<iframe src='{uri}'></iframe>", f"<embed src='{svg}'>", "../" * 9 + str(secret),
                f"<svg><image href='{svg}'/></svg>", f'<a href="{uri}">x</a>',
                f"@font-face {{ src: url({uri}) }}", str(secret)]
    data = hostile_entries(pointers)[0]
    scratch.write("pointer", dump(data))
    monkeypatch.chdir(scratch.root)
    from printshop.dossier import Dossiers
    from printshop.config import load_project

    project = load_project(scratch.root)
    renderer = Dossiers(project)
    bestiary = load_bestiary(project.entries_dir)
    pdf = renderer.pdf(bestiary.loaded["pointer"], bestiary)
    requests = renderer.fetcher.requests
    allowed = (project.layouts_dir.resolve().as_uri(), project.fonts_dir.resolve().as_uri())
    assert requests and all(url.startswith(allowed) for url in requests), requests
    assert renderer.fetcher.refused == []
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    outputs = [p for p in (scratch.root / "output").rglob("*") if p.is_file()]
    assert len(outputs) >= 6
    for path in outputs:
        data = stream_bytes(path) if path.suffix == ".pdf" else path.read_bytes()
        assert SECRET.encode() not in data, path
    assert SECRET.encode() not in pdf
    text = squash(" ".join(page_texts(pdf)))
    assert squash(f"url({uri})") in text, "the pointer itself prints, as text"


# ---- Nothing lost ------------------------------------------------------------------

@pytest.fixture
def built(scratch, monkeypatch):
    scratch.write(SEED, seed_data())
    monkeypatch.chdir(scratch.root)
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q", "--only", "dossiers,cards"])
    assert result.exit_code == 0, result.output
    out = scratch.root / "output"
    return scratch, {p: p.read_bytes() for p in out.rglob("*") if p.is_file()
                     and ".printshop" not in p.parts}


@pytest.mark.parametrize("failure, message", [
    (errno.EACCES, "Permission denied"),
    (errno.EROFS, "Read-only file system"),
    (errno.ENOSPC, "No space left on device"),
])
def test_a_failing_disk_loses_nothing(built, monkeypatch, failure, message):
    """A read-only folder refuses the temporary file; a full disk fails half-way
    through writing it. Either way: a clear error, the old files intact, no
    temporary file left, and the next build redoes what failed."""
    scratch, before = built
    data = seed_data()
    data["title"] = "Changed Junior"
    scratch.write(SEED, data)
    import printshop.output as output

    if failure == errno.ENOSPC:
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            def __getattr__(self, name):
                return getattr(self.handle, name)

        monkeypatch.setattr(output.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    else:
        def refuse(*args, **kwargs):
            raise OSError(failure, os.strerror(failure))

        monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q", "--only", "dossiers,cards"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert re.search(rf"cannot write .*{re.escape(message)}", result.output), result.output
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} changed"
    out = scratch.root / "output"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    monkeypatch.undo()
    monkeypatch.chdir(scratch.root)
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q", "--only", "dossiers,cards"])
    assert result.exit_code == 0, result.output
    assert "Changed Junior" in squash(" ".join(page_texts(
        (out / "dossiers" / f"{SEED}.pdf").read_bytes())))


@pytest.mark.parametrize("missing, message", [
    ("layouts/record.css", "layout file missing: "),
    ("layouts/_record.html.j2", "layout file missing: "),
    ("layouts/cards.yaml", "cards.yaml"),
    ("fonts/ibm-plex-sans/IBMPlexSans-Regular.ttf", "IBMPlexSans-Regular.ttf"),
    ("fonts/oswald/Oswald-SemiBold.ttf", "Oswald-SemiBold.ttf"),
])
def test_a_missing_layout_or_font_file_is_a_clear_error(scratch, monkeypatch, missing, message):
    shutil.copytree(ROOT / "layouts", scratch.root / "layouts")
    shutil.copytree(ROOT / "fonts", scratch.root / "fonts")
    (scratch.root / missing).unlink()
    scratch.write(SEED, seed_data())
    monkeypatch.chdir(scratch.root)
    result = CliRunner().invoke(main, ["build", "--jobs", "1", "-q"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert message in result.output, result.output
    assert Path(missing).name in result.output


# ---- Fuzzing -----------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: Any Unicode a YAML file can carry (YAML cannot hold surrogates or most C0 controls
#: as raw characters; escaped they are covered by the hostile list above).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80).filter(
    lambda s: s.strip())


@st.composite
def valid_entries(draw):
    data = seed_data()
    for slot in text_slots(data):
        if draw(st.booleans()):
            put(data, slot, draw(TEXT))
    data["flight_risk"]["percent"] = draw(st.integers(0, 100))
    for item in data["related"]:
        item["match"] = draw(st.integers(0, 100))
    if draw(st.booleans()):
        data["salary"] = {"amount": draw(st.floats(1, 9e8)), "currency": "EUR", "period": "year"}
    return data


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(data=valid_entries())
def test_fuzz_valid_entries_render(scratch, renderer_for_fuzz, data):
    scratch.write("fuzzed", dump(data))
    bestiary = load_bestiary(scratch.entries)
    item = bestiary.loaded["fuzzed"]
    assert item.ok, [str(p) for p in item.problems]
    dossiers, cards = renderer_for_fuzz
    pdf = dossiers.pdf(item, bestiary)
    assert pdf.startswith(b"%PDF-") and qpdf_check(pdf) == ""
    for preset in cards.presets:
        card = cards.render(item, preset)
        assert card.image.size == tuple(cards.presets[preset].size)


@pytest.fixture(scope="module")
def renderer_for_fuzz():
    from printshop.cards import Cards
    from printshop.config import load_project
    from printshop.dossier import Dossiers

    project = load_project(ROOT)
    return Dossiers(project), Cards(project)


def mutations():
    """Ways to break a valid entry: a field dropped, a value of the wrong type, a
    number out of range, a key misspelt, raw bytes spliced in."""
    junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(max_size=5), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    return st.tuples(st.sampled_from(["drop", "replace", "rename", "bytes"]), junk,
                     st.integers(0, 10_000), st.binary(min_size=1, max_size=40))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=mutations())
def test_fuzz_broken_entries_give_clean_errors(scratch, monkeypatch, mutation):
    kind, junk, where, raw = mutation
    data = seed_data()
    paths = [p for p in all_paths(data) if p]
    path = paths[where % len(paths)]
    if kind == "bytes":
        text = dump(data).encode()
        cut = where % len(text)
        payload = text[:cut] + raw + text[cut:]
    else:
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if kind == "drop":
            del parent[path[-1]]
        elif kind == "replace":
            parent[path[-1]] = junk
        elif isinstance(parent, dict):
            parent[str(path[-1]) + "x"] = parent.pop(path[-1])
        else:
            parent[path[-1]] = {"unexpected": junk}
        payload = dump(data).encode()
    (scratch.entries / "fuzzed.yaml").write_bytes(payload)
    monkeypatch.chdir(scratch.root)
    bestiary = load_bestiary(scratch.entries)  # must not raise, whatever the bytes
    item = bestiary.loaded["fuzzed"]
    for problem in item.problems:
        assert re.match(r"entries/fuzzed\.yaml:\d+:\d+: ", str(problem)), str(problem)
        assert problem.line >= 1 and problem.column >= 1
    if not item.ok:
        assert item.errors, "an entry that cannot print says why"


def all_paths(data, path=()):
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from all_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from all_paths(value, (*path, index))
