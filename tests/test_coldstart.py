"""A cold process's shortcuts: font facts and compiled layouts cached on disk, and
commands that import only what they use. Each cache must give what computing
gives, notice a change, and never fail a command when it cannot be written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from printshop import fontfacts
from printshop.resources import font_files

from conftest import ROOT, SEED

FONTS = ROOT / "fonts"
PLEX = FONTS / "ibm-plex-sans" / "IBMPlexSans-Regular.ttf"
ARABIC = FONTS / "noto-sans-scripts" / "NotoSansArabic-Regular.ttf"
TWEMOJI = FONTS / "twemoji" / "TwemojiMozilla-printshop.ttf"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder of its own; nothing remembered in this process."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _forget()
    yield folder / "printshop" / fontfacts.FOLDER
    _forget()


def _forget() -> None:
    fontfacts._MEMO.clear()
    fontfacts._own_folders.cache_clear()


@pytest.fixture
def parses(monkeypatch):
    """The fonts parsed (not found in the cache), in order."""
    seen = []
    real = fontfacts._parse

    def counting(data):
        seen.append(len(data))
        return real(data)

    monkeypatch.setattr(fontfacts, "_parse", counting)
    return seen


def _read_directly(path: Path):
    """The facts as printshop read them before the cache (text.coverage,
    fonts.family_name, text.is_colour)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        names = font["name"]
        return (frozenset(font.getBestCmap()),
                str(names.getDebugName(16) or names.getDebugName(1)), "COLR" in font)


@pytest.mark.parametrize("path", [PLEX, ARABIC, TWEMOJI,
                                  FONTS / "droid-sans-fallback" / "DroidSansFallbackFull.ttf",
                                  FONTS / "nanum-square" / "NanumSquareR.ttf"],
                         ids=lambda p: p.name)
def test_cached_facts_are_the_fonts_own(cache, path):
    computed = fontfacts.facts(path)
    _forget()
    cached = fontfacts.facts(path)  # from the disk this time
    for facts in (computed, cached):
        assert (facts.coverage, facts.family, facts.colour) == _read_directly(path)
    assert all(facts.covers(cp) for cp in computed.coverage)
    assert not any(computed.covers(cp) for cp in (0x10FFFF, max(computed.coverage) + 1))


def test_a_second_process_parses_no_font(cache, parses):
    for path in font_files(FONTS):
        fontfacts.facts(path)
    assert len(parses) == len(font_files(FONTS))
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == \
        ["file"] * len(parses) + ["font"] * len(parses)
    _forget()
    parses.clear()
    for path in font_files(FONTS):
        fontfacts.facts(path)
    assert parses == []


def test_a_changed_font_is_read_again(cache, tmp_path, parses):
    font = tmp_path / "font.ttf"
    shutil.copyfile(PLEX, font)
    assert fontfacts.family_name(font) == "IBM Plex Sans"
    shutil.copyfile(ARABIC, font)  # rewritten in place: same path, same inode
    assert fontfacts.family_name(font) == "Noto Sans Arabic"  # this process notices
    _forget()
    assert fontfacts.family_name(font) == "Noto Sans Arabic"  # and the next one
    assert fontfacts.coverage(font) == _read_directly(ARABIC)[0]
    assert len(parses) == 2


