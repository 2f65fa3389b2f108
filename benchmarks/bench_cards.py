"""Benchmark: share cards per second per process, draw and encode timed apart.

    .venv/bin/python benchmarks/bench_cards.py [--repeat N]

Fonts are loaded once per process (the first card pays for it and is not
counted). The baseline, measured in the same run, is the PNG encoder's own
time for the very image drawn: how close draw + encode come to it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = "junior-ai-ml-model-training-assistant"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=60)
    repeat = parser.parse_args().repeat

    from printshop import cards as cardlib
    from printshop.config import load_project
    from printshop.load import load_bestiary

    project = load_project(ROOT)
    bestiary = load_bestiary(project.entries_dir)
    item = bestiary.loaded[SEED]
    start = time.perf_counter()
    renderer = cardlib.Cards(project)
    first = renderer.render(item, "og")
    cardlib.encode(first, "png")
    cold = time.perf_counter() - start

    print(f"first card, fonts loaded: {cold * 1000:.1f} ms (once per process)")
    print(f"{'preset':9} {'format':5} {'draw ms':>8} {'encode ms':>10} {'cards/s':>8} "
          f"{'bytes':>9}")
    for preset in ("og", "square", "portrait", "story"):
        for fmt in ("png", "jpeg", "webp") if preset == "og" else ("png",):
            draws, encodes = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                card = renderer.render(item, preset)
                t1 = time.perf_counter()
                encoded = cardlib.encode(card, fmt)
                t2 = time.perf_counter()
                draws.append(t1 - t0)
                encodes.append(t2 - t1)
            draw, enc = statistics.median(draws), statistics.median(encodes)
            print(f"{preset:9} {fmt:5} {draw * 1000:8.1f} {enc * 1000:10.1f} "
                  f"{1 / (draw + enc):8.1f} {len(encoded.data):9,}")
            if preset == "og" and fmt == "png":
                og_draw, og_enc = draw, enc

    card = renderer.render(item, "og")
    plain = []
    for _ in range(repeat):
        buffer = io.BytesIO()
        t0 = time.perf_counter()
        card.image.save(buffer, "PNG")  # Pillow's default settings, no printshop code
        plain.append(time.perf_counter() - t0)
    baseline = statistics.median(plain)
    print(f"baseline: Pillow's PNG encoder alone on that og image: {baseline * 1000:.1f} ms")
    print(f"og PNG: draw + encode = {(og_draw + og_enc) * 1000:.1f} ms = "
          f"{(og_draw + og_enc) / baseline:.2f}x the bare encoder; "
          f"{1 / (og_draw + og_enc):.1f} cards/s per process (target >= 20)")


if __name__ == "__main__":
    main()
