"""The warm WeasyPrint state of a process, shared by the dossier and the book.

One `FontConfiguration` for every render (MEASURED.md: 0.32-0.37 s per
dossier instead of 0.46-0.48 s), stylesheets parsed once, Jinja with
autoescaping, and a URL fetcher that reads only layouts and fonts.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from .config import Project
from .gauge import svg_points
from .resources import check_harfbuzz_subset, make_fetcher, use_only_bundled_fonts

#: Tagged PDF: reading order for screen readers, and an SVG's <title>
#: becomes its /Alt text. Costs about 10 ms and 7 kB per dossier.
PDF_OPTIONS = {"pdf_tags": True}

PAPER = {"a4": "A4", "letter": "letter", "a5": "A5", "trade": "6in 9in"}


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
    """The configured colours and paper size, as CSS."""
    colours = project.config.colours.model_dump()
    lines = "".join(f"--{name}: {value};" for name, value in colours.items())
    size = PAPER[paper or project.config.print.paper]
    paper_colour = colours["paper"]
    return f":root {{{lines}}}\n@page {{ size: {size}; background: {paper_colour}; }}\n"


class Press:
    """Renders HTML from the project's layouts to WeasyPrint documents, in memory."""

    def __init__(self, project: Project) -> None:
        use_only_bundled_fonts(project.fonts_dir)
        check_harfbuzz_subset()
        from weasyprint.text.fonts import FontConfiguration

        self.project = project
        self.env = layout_environment(project.layouts_dir)
        self.fetcher = make_fetcher([project.layouts_dir, project.fonts_dir])
        self.font_config = FontConfiguration()
        self._sheets: dict[str, object] = {}

    def sheet(self, name: str):
        """A stylesheet of ``layouts/``, parsed once per process."""
        if name not in self._sheets:
            from weasyprint import CSS

            self._sheets[name] = CSS(filename=str(self.project.layouts_dir / name),
                                     font_config=self.font_config, url_fetcher=self.fetcher)
        return self._sheets[name]

    def sheet_from(self, text: str):
        """A stylesheet computed from config (colours, paper, print options)."""
        key = "string:" + text
        if key not in self._sheets:
            from weasyprint import CSS

            self._sheets[key] = CSS(string=text, font_config=self.font_config,
                                    url_fetcher=self.fetcher)
        return self._sheets[key]

    def html(self, template: str, context: dict) -> str:
        return self.env.get_template(template).render(context)

    def render(self, html: str, stylesheets: list):
        """Lay out ``html``: a WeasyPrint `Document`, nothing written."""
        from weasyprint import HTML

        document = HTML(string=html, base_url=self.project.layouts_dir.as_uri() + "/",
                        url_fetcher=self.fetcher)
        return document.render(font_config=self.font_config, stylesheets=stylesheets)
