"""How a build shows itself: a live display on a terminal, plain lines elsewhere.

rich draws the terminal display (per stage: a bar, counts, elapsed time and
time left); it is a well-kept library, and a hand-made one would redraw
worse. Piped or logged output gets one plain line per finished output.
"""

from __future__ import annotations

import sys

import click

from .report import printable


class Progress:
    """Quiet: no progress while building, only the warnings outputs bring back."""

    def start(self, totals: dict[str, int]) -> None:
        self.totals = totals

    def done(self, result) -> None:
        for message in result.messages:
            click.echo(f"warning: {printable(message)}", err=True)

    def stop(self) -> None:
        pass


class LineProgress(Progress):
    """One line per finished output, with its warnings: for logs and pipes."""

    def start(self, totals: dict[str, int]) -> None:
        super().start(totals)
        self.counts = {stage: 0 for stage in totals}
        todo = ", ".join(f"{n} {stage}" for stage, n in totals.items() if n)
        click.echo(f"building: {todo}" if todo else "everything is up to date", err=True)

    def done(self, result) -> None:
        stage = result.task.stage
        self.counts[stage] += 1
        what = result.task.slug or "book"
        status = f"FAILED: {printable(result.error)}" if result.error else "written"
        click.echo(f"[{stage} {self.counts[stage]}/{self.totals[stage]}] {what}: {status} "
                   f"({result.seconds:.1f} s)", err=True)
        for message in result.messages:
            click.echo(f"warning: {printable(message)}", err=True)


class LiveProgress(Progress):
    """A bar per stage with counts, elapsed time and time left: for a terminal."""

    def start(self, totals: dict[str, int]) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bars,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        super().start(totals)
        self.bars = Bars(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                         console=Console(stderr=True))
        self.ids = {stage: self.bars.add_task(stage, total=max(total, 0))
                    for stage, total in totals.items()}
        self.bars.start()

    def done(self, result) -> None:
        self.bars.advance(self.ids[result.task.stage])
        if result.error:
            from rich.markup import escape

            self.bars.console.print(f"[red]failed[/red] {result.task.stage} "
                                    f"{result.task.slug or 'book'}: "
                                    f"{escape(printable(result.error))}",
                                    markup=True, highlight=False)
        for message in result.messages:
            self.bars.console.print(f"warning: {printable(message)}", markup=False,
                                    highlight=False)

    def stop(self) -> None:
        self.bars.stop()


def make_progress(quiet: bool) -> Progress:
    if quiet:
        return Progress()
    return LiveProgress() if sys.stderr.isatty() else LineProgress()


def summary_text(report) -> str:
    """The closing table: built, up to date and failed per stage, with times."""
    lines = [f"{'stage':9} {'built':>6} {'up to date':>11} {'failed':>7} {'done at':>9}"]
    for stage, numbers in report.stages.items():
        lines.append(f"{stage:9} {numbers.built:6} {numbers.fresh:11} {numbers.failed:7} "
                     f"{numbers.seconds:8.1f}s")
    lines.append(f"total {report.seconds:.1f} s")
    if report.stale:
        lines.append(f"{len(report.stale)} output(s) of removed entries left in place "
                     f"(printshop deletes nothing): {', '.join(report.stale[:5])}"
                     + (" ..." if len(report.stale) > 5 else ""))
    return "\n".join(lines)
