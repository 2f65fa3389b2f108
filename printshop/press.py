"""The warm WeasyPrint state of a process, shared by the dossier and the book.

One `FontConfiguration` for every render (MEASURED.md: 0.32-0.37 s per
dossier instead of 0.46-0.48 s), stylesheets parsed once, Jinja with
autoescaping, and a URL fetcher that reads only layouts and fonts.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Callable, Sequence

import jinja2

from . import PDF_VARIANTS
from .config import Project
from .gauge import svg_points
from .model import flat
from .scripts import cap_marks, emoji_clusters, is_rtl
from .errors import ConfigError
from .resources import (check_font_faces, check_harfbuzz_subset, make_fetcher,
                        use_only_bundled_fonts)


PAPER = {"a4": "A4", "letter": "letter", "a5": "A5", "trade": "6in 9in"}


#: What no printed text should carry: control characters (NUL, escape, bell...),
#: the Unicode line and paragraph separators, on which WeasyPrint 70's line
#: breaking fails an assertion, U+FEFF (a byte-order mark, invisible) and the
#: noncharacters U+FFFE and U+FFFF (PDF/UA forbids all three in a font's Unicode
#: map). Tabs and newlines stay (CSS collapses them).
_UNPRINTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


#: A run of letters this long with nowhere to break. WeasyPrint breaks such a
#: word (overflow-wrap) by laying out the rest of it again for every line: a
#: 10,000-letter word took 14 s. Identifiers (slugs, at most 80) are shorter.
_UNBROKEN = re.compile(r"[^\s\u200b]{100,}")
BREAK_EVERY = 16


def printed(value):
    """Every value a layout prints, as it may be printed: no control characters or
    Unicode line separators (see _UNPRINTED), a break opportunity (a zero-width
    space) every BREAK_EVERY letters of an absurdly long word, and no more stacked
    marks than the cards print (`scripts.cap_marks`)."""
    if not isinstance(value, str):
        return value
    cleaned = value
    if _UNPRINTED.search(cleaned):
        cleaned = _UNPRINTED.sub(lambda m: " " if m.group() in "\u2028\u2029" else "", cleaned)
    if _UNBROKEN.search(cleaned) and not isinstance(value, jinja2.utils.markupsafe.Markup):
        cleaned = _UNBROKEN.sub(lambda m: "\u200b".join(
            m.group()[i:i + BREAK_EVERY] for i in range(0, len(m.group()), BREAK_EVERY)),
            cleaned)
    cleaned = cap_marks(cleaned)
    if cleaned is value:
        return value
    return jinja2.utils.markupsafe.Markup(cleaned) if isinstance(
        value, jinja2.utils.markupsafe.Markup) else cleaned


_NOT_PRINTED = re.compile(r"<(head|svg|style)\b.*?</\1>", re.S)  # text not laid out as text
_TEXT_NODE = re.compile(r">([^<]+)<")


def emoji_spans(html: str) -> str:
    """Every emoji sequence of the page's text in ``<span class="emoji">``, drawn
    from the emoji font whole. Pango picks a font per character: a keycap (1 + U+FE0F
    + U+20E3) or a character with the emoji selector (©️) would take its first
    character from the text font and come apart."""
    if html.isascii():
        return html

    def wrap(match: re.Match) -> str:
        text = match.group(1)
        spans = emoji_clusters(text)
        if not spans:
            return match.group()
        out, pos = [], 0
        for start, end in spans:
            # Without the emoji selector U+FE0F: Pango loses the font's ligature over
            # it (a keycap prints as "1" and an empty key, a rainbow flag maps to no
            # text). The span asks for the emoji presentation already.
            emoji = text[start:end].replace("\ufe0f", "")
            out += [text[pos:start], '<span class="emoji">', emoji, "</span>"]
            pos = end
        return ">" + "".join(out) + text[pos:] + "<"

    out, pos = [], 0
    for skipped in _NOT_PRINTED.finditer(html):
        out += [_TEXT_NODE.sub(wrap, html[pos:skipped.start()]), skipped.group()]
        pos = skipped.end()
    return "".join(out) + _TEXT_NODE.sub(wrap, html[pos:])


def dir_attribute(text) -> jinja2.utils.markupsafe.Markup:
    """` dir="rtl"` for an element whose text starts (first strong character) right
    to left, as a browser's ``dir=auto`` decides; nothing otherwise (the page is LTR)."""
    rtl = isinstance(text, str) and is_rtl(text)
    return jinja2.utils.markupsafe.Markup(' dir="rtl"' if rtl else "")


