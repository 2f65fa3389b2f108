"""Geometry of the flight-risk gauge: the one source both renderers draw from.

The dossier's SVG and the card's Pillow drawing take the same `Gauge`, so a
card and its dossier always agree. Coordinates are in a box ``width`` wide
and ``height`` high, y pointing down, as in SVG and Pillow. The dial is the
upper half of an annulus: 0 % at the left (180 degrees), 100 % at the right.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

Point = tuple[float, float]

#: Proportions of the dial, as fractions of the outer radius.
BAND_WIDTH = 0.22
TICK_INNER = 0.70
NEEDLE_LENGTH = 0.86
NEEDLE_BASE = 0.055
HUB_RADIUS = 0.09
STEP_DEGREES = 2.0  # arc resolution: polygons are smooth at any print size


@dataclass(frozen=True)
class BandArc:
    """One coloured risk band: its outline and what it stands for."""

    low: int
    high: int
    label: str
    colour: str
    outline: tuple[Point, ...]
    active: bool


@dataclass(frozen=True)
class Gauge:
    """Everything needed to draw the gauge, in box units."""

    width: float
    height: float
    centre: Point
    radius: float
    percent: int
    label: str
    colour: str
    bands: tuple[BandArc, ...]
    ticks: tuple[tuple[Point, Point], ...]
    needle: tuple[Point, ...]
    hub_radius: float
    value_anchor: Point  # where the percentage is written (centred)
    value_size: float  # its font size, box units
    label_anchor: Point  # where the band label is written (centred)
    label_size: float
    label_fitted: str = ""  # the label as the dial prints it: cut short to its width

#: Advance of a monospaced letter, in ems, plus the dial label's letter spacing.
MONO_ADVANCE = 0.6
LABEL_SPACING = 1.0


def fit_label(label: str, width: float, size: float) -> str:
    """``label`` cut (with an ellipsis) to fit ``width`` in a monospaced font."""
    room = max(1, int(width / (size * MONO_ADVANCE + LABEL_SPACING)))
    return label if len(label) <= room else label[: room - 1].rstrip() + "…"


def angle_of(percent: float) -> float:
    """The dial angle in radians (pi at 0 %, 0 at 100 %)."""
    return math.pi * (1.0 - percent / 100.0)


def _point(centre: Point, radius: float, angle: float) -> Point:
    return (
        round(centre[0] + radius * math.cos(angle), 3),
        round(centre[1] - radius * math.sin(angle), 3),
    )


def _arc(centre: Point, radius: float, start: float, end: float) -> list[Point]:
    """Points along an arc from percent ``start`` to ``end``, both included."""
    steps = max(1, math.ceil(abs(end - start) * 1.8 / STEP_DEGREES))
    return [
        _point(centre, radius, angle_of(start + (end - start) * i / steps))
        for i in range(steps + 1)
    ]


def _frame(width: float) -> tuple[Point, float, float]:
    """The dial's centre, outer radius and the bands' inner radius in a box ``width`` wide."""
    radius = width / 2 * 0.92
    return (width / 2, radius + width * 0.04), radius, radius * (1 - BAND_WIDTH)


@functools.lru_cache(maxsize=64)
def _outlines(width: float, limits: tuple[int, ...]) -> tuple[tuple[Point, ...], ...]:
    """Each band's outline for a dial ``width`` wide: the same for every percentage,
    so a batch computes them once per size."""
    centre, radius, inner = _frame(width)
    outlines, low = [], 0
    for high in limits:
        outlines.append(tuple(_arc(centre, radius, low, high) + _arc(centre, inner, high, low)))
        low = high
    return tuple(outlines)


def gauge_geometry(percent: int, bands: Sequence, label: str, width: float = 200.0) -> Gauge:
    """Lay out the gauge for ``percent``; ``bands`` have ``upto``, ``label`` and ``colour``."""
    centre, radius, inner = _frame(width)
    arcs = []
    low = 0
    active = None
    outlines = _outlines(width, tuple(band.upto for band in bands))
    for band, outline in zip(bands, outlines):
        high = band.upto
        is_active = low <= percent <= high and active is None
        active = band if is_active else active
        arcs.append(BandArc(low, high, band.label, band.colour, outline, is_active))
        low = high
    ticks = tuple(
        (_point(centre, inner * 0.97, angle_of(p)), _point(centre, radius * TICK_INNER, angle_of(p)))
        for p in range(0, 101, 10)
    )
    angle = angle_of(percent)
    base = radius * NEEDLE_BASE
    tip = _point(centre, radius * NEEDLE_LENGTH, angle)
    side_a = _point(centre, base, angle + math.pi / 2)
    side_b = _point(centre, base, angle - math.pi / 2)
    tail = _point(centre, base * 1.6, angle + math.pi)
    value_size = radius * 0.30
    label_size = round(radius * 0.13, 3)
    return Gauge(
        width=width,
        height=centre[1] + radius * 0.66,
        centre=centre,
        radius=radius,
        percent=percent,
        label=label,
        colour=(active or bands[-1]).colour,
        bands=tuple(arcs),
        ticks=ticks,
        needle=(tip, side_a, tail, side_b),
        hub_radius=radius * HUB_RADIUS,
        value_anchor=(centre[0], round(centre[1] + radius * 0.42, 3)),
        value_size=round(value_size, 3),
        label_anchor=(centre[0], round(centre[1] + radius * 0.60, 3)),
        label_size=label_size,
        label_fitted=fit_label(label, width * 0.96, label_size),
    )


def svg_points(points: Sequence[Point]) -> str:
    """Points as an SVG ``points`` attribute."""
    return " ".join(f"{x:g},{y:g}" for x, y in points)
