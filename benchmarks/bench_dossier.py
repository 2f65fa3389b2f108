"""Benchmark: the seed's dossier, warm and as a whole process, against plain WeasyPrint.

    .venv/bin/python benchmarks/bench_dossier.py [--repeat N] [--cold-rounds N] [--cold-only]
                                        [--no-bytecode]

Warm figures are medians of N runs in this process; ratios compare figures of
the same run (these machines are noisy, absolute times mean little). The
baseline is plain WeasyPrint rendering the very HTML printshop generated,
with the same stylesheets and one shared FontConfiguration.

Cold figures are whole processes, run in alternation (plain WeasyPrint, then
`printshop dossier SEED`, `printshop cards SEED`, `printshop --help`, round
after round) and compared by their medians: the dossier against a `python -c`
that imports WeasyPrint, reads the same HTML file and writes the PDF with the
same four stylesheets (the three of layouts/ and the theme) and the same fonts
(printshop's fontconfig file), untagged, importing nothing of printshop's.
Processes run as an installed printshop does, with Python's bytecode cached
(in a private PYTHONPYCACHEPREFIX; this environment may forbid writing it
beside the sources); --no-bytecode measures them without it. printshop's own
caches (font facts, compiled layouts, fontconfig) are warm after the first
run; one run with empty caches is printed too.
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


BYTECODE = True

#: Cold whole processes, alternated round by round so that the machine's load falls
#: on all alike; the ratio compares medians of the same run.
PLAIN = """\
import sys
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
layouts, html, theme, out, variant = sys.argv[1:]
options = {"pdf_variant": variant, "pdf_tags": True} if variant != "none" else {}
fc = FontConfiguration()
css = [CSS(filename=layouts + name, font_config=fc)
       for name in ("fonts.css", "record.css", "dossier.css")]
css.append(CSS(string=open(theme, encoding="utf-8").read(), font_config=fc))
HTML(filename=html, base_url="file://" + layouts).write_pdf(out, stylesheets=css, font_config=fc,
                                                            **options)
