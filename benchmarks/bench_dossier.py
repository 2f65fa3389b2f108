"""Benchmark: the seed's dossier, warm and as a whole process, against plain WeasyPrint.

    .venv/bin/python benchmarks/bench_dossier.py [--repeat N]

Every figure is a median of N runs in this process; ratios compare figures of
the same run (these machines are noisy, absolute times mean little). The
baseline is plain WeasyPrint rendering the very HTML printshop generated,
with the same stylesheets and one shared FontConfiguration.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = "junior-ai-ml-model-training-assistant"


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_time(args: list[str], repeat: int, env=None) -> float:
    return median_time(lambda: subprocess.run(args, check=True, capture_output=True, env=env,
                                              cwd=ROOT), repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat

    from printshop.config import load_project
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary, load_entry

    project = load_project(ROOT)
    renderer = Dossiers(project)
    bestiary = load_bestiary(project.entries_dir)
    item = bestiary.loaded[SEED]
    html = renderer.html(item, bestiary)
    base_url = project.layouts_dir.as_uri() + "/"

    from weasyprint import HTML

    def plain():
        HTML(string=html, base_url=base_url, url_fetcher=renderer.fetcher).write_pdf(
            stylesheets=renderer.stylesheets, font_config=renderer.press.font_config)

    def printshop_all():
        fresh = load_bestiary(project.entries_dir, [SEED])
        renderer.pdf(fresh.selected[0], fresh)

    plain(), printshop_all()  # warm both
    t_plain = median_time(plain, repeat)
    t_ours = median_time(printshop_all, repeat)
    t_load = median_time(lambda: load_entry(item.path), repeat * 20)
    t_bestiary = median_time(lambda: load_bestiary(project.entries_dir, [SEED]), repeat * 20)
    t_template = median_time(lambda: renderer.html(item, bestiary), repeat * 20)
    t_coverage = median_time(lambda: renderer.check_coverage(item), repeat * 20)
    pages = len(renderer.render(item, bestiary).pages)

    env = {**os.environ}
    with tempfile.TemporaryDirectory() as out:
        cold = process_time([sys.executable, "-m", "printshop", "dossier", SEED, "--output", out],
                            max(3, repeat // 2), env)
        html_file = Path(out) / "seed.html"
        html_file.write_text(html, encoding="utf-8")
        plain_cold_code = (
            "import sys; sys.path.insert(0, %r)\n"
            "from printshop.resources import use_only_bundled_fonts\n"
            "from pathlib import Path\n"
            "use_only_bundled_fonts(Path(%r))\n"
            "from weasyprint import HTML, CSS\n"
            "from weasyprint.text.fonts import FontConfiguration\n"
            "fc = FontConfiguration()\n"
            "css = [CSS(filename=%r, font_config=fc), CSS(filename=%r, font_config=fc),\n"
            "       CSS(filename=%r, font_config=fc)]\n"
            "HTML(filename=%r, base_url=%r).write_pdf(%r, stylesheets=css, font_config=fc)\n"
        ) % (str(ROOT), str(project.fonts_dir), str(project.layouts_dir / "fonts.css"),
             str(project.layouts_dir / "record.css"), str(project.layouts_dir / "dossier.css"),
             str(html_file), base_url,
             str(Path(out) / "plain.pdf"))
        plain_cold = process_time([sys.executable, "-c", plain_cold_code],
                                  max(3, repeat // 2), env)
    t_help = process_time([sys.executable, "-m", "printshop", "--help"], repeat, env)
    t_python = process_time([sys.executable, "-c", "pass"], repeat, env)
    t_import = process_time([sys.executable, "-c", "import weasyprint"], max(3, repeat // 2), env)

    overhead = t_bestiary + t_template + t_coverage
    print(f"seed dossier: {pages} pages, medians of {repeat} runs")
    print(f"  plain WeasyPrint, warm (baseline)    {t_plain * 1000:8.1f} ms")
    print(f"  printshop, warm (load+check+render)  {t_ours * 1000:8.1f} ms   "
          f"ratio {t_ours / t_plain:.3f}   {pages / t_ours:.1f} pages/s")
    print(f"    of which: load+validate one file  {t_load * 1000:8.2f} ms")
    print(f"              load bestiary + checks  {t_bestiary * 1000:8.2f} ms")
    print(f"              templating (Jinja)      {t_template * 1000:8.2f} ms")
    print(f"              font coverage check     {t_coverage * 1000:8.2f} ms")
    print(f"    printshop's own overhead          {overhead * 1000:8.2f} ms = "
          f"{overhead / t_plain:.1%} of the render (target < 10%)")
    print(f"  whole process, printshop dossier     {cold * 1000:8.1f} ms")
    print(f"  whole process, plain WeasyPrint      {plain_cold * 1000:8.1f} ms   "
          f"ratio {cold / plain_cold:.3f}")
    print(f"  printshop --help                     {t_help * 1000:8.1f} ms")
    print(f"  python -c pass                       {t_python * 1000:8.1f} ms")
    print(f"  python -c 'import weasyprint'        {t_import * 1000:8.1f} ms   "
          f"(--help is {t_help / t_import:.2f} of it)")


if __name__ == "__main__":
    main()
