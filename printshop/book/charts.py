"""The book's charts, as SVG geometry for its layouts: the cover's dial, the
flight-risk histogram and the salary league table of the appendix."""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from ..config import Config
from ..gauge import angle_of, gauge_geometry
from ..load import Loaded
from ..model import salary_figure
from .common import annual, by_title


def risk_histogram(records: Sequence[Loaded], config: Config) -> dict:
    """Bars of the flight-risk distribution (10-point bins), as SVG geometry."""
    counts = [0] * 10
    for item in records:
        counts[min(item.entry.flight_risk.percent // 10, 9)] += 1
    width, height, left, bottom = 480.0, 200.0, 34.0, 170.0
    top = max(counts) or 1
    bar = (width - left) / 10
    bars = []
    for i, count in enumerate(counts):
        h = (bottom - 16) * count / top
        bars.append({"x": round(left + i * bar + 3, 2), "y": round(bottom - h, 2),
                     "w": round(bar - 6, 2), "h": round(h, 2), "count": count,
                     "label": f"{i * 10}–{i * 10 + 9 if i < 9 else 100}",
                     "colour": config.band_for(i * 10 + 5).colour,
                     "cx": round(left + (i + 0.5) * bar, 2)})
    return {"width": width, "height": height, "bottom": bottom, "left": left, "bars": bars,
            "top": top}


def salary_league(records: Sequence[Loaded], rows: int = 28) -> list[dict]:
    """The salary league table as SVG row geometry, in chunks that fit a page."""
    ranked = sorted(records, key=lambda i: (-annual(i), by_title(i)))
    top = annual(ranked[0]) if ranked else 1
    chunks = []
    for start in range(0, len(ranked), rows):
        chunk = ranked[start:start + rows]
        chunks.append({
            "height": 22 * len(chunk) + 4,
            "rows": [{"rank": start + n + 1, "title": item.entry.title, "slug": item.slug,
                      "figure": salary_figure(item.entry.salary),
                      "period": item.entry.salary.period,
                      "y": 22 * n + 2,
                      "w": round(150 * annual(item) / top, 2)} for n, item in enumerate(chunk)],
        })
    return chunks


def cover_dial(records: Sequence[Loaded], config: Config) -> dict:
    """The cover's visual: one dial with every role's needle on it."""
    geometry = gauge_geometry(0, config.flight_risk.bands, "", width=400)
    cx, cy = geometry.centre
    needles = []
    for item in records:
        angle = angle_of(item.entry.flight_risk.percent)
        tip = (round(cx + geometry.radius * 0.74 * math.cos(angle), 2),
               round(cy - geometry.radius * 0.74 * math.sin(angle), 2))
        needles.append(tip)
    percents = [item.entry.flight_risk.percent for item in records] or [0]
    return {"gauge": geometry, "needles": needles, "median": round(statistics.median(percents)),
            "low": min(percents), "high": max(percents)}