def test_a_change_that_keeps_size_and_mtime_is_noticed(cache, tmp_path, parses, monkeypatch):
    """Only the ctime tells: one byte of the head table's checksum changed in place,
    the modification time put back."""
    from fontTools.ttLib import TTFont

    monkeypatch.setattr(fontfacts, "RACY_NS", 0)  # keep the new file by identity too
    font = tmp_path / "font.ttf"
    shutil.copyfile(PLEX, font)
    time.sleep(0.05)  # past the file's timestamp tick
    fontfacts.facts(font)
    assert any(p.name.startswith("file-") for p in cache.iterdir())
    before = os.stat(font)
    with TTFont(str(font), lazy=True) as parsed:
        offset = parsed.reader.tables["head"].offset + 8  # checkSumAdjustment
    with open(font, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(font, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(font).st_size == before.st_size
    _forget()
    fontfacts.facts(font)
    assert len(parses) == 2  # a new content hash: parsed again, not taken from the cache


def test_the_same_content_elsewhere_is_found_by_its_hash(cache, tmp_path, parses):
    fontfacts.facts(PLEX)
    copy = tmp_path / "copy.ttf"
    shutil.copyfile(PLEX, copy)
    assert fontfacts.family_name(copy) == "IBM Plex Sans"
    assert len(parses) == 1


def test_a_damaged_record_is_computed_again(cache, parses):
    fontfacts.facts(PLEX)
    for record in cache.iterdir():
        record.write_text('{"format": 2, "starts": [1, "x"]', encoding="utf-8")
    _forget()
    assert fontfacts.coverage(PLEX) == _read_directly(PLEX)[0]
    assert len(parses) == 2


def test_an_unwritable_cache_only_costs_the_parse(tmp_path, monkeypatch, parses):
    """Both cache roots under a plain file: nothing can be made there (even as root)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    _forget()
    try:
        assert fontfacts.facts(PLEX) == fontfacts.facts(PLEX)
        assert fontfacts.family_name(PLEX) == "IBM Plex Sans"
        _forget()
        assert fontfacts.family_name(PLEX) == "IBM Plex Sans"
        assert len(parses) == 2  # nothing kept, nothing failed
    finally:
        _forget()


def test_a_read_only_cache_is_read(cache, parses, monkeypatch):
    fontfacts.facts(PLEX)
    _forget()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    fontfacts.facts(ARABIC)  # computed, not written: no error
    assert fontfacts.family_name(PLEX) == "IBM Plex Sans"
    assert len(parses) == 2
    assert not any(p.name.startswith(".") for p in cache.iterdir())  # no temporaries left


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="needs root to give the folder away")
def test_a_cache_folder_of_someone_else_is_not_trusted(cache, parses):
    fontfacts.facts(PLEX)
    os.chown(cache, 12345, 12345)
    _forget()
    fontfacts.facts(PLEX)
    assert len(parses) == 2


# ---- The dossier's coverage check, through the cached facts ----

def _all_fonts() -> tuple[str, ...]:
    hidden = {TWEMOJI}  # as the dossier: fonts fontconfig never sees
    return tuple(str(p) for p in font_files(FONTS) if p not in hidden)


SAMPLES = [
    "plain ASCII, and é, ß, Ω, Ж", "عربي עברית हिन्दी বাংলা தமிழ் ไทย", "漢字 かな 한국어",
    "👩🏽‍💻 🏳️‍🌈 1️⃣ ©️ 🇫🇷 ☺︎", "𓀀 𝐀 \U0010FFFD \uE000", "x\u0301\u0302\u0303 ก\u0e48\u0e49",
    "\u200d\ufe0f\u20e3 \u200b\u2060\u00ad \x07 \U000E0041", "\u0378 \ufffe a\u0378",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_uncovered_finds_what_the_card_font_chain_finds(text):
    from printshop.text import FontChain

    chain = FontChain(_all_fonts())
    assert fontfacts.uncovered(text, _all_fonts()) == list(dict.fromkeys(chain.uncovered(text)))


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_uncovered_agrees_with_the_font_chain_on_any_text(text):
    from printshop.text import FontChain

    chain = FontChain(_all_fonts())
    assert fontfacts.uncovered(text, _all_fonts()) == list(dict.fromkeys(chain.uncovered(text)))


def test_the_check_at_load_warns_at_the_field_without_opening_a_font(scratch, monkeypatch):
    from printshop.build import check
    from conftest import seed_data

    data = seed_data()
    data["title"] = "Pharaoh 𓀀 of 𓀀 and 𝐀"
    scratch.write("pharaoh", data)
    scratch.write("plain", seed_data())
    for path in _all_fonts():
        fontfacts.facts(path)  # in the cache (and this process) already

    def refuse(data):
        raise AssertionError("a font was parsed")

    monkeypatch.setattr(fontfacts, "_parse", refuse)
    monkeypatch.chdir(scratch.root)
    problems = [str(p) for p in check(scratch.project).problems]
    assert problems == ["entries/pharaoh.yaml:2:8: title: warning: no bundled font has '𓀀' "
                        "(U+13000), '𝐀' (U+1D400); they print as boxes"]


# ---- Compiled layouts ----

def test_compiled_layouts_render_what_compiling_renders(project, tmp_path, monkeypatch):
    import jinja2

    from printshop.press import LayoutCache, layout_environment

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "page.j2").write_text("{% for x in xs %}<{{ x }}>{% endfor %}\n", "utf-8")
    env = layout_environment(layouts)
    assert isinstance(env.bytecode_cache, LayoutCache)
    first = env.get_template("page.j2").render(xs=["a&b", "c"])
    assert list((tmp_path / "cache" / "printshop" / "layouts").glob("*.jinja"))
    again = layout_environment(layouts).get_template("page.j2").render(xs=["a&b", "c"])
    assert first == again == "<a&amp;b><c>"
    (layouts / "page.j2").write_text("{% for x in xs %}[{{ x }}]{% endfor %}\n", "utf-8")
    assert layout_environment(layouts).get_template("page.j2").render(xs=["c"]) == "[c]"
    other = jinja2.Environment(loader=jinja2.FileSystemLoader(layouts), autoescape=False)
    assert LayoutCache.for_environment(other).fingerprint != env.bytecode_cache.fingerprint


def test_no_layout_cache_where_none_can_be_kept(tmp_path, monkeypatch):
    from printshop.press import layout_environment

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "page.j2").write_text("{{ 1 + 1 }}", "utf-8")
    env = layout_environment(layouts)
    assert env.bytecode_cache is None
    assert env.get_template("page.j2").render() == "2"


def test_a_layout_cache_others_may_write_is_not_used(tmp_path, monkeypatch):
    from printshop.press import layout_environment

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "printshop" / "layouts"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "cache"))  # the same, refused too
    env = layout_environment(tmp_path)
    assert env.bytecode_cache is None or not env.bytecode_cache.directory.startswith(
        str(folder))


# ---- What a command imports ----

def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(*sys.modules)"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return set(out.split())


def test_help_loads_no_renderer_and_no_validation():
    modules = _modules_after("from click.testing import CliRunner\n"
                             "from printshop.cli import main\n"
                             "assert CliRunner().invoke(main, ['--help']).exit_code == 0")
    assert not modules & {"weasyprint", "pydantic", "PIL", "jinja2", "yaml", "fontTools"}


def test_a_dossier_loads_no_card_renderer_and_no_pool(tmp_path):
    modules = _modules_after(
        "from click.testing import CliRunner\n"
        "from printshop.cli import main\n"
        f"r = CliRunner().invoke(main, ['dossier', {SEED!r}, '--output', {str(tmp_path)!r}])\n"
        "assert r.exit_code == 0, r.output")
    assert (tmp_path / "dossiers" / f"{SEED}.pdf").is_file()
    assert not modules & {"printshop.text", "printshop.cards", "concurrent.futures.process"}


# WeasyPrint's C library lookups (`printshop.libraries`): each run in a fresh process,
# since a process imports WeasyPrint once.

LOOKUP = """
import ctypes.util, json, sys
original = ctypes.util.find_library
asked = []
def spy(name):
    asked.append(name)
    if {forbid}:
        raise AssertionError("find_library called for " + name)
    return original(name)
ctypes.util.find_library = spy
from printshop.libraries import import_weasyprint
import_weasyprint()
assert ctypes.util.find_library is spy, "find_library put back"
import weasyprint.text.ffi as ffi
assert ffi.pango is not None and ffi.harfbuzz is not None
print(json.dumps(asked))
"""


def _lookups(cache_home: Path, forbid: bool = False, env: dict | None = None) -> list[str]:
    (cache_home / "tmp").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", LOOKUP.format(forbid=forbid)],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache_home),
                               "TMPDIR": str(cache_home / "tmp"), **(env or {})})
    assert done.returncode == 0, done.stderr
    return __import__("json").loads(done.stdout.strip().splitlines()[-1])


def test_library_lookups_are_remembered_and_give_the_same_answers(tmp_path):
    import json

    first = _lookups(tmp_path)
    assert len(first) >= 5  # WeasyPrint asks for every name of every platform
    remembered = tmp_path / "printshop" / "libraries" / "find_library.json"
    answers = json.loads(remembered.read_text())["answers"]
    import ctypes.util

    assert answers == {name: ctypes.util.find_library(name) for name in first}
    assert _lookups(tmp_path, forbid=True) == [], "the second process asks nothing"


def test_library_lookups_run_again_when_what_they_depend_on_changes(tmp_path):
    _lookups(tmp_path)
    changed = _lookups(tmp_path, env={"LD_LIBRARY_PATH": str(tmp_path)})
    assert changed, "another LD_LIBRARY_PATH: asked again"


def test_a_damaged_or_foreign_library_cache_is_not_used(tmp_path):
    remembered = tmp_path / "printshop" / "libraries" / "find_library.json"
    remembered.parent.mkdir(parents=True, mode=0o700)
    remembered.write_text("{not json")
    assert _lookups(tmp_path), "damaged: asked again"
    remembered.parent.chmod(0o777)  # anyone may write: its answers could load any code
    try:
        remembered.write_text('{"key": "x", "answers": {}}')
        assert _lookups(tmp_path)
        assert remembered.read_text() == '{"key": "x", "answers": {}}', "left alone"
    finally:
        remembered.parent.chmod(0o700)
