"""Benchmark: share cards per second per process, against Satori + resvg in the same run.

    .venv/bin/python benchmarks/bench_cards.py [--rounds 5] [--cards 40] [--entries 200]

Three measurements, each against a baseline taken in the same run (these
machines are noisy; absolute times mean little):

1. The og PNG card, warm, per process, alternating with the peer for a few
   rounds: Satori 0.63 + resvg 2.6 (../shared/peers, `npm ci` there once) draws a
   comparable 1200x630 card. printshop is timed twice: the same card again and
   again (as the peer does), and a different synthetic entry for every card (as
   a batch runs; no two cards share their title, salary or needle). Printed: the
   median ratio of cards per second, printshop / peer.
2. Every preset and format: draw and encode times, bytes, and the bytes of the
   same drawing written as before this change (RGB PNG at level 6, WebP lossy q90).
3. Batch: the `printshop cards` command over N synthetic entries, all presets,
   with --jobs 1 and --jobs 2 (whole processes, start-up included).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PEERS = ROOT.parent / "shared" / "peers"
SEED = "junior-ai-ml-model-training-assistant"
PEER_FONT = ROOT / "fonts" / "oswald" / "Oswald-SemiBold.ttf"


def peer(cards: int) -> float | None:
    """Satori + resvg: ms per card (its own timing, one warm-up card left out)."""
    script = PEERS / "satori-card.mjs"
    if not (PEERS / "node_modules").is_dir() or shutil.which("node") is None:
        return None
    done = subprocess.run(["node", str(script), str(PEER_FONT), str(cards)],
                          capture_output=True, text=True, cwd=PEERS, check=True)
    return float(re.search(r"([\d.]+) ms/card", done.stdout).group(1))


def per_card(fn, items) -> float:
    """ms per card for ``fn`` over ``items``."""
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cards", type=int, default=40, help="cards per round and side")
    parser.add_argument("--entries", type=int, default=200, help="synthetic entries")
    parser.add_argument("--repeat", type=int, default=20, help="repeats in the preset table")
    args = parser.parse_args()

    from printshop import cards as cardlib
    from printshop.config import load_project
    from printshop.load import load_bestiary
    from printshop.synthetic import write_synthetic

    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project_dir)
        write_synthetic(project_dir / "entries", args.entries, seed=0)
        shutil.copy(ROOT / "entries" / f"{SEED}.yaml", project_dir / "entries")
        project = load_project(project_dir)
        bestiary = load_bestiary(project.entries_dir)
        seed = bestiary.loaded[SEED]
        others = [item for slug, item in sorted(bestiary.loaded.items()) if slug != SEED]

        start = time.perf_counter()
        renderer = cardlib.Cards(project)
        cardlib.encode(renderer.render(seed, "og"), "png")
        print(f"first card, fonts loaded: {(time.perf_counter() - start) * 1000:.0f} ms "
              "(once per process; left out below, as the peer leaves out its own)")

        def og_png(item):
            return cardlib.encode(renderer.render(item, "og"), "png")

        # 1. Alternate with the peer.
        print(f"\n1. og PNG card, warm, per process: {args.rounds} rounds of {args.cards} cards")
        rows = []
        for number in range(args.rounds):
            same = per_card(og_png, [seed] * args.cards)
            window = [others[(number * args.cards + i) % len(others)] for i in range(args.cards)]
            distinct = per_card(og_png, window)
            theirs = peer(args.cards)
            rows.append((same, distinct, theirs))
            shown = f"{theirs:6.1f}" if theirs else "   n/a"
            print(f"   round {number + 1}: printshop same card {same:5.1f} ms, distinct entries "
                  f"{distinct:5.1f} ms; satori+resvg {shown} ms")
        same = statistics.median(r[0] for r in rows)
        distinct = statistics.median(r[1] for r in rows)
        seed_png = og_png(seed).data
        print(f"   printshop: {1000 / same:.1f} cards/s same card, {1000 / distinct:.1f} cards/s "
              f"distinct entries, {len(seed_png):,} bytes")
        if all(r[2] for r in rows):
            theirs = statistics.median(r[2] for r in rows)
            same_ratio = statistics.median(r[2] / r[0] for r in rows)
            distinct_ratio = statistics.median(r[2] / r[1] for r in rows)
            out = Path(tempfile.gettempdir()) / "printshop-bench-satori.png"
            subprocess.run(["node", str(PEERS / "satori-card.mjs"), str(PEER_FONT), "1",
                            str(out)], capture_output=True, cwd=PEERS, check=True)
            print(f"   satori+resvg: {1000 / theirs:.1f} cards/s, {out.stat().st_size:,} bytes")
            print(f"   ratio printshop / satori+resvg (cards per second, median of rounds): "
                  f"{same_ratio:.2f}x same card, {distinct_ratio:.2f}x distinct entries "
                  f"(target >= 1.5x)")
        else:
            print("   peer not run: install node and run `npm ci` in ../shared/peers")

        # 2. Every preset and format, against the encoders as they were.
        print(f"\n2. presets and formats (median of {args.repeat}; 'before' = the same drawing "
              "as RGB PNG level 6 / WebP lossy q90 / JPEG q90)")
        print(f"   {'preset':9} {'format':5} {'draw ms':>8} {'encode ms':>10} {'cards/s':>8} "
              f"{'bytes':>9} {'before':>9} {'ratio':>6}")
        for preset in renderer.presets:
            for fmt in ("png", "jpeg", "webp") if preset == "og" else ("png",):
                draws, encodes = [], []
                for i in range(args.repeat):
                    item = others[i % len(others)]
                    t0 = time.perf_counter()
                    card = renderer.render(item, preset)
                    t1 = time.perf_counter()
                    cardlib.encode(card, fmt)
                    draws.append(t1 - t0)
                    encodes.append(time.perf_counter() - t1)
                card = renderer.render(seed, preset)
                data = cardlib.encode(card, fmt).data
                before = io.BytesIO()
                options = {"png": {"compress_level": 6},
                           "jpeg": {"quality": 90, "subsampling": 0},
                           "webp": {"quality": 90, "method": 4}}[fmt]
                card.image.save(before, fmt.upper(), **options)
                draw, enc = statistics.median(draws), statistics.median(encodes)
                print(f"   {preset:9} {fmt:5} {draw * 1000:8.1f} {enc * 1000:10.1f} "
                      f"{1 / (draw + enc):8.1f} {len(data):9,} {len(before.getvalue()):9,} "
                      f"{len(data) / len(before.getvalue()):6.2f}")

    # 3. The command, whole processes.
    print(f"\n3. batch: `printshop cards` over {args.entries} synthetic entries, all presets, PNG")
    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project_dir)
        write_synthetic(project_dir / "entries", args.entries, seed=0)
        times = {}
        for jobs in (1, 2):
            shutil.rmtree(project_dir / "output", ignore_errors=True)
            command = [sys.executable, "-m", "printshop", "--project", str(project_dir),
                       "cards", "--jobs", str(jobs)]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
            times[jobs] = time.perf_counter() - start
            if done.returncode:
                print(f"   --jobs {jobs}: failed: {done.stderr.strip()[-300:]}")
                return
            written = len(list((project_dir / "output" / "cards").rglob("*.png")))
            print(f"   --jobs {jobs}: {times[jobs]:.1f} s, {written} cards, "
                  f"{written / times[jobs]:.0f} cards/s")
        print(f"   --jobs 2 / --jobs 1: {times[2] / times[1]:.2f}x the time")


if __name__ == "__main__":
    main()
