"""Text for raster cards: bundled fonts with fallback, bidi, emoji, line breaking.

Pillow draws one font in one direction at a time; a title may need four
(Oswald, then Noto Sans Arabic, then the CJK fallback, then emoji). A
`FontChain` splits a line into runs, each of grapheme clusters that one font
covers at one bidi level, puts the runs in visual order, and measures and
draws them on a shared baseline (raqm shapes each run: Arabic joins,
Devanagari conjuncts, emoji sequences become one glyph). Emoji come from a
colour (COLR) font, drawn in its own colours. `fit` wraps text into a
box, shrinking to a minimum size and then ending with an ellipsis, so text
never leaves its box.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass

import regex
from PIL import Image, ImageDraw, ImageFont, features

from .errors import RenderError
from .model import flat
from .scripts import cap_marks, is_emoji, is_rtl, levels, visual_order

ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")
# A break opportunity: after spaces, or after a hyphen, dash or slash inside a word.
_TOKEN = regex.compile(r"\S+?(?:[-–—/](?=\S)|\s+|$)")
_JOINERS = {0x200D, 0xFE0E, 0xFE0F}  # ZWJ and variation selectors: a font may lack them
_IGNORABLE = _JOINERS | {0x20E3}  # ... and the keycap mark, outside emoji

LAYOUT = ImageFont.Layout.RAQM


def require_raqm() -> None:
    """Fail loudly when Pillow cannot shape text: Arabic would print unjoined,
    Devanagari without conjuncts, emoji sequences in pieces, RTL text backwards."""
    missing = [name for name in ("raqm", "fribidi") if not features.check(name)]
    if missing:
        raise RenderError(
            f"Pillow cannot shape text here ({' and '.join(missing)} missing): complex "
            "scripts and right-to-left text would print wrongly. Install Pillow's wheel from "
            "PyPI (it bundles raqm: pip install --force-reinstall --only-binary=:all: pillow) "
            "and Debian's libfribidi0.")


@functools.cache
def coverage(path: str) -> frozenset[int]:
    """Code points a font file has glyphs for (once per process; cached on disk by
    `printshop.fontfacts`, so a cold process opens no font to answer)."""
    from .fontfacts import coverage as cached_coverage

    return cached_coverage(path)


@functools.cache
def is_colour(path: str) -> bool:
    """Whether a font draws in its own colours (COLR layers): drawn with Pillow's
    ``embedded_color``."""
    from .fontfacts import is_colour as cached_is_colour

    return cached_is_colour(path)


@functools.cache
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A font at a pixel size; cached, so each file and size is parsed once per process."""
    return ImageFont.truetype(path, size, layout_engine=LAYOUT)


def _direction(rtl: bool) -> str:
    return "rtl" if rtl else "ltr"


@functools.lru_cache(maxsize=65536)
def run_length(path: str, text: str, size: int, rtl: bool) -> float:
    """The advance of one run of one font at ``size`` pixels."""
    return load_font(path, size).getlength(text, direction=_direction(rtl))


@functools.lru_cache(maxsize=8192)
def run_box(path: str, text: str, size: int, rtl: bool) -> tuple[int, int, int, int]:
    """The ink box of one run, relative to its baseline's start."""
    return load_font(path, size).getbbox(text, anchor="ls", direction=_direction(rtl))


def clean(text: str) -> str:
    """Text as a card prints it: no control characters, at most a few marks per letter."""
    out = []
    for cluster in _GRAPHEME.findall(flat(text)):
        kept = "".join(ch for ch in cluster if unicodedata.category(ch) != "Cc")
        if kept:
            out.append(kept)
    return cap_marks("".join(out))


@dataclass(frozen=True)
class Run:
    """Clusters one font draws in one direction."""

    path: str
    text: str
    rtl: bool


