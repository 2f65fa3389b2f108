"""Social share cards: one entry drawn with Pillow for each platform preset.

Layouts are data (``layouts/cards.yaml``); this module draws them. A card is
rendered to an in-memory `Card` (the image and where every part landed),
then encoded; `printshop.output` writes it. Fonts are loaded once per process.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw

from .config import Config, ConfigModel, CustomPreset, Project, read_settings
from .errors import ConfigError
from .gauge import gauge_geometry
from .load import Loaded
from .model import flat, headline, record_id, salary_figure
from .fonts import load_fonts
from .text import fit, require_raqm

LOGGER = logging.getLogger("printshop")
FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MAX_BYTES = 1_000_000  # Bluesky's limit, the strictest of the platforms
ALT_MAX = 420  # X's limit for alt text
SUPERSAMPLE = 4  # the gauge's polygons are drawn 4x and reduced: smooth edges
INACTIVE_OPACITY = 0.28  # as the dossier's SVG
TICK_COLOUR = (138, 135, 128)
MIN_CONTRAST = 4.5  # WCAG AA for text
PNG_LEVEL = 6
KEEP_EXACT = 1 / 2000  # a colour on this share of a card keeps its own palette entry
OVERHANG = 3  # px kept free at each side of a text box
MIRRORED = {"left": "right", "center": "center", "right": "left"}  # alignment in RTL text

Box = tuple[int, int, int, int]


class CardPart(ConfigModel):
    kind: Literal["rect", "text", "gauge"]
    box: tuple[int, int, int, int]
    text: str | None = None
    font: str = "sans"
    size: int = 24
    min_size: int = 22
    colour: str = "ink"
    on: str | None = None
    align: Literal["left", "center", "right"] = "left"
    max_lines: int | None = None
    line_spacing: float = 1.12


class Preset(ConfigModel):
    size: tuple[int, int]
    safe: tuple[int, int, int, int] | None = None
    background: str = "paper"
    parts: list[CardPart]

    @property
    def safe_box(self) -> Box:
        return self.safe or (0, 0, *self.size)


class CardLayouts(ConfigModel):
    presets: dict[str, Preset]


@dataclass(frozen=True)
class Placed:
    """Where a part landed: its box and the box its ink actually covers."""

    name: str
    box: Box
    ink: tuple[float, float, float, float] | None
    lines: tuple[str, ...] = ()
    truncated: bool = False


@dataclass
class Card:
    """A drawn card, in memory."""

    slug: str
    preset: str
    image: Image.Image
    safe: Box
    placed: list[Placed] = field(default_factory=list)
    colour_glyphs: bool = False  # colour emoji drawn: the card keeps every colour


@dataclass(frozen=True)
class Encoded:
    data: bytes
    extension: str
    note: str | None  # how the file was reduced to stay under MAX_BYTES, if it was


def load_layouts(layouts_dir: Path) -> CardLayouts:
    return read_settings(layouts_dir / "cards.yaml", CardLayouts, "the card layouts")


def scale_preset(base: Preset, size: tuple[int, int], parts: list[str] | None) -> Preset:
    """A built-in layout stretched to another size, showing only ``parts`` (texts and gauge)."""
    sx, sy = size[0] / base.size[0], size[1] / base.size[1]
    font_scale = min(sx, sy)

    def box(b):
        return (round(b[0] * sx), round(b[1] * sy), round(b[2] * sx), round(b[3] * sy))

    kept = []
    for part in base.parts:
        name = part.text if part.kind == "text" else part.kind
        if parts is not None and part.kind != "rect" and name not in parts:
            continue
        kept.append(part.model_copy(update={
            "box": box(part.box),
            "size": max(part.min_size, round(part.size * font_scale)),
        }))
    safe = box(base.safe) if base.safe else None
    return Preset(size=size, safe=safe, background=base.background, parts=kept)


def resolve_presets(layouts: CardLayouts, config: Config) -> dict[str, Preset]:
    """Built-in presets plus the project's own (each a scaled built-in layout)."""
    presets = dict(layouts.presets)
    for name, custom in config.cards.presets.items():
        presets[name] = _custom(name, custom, layouts)
    return presets


