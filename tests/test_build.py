"""`printshop build`: incremental, parallel, crash-safe, and broken entries isolated."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from conftest import ROOT
from printshop.cli import main

SLUGS = sorted(p.stem for p in (ROOT / "entries").glob("*.yaml"))


@pytest.fixture
def copy(tmp_path):
    """The bundled project, copied: entries and config (layouts and fonts from the repo)."""
    root = tmp_path / "p"
    shutil.copytree(ROOT / "entries", root / "entries")
    shutil.copy(ROOT / "printshop.toml", root)
    return root


def build(root, *args):
    result = CliRunner().invoke(main, ["--project", str(root), "build", *args])
    return result.exit_code, result.output


def outputs(root):
    out = root / "output"
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and ".printshop" not in p.parts}


def table(output):
    """stage -> (built, up to date, failed) from the summary."""
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in ("dossiers", "cards", "book") and len(parts) == 5:
            rows[parts[0]] = tuple(int(v) for v in parts[1:4])
    return rows


def test_first_build_then_nothing_then_one_entry(copy):
    code, output = build(copy)
    assert code == 0, output
    n = len(SLUGS)
    assert table(output) == {"dossiers": (n, 0, 0), "cards": (n, 0, 0), "book": (1, 0, 0)}
    first = outputs(copy)
    assert len(first) == n + n * 6 + 1

    code, output = build(copy)
    assert code == 0 and "everything is up to date" in output
    assert table(output) == {"dossiers": (0, n, 0), "cards": (0, n, 0), "book": (0, 1, 0)}
    assert outputs(copy) == first, "a no-change build rewrites nothing"

    # A change to SDET's diagnosis: its dossier, its cards and the book.
    path = copy / "entries" / "sdet.yaml"
    path.write_text(path.read_text().replace("diagnosis: >-", "diagnosis: >-\n    Newly: "))
    code, output = build(copy)
    assert code == 0, output
    assert table(output) == {"dossiers": (1, n - 1, 0), "cards": (1, n - 1, 0),
                             "book": (1, 0, 0)}
    changed = {k for k, v in outputs(copy).items() if first.get(k) != v}
    assert changed == {"dossiers/sdet.pdf", "book/bestiary.pdf",
                       *(f"cards/sdet{suffix}" for suffix in (
                           "-og.png", "-square.png", "-portrait.png", "-story.png", ".alt.txt",
                           ".meta.html"))}

    # A new title also changes the dossiers that name SDET among their related roles.
    second = outputs(copy)
    path.write_text(path.read_text().replace("title: SDET", "title: SDET (Senior)"))
    code, output = build(copy)
    pointing = [s for s in SLUGS if s != "sdet" and "slug: sdet" in
                (copy / "entries" / f"{s}.yaml").read_text()]
    assert pointing and table(output)["dossiers"] == (1 + len(pointing), n - 1 - len(pointing), 0)
    changed = {k for k, v in outputs(copy).items() if second.get(k) != v}
    assert {f"dossiers/{s}.pdf" for s in pointing} <= changed

    code, output = build(copy, "--force", "--only", "dossiers")
    assert table(output) == {"dossiers": (n, 0, 0)}


def test_parallel_and_serial_builds_make_the_same_bytes(copy, tmp_path):
    other = tmp_path / "q"
    shutil.copytree(copy, other)
    assert build(copy, "--jobs", "1", "--only", "dossiers,cards")[0] == 0
    assert build(other, "--jobs", "2", "--only", "dossiers,cards")[0] == 0
    for relative in outputs(copy):
        assert (copy / "output" / relative).read_bytes() == \
            (other / "output" / relative).read_bytes(), relative


def test_broken_entry_is_reported_skipped_and_the_rest_built(copy):
    (copy / "entries" / "broken-role.yaml").write_text("title: [oops\n")
    stray = copy / "output" / "dossiers" / "notes.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("mine")
    code, output = build(copy)
    assert code == 1
    assert "entries/broken-role.yaml:2:1: YAML syntax error" in output.replace(str(copy) + "/", "")
    assert "the book leaves out 1 entry with errors" in output
    assert table(output)["dossiers"] == (len(SLUGS), 0, 0)
    assert (copy / "output" / "book" / "bestiary.pdf").exists()
    assert stray.read_text() == "mine", "files printshop did not write are never touched"
    assert not (copy / "output" / "dossiers" / "broken-role.pdf").exists()


def test_strict_means_warnings_fail_the_build_that_still_runs(copy):
    """--strict as in MkDocs (and in every printshop command): the work is done as
    usual; warnings count as errors, so the command fails."""
    text = (copy / "entries" / f"{SLUGS[0]}.yaml").read_text(encoding="utf-8")
    no_modeline = text.split("\n", 1)[1].replace("title: ", "title: Unlined ", 1)
    (copy / "entries" / "unlined-role.yaml").write_text(no_modeline, encoding="utf-8")
    code, output = build(copy, "--only", "dossiers")
    assert code == 0, output
    assert "entries/unlined-role.yaml:1:1: warning: first line should be" in output
    for path in (copy / "output" / "dossiers").glob("*.pdf"):
        path.unlink()
    code, output = build(copy, "--only", "dossiers", "--strict")
    assert code == 1, output
    assert table(output)["dossiers"] == (len(SLUGS) + 1, 0, 0)  # everything built
    assert output.rstrip().splitlines()[-1] == \
        "Error: 1 problem in 1 file (--strict: warnings count)"
    assert (copy / "output" / "dossiers" / "unlined-role.pdf").exists()


def test_a_failed_write_is_not_recorded_and_is_redone(copy, monkeypatch):
    import printshop.build.commands as build_module

    real = build_module.write_atomic

    def flaky(path, data):
        if path.name == "sdet.pdf":
            raise build_module.PrintshopError(f"cannot write {path}: No space left on device")
        real(path, data)

    monkeypatch.setattr(build_module, "write_atomic", flaky)
    code, output = build(copy, "--jobs", "1", "--only", "dossiers")
    assert code == 1 and "No space left on device" in output
    manifest = json.loads((copy / "output" / ".printshop" / "manifest.json").read_text())
    assert "dossiers/sdet.pdf" not in manifest["outputs"]
    monkeypatch.setattr(build_module, "write_atomic", real)
    code, output = build(copy, "--jobs", "1", "--only", "dossiers")
    assert code == 0 and table(output)["dossiers"] == (1, len(SLUGS) - 1, 0)


def test_a_second_build_waits_for_the_first(copy):
    lock = copy / "output" / ".printshop" / "lock"
    lock.parent.mkdir(parents=True)
    handle = open(lock, "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)
    result = {}
    thread = threading.Thread(target=lambda: result.update(
        out=build(copy, "--only", "dossiers", "--jobs", "1")))
    thread.start()
    time.sleep(1.0)
    assert thread.is_alive(), "the second build waits while the lock is held"
    assert not (copy / "output" / "dossiers").exists()
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
    thread.join(60)
    code, output = result["out"]
    assert code == 0 and "another build is writing to" in output


def test_a_killed_build_leaves_only_whole_files(copy):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "printshop", "--project", str(copy),
                                "build", "--jobs", "2"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list((copy / "output").rglob("*.pdf")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    import pypdfium2 as pdfium

    for pdf in (copy / "output").rglob("*.pdf"):
        pdfium.PdfDocument(pdf.read_bytes()).close()  # opens: a whole file
    # Wherever the kill landed, a temporary file may be left in any folder printshop
    # writes: plant one in each, as a kill at that moment would have left it.
    for sub in ("dossiers", "cards", "book", ".printshop", ".printshop/parts"):
        (copy / "output" / sub).mkdir(parents=True, exist_ok=True)
        (copy / "output" / sub / ".planted.pdf.k1ll3d.tmp").write_bytes(b"%PDF-1.7 half")
    code, output = build(copy)
    assert code == 0, output
    leftovers = [p.name for p in (copy / "output").rglob(".*.tmp")]
    assert leftovers == [], "the next build clears the temporary files a killed one left"
    for pdf in (copy / "output").rglob("*.pdf"):
        pdfium.PdfDocument(pdf.read_bytes()).close()


def test_only_rejects_unknown_stages(copy):
    code, output = build(copy, "--only", "dossiers,posters")
    assert code == 2 and "posters" in output


def test_a_missing_glyph_is_said_once_per_field_in_a_whole_build(copy):
    """Characters no bundled font has: one warning, at the field, from the check at
    load; not again by each card preset and the dossier (it used to be said five
    times per entry). `check` shows it; `check --strict` fails on it."""
    path = copy / "entries" / f"{SLUGS[0]}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\ntitle: ", "\ntitle: Pharaoh 𓀀 ", 1), encoding="utf-8")
    code, output = build(copy)
    assert code == 0, output
    said = [line for line in output.splitlines() if "no bundled font" in line]
    assert said == [f"{path}:2:8: title: warning: no bundled font has '𓀀' "
                    "(U+13000); it prints as a box"], output
    assert table(output)["cards"][0] == len(SLUGS)  # the cards were drawn all the same
    check = CliRunner().invoke(main, ["--project", str(copy), "check"])
    assert check.exit_code == 0 and "no bundled font has '𓀀'" in check.output
    strict = CliRunner().invoke(main, ["--project", str(copy), "check", "--strict"])
    assert strict.exit_code == 1
    assert strict.output.rstrip().splitlines()[-1] == \
        "Error: 1 problem in 1 file (--strict: warnings count)"
