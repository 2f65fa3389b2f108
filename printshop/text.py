"""Text for raster cards: bundled fonts with fallback, line breaking, fitting a box.

Pillow draws one font at a time; a title may need three (Oswald, then the
CJK fallback, then emoji). A `FontChain` splits text into runs, each of
grapheme clusters one font covers, and measures and draws them on a shared
baseline. `fit` wraps text into a box, shrinking to a minimum size and then
ending with an ellipsis, so text never leaves its box.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass

import regex
from PIL import ImageDraw, ImageFont, features

ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")
# A break opportunity: after spaces, or after a hyphen, dash or slash inside a word.
_TOKEN = regex.compile(r"\S+?(?:[-–—/](?=\S)|\s+|$)")
_IGNORABLE = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}  # ZWJ, variation selectors, keycap
MAX_MARKS = 3  # combining marks kept per cluster ("Zalgo" text would leave any box)

LAYOUT = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


@functools.cache
def coverage(path: str) -> frozenset[int]:
    """Code points a font file has glyphs for (read once per process)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


@functools.cache
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A font at a pixel size; cached, so each file and size is parsed once per process."""
    return ImageFont.truetype(path, size, layout_engine=LAYOUT)


def clean(text: str) -> str:
    """Text as a card prints it: no control characters, at most a few marks per letter."""
    out = []
    for cluster in _GRAPHEME.findall(" ".join(text.split())):
        if all(unicodedata.category(ch) == "Cc" for ch in cluster):
            continue
        kept, marks = [], 0
        for ch in cluster:
            if unicodedata.category(ch) == "Cc":
                continue
            if unicodedata.combining(ch):
                marks += 1
                if marks > MAX_MARKS:
                    continue
            kept.append(ch)
        out.append("".join(kept))
    return "".join(out)


def warn_uncovered(display: str, clusters, logger) -> None:
    """One warning naming the characters no bundled font has (they print as boxes)."""
    clusters = list(dict.fromkeys(clusters))
    if not clusters:
        return
    shown = ", ".join(f"{c!r} ({' '.join(f'U+{ord(ch):04X}' for ch in c)})"
                      for c in clusters[:5])
    more = f" and {len(clusters) - 5} more" if len(clusters) > 5 else ""
    logger.warning("%s: no bundled font has %s%s; %s", display, shown, more,
                   "it prints as a box" if len(clusters) == 1 else "they print as boxes")


@dataclass(frozen=True)
class FontChain:
    """A font and its fallbacks, tried in order for each grapheme cluster."""

    paths: tuple[str, ...]

    def _covering(self, cluster: str) -> str | None:
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

    def runs(self, text: str) -> list[tuple[str, str]]:
        """(font path, text) runs: consecutive clusters the same font covers."""
        runs: list[list[str]] = []
        for cluster in _GRAPHEME.findall(text):
            path = self.font_for(cluster)
            if runs and runs[-1][0] == path:
                runs[-1][1] += cluster
            else:
                runs.append([path, cluster])
        return [(path, segment) for path, segment in runs]

    def width(self, text: str, size: int) -> float:
        return sum(load_font(path, size).getlength(seg) for path, seg in self.runs(text))

    def metrics(self, size: int, text: str = "") -> tuple[int, int]:
        """Ascent and descent: the largest of the fonts ``text`` uses (and the primary)."""
        paths = {self.paths[0], *(path for path, _ in self.runs(text))}
        pairs = [load_font(path, size).getmetrics() for path in paths]
        return max(a for a, _ in pairs), max(d for _, d in pairs)

    def ink(self, text: str, size: int, x: float, y: float) -> tuple[float, float, float, float]:
        """The box the drawn glyphs cover, with the baseline starting at (x, y)."""
        left = top = math.inf
        right = bottom = -math.inf
        for path, seg in self.runs(text):
            font = load_font(path, size)
            box = font.getbbox(seg, anchor="ls")
            if box[2] > box[0]:
                left, top = min(left, x + box[0]), min(top, y + box[1])
                right, bottom = max(right, x + box[2]), max(bottom, y + box[3])
            x += font.getlength(seg)
        return (left, top, right, bottom) if right > left else (x, y, x, y)

    def draw(self, draw: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int,
             fill) -> None:
        """Draw ``text`` with its baseline starting at (x, y)."""
        for path, seg in self.runs(text):
            font = load_font(path, size)
            draw.text((x, y), seg, font=font, fill=fill, anchor="ls")
            x += font.getlength(seg)


@dataclass(frozen=True)
class Fitted:
    """Text laid out in a box: its size, lines and where it was shortened."""

    size: int
    lines: tuple[str, ...]
    line_height: float
    truncated: bool
    ascent: int
    descent: int

    @property
    def height(self) -> float:
        if not self.lines:
            return 0
        return (len(self.lines) - 1) * self.line_height + self.ascent + self.descent


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _break_word(word: str, chain: FontChain, size: int, width: float) -> list[str]:
    """Split a word too long for a line between grapheme clusters."""
    pieces, current = [], ""
    for cluster in _GRAPHEME.findall(word):
        if current and chain.width(current + cluster, size) > width:
            pieces.append(current)
            current = cluster
        else:
            current += cluster
    return pieces + ([current] if current else [])


def wrap(text: str, chain: FontChain, size: int, width: float) -> list[str]:
    """Greedy line breaking at spaces, hyphens and slashes; overlong words are split."""
    lines: list[str] = []
    current = ""
    for token in _tokens(text):
        candidate = current + token
        if chain.width(candidate.rstrip(), size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current.rstrip())
            current = ""
        if chain.width(token.rstrip(), size) <= width:
            current = token
        else:
            *full, current = _break_word(token, chain, size, width)
            lines.extend(full)
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _ellipsize(line: str, chain: FontChain, size: int, width: float) -> str:
    clusters = _GRAPHEME.findall(line.rstrip())
    while clusters and chain.width("".join(clusters).rstrip() + ELLIPSIS, size) > width:
        clusters.pop()
    return "".join(clusters).rstrip() + ELLIPSIS


def fit(text: str, chain: FontChain, width: float, height: float, size: int, min_size: int,
        line_spacing: float = 1.12, max_lines: int | None = None) -> Fitted:
    """Wrap ``text`` into ``width`` x ``height``: shrink from ``size`` down to
    ``min_size``, then keep the lines that fit and end the last with an ellipsis."""
    text = clean(text)
    current = size
    while True:
        ascent, descent = chain.metrics(current, text)
        advance = current * line_spacing
        room = int((height - ascent - descent) // advance) + 1 if height >= ascent + descent else 0
        if max_lines:
            room = min(room, max_lines)
        lines = wrap(text, chain, current, width)
        if (room and len(lines) <= room) or current <= min_size:
            break
        current = max(min_size, current - max(1, round(current * 0.06)))
    room = max(room, 1)  # at the minimum size one line always prints
    truncated = len(lines) > room
    if truncated:
        lines = lines[: room - 1] + [_ellipsize(lines[room - 1], chain, current, width)]
    return Fitted(current, tuple(lines), advance, truncated, ascent, descent)
