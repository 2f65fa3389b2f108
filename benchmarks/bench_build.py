"""Benchmark: `printshop build` on N synthetic entries (default 200), 2-core figures.

    .venv/bin/python benchmarks/bench_build.py [--entries 200]

Every case runs as a real command in a fresh process tree; its peak memory is
the largest total resident memory of the whole tree (parent and workers),
sampled from /proc every 0.1 s. Baselines are measured in the same run: the
single-pass book (`printshop book --single-pass`) and `--jobs 1`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(group: int) -> int:
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # process group id
                total += int(fields[21]) * PAGE  # resident pages
        except (OSError, IndexError, ValueError):
            continue
    return total


def run(args: list[str], project: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of the whole process tree."""
    command = [sys.executable, "-m", "printshop", "--project", str(project), *args]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{process.stderr.read().decode()}")
    return seconds, peak / 2**20


def pages(path: Path) -> int:
    import pikepdf

    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--scaling", metavar="N,N,...",
                        help="only the book's peak memory and time at these entry counts, "
                             "parallel against single pass")
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if arguments.scaling:
        return scaling([int(n) for n in arguments.scaling.split(",")])
    count = arguments.entries
    from printshop.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project)
        write_synthetic(project / "entries", count, seed=0)
        book = project / "output" / "book" / "bestiary.pdf"
        rows = []

        def case(name, args, clear_parts=True):
            if clear_parts:
                shutil.rmtree(project / "output" / ".printshop", ignore_errors=True)
            seconds, peak = run(args, project)
            rows.append((name, seconds, peak))
            return seconds, peak

        single, single_peak = case("book, single pass", ["book", "--single-pass"])
        single_size = book.stat().st_size
        n_pages = pages(book)
        serial, _ = case("book, parallel, --jobs 1", ["book", "--jobs", "1"])
        parallel, parallel_peak = case("book, parallel, --jobs 2", ["book", "--jobs", "2"])
        parallel_size = book.stat().st_size
        dc1, _ = case("dossiers+cards, --jobs 1",
                      ["build", "--only", "dossiers,cards", "--force", "--jobs", "1", "-q"])
        dc2, _ = case("dossiers+cards, --jobs 2",
                      ["build", "--only", "dossiers,cards", "--force", "--jobs", "2", "-q"])
        full, full_peak = case("build, everything, --jobs 2", ["build", "--force", "-q"])
        again, _ = case("build again, nothing changed", ["build", "-q"], clear_parts=False)

        print(f"{count} synthetic entries, {n_pages} book pages, {os.cpu_count()} cores")
        print(f"{'case':32} {'seconds':>8} {'peak MB':>8}")
        for name, seconds, peak in rows:
            print(f"{name:32} {seconds:8.2f} {peak:8.0f}")
        print(f"book: parallel --jobs 2 / single pass = {parallel / single:.2f} (target <= 0.6); "
              f"{n_pages / parallel:.1f} pages/s against {n_pages / single:.1f}")
        print(f"book: parallel --jobs 2 / parallel --jobs 1 = {parallel / serial:.2f}")
        print(f"book peak memory: parallel {parallel_peak:.0f} MB / single pass "
              f"{single_peak:.0f} MB = {parallel_peak / single_peak:.2f} (target <= 0.5)")
        print(f"book size: parallel {parallel_size / 1e6:.2f} MB / single pass "
              f"{single_size / 1e6:.2f} MB = {parallel_size / single_size:.2f} (target <= 1.25)")
        print(f"dossiers+cards: --jobs 1 / --jobs 2 = {dc1 / dc2:.2f}x faster (target >= 1.7)")
        print(f"no-change rebuild: {again:.2f} s (target < 1 s); full build peak {full_peak:.0f} MB")


def scaling(counts: list[int]) -> None:
    """How the book's peak memory grows with the number of entries."""
    from printshop.synthetic import write_synthetic

    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            project = Path(folder)
            shutil.copy(ROOT / "printshop.toml", project)
            write_synthetic(project / "entries", count, seed=0)
            book = project / "output" / "book" / "bestiary.pdf"
            single, single_peak = run(["book", "--single-pass"], project)
            single_size = book.stat().st_size
            parallel, parallel_peak = run(["book", "--jobs", "2"], project)
            rows.append((count, pages(book), single, single_peak, parallel, parallel_peak,
                         book.stat().st_size / single_size))
    print(f"{'entries':>7} {'pages':>6} {'single s':>9} {'single MB':>10} {'parallel s':>11} "
          f"{'parallel MB':>12} {'time':>5} {'memory':>7} {'size':>5}")
    for count, n_pages, single, single_peak, parallel, parallel_peak, size in rows:
        print(f"{count:7} {n_pages:6} {single:9.2f} {single_peak:10.0f} {parallel:11.2f} "
              f"{parallel_peak:12.0f} {parallel / single:5.2f} {parallel_peak / single_peak:7.2f}"
              f" {size:5.2f}")
    (first, s1, p1), (last, s2, p2) = \
        [(r[0], r[3], r[5]) for r in (rows[0], rows[-1])]
    print(f"growth from {first} to {last} entries: single pass {(s2 - s1) / (last - first):.2f} "
          f"MB/entry, parallel {(p2 - p1) / (last - first):.2f} MB/entry")


if __name__ == "__main__":
    main()
