"""Benchmark: the live preview's edit-to-preview time against a cold command.

    .venv/bin/python benchmarks/bench_serve.py [--edits 7]

A preview server runs in this process on a scratch copy of the seed entry.
Each edit rewrites the entry's title and waits for the new preview (dossier
pages rasterised, four cards drawn); the time is from the write to the
preview being ready. The baseline, measured in the same run: what an editor
would do without the preview, a cold `printshop dossier` plus `printshop
cards` for the same entry (fresh processes, fonts loaded each time).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = "junior-ai-ml-model-training-assistant"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=7)
    edits = parser.parse_args().edits
    import yaml

    from printshop.config import load_project
    from printshop.load import MODELINE
    from printshop.serve import make_server

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copy(ROOT / "printshop.toml", project)
        (project / "entries").mkdir()
        data = yaml.safe_load((ROOT / "entries" / f"{SEED}.yaml").read_text(encoding="utf-8"))
        data["related"] = [{**{k: v for k, v in r.items() if k != "slug"}, "title": r["slug"]}
                           for r in data["related"]]
        entry = project / "entries" / f"{SEED}.yaml"

        def write(title: str) -> None:
            data["title"] = title
            entry.write_text(MODELINE + "\n" + yaml.safe_dump(data, allow_unicode=True,
                                                               sort_keys=False))

        write("Edit 0")
        server, studio = make_server(load_project(project), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        start = time.perf_counter()
        while studio.previews.get(SEED) is None or studio.previews[SEED].state != "ready":
            time.sleep(0.01)
        first = time.perf_counter() - start
        preview_times, render_times = [], []
        for n in range(1, edits + 1):
            version = studio.previews[SEED].version
            time.sleep(0.3)  # a distinct modification time
            written = time.perf_counter()
            write(f"Edit {n}")
            while not (studio.previews[SEED].version > version
                       and studio.previews[SEED].state == "ready"):
                time.sleep(0.005)
            preview_times.append(time.perf_counter() - written)
            render_times.append(studio.previews[SEED].seconds)
        studio.stop()
        server.shutdown()

        cold = []
        for _ in range(3):
            begin = time.perf_counter()
            for command in (["dossier", SEED], ["cards", SEED]):
                subprocess.run([sys.executable, "-m", "printshop", "--project", str(project),
                                *command], check=True, capture_output=True, cwd=ROOT)
            cold.append(time.perf_counter() - begin)

    median = statistics.median
    print(f"first preview (cold renderers, fonts loading): {first:.2f} s")
    print(f"edit to ready preview, warm, median of {edits}: {median(preview_times):.2f} s "
          f"(render {median(render_times):.2f} s; the rest is the 0.25 s poll and reloading "
          f"the entries)")
    print(f"cold `printshop dossier` + `printshop cards`, median of 3: {median(cold):.2f} s")
    print(f"preview / cold commands = {median(preview_times) / median(cold):.2f}")


if __name__ == "__main__":
    main()