@dataclass(frozen=True)
class FontChain:
    """A font and its fallbacks, tried in order for each grapheme cluster; emoji
    clusters try the colour ``emoji`` font first."""

    paths: tuple[str, ...]
    emoji: str | None = None

    def _covering(self, cluster: str) -> str | None:
        return _covering(self, cluster)

    def _covering_uncached(self, cluster: str) -> str | None:
        if is_emoji(cluster):
            needed = [ord(ch) for ch in cluster if ord(ch) not in _JOINERS]
            for path in ((self.emoji,) if self.emoji else ()) + self.paths:
                if all(cp in coverage(path) for cp in needed):
                    return path
        needed = [ord(ch) for ch in cluster if ord(ch) not in _IGNORABLE]
        for path in self.paths:
            if all(cp in coverage(path) for cp in needed):
                return path
        for path in self.paths:  # the base character at least; marks may fall back
            if all(cp in coverage(path) for cp in needed[:1]):
                return path
        return None

    def font_for(self, cluster: str) -> str:
        return self._covering(cluster) or self.paths[0]

    def uncovered(self, text: str) -> list[str]:
        """Characters no font of the chain has (they would print as boxes)."""
        return [c for c in _GRAPHEME.findall(text)
                if not c.isspace() and self._covering(c) is None
                and not all(unicodedata.category(ch) in ("Cf", "Cc") for ch in c)]

    def runs(self, text: str, rtl: bool = False) -> tuple[Run, ...]:
        """The runs of one line, in visual order (left to right), for a paragraph
        whose base direction is right-to-left if ``rtl``."""
        return _runs(self, text, rtl)

    def width(self, text: str, size: int, rtl: bool = False) -> float:
        return sum(run_length(r.path, r.text, size, r.rtl) for r in self.runs(text, rtl))

    def metrics(self, size: int, text: str = "") -> tuple[int, int]:
        """Ascent and descent: the largest of the fonts ``text`` uses (and the primary)."""
        paths = {self.paths[0], *(r.path for r in self.runs(text, is_rtl(text)))}
        pairs = [load_font(path, size).getmetrics() for path in paths]
        return max(a for a, _ in pairs), max(d for _, d in pairs)

    def ink(self, text: str, size: int, x: float, y: float,
            rtl: bool = False) -> tuple[float, float, float, float]:
        """The box the drawn glyphs cover, with the baseline starting at (x, y)."""
        left = top = math.inf
        right = bottom = -math.inf
        for run in self.runs(text, rtl):
            box = run_box(run.path, run.text, size, run.rtl)
            if box[2] > box[0]:
                left, top = min(left, x + box[0]), min(top, y + box[1])
                right, bottom = max(right, x + box[2]), max(bottom, y + box[3])
            x += run_length(run.path, run.text, size, run.rtl)
        return (left, top, right, bottom) if right > left else (x, y, x, y)

    def draw(self, image: Image.Image, x: float, y: float, text: str, size: int,
             fill, rtl: bool = False) -> bool:
        """Draw ``text`` with its baseline starting at (x, y), left to right in
        visual order. Returns whether any of it came from the colour (emoji) font."""
        pen = ImageDraw.Draw(image)
        ink = None
        coloured = False
        for run in self.runs(text, rtl):
            if is_colour(run.path):
                coloured = True
                pen.text((x, y), run.text, font=load_font(run.path, size), fill=fill,
                         anchor="ls", direction=_direction(run.rtl), embedded_color=True)
            else:
                # What ImageDraw.text does for one line, with the glyph mask cached:
                # the brand, the headings and the labels recur on every card.
                ink = pen._getink(fill)[0] if ink is None else ink
                fx, fy = math.modf(x)[0], math.modf(y)[0]
                mask, (dx, dy) = run_mask(run.path, run.text, size, run.rtl, fx, fy)
                pen.draw.draw_bitmap((int(x) + dx, int(y) + dy), mask, ink)
            x += run_length(run.path, run.text, size, run.rtl)
        return coloured


@functools.lru_cache(maxsize=512)  # recurring texts stay; a batch's titles pass through
def run_mask(path: str, text: str, size: int, rtl: bool, fx: float, fy: float):
    """The anti-aliased coverage mask of one run drawn from the fractional start
    (fx, fy), and its offset from the integer start, exactly as ``ImageDraw.text``
    renders it (``tests/test_cards.py`` holds the two to the same bytes)."""
    return load_font(path, size).getmask2(text, "L", _direction(rtl), None, None, 0, "ls",
                                          0, (fx, fy), stroke_filled=True)


