"""What accessibility costs: each PDF variant against untagged output, in one run.

For the seed's dossier: layout plus writing, per variant (median of --rounds),
and the file size. For the bundled book, both paths (parallel and single pass),
per variant: whole command time and size. Ratios are against "none" (WeasyPrint's
untagged output) measured in the same run.

    .venv/bin/python benchmarks/bench_tagging.py [--rounds 7] [--book-rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from printshop import PDF_VARIANTS  # noqa: E402
from printshop.config import load_project  # noqa: E402
from printshop.load import load_bestiary  # noqa: E402

SEED = "junior-ai-ml-model-training-assistant"
VARIANTS = ["none", *[v for v in PDF_VARIANTS if v != "none"]]


def dossier_figures(rounds: int) -> dict[str, tuple[float, int]]:
    from printshop.dossier import Dossiers

    project = load_project(ROOT)
    bestiary = load_bestiary(project.entries_dir)
    item = bestiary.loaded[SEED]
    from printshop.press import Press

    press = Press(project)
    renderers = {v: Dossiers(project, press=press, variant=v) for v in VARIANTS}
    renderers["none"].pdf(item, bestiary)  # warm
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    sizes = {}
    for _ in range(rounds):
        for variant, renderer in renderers.items():  # alternated: the noise is shared
            start = time.perf_counter()
            data = renderer.pdf(item, bestiary)
            times[variant].append(time.perf_counter() - start)
            sizes[variant] = len(data)
    return {v: (statistics.median(times[v]), sizes[v]) for v in VARIANTS}


def book_figures(rounds: int) -> dict[tuple[str, str], tuple[float, int]]:
    from printshop import build
    from printshop.book import BookOptions

    project = load_project(ROOT)
    figures: dict[tuple[str, str], list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for variant in ("none", "pdf/ua-1", "pdf/ua-2"):
                for path in ("parallel", "single"):
                    out = Path(tmp) / f"{path}-{variant.replace('/', '_')}"
                    options = BookOptions(paper=project.config.print.paper, pdf_variant=variant)
                    start = time.perf_counter()
                    outcome = build.book(project, out, options, jobs=2,
                                         single_pass=path == "single")
                    seconds = time.perf_counter() - start
                    assert outcome.ok, outcome.failures
                    size = (out / "book" / project.config.book.filename).stat().st_size
                    figures.setdefault((path, variant), []).append((seconds, size))
    return {key: (statistics.median(s for s, _ in runs), runs[-1][1])
            for key, runs in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--book-rounds", type=int, default=3)
    args = parser.parse_args()
    dossier = dossier_figures(args.rounds)
    base_time, base_size = dossier["none"]
    print(f"seed dossier, layout + write, median of {args.rounds}:")
    print(f"  {'variant':10} {'ms':>8} {'x none':>8} {'bytes':>8} {'x none':>8}")
    for variant, (seconds, size) in dossier.items():
        print(f"  {variant:10} {seconds * 1000:8.1f} {seconds / base_time:8.2f} {size:8d} "
              f"{size / base_size:8.2f}")
    book = book_figures(args.book_rounds)
    print(f"bundled book (4 entries), whole command, median of {args.book_rounds}:")
    print(f"  {'path':9} {'variant':10} {'s':>7} {'x none':>7} {'bytes':>8} {'x none':>7}")
    for (path, variant), (seconds, size) in book.items():
        base_s, base_b = book[(path, "none")]
        print(f"  {path:9} {variant:10} {seconds:7.2f} {seconds / base_s:7.2f} {size:8d} "
              f"{size / base_b:7.2f}")


if __name__ == "__main__":
    main()
