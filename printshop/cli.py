"""The command line: parse options, call a stage, report. Nothing else lives here.

Imports of the rendering stages are deferred so that ``printshop --help``
answers without loading WeasyPrint (1.3 s of import on its own).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from . import PDF_VARIANTS, __version__
from .errors import EntryError, PrintshopError
from .report import Outcome, plural, printable

STAGES = ("dossiers", "cards", "book")
VARIANT_OPTION = click.option(
    "--pdf-variant", type=click.Choice(PDF_VARIANTS),
    help="PDF/UA-1 (accessible, tagged: the default unless printshop.toml says otherwise), "
         "PDF/UA-2, PDF/A (archive), or none (untagged).")

#: One meaning everywhere, as in MkDocs: the work is done as usual, and warnings count as
#: errors, so the command fails (`report.failing`).
STRICT_OPTION = click.option("--strict", is_flag=True,
                             help="Warnings count as errors: the command fails on any.")

ENTRY_HELP = "ENTRY is a slug from entries/ or a path to a YAML file; none means all."


class _Echo(logging.Handler):
    """Log records as plain lines on stderr; WeasyPrint's warnings as 'warning: ...'."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        click.echo(printable(f"{prefix}{record.getMessage()}"), err=True)


def _setup_logging(verbose: bool) -> None:
    handler = _Echo()
    for name, level in (("printshop", logging.INFO if verbose else logging.WARNING),
                        ("weasyprint", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def _conclude(outcome: Outcome, strict: bool = False, said: str | None = None) -> None:
    """Every command ends here: each problem and failure on its own line, then ``said``
    (a count or the summary), then the exit status `Outcome.verdict` gives."""
    for problem in outcome.problems:
        click.echo(str(problem), err=True)
    for failure in outcome.failures:
        click.echo(printable(f"error: {failure}"), err=True)
    verdict = outcome.verdict(strict)
    if said:
        click.echo(said, err=verdict is not None)
    if verdict:
        raise EntryError(verdict)


class _Guarded(click.Group):
    """No traceback reaches a user: a failure printshop did not foresee is reported in
    one line (``PRINTSHOP_DEBUG=1`` shows the traceback, for a bug report)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if os.environ.get("PRINTSHOP_DEBUG"):
                raise
            if isinstance(error, OSError) and error.strerror:
                where = f"{error.filename}: " if error.filename else ""
                raise PrintshopError(f"{where}{error.strerror}") from error
            raise PrintshopError(f"internal error: {type(error).__name__}: {error} (please "
                                 "report it; PRINTSHOP_DEBUG=1 shows where it happened)") \
                from error


@click.group(cls=_Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="printshop")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The project folder (default: the nearest folder with printshop.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Say what is written.")
@click.pass_context
def main(ctx: click.Context, project_dir: Path | None, verbose: bool) -> None:
    """printshop: dossiers, share cards and the book of The Corporate Bestiary."""
    from .config import load_project

    _setup_logging(verbose)
    ctx.obj = load_project(project_dir)


@main.command(help="Validate entries and report every problem as path:line:col. " + ENTRY_HELP)
@click.argument("entries", nargs=-1)
@STRICT_OPTION
@click.pass_obj
def check(project, entries: tuple[str, ...], strict: bool) -> None:
    from . import build

    bestiary = build.check(project, entries)
    outcome = Outcome(problems=list(bestiary.problems))
    _conclude(outcome, strict, None if outcome.failed(strict)
              else f"{plural(len(bestiary.selected), 'entry')} OK")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the entry format."""
    from .model import entry_schema

    click.echo(json.dumps(entry_schema(), indent=2, ensure_ascii=False))


@main.command(name="import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the new entries (default: entries/ from printshop.toml).")
@STRICT_OPTION
@click.option("--force", is_flag=True, help="Replace entries that already exist.")
@click.pass_obj
def import_(project, files: tuple[Path, ...], output: Path | None, strict: bool,
            force: bool) -> None:
    """Turn file records copied as plain text into validated YAML entries.

    Lines that cannot be mapped are reported as warnings with their line number
    (with --strict the command then fails). Related specimens whose title matches
    an entry are linked by slug.
    """
    from .importer import import_records

    _finish(import_records(project, files, output, force), "entry", verb="imported",
            strict=strict)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine is warned about.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@click.pass_obj
def serve(project, port: int, host: str, open_browser: bool) -> None:
    """Preview every entry live in a browser: dossier pages, cards, problems.

    Pages update by themselves when an entry, a layout, a font or the config
    changes. Serves only what it renders; GET and HEAD only.
    """
    from .serve import LOCAL_HOSTS, make_server

    if host not in LOCAL_HOSTS:
        click.echo(f"warning: listening on {host}: anyone who can reach this machine can read "
                   "the preview (use the default 127.0.0.1 to keep it private)", err=True)
    try:
        server, studio = make_server(project, host, port)
    except OSError as error:
        raise PrintshopError(f"cannot listen on {host}:{port}: {error.strerror or error}")
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_port}/"
    click.echo(f"printshop preview on {url} (Ctrl-C stops it)", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        studio.stop()
        server.server_close()


@main.command(help="Render PDF dossiers into OUTPUT/dossiers. " + ENTRY_HELP)
@click.argument("entries", nargs=-1)
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/ from printshop.toml).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), help="Paper size (default from config).")
@VARIANT_OPTION
@click.pass_obj
def dossier(project, entries: tuple[str, ...], output: Path | None, paper: str | None,
            pdf_variant: str | None) -> None:
    from . import build

    with _locked(project, output):
        outcome = build.dossiers(project, entries, output, paper, pdf_variant)
    _finish(outcome, "dossier")