def layout_environment(layouts_dir: Path) -> jinja2.Environment:
    """Jinja with autoescaping always on: entry text is data, never markup."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(layouts_dir),
        autoescape=True,
        finalize=printed,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points"] = svg_points
    env.filters["dir"] = dir_attribute
    env.filters["flat"] = flat
    env.bytecode_cache = LayoutCache.for_environment(env)
    return env


class LayoutCache(jinja2.FileSystemBytecodeCache):
    """Compiled layouts kept from one process to the next.

    Compiling the dossier's templates took a cold process ~50 ms; loading their
    bytecode takes ~1 ms. Jinja compares each template's source checksum, so an
    edited layout is compiled again; the key also holds what Jinja's own key
    leaves out, the environment's options (trim_blocks, finalize...) and Jinja's
    version. Bytecode is code: the folder must be the user's own and writable by
    no one else, or there is no cache. Writing fails quietly: an unwritable cache
    only costs the compile. (Jinja writes atomically: a temporary file, renamed.)
    """

    FOLDER = "layouts"

    def __init__(self, directory: str, fingerprint: str) -> None:
        super().__init__(directory, "%s.jinja")
        self.fingerprint = fingerprint

    @classmethod
    def for_environment(cls, env: jinja2.Environment) -> LayoutCache | None:
        from .resources import cache_roots, own_folder

        options = (jinja2.__version__, env.block_start_string, env.block_end_string,
                   env.variable_start_string, env.variable_end_string,
                   env.comment_start_string, env.comment_end_string,
                   env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
                   env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
                   env.optimized, env.is_async, _name(env.autoescape), _name(env.finalize),
                   _name(env.undefined), sorted(env.extensions), sorted(env.filters),
                   sorted(env.tests))
        fingerprint = hashlib.sha256(repr(options).encode()).hexdigest()
        for root in cache_roots():
            folder = root / cls.FOLDER
            if own_folder(folder):
                return cls(str(folder), fingerprint)
        return None

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self.fingerprint}|{name}", filename)

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _name(value) -> str:
    """A stable name for an environment option (a function by where it is defined)."""
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', value)}"
    return repr(value)


def colour_variables(project: Project) -> str:
    """The configured colours as CSS variables (``--ink``...), for the dossier and the book."""
    colours = project.config.colours.model_dump()
    return ":root {" + "".join(f"--{name}: {value};" for name, value in colours.items()) + "}"


def theme_css(project: Project, paper: str | None = None) -> str:
    """The configured colours and paper size, as CSS."""
    size = PAPER[paper or project.config.print.paper]
    paper_colour = project.config.colours.paper
    return f"{colour_variables(project)}\n@page {{ size: {size}; background: {paper_colour}; }}\n"


def check_variant(variant: str) -> None:
    """A PDF variant printshop writes (printshop.PDF_VARIANTS), or a ConfigError."""
    if variant not in PDF_VARIANTS:
        raise ConfigError(f"pdf variant must be one of {', '.join(PDF_VARIANTS)}, got "
                          f"{variant!r}")


def pdf_options(variant: str) -> dict:
    """WeasyPrint's ``write_pdf`` options for a variant (see printshop.PDF_VARIANTS)."""
    check_variant(variant)
    if variant == "none":
        return {}
    return {"pdf_variant": variant, "pdf_tags": True}


def write_pdf(document, variant: str, finishers: Sequence[Callable] = (),
              describe: Callable[[str], str] | None = None, whole: bool = True,
              **options) -> bytes:
    """The one place a laid-out document becomes PDF bytes, as ``variant``.

    Each link gets one annotation (`one_annotation_per_link`), whose /Contents
    is ``describe(target)`` (words a person reads) where given. PDF/UA-2 gets its structure tree nested as ISO 32005 requires
    (`printshop.pdftags`), unless the document is not ``whole`` (a piece of the
    parallel book: the joined book is finished as a whole). ``finishers`` are
    WeasyPrint finishers, run in order.
    """
    from .pdffonts import fill_unicode_maps

    one_annotation_per_link(document)
    finishers = (fill_unicode_maps, *finishers)
    if describe is not None:
        finishers = (*finishers, _describe_links(describe))

    def finish(doc, pdf) -> None:
        for finisher in finishers:
            finisher(doc, pdf)

    data = document.write_pdf(**pdf_options(variant), finisher=finish, **options)
    return finish_pdf(data, variant) if whole else data


