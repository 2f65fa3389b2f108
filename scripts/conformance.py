#!/usr/bin/env python3
"""Check every kind of printshop output against the standard it claims.

Renders, into a temporary folder (never output/), with the real CLI:

- every dossier of entries/, with the default variant and with each variant;
- the book by both paths, ``--parallel`` and ``--single-pass``, with
  the default variant and with each variant;

then runs veraPDF once per flavour over all the files of that flavour and
prints one line per failed rule per file::

    FILE: FLAVOUR: rule CLAUSE-TEST (N checks): description

and a summary table.

The variants are ``printshop.PDF_VARIANTS``, all but "none" (untagged
output, which claims no standard); each is checked as the veraPDF flavour
VARIANT_FLAVOURS gives it, and the default as PDF/UA-1 (ua1). A variant with
no flavour there, or a combination printshop cannot render yet (an option
missing from its ``--help``), is an ERROR, never skipped.

Exit status: 0 when every file passed, 1 when a rule failed or a combination
could not be rendered or checked, 2 when veraPDF or Java is missing.

    .venv/bin/python scripts/conformance.py [--only dossier,book] [--keep DIR] [-j N] [-v]

veraPDF is found through the environment variable VERAPDF (the ``verapdf``
launcher), else ../shared/tools/verapdf/verapdf beside the project.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERAPDF = ROOT.parent / "shared" / "tools" / "verapdf" / "verapdf"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import printshop  # noqa: E402 - the variants printshop offers, from the project itself

# printshop's --pdf-variant -> the veraPDF flavour (-f) its files are checked as
VARIANT_FLAVOURS = {
    "pdf/ua-1": "ua1",
    "pdf/ua-2": "ua2",
    "pdf/a-2b": "2b",
    "pdf/a-3b": "3b",
    "pdf/a-3u": "3u",
}
UNCHECKED_VARIANTS = {"none"}  # untagged output: it claims no standard
DEFAULT_FLAVOUR = "ua1"  # printshop's default variant is to be PDF/UA-1
NO_FLAVOUR = "?"  # the summary row of variants with no known flavour
FLAVOURS = ["ua1", "ua2", "2b", "3b", "3u"]  # the order of the report
CHECK_ORDER = ["ua1", "2b", "3b", "3u", "ua2"]  # the order of the work
FLAVOUR_NAMES = {
    "ua1": "PDF/UA-1",
    "ua2": "PDF/UA-2",
    "2b": "PDF/A-2b",
    "3b": "PDF/A-3b",
    "3u": "PDF/A-3u",
}


def variants(offered=printshop.PDF_VARIANTS) -> list[tuple[str | None, str | None]]:
    """(variant passed to --pdf-variant, or None for printshop's default; its
    flavour, or None if none is known) for the default and every variant
    printshop offers but "none"."""
    return [(None, DEFAULT_FLAVOUR)] + [
        (v, VARIANT_FLAVOURS.get(v)) for v in offered if v not in UNCHECKED_VARIANTS
    ]


VARIANTS = variants()
KINDS = ("dossier", "book")
BOOK_PATHS = ("parallel", "single-pass")

INSTALL_HINT = (
    "Install veraPDF (1.28 or newer) with its own installer: download it from "
    "https://verapdf.org/software/ (or https://github.com/veraPDF/veraPDF-apps/releases), "
    "unzip it and run `verapdf-install`; then set VERAPDF to the `verapdf` launcher it "
    "installed, e.g. `export VERAPDF=$HOME/verapdf/verapdf`. "
    "veraPDF needs Java 17 or newer."
)


class SetupError(Exception):
    """veraPDF or Java is missing: nothing can be checked."""


# --- results ---------------------------------------------------------------


@dataclass
class RuleFailure:
    rule: str  # "7.2-19": veraPDF's clause-testNumber
    checks: int  # how many checks of the rule failed
    description: str
    message: str = ""  # the first failed check's message, if the report has one


@dataclass
class FileResult:
    path: str
    rules: list[RuleFailure] = field(default_factory=list)
    error: str | None = None  # the file could not be checked at all

    @property
    def passed(self) -> bool:
        return self.error is None and not self.rules


def _rule_key(rule: RuleFailure):
    """Order 6.2-1 < 7.1-3 < 7.1-10 < 7.18.5-2; names after numbers."""
    parts = re.split(r"[.-]", rule.rule)
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def parse_report(xml_text: str) -> list[FileResult]:
    """Every job of a veraPDF XML report (``--format xml``), in report order.

    A job holds either a <validationReport> with its failed <rule>s or a
    <taskException> (the file could not be parsed, was encrypted, ...).
    """
    root = ET.fromstring(xml_text)
    results = []
    for job in root.iter("job"):
        name = _text(job.find("item/name"))
        result = FileResult(path=name)
        report = job.find("validationReport")
        exception = job.find("taskException")
        if report is None:
            message = _text(exception.find("exceptionMessage")) if exception is not None else ""
            kind = exception.get("type", "") if exception is not None else ""
            result.error = f"veraPDF could not check it ({kind or 'no report'}): {message or 'no message'}"
        else:
            status = report.get("jobEndStatus", "normal")
            if status != "normal":
                result.error = f"veraPDF stopped ({status}): {report.get('statement', '')}".strip()
            for rule in report.iter("rule"):
                if rule.get("status") != "failed":
                    continue
                clause, test = rule.get("clause", "?"), rule.get("testNumber", "?")
                result.rules.append(
                    RuleFailure(
                        rule=f"{clause}-{test}",
                        checks=int(rule.get("failedChecks", "0") or 0),
                        description=_text(rule.find("description")),
                        message=_text(rule.find("check/errorMessage")),
                    )
                )
            if result.error is None and not result.rules and report.get("isCompliant") == "false":
                result.error = f"veraPDF says not compliant but names no rule: {report.get('statement', '')}"
        result.rules.sort(key=_rule_key)
        results.append(result)
    return results


def format_failure(name: str, flavour: str, rule: RuleFailure) -> str:
    """``FILE: FLAVOUR: rule CLAUSE-TEST (N checks): description``."""
    return f"{name}: {flavour}: rule {rule.rule} ({rule.checks} checks): {rule.description}"


def format_summary(counts: dict[str, dict[str, int]]) -> str:
    """The closing table: per flavour, files checked, passed, failed, errors.

    Flavours the script does not know (NO_FLAVOUR: variants that could not be
    checked) come last, so their errors are counted too.
    """
    header = ("flavour", "standard", "files", "passed", "failed", "errors")
    rows = [header]
    total = {"files": 0, "passed": 0, "failed": 0, "errors": 0}
    for flavour in [*FLAVOURS, *sorted(set(counts) - set(FLAVOURS))]:
        c = counts.get(flavour)
        if not c:
            continue
        rows.append(
            (flavour, FLAVOUR_NAMES.get(flavour, "(no flavour)"), *(str(c.get(k, 0)) for k in total))
        )
        for k in total:
            total[k] += c.get(k, 0)
    rows.append(("all", "", *(str(v) for v in total.values())))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- finding the tools -----------------------------------------------------


def find_verapdf(environ=os.environ, default: Path = DEFAULT_VERAPDF) -> Path:
    """VERAPDF if set (it must exist), else ../shared/tools/verapdf/verapdf."""
    value = environ.get("VERAPDF")
    if value:
        path = Path(value).expanduser()
        if path.is_dir():
            path = path / "verapdf"
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SetupError(f"VERAPDF={value} is not an executable veraPDF launcher. {INSTALL_HINT}")
        return path
    if default.is_file() and os.access(default, os.X_OK):
        return default
    raise SetupError(f"veraPDF not found: VERAPDF is not set and {default} does not exist. {INSTALL_HINT}")


def check_java() -> str:
    """Java 17+ on PATH (veraPDF 1.28 needs it); returns its version line."""
    java = shutil.which("java")
    if java is None:
        raise SetupError("veraPDF needs Java 17 or newer, and `java` is not on PATH "
                         "(Debian: apt-get install openjdk-17-jre-headless).")
    out = subprocess.run([java, "-version"], capture_output=True, text=True,
                         encoding="utf-8", errors="replace")
    text = (out.stderr or out.stdout).strip()
    m = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if m:
        major = int(m.group(1)) if m.group(1) != "1" else int(m.group(2) or 0)
        if major < 17:
            raise SetupError(f"veraPDF needs Java 17 or newer; `java -version` says: {text.splitlines()[0]}")
    return text.splitlines()[0] if text else "java"


# --- what printshop offers -------------------------------------------------


@dataclass
class Option:
    present: bool
    choices: frozenset[str] | None = None  # None: not a choice list (anything goes)

    def accepts(self, value: str) -> bool:
        return self.present and (self.choices is None or value in self.choices)


def option_in_help(help_text: str, option: str) -> Option:
    """Whether a click --help text lists OPTION, and its [a|b|c] choices if any."""
    m = re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])(?:[ \t]*(\[[^\]]*\]))?", help_text)
    if not m:
        return Option(False)
    if m.group(1) and "|" in m.group(1):
        return Option(True, frozenset("".join(m.group(1)[1:-1].split()).split("|")))
    return Option(True)


def printshop_help(python: str, command: str) -> str:
    out = subprocess.run(
        [python, "-m", "printshop", command, "--help"],
        cwd=ROOT, capture_output=True, text=True, encoding="utf-8", errors="replace",
    )
    return out.stdout if out.returncode == 0 else ""


# --- the combinations ------------------------------------------------------


@dataclass
class Combo:
    kind: str  # dossier | book
    path: str | None  # book: parallel | single-pass
    variant: str | None  # None: printshop's default
    flavour: str  # NO_FLAVOUR if the variant has none known (then error is set)
    outdir: Path
    argv: list[str] = field(default_factory=list)
    expected: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        kind = f"book ({self.path})" if self.kind == "book" else "dossier"
        return f"{kind}, {self.variant or 'default variant'}"


def entry_slugs() -> list[str]:
    config = ROOT / "printshop.toml"
    folder = "entries"
    if config.is_file():
        folder = tomllib.loads(config.read_text(encoding="utf-8")).get("folders", {}).get("entries", folder)
    entries = ROOT / folder
    return sorted(p.stem for p in [*entries.glob("*.yaml"), *entries.glob("*.yml")])


def plan(python: str, workdir: Path, kinds: list[str],
         variant_list: list[tuple[str | None, str | None]] | None = None) -> list[Combo]:
    """Every combination to render (of VARIANTS unless VARIANT_LIST is given),
    with the errors of those printshop cannot do yet or this script cannot check."""
    combos = []
    helps = {kind: printshop_help(python, kind) for kind in kinds}
    slugs = entry_slugs()
    for kind in kinds:
        variant_opt = option_in_help(helps[kind], "--pdf-variant")
        single_opt = option_in_help(helps[kind], "--single-pass")
        parallel_opt = option_in_help(helps[kind], "--parallel")
        for path in BOOK_PATHS if kind == "book" else (None,):
            for variant, flavour in VARIANTS if variant_list is None else variant_list:
                tag = variant.replace("/", "-") if variant else "default"
                name = f"{kind}-{path}-{tag}" if path else f"{kind}-{tag}"
                combo = Combo(kind, path, variant, flavour or NO_FLAVOUR, workdir / name)
                combo.argv = [python, "-m", "printshop", kind, "--output", str(combo.outdir)]
                if kind == "dossier":
                    combo.expected = [combo.outdir / "dossiers" / f"{s}.pdf" for s in slugs]
                else:
                    combo.expected = [combo.outdir / "book" / "bestiary.pdf"]
                if not helps[kind]:
                    combo.error = f"`printshop {kind} --help` failed: cannot tell what it offers"
                if variant:
                    if not variant_opt.present:
                        combo.error = f"option not available: `printshop {kind}` has no --pdf-variant"
                    elif not variant_opt.accepts(variant):
                        combo.error = (f"option not available: `printshop {kind} --pdf-variant` "
                                       f"does not accept {variant}")
                    combo.argv += ["--pdf-variant", variant]
                if path == "single-pass":
                    if not single_opt.present:
                        combo.error = combo.error or "option not available: `printshop book` has no --single-pass"
                    combo.argv.append("--single-pass")
                elif path == "parallel" and parallel_opt.present:
                    combo.argv.append("--parallel")  # else the cost model may choose either
                if flavour is None:
                    combo.error = (f"no veraPDF flavour known for {variant}: add it to VARIANT_FLAVOURS "
                                   "(or UNCHECKED_VARIANTS) in scripts/conformance.py")
                combos.append(combo)
    return combos


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(line.strip() for line in kept)


def render(combo: Combo) -> Combo:
    if combo.error:
        return combo
    start = time.perf_counter()
    try:
        out = subprocess.run(combo.argv, cwd=ROOT, capture_output=True, text=True,
                             encoding="utf-8", errors="replace",
                             stdin=subprocess.DEVNULL)
    except OSError as exc:
        combo.error = f"printshop did not start: {exc}"
        return combo
    combo.seconds = time.perf_counter() - start
    combo.files = [p for p in combo.expected if p.is_file()]
    missing = [p.name for p in combo.expected if not p.is_file()]
    if out.returncode != 0:
        combo.error = (f"`{' '.join(combo.argv[2:4])} ...` exited {out.returncode}: "
                       f"{_tail(out.stderr or out.stdout) or 'no output'}")
    elif missing:
        combo.error = f"printshop exited 0 but did not write {', '.join(missing)}"
    return combo


# --- checking --------------------------------------------------------------


def run_verapdf(verapdf: Path, flavour: str, files: list[Path]) -> dict[Path, FileResult]:
    """One veraPDF run over every file of FLAVOUR; a result for each file, always."""
    argv = [str(verapdf), "-f", flavour, "--format", "xml", "--maxfailuresdisplayed", "1",
            *(str(f) for f in files)]
    # C1 JIT only: veraPDF's runs here are short, and full tiered compilation
    # doubles their CPU time (measured: 9.9 s -> 4.3 s for 12 dossiers); the
    # report is the same.
    env = dict(os.environ)
    env["JAVA_TOOL_OPTIONS"] = f"{env.get('JAVA_TOOL_OPTIONS', '')} -XX:TieredStopAtLevel=1".strip()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8",
                             errors="replace", stdin=subprocess.DEVNULL, env=env)
    except OSError as exc:
        return {f: FileResult(str(f), error=f"veraPDF did not start: {exc}") for f in files}
    results: dict[Path, FileResult] = {}
    try:
        parsed = parse_report(out.stdout) if out.stdout.strip() else None
    except ET.ParseError as exc:
        parsed, why = None, f"its XML report did not parse ({exc})"
    else:
        why = "it wrote no report"
    if parsed is None:
        problem = f"veraPDF exited {out.returncode} and {why}: {_tail(out.stderr) or 'no message'}"
        return {f: FileResult(str(f), error=problem) for f in files}
    for result in parsed:
        results[Path(result.path).resolve()] = result
    return {
        f: results.get(f.resolve()) or FileResult(str(f), error="missing from veraPDF's report")
        for f in files
    }


# --- main --------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Render every kind of printshop output in every PDF variant and "
                    "check it with veraPDF (PDF/UA, PDF/A).")
    parser.add_argument("--only", default="dossier,book", metavar="KINDS",
                        help="comma list of dossier, book (default: both)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="render into DIR (new or empty) and keep the PDFs there")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                        help="renders (and veraPDF runs) at a time (default: one per core)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the first failed check's message under each failed rule")
    args = parser.parse_args(argv)
    kinds = []
    for word in filter(None, (w.strip() for w in args.only.split(","))):
        kind = word.rstrip("s") if word.rstrip("s") in KINDS else word
        if kind not in KINDS:
            parser.error(f"--only: unknown kind {word!r} (choose from {', '.join(KINDS)})")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        parser.error("--only: name at least one of dossier, book")
    args.kinds = [k for k in KINDS if k in kinds]
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.keep is not None:
        keep = args.keep.resolve()
        output = (ROOT / "output").resolve()
        if keep == output or output in keep.parents or keep in output.parents:
            parser.error(f"--keep {args.keep}: not into (or around) the project's output/ folder")
        if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
            parser.error(f"--keep {args.keep}: must be a new or empty folder")
        args.keep = keep
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        verapdf = find_verapdf()
        java = check_java()
    except SetupError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    print(f"veraPDF: {verapdf} ({java})")

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir, cleanup = args.keep, None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="printshop-conformance-")
        workdir = Path(cleanup.name)
    try:
        return _run(args, verapdf, workdir, started)
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _run(args, verapdf: Path, workdir: Path, started: float) -> int:
    python = sys.executable
    combos = plan(python, workdir, args.kinds)
    todo = [c for c in combos if not c.error]
    print(f"rendering {len(todo)} of {len(combos)} combinations into {workdir}, "
          f"{args.jobs} at a time; each flavour is checked as soon as its files are rendered")
    # One pool for both: a flavour's veraPDF run starts as soon as its last
    # file is rendered, ahead of further renders, so the JVMs overlap the
    # rendering. Flavours are rendered in CHECK_ORDER; within one, the
    # slowest renders (books) first.
    todo.sort(key=lambda c: (CHECK_ORDER.index(c.flavour), c.kind != "book", c.path != "parallel"))
    renders = deque(todo)
    pending = Counter(c.flavour for c in todo)
    by_flavour: dict[str, list[Path]] = {}
    ready: deque[str] = deque()
    results: dict[Path, FileResult] = {}

    def check(flavour: str) -> tuple[dict[Path, FileResult], float]:
        start = time.perf_counter()
        found = run_verapdf(verapdf, flavour, sorted(by_flavour[flavour]))
        return found, time.perf_counter() - start

    in_flight: dict = {}
    with ThreadPoolExecutor(args.jobs) as pool:

        def fill() -> None:
            while len(in_flight) < args.jobs and (ready or renders):
                if ready:
                    flavour = ready.popleft()
                    in_flight[pool.submit(check, flavour)] = ("check", flavour)
                else:
                    combo = renders.popleft()
                    in_flight[pool.submit(render, combo)] = ("render", combo)

        fill()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                what, item = in_flight.pop(future)
                if what == "render":
                    combo = future.result()
                    state = "ERROR" if combo.error else f"{len(combo.files)} file(s)"
                    print(f"  rendered {combo.label}: {state} in {combo.seconds:.1f} s", flush=True)
                    by_flavour.setdefault(combo.flavour, []).extend(combo.files)
                    pending[combo.flavour] -= 1
                    if pending[combo.flavour] == 0 and by_flavour[combo.flavour]:
                        ready.append(combo.flavour)
                else:
                    found, seconds = future.result()
                    print(f"  checked {len(found)} file(s) as {FLAVOUR_NAMES[item]} ({item}) "
                          f"with veraPDF in {seconds:.1f} s", flush=True)
                    results.update(found)
            fill()

    def shown(path: Path) -> str:
        return str(path.relative_to(workdir)) if args.keep is None else str(path)

    counts: dict[str, dict[str, int]] = {}
    failure_lines, error_lines = [], []
    for combo in combos:
        c = counts.setdefault(combo.flavour, {"files": 0, "passed": 0, "failed": 0, "errors": 0})
        if combo.error:
            c["errors"] += 1
            error_lines.append(f"ERROR: {combo.label} ({combo.flavour}): {combo.error}")
        for f in combo.files:
            result = results[f]
            if result.error:
                c["errors"] += 1
                error_lines.append(f"ERROR: {shown(f)}: {combo.flavour}: {result.error}")
                continue
            c["files"] += 1
            c["passed" if result.passed else "failed"] += 1
            for rule in result.rules:
                failure_lines.append((FLAVOURS.index(combo.flavour), shown(f), rule))
    failure_lines.sort(key=lambda t: (t[0], t[1]))  # rules stay in clause order

    print()
    for index, name, rule in failure_lines:
        print(format_failure(name, FLAVOURS[index], rule))
        if args.verbose and rule.message:
            print(f"    first failure: {rule.message}")
    for line in error_lines:
        print(line)
    if failure_lines or error_lines:
        print()
    print(format_summary(counts))
    failed = any(c["failed"] or c["errors"] for c in counts.values())
    print(f"\n{'FAILED' if failed else 'PASSED'}: {len(failure_lines)} failed rule(s), "
          f"{len(error_lines)} error(s); {time.perf_counter() - started:.1f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