def _custom(name: str, custom: CustomPreset, layouts: CardLayouts) -> Preset:
    if custom.layout is not None:
        if custom.layout not in layouts.presets:
            raise ConfigError(f"cards.presets.{name}.layout: no built-in layout "
                              f"{custom.layout!r}; choose from {', '.join(layouts.presets)}")
        base = layouts.presets[custom.layout]
    else:
        ratio = custom.size[0] / custom.size[1]
        base = min(layouts.presets.values(),
                   key=lambda p: abs(p.size[0] / p.size[1] - ratio))
    known = {p.text if p.kind == "text" else p.kind for p in base.parts if p.kind != "rect"}
    unknown = sorted(set(custom.parts or ()) - known)
    if unknown:
        raise ConfigError(f"cards.presets.{name}.parts: unknown {', '.join(unknown)}; "
                          f"choose from {', '.join(sorted(known))}")
    return scale_preset(base, custom.size, custom.parts)


def card_texts(item: Loaded, config: Config) -> dict[str, str]:
    """What each text part of a card prints, for one entry."""
    entry = item.entry
    pub = config.publication
    return {
        "brand": f"{pub.publisher} / {pub.collection}",
        "publication": pub.title,
        "record": f"FILE RECORD: {record_id(item.slug)}",
        "question": headline(entry).upper(),
        "title": entry.title,
        "salary_label": entry.salary.label.upper(),
        "salary": salary_figure(entry.salary),
        "salary_period": f"PER {entry.salary.period.upper()}",
        "risk_title": "FLIGHT RISK",
        "aliases": "Also known as: " + " · ".join(entry.aliases),
    }


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def blend(colour: tuple[int, int, int], ground: tuple[int, int, int],
          opacity: float) -> tuple[int, int, int]:
    """``colour`` at ``opacity`` over ``ground``."""
    return tuple(round(c * opacity + g * (1 - opacity)) for c, g in zip(colour, ground))


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""

    def luminance(colour: str) -> float:
        channels = [c / 255 for c in rgb(colour)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def layout_problems(name: str, preset: Preset, config: Config) -> list[str]:
    """Design rules a preset must keep: readable contrast, parts inside the safe zone."""
    colours = config.colours.model_dump()
    problems = []
    sx, sy, sw, sh = preset.safe_box
    for part in preset.parts:
        x, y, w, h = part.box
        if part.kind == "rect":
            continue
        if x < sx or y < sy or x + w > sx + sw or y + h > sy + sh:
            problems.append(f"{name}: {part.text or part.kind} lies outside the safe zone")
        ground = colours[part.on or preset.background]
        tones = [band.colour for band in config.flight_risk.bands] + [colours["ink"]] \
            if part.kind == "gauge" else [colours[part.colour]]
        for tone in tones:
            ratio = contrast(tone, ground)
            if ratio < MIN_CONTRAST:
                problems.append(f"{name}: {part.text or part.kind} contrast {ratio:.2f}:1 "
                                f"({tone} on {ground}) is below {MIN_CONTRAST}:1")
    return problems


class Cards:
    """A warm card renderer: layouts parsed and fonts loaded once per process."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.config = project.config
        self.layouts = load_layouts(project.layouts_dir)
        self.presets = resolve_presets(self.layouts, self.config)
        require_raqm()
        fonts = load_fonts(project.layouts_dir, project.fonts_dir)
        self.chains = {role: fonts.chain(role) for role in fonts.plan.roles}
        unknown = sorted({part.font for preset in self.presets.values() for part in preset.parts
                          if part.kind == "text"} - set(self.chains))
        if unknown:
            raise ConfigError(f"layouts/cards.yaml: unknown font {', '.join(unknown)}; "
                              f"choose from the roles of layouts/fonts.yaml: "
                              f"{', '.join(self.chains)}")
        self.colours = {k: rgb(v) for k, v in self.config.colours.model_dump().items()}
        self._dials: dict[tuple, Image.Image] = {}
        bands = self.config.flight_risk.bands
        self._dial_aspect = gauge_geometry(0, bands, "", width=100).height / 100

    def render(self, item: Loaded, preset_name: str, scale: int = 1) -> Card:
        """Draw one card in memory."""
        preset = self.presets[preset_name]
        size = (preset.size[0] * scale, preset.size[1] * scale)
        image = Image.new("RGB", size, self.colours[preset.background])
        safe = tuple(v * scale for v in preset.safe_box)
        card = Card(item.slug, preset_name, image, safe)  # type: ignore[arg-type]
        draw = ImageDraw.Draw(image)
        texts = card_texts(item, self.config)
        for part in preset.parts:
            box = tuple(v * scale for v in part.box)
            if part.kind == "rect":
                draw.rectangle((box[0], box[1], box[0] + box[2] - 1, box[1] + box[3] - 1),
                               fill=self.colours[part.colour])
            elif part.kind == "text":
                self._text(card, draw, part, box, texts[part.text], scale)
            else:
                self._gauge(card, draw, part, box, item, scale, preset)
        return card

    def _text(self, card: Card, draw, part: CardPart, box, text: str, scale: int,
              name: str | None = None, fill=None) -> None:
        chain = self.chains[part.font]
        x, y, w, h = box
        # A little room for glyphs that overhang their advance (italics, accents).
        pad = OVERHANG * scale
        fitted = fit(text, chain, w - 2 * pad, h, part.size * scale, part.min_size * scale,
                     part.line_spacing, part.max_lines)
        baseline = y + fitted.ascent
        ink = None
        rtl = fitted.rtl
        align = MIRRORED[part.align] if rtl else part.align  # "left" means the start
        for line in fitted.lines:
            width = chain.width(line, fitted.size, rtl)
            left = x + {"left": 0, "center": (w - width) / 2, "right": w - width}[align]
            ink_left, _, ink_right, _ = chain.ink(line, fitted.size, 0, 0, rtl)
            left = min(max(left, x - ink_left), x + w - ink_right)  # keep the ink in the box
            card.colour_glyphs |= chain.draw(card.image, left, baseline, line, fitted.size,
                                             fill or self.colours[part.colour], rtl)
            box_ink = chain.ink(line, fitted.size, left, baseline, rtl)
            ink = box_ink if ink is None else (min(ink[0], box_ink[0]), min(ink[1], box_ink[1]),
                                               max(ink[2], box_ink[2]), max(ink[3], box_ink[3]))
            baseline += fitted.line_height
        card.placed.append(Placed(name or part.text, box, ink, fitted.lines, fitted.truncated))

    def _gauge(self, card: Card, draw, part: CardPart, box, item: Loaded, scale: int,
               preset: Preset) -> None:
        risk = item.entry.flight_risk
        band = self.config.band_for(risk.percent)
        label = risk.band or band.label
        bands = self.config.flight_risk.bands
        x, y, w, h = box
        w = min(w, int(h / self._dial_aspect))  # the whole dial fits the box, centred in it
        x, top = x + (box[2] - w) / 2, y + (h - w * self._dial_aspect) / 2
        geometry = gauge_geometry(risk.percent, bands, label, width=w)
        ground = self.colours[preset.background]
        active = next(i for i, arc in enumerate(geometry.bands) if arc.active) \
            if any(arc.active for arc in geometry.bands) else None
        dial = self._dial(w, ground, active, risk.percent, label).copy()
        self._needle(dial, geometry)
        x, top = round(x), round(top)
        card.image.paste(dial, (x, top))
        card.placed.append(Placed("gauge", box, (x, top, x + dial.width, top + dial.height)))
        ink_colour = self.colours["ink"]
        self._centred(card, draw, "display", f"{risk.percent}%", "risk_value", ink_colour,
                      (x, w), top + geometry.value_anchor[1], geometry.value_size,
                      part.min_size * scale)
        self._centred(card, draw, "mono-bold", label, "risk_label", rgb(geometry.colour),
                      (x, w), top + geometry.label_anchor[1],
                      max(part.min_size * scale, geometry.label_size), part.min_size * scale)

    def _dial(self, w: int, ground, active: int | None, percent: int, label: str) -> Image.Image:
        """The bands and ticks of a dial ``w`` pixels wide, drawn 4x and reduced (smooth
        edges). They depend only on the width and which band is lit, so a batch draws
        each once (cached per renderer); the needle is drawn over a copy."""
        key = (w, ground, active)
        if key not in self._dials:
            bands = self.config.flight_risk.bands
            fine = gauge_geometry(percent, bands, label, width=w * SUPERSAMPLE)
            layer = Image.new("RGB", (w * SUPERSAMPLE, round(fine.height + 0.5)), ground)
            pen = ImageDraw.Draw(layer)
            for arc in fine.bands:
                alpha = 1.0 if arc.active else INACTIVE_OPACITY
                pen.polygon(arc.outline, fill=blend(rgb(arc.colour), ground, alpha))
            tick = max(1, round(fine.radius / 110))
            for a, b in fine.ticks:
                pen.line((a, b), fill=TICK_COLOUR, width=tick)
            self._dials[key] = layer.reduce(SUPERSAMPLE)
        return self._dials[key]

    def _needle(self, dial: Image.Image, geometry) -> None:
        """The needle and hub, drawn 4x as a coverage mask over the smallest box
        that holds them, reduced, and painted on ``dial`` in ink."""
        n = SUPERSAMPLE
        cx, cy, r = geometry.centre[0], geometry.centre[1], geometry.hub_radius
        xs = [p[0] for p in geometry.needle] + [cx - r, cx + r]
        ys = [p[1] for p in geometry.needle] + [cy - r, cy + r]
        left, top = max(0, math.floor(min(xs)) - 1), max(0, math.floor(min(ys)) - 1)
        right = min(dial.width, math.ceil(max(xs)) + 2)
        bottom = min(dial.height, math.ceil(max(ys)) + 2)
        mask = Image.new("L", ((right - left) * n, (bottom - top) * n), 0)
        pen = ImageDraw.Draw(mask)
        pen.polygon([((px - left) * n, (py - top) * n) for px, py in geometry.needle], fill=255)
        fx, fy, fr = (cx - left) * n, (cy - top) * n, r * n
        pen.ellipse((fx - fr, fy - fr, fx + fr, fy + fr), fill=255)
        dial.paste(self.colours["ink"], (left, top, right, bottom), mask.reduce(n))

    def _centred(self, card: Card, draw, font: str, text: str, name: str, fill,
                 span: tuple[float, float], baseline: float, size: float, min_size: int) -> None:
        """One line centred in ``span`` (x, width), shrunk or shortened to fit it."""
        chain = self.chains[font]
        x, w = span
        fitted = fit(text, chain, w, 10 * size, round(size), min_size, max_lines=1)
        line = fitted.lines[0] if fitted.lines else ""
        left = x + (w - chain.width(line, fitted.size, fitted.rtl)) / 2
        card.colour_glyphs |= chain.draw(card.image, left, baseline, line, fitted.size, fill,
                                         fitted.rtl)
        box = (round(x), round(baseline - fitted.ascent), round(w), fitted.ascent + fitted.descent)
        card.placed.append(Placed(name, box, chain.ink(line, fitted.size, left, baseline,
                                                       fitted.rtl),
                                  fitted.lines, fitted.truncated))


def encode(card: Card, fmt: str) -> Encoded:
    """The card as file bytes, reduced (and saying so) when over MAX_BYTES.

    PNG and WebP are written from a 256-colour palette (`palette`): a card is a
    few flat colours and their anti-aliased edges, so the palette looks the same
    (``tests/test_cards.py`` holds every preset to a measured CIEDE2000 bar), and
    it encodes in a third of the time, in under half the bytes. Cards that show
    colour emoji keep every colour: PNG from RGB, WebP lossy."""
    extension = "jpg" if fmt == "jpeg" else fmt
    lossless = fmt != "jpeg" and not card.colour_glyphs
    image = palette(card.image) if lossless else card.image
    data = _save(image, fmt, lossless=lossless)
    if len(data) <= MAX_BYTES:
        return Encoded(data, extension, None)
    if fmt == "png":
        colours = 64 if image.mode == "P" else 256
        data = _save(palette(card.image, colours), "png")
        note = f"reduced to a {colours}-colour palette"
    else:
        for quality in (80, 70, 60, 50, 40):
            data = _save(card.image, fmt, quality)
            if len(data) <= MAX_BYTES:
                break
        note = f"saved at quality {quality}"
    if len(data) > MAX_BYTES:
        note += f", still {len(data):,} bytes (over {MAX_BYTES:,})"
    return Encoded(data, extension, note)


def palette(image: Image.Image, colours: int = 256) -> Image.Image:
    """The card in at most ``colours`` colours, its areas exact.

    Every colour that covers at least 1/2000 of the card (the panel, the ink, each
    band of the gauge) keeps its own entry; the rest (anti-aliased edges) share the
    remaining entries, chosen by Pillow's fast octree among the card's distinct
    colours. Pillow maps a pixel through a cache of 4-level cells, taking the entry
    nearest the cell's centre: so no other entry may lie within 8 levels of a kept
    colour, or the panel itself would shift to a neighbouring shade."""
    total = image.width * image.height
    counts = image.getcolors(1 << 16)
    if counts is None:  # photo-like: no areas to keep
        return image.quantize(colours, method=Image.Quantize.FASTOCTREE,
                              dither=Image.Dither.NONE)
    limit = total * KEEP_EXACT
    kept = [colour for n, colour in counts if n >= limit][:colours]
    near = {(r // 8 + i, g // 8 + j, b // 8 + k) for r, g, b in kept
            for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)}
    edges = [colour for n, colour in counts if n < limit]
    room = colours - len(kept)
    if len(edges) > room > 0:
        strip = Image.new("RGB", (len(edges), 1))
        strip.putdata(edges)
        flat = strip.quantize(room, method=Image.Quantize.FASTOCTREE,
                              dither=Image.Dither.NONE).getpalette()
        edges = [tuple(flat[i:i + 3]) for i in range(0, len(flat), 3)]
    chosen = kept + [c for c in edges[:max(room, 0)] if (c[0] // 8, c[1] // 8, c[2] // 8)
                     not in near]
    table = Image.new("P", (1, 1))
    table.putpalette([v for colour in chosen for v in colour])
    return image.quantize(palette=table, dither=Image.Dither.NONE)


def _save(image: Image.Image, fmt: str, quality: int = 90, lossless: bool = False) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=PNG_LEVEL)
    elif fmt == "jpeg":
        image.save(buffer, "JPEG", quality=quality, subsampling=0, optimize=True)  # -10%: same pixels
    elif lossless:
        # Lossless from the palette: exact, and smaller and faster than lossy at q90.
        image.save(buffer, "WEBP", lossless=True, method=1, quality=0)
    else:
        image.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def alt_text(item: Loaded, config: Config) -> str:
    """A description of the card for screen readers, under X's 420-character limit."""
    entry = item.entry
    band = entry.flight_risk.band or config.band_for(entry.flight_risk.percent).label
    pub = config.publication
    tail = (f", file record {record_id(item.slug)}. Flight-risk gauge at "
            f"{entry.flight_risk.percent}% ({band}). {entry.salary.label} salary: "
            f"{salary_figure(entry.salary)} per {entry.salary.period}.")
    head = f"{pub.title} share card by {pub.publisher}: "
    room = ALT_MAX - 1 - len(head) - len(tail) - 2
    title = flat(entry.title)
    title = title if len(title) <= room else title[: room - 1] + "…"
    return flat(f"{head}“{title}”{tail}")
