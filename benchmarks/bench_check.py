"""Benchmark: `printshop check` on N synthetic entries (default 200), and what the
check for characters no bundled font has costs it.

    .venv/bin/python benchmarks/bench_check.py [--entries 200] [--rounds 7]

Baselines in the same run: loading the entries without the coverage check
(`load_bestiary` without `coverage`), in this process, warm; and the cold
command (a fresh process each round) against `python -c pass`, so the figure
that is printshop's own is visible. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_dossier import median_time  # the benchmarks' one timing rule

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from printshop.config import load_project
    from printshop.fonts import load_fonts
    from printshop.load import load_bestiary
    from printshop.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project_dir)
        for name in ("layouts", "fonts"):
            (project_dir / name).symlink_to(ROOT / name)
        write_synthetic(project_dir / "entries", args.entries, seed=0)
        project = load_project(project_dir)
        fonts = load_fonts(project.layouts_dir, project.fonts_dir)

        def plain():
            load_bestiary(project.entries_dir)

        def covered():
            load_bestiary(project.entries_dir, coverage=fonts.coverage())

        plain(), covered()  # warm: imports, font facts in this process
        without = median_time(plain, args.rounds)
        with_check = median_time(covered, args.rounds)
        command = [sys.executable, "-m", "printshop", "--project", str(project_dir), "check"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cold = median_time(lambda: subprocess.run(command, env=env, check=True,
                                                  capture_output=True), args.rounds)
        python = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
                             args.rounds)
    print(f"{args.entries} synthetic entries, {args.rounds} rounds, medians")
    print(f"load and validate, warm      {without * 1000:8.1f} ms")
    print(f"  + the coverage check       {with_check * 1000:8.1f} ms  "
          f"({with_check / without:.3f}x, +{(with_check - without) * 1000:.1f} ms)")
    print(f"printshop check, cold        {cold * 1000:8.1f} ms  "
          f"(python -c pass: {python * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
