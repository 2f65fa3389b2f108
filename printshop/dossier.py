"""The dossier: one entry rendered as a print-styled FILE RECORD PDF.

Rendering happens in memory (`Dossiers.render` returns WeasyPrint's
`Document`); only `printshop.output` touches the disk. The warm state of a
process (fonts, parsed stylesheets, Jinja) lives in `printshop.press.Press`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import Project
from .gauge import gauge_geometry
from .load import Bestiary, Loaded
from .model import flat, headline, record_id, salary_figure
from .press import Press, theme_css, write_pdf

LOGGER = logging.getLogger("printshop")

STYLESHEETS = ("fonts.css", "record.css", "dossier.css")


@dataclass(frozen=True)
class Specimen:
    """A related role as printed: in the bestiary (with its slug) or not."""

    title: str
    slug: str | None
    match: int
    description: str


def dossier_context(item: Loaded, bestiary: Bestiary, project: Project,
                    in_book: set[str] | None = None) -> dict:
    """Everything the dossier layout prints, computed from one entry; ``in_book``:
    the slugs of the book it is printed in (its cross-references give their pages)."""
    entry = item.entry
    config = project.config
    band = config.band_for(entry.flight_risk.percent)
    label = entry.flight_risk.band or band.label
    pub = config.publication
    return {
        "entry": entry,
        "slug": item.slug,
        "record_id": record_id(item.slug),
        "headline": headline(entry),
        "pub": pub,
        "created": config.created(),
        "subject": flat(f"{pub.title}, file record {record_id(item.slug)}: {headline(entry)}"),
        "figure": salary_figure(entry.salary),
        "risk_label": label,
        "gauge": gauge_geometry(entry.flight_risk.percent, config.flight_risk.bands, label),
        "specimens": [
            Specimen(
                title=bestiary.title_of(r.slug) if r.slug else r.title,
                slug=r.slug,
                match=r.match,
                description=r.description,
            )
            for r in entry.related
        ],
        "in_book": in_book,
        "fragment": False,
        "org_chart_alt": org_chart_alt(entry),
    }


def org_chart_alt(entry) -> str | None:
    """What the org chart shows, in words: its figure's alternate text."""
    chart = entry.org_chart
    if chart is None:
        return None
    above = (f"from the top, {', then '.join(chart.reports_to)}, above " if chart.reports_to
             else "")
    beside = f", beside {', '.join(chart.peers)}" if chart.peers else ""
    below = (f"; direct reports: {', '.join(chart.direct_reports)}" if chart.direct_reports
             else "; no direct reports")
    return f"Org chart: {above}{entry.title}{beside}{below}."


class Dossiers:
    """A warm dossier renderer: build once per process, render many entries."""

    def __init__(self, project: Project, paper: str | None = None,
                 press: Press | None = None, variant: str | None = None) -> None:
        self.project = project
        self.variant = variant or project.config.print.pdf_variant
        self.press = press or Press(project)
        self.fetcher = self.press.fetcher
        self.stylesheets = [self.press.sheet(name) for name in STYLESHEETS]
        self.stylesheets.append(self.press.sheet_from(theme_css(project, paper)))

    def html(self, item: Loaded, bestiary: Bestiary) -> str:
        """The dossier's HTML (all entry text escaped)."""
        return self.press.html("dossier.html.j2", dossier_context(item, bestiary, self.project))

    def render(self, item: Loaded, bestiary: Bestiary):
        """Lay out the dossier: a WeasyPrint `Document`, nothing written."""
        return self.press.render(self.html(item, bestiary), self.stylesheets)

    def pdf(self, item: Loaded, bestiary: Bestiary, document=None) -> bytes:
        """The dossier as PDF bytes, in the renderer's variant (``document`` if it is
        laid out already)."""
        return write_pdf(document or self.render(item, bestiary), self.variant)
