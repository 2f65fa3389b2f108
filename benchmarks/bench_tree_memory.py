"""What the parallel book's joined structure tree costs in memory and time.

Builds the parallel book of N synthetic entries (default 200) twice, each in a
fresh process: as shipped, and with the structure merge switched off (the
pieces and parts still tagged, their trees not joined). Prints each run's
wall time and the joining process's peak resident memory (the workers that
lay out the records are separate processes, the same in both), and the
difference per entry.

    .venv/bin/python benchmarks/bench_tree_memory.py [--entries 200]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(project: Path, merge: bool) -> None:
    """One build of the book here (called in a child process); prints a line."""
    sys.path.insert(0, str(ROOT))
    from printshop import build
    from printshop.book import join
    from printshop.config import load_project

    if not merge:
        join.StructureJoin = lambda pdf: None  # the join then copies no tree
    start = time.perf_counter()
    out = project / ("out-merged" if merge else "out-unmerged")
    assert build.book(load_project(project), out, jobs=2).ok
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = (out / "book" / "bestiary.pdf").stat().st_size
    print(f"{seconds:.1f} {peak:.0f} {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--child", nargs=2, metavar=("PROJECT", "MERGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_once(Path(args.child[0]), args.child[1] == "1")
    sys.path.insert(0, str(ROOT))
    from printshop.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project)
        write_synthetic(project / "entries", args.entries, seed=0)
        rows = {}
        for merge in (True, False):
            line = subprocess.run([sys.executable, __file__, "--child", str(project),
                                   "1" if merge else "0"], check=True, capture_output=True,
                                  text=True).stdout.split()
            rows[merge] = (float(line[0]), float(line[1]), int(line[2]))
    (s1, m1, b1), (s0, m0, b0) = rows[True], rows[False]
    print(f"{args.entries} synthetic entries, parallel book, --jobs 2")
    print(f"{'case':24} {'seconds':>8} {'peak MB':>8} {'bytes':>10}")
    print(f"{'tree joined (shipped)':24} {s1:8.1f} {m1:8.0f} {b1:10d}")
    print(f"{'tree not joined':24} {s0:8.1f} {m0:8.0f} {b0:10d}")
    print(f"the joined tree: {m1 - m0:.0f} MB ({(m1 - m0) / args.entries:.2f} MB per entry), "
          f"{(b1 - b0) / 1e6:.2f} MB of file")


if __name__ == "__main__":
    main()
