"""CIEDE2000 colour difference between two images: the "looks the same" bar for cards.

Pure Python over the distinct pairs of differing pixels (a card has few), so
the suite needs no NumPy. Formula: Sharma, Wu and Dalal (2005), D65, sRGB.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from PIL import Image


def _linear(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = (_linear(v) for v in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1, lab2) -> float:
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    else:
        dhp = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    l_bar, c_barp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6))
         - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(c_barp ** 7 / (c_barp ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    sc, sh = 1 + 0.045 * c_barp, 1 + 0.015 * c_barp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dh / sh) ** 2
                     + rt * (dc / sc) * (dh / sh))


@dataclass(frozen=True)
class Difference:
    mean: float  # over every pixel of the image
    p999: float  # 99.9th percentile
    max: float
    flat: float  # the largest change of a colour that covers >= 0.1% of the image
    changed: float  # share of pixels that differ at all

    def __str__(self) -> str:
        return (f"CIEDE2000 mean {self.mean:.3f}, 99.9th percentile {self.p999:.2f}, "
                f"max {self.max:.2f}, areas (colours >= 0.1%) {self.flat:.2f}; "
                f"{self.changed:.2%} of pixels changed")


def _pixels(image: Image.Image):
    data = image.tobytes()
    return zip(data[0::3], data[1::3], data[2::3])


def difference(reference: Image.Image, candidate: Image.Image) -> Difference:
    """How far ``candidate`` is from ``reference`` (same size), per pixel, in CIEDE2000."""
    a, b = reference.convert("RGB"), candidate.convert("RGB")
    if a.size != b.size:
        raise ValueError(f"sizes differ: {a.size} and {b.size}")
    pairs = Counter(p for p in zip(_pixels(a), _pixels(b)) if p[0] != p[1])
    total = a.size[0] * a.size[1]
    areas = {colour for n, colour in a.getcolors(total) if n >= total / 1000}
    flat = max((ciede2000(lab(x), lab(y)) for x, y in pairs if x in areas), default=0.0)
    deltas = sorted((ciede2000(lab(x), lab(y)), n) for (x, y), n in pairs.items())
    changed = sum(n for _, n in deltas)
    mean = sum(d * n for d, n in deltas) / total
    rank, seen, p999 = total - math.ceil(total * 0.999), 0, 0.0
    for d, n in reversed(deltas):
        seen += n
        if seen > rank:
            p999 = d
            break
    return Difference(mean, p999, deltas[-1][0] if deltas else 0.0, flat, changed / total)