@main.command(help="Draw social share cards into OUTPUT/cards, with alt text and meta tags. "
              + ENTRY_HELP)
@click.argument("entries", nargs=-1)
@click.option("--preset", "presets", multiple=True,
              help="og, square, portrait, story or one from printshop.toml (repeatable; "
                   "default: all).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpeg", "webp"]), default="png",
              show_default=True)
@click.option("--scale", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="Pixel density: 2 for high-density screens.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/ from printshop.toml).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256),
              help="Worker processes for many entries (default: all cores).")
@click.pass_obj
def cards(project, entries, presets, fmt, scale, output, jobs) -> None:
    from . import build

    with _locked(project, output):
        outcome = build.cards(project, entries, presets, fmt, int(scale), output, jobs)
    _finish(outcome, "card file")


@main.command(help="Print the whole bestiary as one book: OUTPUT/book/bestiary.pdf.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/ from printshop.toml).")
@click.option("--paper", type=click.Choice(["a4", "letter", "a5", "trade"]),
              help="Paper size; trade is 6x9 in (default from config).")
@click.option("--bleed", metavar="LENGTH", help="Bleed around the trim, e.g. 3mm or 0.125in.")
@click.option("--marks", is_flag=True, help="Crop and registration marks (adds bleed if none).")
@VARIANT_OPTION
@click.option("-j", "--jobs", type=click.IntRange(1, 256),
              help="Worker processes laying out records (default: one per core).")
@click.option("--single-pass", "path", flag_value="single",
              help="Lay out the whole book in one WeasyPrint pass (memory grows with the "
                   "book). Default: the faster path for the book and cores (-v says which).")
@click.option("--parallel", "path", flag_value="parallel",
              help="Lay out records in worker processes and join them, however small the book.")
@click.pass_obj
def book(project, output, paper, bleed, marks, pdf_variant, jobs, path) -> None:
    from . import build
    from .book import BookOptions

    options = BookOptions(paper=paper or project.config.print.paper, bleed=bleed, marks=marks,
                          pdf_variant=pdf_variant)
    with _locked(project, output):
        outcome = build.book(project, output, options, jobs, path=path)
    _finish(outcome, "book")


@main.command(name="build")
@click.option("-j", "--jobs", type=click.IntRange(1, 256),
              help="Worker processes (default: one per core).")
@click.option("--only", default=",".join(STAGES), show_default=True,
              help="Which outputs: a comma list of dossiers, cards, book.")
@STRICT_OPTION
@click.option("--force", is_flag=True, help="Rebuild everything, even what is up to date.")
@click.option("-q", "--quiet", is_flag=True, help="No progress; problems and the summary only.")
@VARIANT_OPTION
@click.option("--scheduler", metavar="tcp://HOST:PORT", envvar="PRINTSHOP_SCHEDULER",
              help="Build on the Dask cluster of this scheduler (needs printshop[dask]; "
                   "default: PRINTSHOP_SCHEDULER, else [build] scheduler in printshop.toml, "
                   "else this machine).")
@click.pass_obj
def build_command(project, jobs, only, strict, force, quiet, pdf_variant, scheduler) -> None:
    """Build every output of every entry into output/: dossiers, cards and the book.

    Only what changed is rebuilt; work runs in parallel, on this machine's cores
    or a Dask cluster's workers; a broken entry is reported and skipped while
    everything else is still built.
    """
    from . import build
    from .progress import make_progress, summary_text

    stages = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'}; choose from "
                                 f"{', '.join(STAGES)}", param_hint="--only")
    progress = make_progress(quiet)
    outcome = build.run_build(project, jobs, stages, force, progress,
                              say=lambda text: click.echo(text, err=True), variant=pdf_variant,
                              scheduler=scheduler or project.config.build.scheduler)
    _conclude(outcome, strict, summary_text(outcome))


def _locked(project, output: Path | None):
    """One writer at a time per output folder (a second command waits, and says so)."""
    from .build import build_lock

    return build_lock(output or project.output_dir, lambda text: click.echo(text, err=True))


def _finish(outcome: Outcome, noun: str, verb: str = "written", strict: bool = False) -> None:
    """Say what was written, after every problem; fail if anything went wrong."""
    _conclude(outcome, strict, f"{plural(len(outcome.written), noun)} {verb}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
