"""Benchmark: the book's two paths against each other, and against plain WeasyPrint.

    .venv/bin/python benchmarks/bench_book.py [--sizes 4 12 50 200] [--rounds 3] [--jobs N]
                                              [--no-plain]

For each size, a book of that many entries (4: the bundled entries/, else
synthetic ones, `printshop.synthetic`, seed 0) is printed by:

- ``single``: `printshop book --single-pass` (one WeasyPrint layout of the book);
- ``parallel``: `printshop book --parallel` (records laid out alone in worker
  processes, joined);
- ``plain``: plain WeasyPrint laying out and writing printshop's book HTML (the
  same HTML and stylesheets, one FontConfiguration) in one call: everything
  printshop adds (the index pass, joining, page labels) shows against it.

Each case runs in a fresh process of its own, so that its peak memory is its own
(``peak MB``: that process; ``worker MB``: its largest worker, parallel only);
the time is `build.book`'s (WeasyPrint's import included, as on the command
line). With ``--rounds`` the single and parallel cases alternate, and the
medians are compared. ``cpu s``: the CPU seconds of the case's process and its
workers (imports included), steadier than wall time on a shared machine: on 2
cores the parallel path cannot beat half its CPU work. ``ratio`` is parallel / single; ``default`` is the path
`printshop book` takes by itself (`printshop.book.path`) and its ratio to the
single pass. The machines here are shared and noisy: compare ratios measured
in one run, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from printshop.config import load_project
project = load_project(Path({project!r}))
if {mode!r} == "plain":
    from printshop.load import load_bestiary
    from printshop.book import Book, order_records
    start = time.perf_counter()
    bestiary = load_bestiary(project.entries_dir)
    book = Book(project)
    from weasyprint import HTML
    html = book.main_html(bestiary, order_records(bestiary.valid, project.config))
    start = time.perf_counter()
    document = HTML(string=html, base_url=project.layouts_dir.as_uri() + "/",
                    url_fetcher=book.press.fetcher).render(
        font_config=book.press.font_config, stylesheets=book.stylesheets)
    data = document.write_pdf(pdf_tags=True)
    pages = len(document.pages)
else:
    from printshop import build
    start = time.perf_counter()
    outcome = build.book(project, Path({out!r}), jobs={jobs!r}, path={mode!r})
    assert outcome.ok, outcome.failures
    import pikepdf
    data = (Path({out!r}) / "book" / project.config.book.filename).read_bytes()
    elapsed = time.perf_counter() - start
    with pikepdf.open(Path({out!r}) / "book" / project.config.book.filename) as pdf:
        pages = len(pdf.pages)
elapsed = time.perf_counter() - start if {mode!r} == "plain" else elapsed
own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
peak, workers = own.ru_maxrss / 1024, children.ru_maxrss / 1024
cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
print(json.dumps({{"seconds": elapsed, "pages": pages, "peak_mb": peak, "worker_mb": workers,
                   "bytes": len(data), "cpu": cpu}}))
"""


def run(mode: str, project: Path, jobs: int | None) -> dict:
    out = project / f"out-{mode}"
    code = CHILD.format(root=str(ROOT), project=str(project), mode=mode, out=str(out), jobs=jobs)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_project(folder: Path, size: int) -> str:
    """A project of ``size`` entries: the bundled ones when there are that many."""
    shutil.copy(ROOT / "printshop.toml", folder)
    bundled = sorted((ROOT / "entries").glob("*.yaml"))
    if size == len(bundled):
        (folder / "entries").mkdir()
        for path in [*bundled, ROOT / "entries" / "entry.schema.json"]:
            shutil.copy(path, folder / "entries")
        return "bundled"
    from printshop.synthetic import write_synthetic

    write_synthetic(folder / "entries", size, seed=0)
    return "synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 12, 50, 200],
                        help="entries per book (4: the bundled ones)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="single and parallel runs per size, alternated (medians)")
    parser.add_argument("--jobs", type=int, help="workers of the parallel path (default: cores)")
    parser.add_argument("--no-plain", dest="plain", action="store_false",
                        help="leave out the plain WeasyPrint baseline")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from printshop.book.path import choose, cores

    print(f"# {cores()} cores; parallel jobs: {args.jobs or 'one per core'}; "
          f"rounds: {args.rounds}")
    print(f"{'entries':>9} {'case':9} {'seconds':>8} {'pages':>6} {'pages/s':>8} "
          f"{'peak MB':>8} {'worker MB':>9} {'MB':>6} {'ratio':>6} {'cpu s':>7}")
    summary = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            project = Path(folder)
            kind = make_project(project, size)
            results: dict[str, list[dict]] = {"single": [], "parallel": []}
            for round_ in range(args.rounds):
                order = ("single", "parallel") if round_ % 2 == 0 else ("parallel", "single")
                for mode in order:
                    results[mode].append(run(mode, project, args.jobs))
            if args.plain:
                results["plain"] = [run("plain", project, None)]
            single = statistics.median(r["seconds"] for r in results["single"])
            label = f"{size}{'b' if kind == 'bundled' else ''}"
            for mode, runs in results.items():
                seconds = statistics.median(r["seconds"] for r in runs)
                last = runs[-1]
                print(f"{label:>9} {mode:9} {seconds:8.2f} {last['pages']:6} "
                      f"{last['pages'] / seconds:8.1f} {max(r['peak_mb'] for r in runs):8.0f} "
                      f"{max(r['worker_mb'] for r in runs) if mode == 'parallel' else 0:9.0f} "
                      f"{last['bytes'] / 1e6:6.2f} {seconds / single:6.3f} "
                      f"{statistics.median(r['cpu'] for r in runs):7.1f}")
            parallel = statistics.median(r["seconds"] for r in results["parallel"])
            chosen = choose(size, args.jobs)
            ratio = parallel / single if chosen.parallel else 1.0
            print(f"{label:>9} default   {chosen.describe()}")
            summary.append((label, parallel / single, chosen.name, ratio,
                            [round(r["seconds"] / s["seconds"], 3) for r, s in
                             zip(results["parallel"], results["single"])]))
    print("\nparallel / single pass (per round), and the path printshop book takes:")
    for label, ratio, name, chosen_ratio, rounds in summary:
        print(f"{label:>9} entries: parallel {ratio:.3f} {rounds}; default: {name}, "
              f"{chosen_ratio:.3f} of the single pass")


if __name__ == "__main__":
    main()