def finish_pdf(data: bytes, variant: str) -> bytes:
    """What a variant asks of a whole written PDF beyond WeasyPrint: PDF/UA-2's
    structure nesting."""
    if variant == "pdf/ua-2":
        from .pdftags import fix_pdf_ua2

        return fix_pdf_ua2(data)
    return data


def one_annotation_per_link(document) -> None:
    """Keep one link annotation per link.

    WeasyPrint gives an annotation to a link's box and to every box inside it
    (a span, the ::after with the page number, a leader): a contents line had
    3-4 overlapping ones. Boxes are gathered depth first, so a box inside a link
    comes right after it with the same target: it is folded into the first,
    whose rectangle grows to cover it.
    """
    for page in document.pages:
        kept: list = []
        for kind, target, (x1, y1, x2, y2), box in page.links:
            if kept and kept[-1][:2] == (kind, target) and _touching(kept[-1][2], (x1, y1, x2, y2)):
                kind0, target0, (a1, b1, a2, b2), box0 = kept[-1]
                kept[-1] = (kind0, target0, (min(a1, x1), min(b1, y1), max(a2, x2), max(b2, y2)),
                            box0)
            else:
                kept.append((kind, target, (x1, y1, x2, y2), box))
        page.links[:] = kept


def _touching(a, b) -> bool:
    """Whether two rectangles (x1, y1, x2, y2) overlap or touch."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _describe_links(describe: Callable[[str], str]) -> Callable:
    """A finisher: each internal link annotation's /Contents in words
    ("Enterprise Architect, page 13"), not its anchor name."""
    import pydyf

    def finish(document, pdf) -> None:
        for page in document.pages:
            for kind, target, _rect, box in page.links:
                annotation = getattr(box, "link_annotation", None)
                if kind == "internal" and annotation is not None:
                    annotation["Contents"] = pydyf.String(describe(target))

    return finish


def _one_warning_per_entry(record: logging.LogRecord) -> bool:
    """WeasyPrint warns once per glyph no font has (hundreds for some text); printshop
    names them in one warning per entry instead (`text.warn_uncovered`)."""
    return not record.getMessage().startswith(".notdef glyph rendered")


class Press:
    """Renders HTML from the project's layouts to WeasyPrint documents, in memory."""

    def __init__(self, project: Project) -> None:
        from .fonts import load_fonts

        self.fonts = load_fonts(project.layouts_dir, project.fonts_dir)
        use_only_bundled_fonts(project.fonts_dir, self.fonts.fallback_families(),
                               self.fonts.hidden())
        logging.getLogger("weasyprint").addFilter(_one_warning_per_entry)
        from .libraries import import_weasyprint

        import_weasyprint()  # its C libraries' lookups remembered: ~280 ms a cold process
        from weasyprint.text.fonts import FontConfiguration

        check_harfbuzz_subset()

        self.project = project
        self.env = layout_environment(project.layouts_dir)
        self.fetcher = make_fetcher([project.layouts_dir, project.fonts_dir])
        self.font_config = FontConfiguration()
        self._sheets: dict[str, object] = {}

    def sheet(self, name: str):
        """A stylesheet of ``layouts/``, parsed once per process."""
        if name not in self._sheets:
            from weasyprint import CSS

            path = self.project.layouts_dir / name
            if not path.is_file():
                raise ConfigError(f"layout file missing: {path}")
            if name == "fonts.css":
                check_font_faces(path, self.project.fonts_dir)
            self._sheets[name] = CSS(filename=str(path), font_config=self.font_config,
                                     url_fetcher=self.fetcher)
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
        try:
            return emoji_spans(self.env.get_template(template).render(context))
        except jinja2.TemplateNotFound as error:
            raise ConfigError(f"layout file missing: {self.project.layouts_dir / error.name}") \
                from error
        except jinja2.TemplateSyntaxError as error:
            raise ConfigError(f"{error.filename}:{error.lineno}: template syntax error: "
                              f"{error.message}") from error

    def render(self, html: str, stylesheets: list):
        """Lay out ``html``: a WeasyPrint `Document`, nothing written."""
        from weasyprint import HTML

        document = HTML(string=html, base_url=self.project.layouts_dir.as_uri() + "/",
                        url_fetcher=self.fetcher)
        return document.render(font_config=self.font_config, stylesheets=stylesheets)