@functools.lru_cache(maxsize=65536)
def _covering(chain: FontChain, cluster: str) -> str | None:
    """The first font of ``chain`` that has ``cluster`` (cached: cards repeat their letters)."""
    return chain._covering_uncached(cluster)


@functools.lru_cache(maxsize=8192)
def _runs(chain: FontChain, text: str, rtl: bool) -> tuple[Run, ...]:
    resolved = levels(text, rtl)
    pieces: list[list] = []  # [path, level, text]
    for match in _GRAPHEME.finditer(text):
        cluster, level = match.group(), resolved[match.start()]
        # A space joins the run before it when that run's font has one (fewer runs,
        # shaped together); the emoji font has none.
        if pieces and pieces[-1][1] == level and (
                cluster.isspace() and ord(cluster[0]) in coverage(pieces[-1][0])
                or chain.font_for(cluster) == pieces[-1][0]):
            pieces[-1][2] += cluster
        else:
            pieces.append([chain.font_for(cluster), level, cluster])
    order = visual_order([piece[1] for piece in pieces])
    return tuple(Run(pieces[i][0], pieces[i][2], pieces[i][1] % 2 == 1) for i in order)


@dataclass(frozen=True)
class Fitted:
    """Text laid out in a box: its size, lines and where it was shortened."""

    size: int
    lines: tuple[str, ...]
    line_height: float
    truncated: bool
    ascent: int
    descent: int
    rtl: bool = False  # the paragraph runs right to left (from its first strong character)

    @property
    def height(self) -> float:
        if not self.lines:
            return 0
        return (len(self.lines) - 1) * self.line_height + self.ascent + self.descent


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _break_word(word: str, chain: FontChain, size: int, width: float,
                rtl: bool) -> list[str]:
    """Split a word too long for a line between grapheme clusters."""
    pieces, current = [], ""
    for cluster in _GRAPHEME.findall(word):
        if current and chain.width(current + cluster, size, rtl) > width:
            pieces.append(current)
            current = cluster
        else:
            current += cluster
    return pieces + ([current] if current else [])


def wrap(text: str, chain: FontChain, size: int, width: float, rtl: bool = False) -> list[str]:
    """Greedy line breaking at spaces, hyphens and slashes; overlong words are split."""
    lines: list[str] = []
    current = ""
    for token in _tokens(text):
        candidate = current + token
        if chain.width(candidate.rstrip(), size, rtl) <= width:
            current = candidate
            continue
        if current:
            lines.append(current.rstrip())
            current = ""
        if chain.width(token.rstrip(), size, rtl) <= width:
            current = token
        else:
            *full, current = _break_word(token, chain, size, width, rtl)
            lines.extend(full)
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _ellipsize(line: str, chain: FontChain, size: int, width: float, rtl: bool) -> str:
    clusters = _GRAPHEME.findall(line.rstrip())
    while clusters and chain.width("".join(clusters).rstrip() + ELLIPSIS, size, rtl) > width:
        clusters.pop()
    return "".join(clusters).rstrip() + ELLIPSIS


def fit(text: str, chain: FontChain, width: float, height: float, size: int, min_size: int,
        line_spacing: float = 1.12, max_lines: int | None = None) -> Fitted:
    """Wrap ``text`` into ``width`` x ``height``: shrink from ``size`` down to
    ``min_size``, then keep the lines that fit and end the last with an ellipsis."""
    text = clean(text)
    rtl = is_rtl(text)
    current = size
    while True:
        ascent, descent = chain.metrics(current, text)
        advance = current * line_spacing
        room = int((height - ascent - descent) // advance) + 1 if height >= ascent + descent else 0
        if max_lines:
            room = min(room, max_lines)
        lines = wrap(text, chain, current, width, rtl)
        if (room and len(lines) <= room) or current <= min_size:
            break
        current = max(min_size, current - max(1, round(current * 0.06)))
    room = max(room, 1)  # at the minimum size one line always prints
    truncated = len(lines) > room
    if truncated:
        lines = lines[: room - 1] + [_ellipsize(lines[room - 1], chain, current, width, rtl)]
    return Fitted(current, tuple(lines), advance, truncated, ascent, descent, rtl)
