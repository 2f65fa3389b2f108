"""Benchmark: the book of N synthetic entries, against plain WeasyPrint on the same HTML.

    .venv/bin/python benchmarks/bench_book.py [--sizes 50 200]

Each case runs in a fresh process of its own, so that its peak memory
(ru_maxrss) is its own. The baseline, measured in the same run, is plain
WeasyPrint laying out and writing printshop's book HTML (the same HTML and
stylesheets, one FontConfiguration) in one call: everything printshop adds
(the index pass, joining, page labels) shows in the ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
from printshop.load import load_bestiary
from printshop.book import Book, order_records
project = load_project(Path({project!r}))
start = time.perf_counter()
bestiary = load_bestiary(project.entries_dir)
book = Book(project)
if {mode!r} == "printshop":
    laid_out = book.render(bestiary)
    data = book.pdf(laid_out)
    pages = len(laid_out.document.pages)
else:
    from weasyprint import HTML
    html = book.main_html(bestiary, order_records(bestiary.valid, project.config))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    document = HTML(string=html, base_url=project.layouts_dir.as_uri() + "/",
                    url_fetcher=book.press.fetcher).render(
        font_config=book.press.font_config, stylesheets=book.stylesheets)
    data = document.write_pdf(pdf_tags=True)
    pages = len(document.pages)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "pages": pages, "peak_mb": peak, "bytes": len(data)}}))
"""


def run(mode: str, project: Path) -> dict:
    code = CHILD.format(root=str(ROOT), project=str(project), mode=mode)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    sizes = parser.parse_args().sizes
    sys.path.insert(0, str(ROOT))
    from printshop.synthetic import write_synthetic

    print(f"{'entries':>7} {'case':18} {'seconds':>8} {'pages':>6} {'pages/s':>8} "
          f"{'peak MB':>8} {'MB':>6} {'ratio':>6}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            project = Path(folder)
            shutil.copy(ROOT / "printshop.toml", project)
            write_synthetic(project / "entries", size, seed=0)
            plain = run("plain", project)
            ours = run("printshop", project)
            for name, result in (("plain WeasyPrint", plain), ("printshop book", ours)):
                print(f"{size:7} {name:18} {result['seconds']:8.1f} {result['pages']:6} "
                      f"{result['pages'] / result['seconds']:8.1f} {result['peak_mb']:8.0f} "
                      f"{result['bytes'] / 1e6:6.2f} {result['seconds'] / plain['seconds']:6.3f}")


if __name__ == "__main__":
    main()
