"""The dossier: one entry rendered as a print-styled FILE RECORD PDF.

Rendering happens in memory (`Dossiers.render` returns WeasyPrint's
`Document`); only `printshop.output` touches the disk. One `Dossiers` holds
the warm state of a process: the Jinja environment, parsed stylesheets and a
single shared `FontConfiguration` (MEASURED.md: 0.32-0.37 s per dossier
instead of 0.46-0.48 s).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .config import Project
from .gauge import gauge_geometry, svg_points
from .load import Bestiary, Loaded
from .model import headline, record_id, salary_figure
from .resources import check_harfbuzz_subset, make_fetcher, use_only_bundled_fonts

STYLESHEETS = ("fonts.css", "dossier.css")
#: Tagged PDF: reading order for screen readers, and the gauge's SVG <title>
#: becomes its /Alt text. Costs about 10 ms and 7 kB per dossier.
PDF_OPTIONS = {"pdf_tags": True}
LOGGER = logging.getLogger("printshop")


@dataclass(frozen=True)
class Specimen:
    """A related role as printed: in the bestiary (with its slug) or not."""

    title: str
    slug: str | None
    match: int
    description: str


def layout_environment(layouts_dir: Path) -> jinja2.Environment:
    """Jinja with autoescaping always on: entry text is data, never markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(layouts_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points"] = svg_points
    return env


def theme_css(project: Project, paper: str | None = None) -> str:
    """The configured colours and paper size, as CSS custom properties."""
    colours = project.config.colours.model_dump()
    lines = "".join(f"--{name}: {value};" for name, value in colours.items())
    size = {"a4": "A4", "letter": "letter"}[paper or project.config.print.paper]
    return f":root {{{lines}}}\n@page {{ size: {size}; }}\n"


def dossier_context(item: Loaded, bestiary: Bestiary, project: Project) -> dict:
    """Everything the dossier layout prints, computed from one entry."""
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
        "subject": f"{pub.title}, file record {record_id(item.slug)}: {headline(entry)}",
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
    }


class Dossiers:
    """A warm dossier renderer: build once per process, render many entries."""

    def __init__(self, project: Project, paper: str | None = None) -> None:
        use_only_bundled_fonts(project.fonts_dir)
        check_harfbuzz_subset()
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.project = project
        self.env = layout_environment(project.layouts_dir)
        self.fetcher = make_fetcher([project.layouts_dir, project.fonts_dir])
        self.font_config = FontConfiguration()
        self.stylesheets = [
            CSS(
                filename=str(project.layouts_dir / name),
                font_config=self.font_config,
                url_fetcher=self.fetcher,
            )
            for name in STYLESHEETS
        ]
        self.stylesheets.append(
            CSS(string=theme_css(project, paper), font_config=self.font_config)
        )

    def html(self, item: Loaded, bestiary: Bestiary) -> str:
        """The dossier's HTML (all entry text escaped)."""
        template = self.env.get_template("dossier.html.j2")
        return template.render(dossier_context(item, bestiary, self.project))

    def render(self, item: Loaded, bestiary: Bestiary):
        """Lay out the dossier: a WeasyPrint `Document`, nothing written."""
        from weasyprint import HTML

        html = HTML(
            string=self.html(item, bestiary),
            base_url=self.project.layouts_dir.as_uri() + "/",
            url_fetcher=self.fetcher,
        )
        return html.render(font_config=self.font_config, stylesheets=self.stylesheets)

    def pdf(self, item: Loaded, bestiary: Bestiary) -> bytes:
        """The dossier as PDF bytes."""
        return self.render(item, bestiary).write_pdf(**PDF_OPTIONS)