"""


def cold_env(extra: dict | None = None) -> dict:
    """The environment of a measured process: bytecode cached as an installed printshop
    has it (in a private folder, so that the tree stays clean), unless --no-bytecode."""
    env = {**os.environ, **(extra or {})}
    if BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "printshop-bench-pyc")
    return env


def cold_figures(project, renderer, html: str, rounds: int) -> dict:
    """Medians over ``rounds`` of each cold whole process (and one run with empty caches)."""
    from printshop.press import theme_css

    with tempfile.TemporaryDirectory() as out:
        out = Path(out)
        html_file, theme_file = out / "seed.html", out / "theme.css"
        html_file.write_text(html, encoding="utf-8")
        theme_file.write_text(theme_css(project), encoding="utf-8")
        printshop = [sys.executable, "-m", "printshop"]
        # The plain process sees the very fonts printshop's does (the same fontconfig
        # file, with its fallbacks) and imports nothing of printshop's.
        plain_env = cold_env({"FONTCONFIG_FILE": os.environ["FONTCONFIG_FILE"]})
        plain = [sys.executable, "-c", PLAIN, str(project.layouts_dir) + "/", str(html_file),
                 str(theme_file), str(out / "plain.pdf")]
        commands = {
            # WeasyPrint's default output (untagged), and the output printshop writes:
            # the configured variant (PDF/UA-1 by default, tagged), by WeasyPrint alone.
            "plain": (plain + ["none"], plain_env),
            "plain-variant": (plain + [project.config.print.pdf_variant], plain_env),
            "dossier": (printshop + ["dossier", SEED, "--output", str(out)], cold_env()),
            "cards": (printshop + ["cards", SEED, "--output", str(out)], cold_env()),
            "help": (printshop + ["--help"], cold_env()),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, (args, env) in commands.items():  # warm-up: bytecode, font facts, layouts
            subprocess.run(args, check=True, capture_output=True, env=env, cwd=ROOT)
        for _ in range(rounds):
            for name, (args, env) in commands.items():
                start = time.perf_counter()
                subprocess.run(args, check=True, capture_output=True, env=env, cwd=ROOT)
                times[name].append(time.perf_counter() - start)
        figures = {name: statistics.median(values) for name, values in times.items()}
        figures["spread"] = {name: (min(v), max(v)) for name, v in times.items()}
        with tempfile.TemporaryDirectory() as caches:  # no font facts, layouts, fontconfig
            env = cold_env({"XDG_CACHE_HOME": caches, "TMPDIR": caches})
            start = time.perf_counter()
            subprocess.run(commands["dossier"][0], check=True, capture_output=True, env=env,
                           cwd=ROOT)
            figures["first"] = time.perf_counter() - start
    figures["rounds"] = rounds
    return figures


def print_cold(cold: dict) -> None:
    ratio = cold["dossier"] / cold["plain"]
    spread = cold["spread"]
    print(f"cold whole processes, medians of {cold['rounds']} alternated rounds "
          f"({'bytecode cached' if BYTECODE else 'no bytecode cache'}; min-max in brackets)")
    variant_ratio = cold["dossier"] / cold["plain-variant"]
    for name, label in (("plain", "plain WeasyPrint, same HTML, CSS, fonts"),
                        ("plain-variant", "  ... and the same PDF variant, tagged"),
                        ("dossier", "printshop dossier SEED"),
                        ("cards", "printshop cards SEED (4 presets)"),
                        ("help", "printshop --help")):
        low, high = spread[name]
        print(f"  {label:40s} {cold[name] * 1000:8.1f} ms  [{low * 1000:.0f}-{high * 1000:.0f}]")
    print(f"  dossier / plain WeasyPrint, untagged     {ratio:8.3f}     (target <= 1.15)"
          f"  {'ok' if ratio <= 1.15 else 'MISSED'}")
    print(f"  dossier / plain WeasyPrint, same variant {variant_ratio:8.3f}     (target <= 1.15)"
          f"  {'ok' if variant_ratio <= 1.15 else 'MISSED'}")
    print(f"  cards                                    {cold['cards']:8.3f} s   (target <= 1.5 s)"
          f"  {'ok' if cold['cards'] <= 1.5 else 'MISSED'}")
    print(f"  --help                                   {cold['help'] * 1000:8.1f} ms  "
          f"(target < 100 ms)  {'ok' if cold['help'] < 0.1 else 'MISSED'}")
    print(f"  printshop dossier SEED, first run ever   {cold['first'] * 1000:8.1f} ms  "
          "(empty caches: font facts, compiled layouts, fontconfig)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cold-rounds", type=int, default=7,
                        help="rounds of the whole-process figures (each runs every command)")
    parser.add_argument("--cold-only", action="store_true", help="only the whole processes")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="whole processes as this environment runs them, even if it "
                             "forbids bytecode caches (PYTHONDONTWRITEBYTECODE): printshop's "
                             "own modules are then compiled in every process")
    args = parser.parse_args()
    repeat, cold_rounds = args.repeat, args.cold_rounds
    global BYTECODE
    BYTECODE = not args.no_bytecode

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

    if args.cold_only:
        print_cold(cold_figures(project, renderer, html, max(3, cold_rounds)))
        return
    plain(), printshop_all()  # warm both
    t_plain = median_time(plain, repeat)
    t_ours = median_time(printshop_all, repeat)
    t_load = median_time(lambda: load_entry(item.path), repeat * 20)
    t_bestiary = median_time(lambda: load_bestiary(project.entries_dir, [SEED]), repeat * 20)
    t_template = median_time(lambda: renderer.html(item, bestiary), repeat * 20)
    t_coverage = median_time(lambda: renderer.check_coverage(item), repeat * 20)
    pages = len(renderer.render(item, bestiary).pages)

    cold = cold_figures(project, renderer, html, max(3, cold_rounds))
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
    print_cold(cold)


if __name__ == "__main__":
    main()
