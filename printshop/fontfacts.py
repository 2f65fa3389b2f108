"""What printshop needs to know about a font file, read once and kept on disk.

Three facts: the code points the font has glyphs for (its best Unicode cmap),
its family as fontconfig names it, and whether it draws in its own colours
(a COLR table). Reading them means parsing the font with fontTools, which cost
a cold process ~150 ms for the dossier's coverage check alone (the CJK
fallback is 3.9 MB) and ~35 ms for the fallback families' names.

So each font's facts are computed once and kept as JSON in the user's cache
(`resources.cache_roots`, beside the fontconfig files), in two records:

- ``font-<sha256>.json``: the facts of a font's *content* (its SHA-256);
- ``file-<key>.json``: the same facts for one file *as it is now*: ``key``
  hashes its real path, device, inode, size, mtime and ctime (ns). A process
  finds this record with one ``stat`` and one small read, no hashing.

Any change to a file changes its ctime (which no program can set back), so a
changed font never matches its old file record; its content is hashed again,
and its facts are found by content (a copy or a fresh clone of the same fonts)
or computed anew. A cache folder that is missing, unreadable, unwritable or
not the user's own costs only the parse. Records are written atomically
(a temporary file, then a rename).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import io
import json
import os
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import regex

#: The records' format, and what goes into them; bump it when either changes.
FORMAT = 2
FOLDER = "fontfacts"
#: A file changed this recently may change again within the same timestamp tick
#: (file times are coarse: a jiffy), unseen by its identity: its facts are kept
#: by content only until it is older (git's "racy clean" rule).
RACY_NS = 2_000_000_000

_GRAPHEME = regex.compile(r"\X")
#: Joiners, variation selectors and the keycap mark: a font may lack them and
#: still print the cluster (as `text.FontChain` decides).
_IGNORABLE = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}


@dataclass(frozen=True)
class FontFacts:
    """One font file's facts: the code points it covers, as ranges from ``starts[i]``
    to ``ends[i]`` (inclusive, ascending), its ``family`` and whether it is a
    ``colour`` (COLR) font."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    family: str
    colour: bool

    def covers(self, code_point: int) -> bool:
        """Whether the font has a glyph for ``code_point``."""
        at = bisect.bisect_right(self.starts, code_point) - 1
        return at >= 0 and code_point <= self.ends[at]

    @functools.cached_property
    def coverage(self) -> frozenset[int]:
        """Every code point the font has a glyph for."""
        return frozenset(cp for start, end in zip(self.starts, self.ends)
                         for cp in range(start, end + 1))


def coverage(path: str | os.PathLike) -> frozenset[int]:
    """Code points a font file has glyphs for (`text.coverage`, cached on disk)."""
    return facts(path).coverage


def family_name(path: str | os.PathLike) -> str:
    """A font file's family as fontconfig names it (the typographic family if any)."""
    return facts(path).family


def is_colour(path: str | os.PathLike) -> bool:
    """Whether a font draws in its own colours (COLR layers)."""
    return facts(path).colour


def uncovered(text: str, paths: tuple[str, ...]) -> list[str]:
    """The grapheme clusters of ``text`` that no font of ``paths`` can print, each
    once, in order of first appearance: what `text.FontChain(paths).uncovered`
    finds (without the colour emoji font), without loading Pillow. A cluster is
    printable when a font has its first character that is not a joiner, a
    variation selector or the keycap mark; spaces, format and control
    characters are never reported."""
    found = []
    for cluster in dict.fromkeys(_GRAPHEME.findall(text)):
        if cluster.isspace() or all(unicodedata.category(ch) in ("Cf", "Cc") for ch in cluster):
            continue
        base = [ord(ch) for ch in cluster if ord(ch) not in _IGNORABLE][:1]
        if not any(all(facts(path).covers(cp) for cp in base) for path in paths):
            found.append(cluster)
    return found


def describe_uncovered(clusters) -> str:
    """The warning for characters no bundled font has, naming each (at most five)."""
    clusters = list(dict.fromkeys(clusters))
    shown = ", ".join(f"{c!r} ({' '.join(f'U+{ord(ch):04X}' for ch in c)})"
                      for c in clusters[:5])
    more = f" and {len(clusters) - 5} more" if len(clusters) > 5 else ""
    return (f"no bundled font has {shown}{more}; "
            + ("it prints as a box" if len(clusters) == 1 else "they print as boxes"))


class Coverage:
    """What the bundled fonts can print: a cluster is covered when every fallback chain
    (one per weight; both renderers draw from them) has a font for it. Characters found
    printable are remembered, so most text is answered by one set difference."""

    def __init__(self, chains) -> None:
        self.chains = [tuple(chain) for chain in chains]
        self._printable: set[str] = set()

    def printable(self, texts) -> bool:
        """Whether every character of ``texts`` is known to print (no font asked)."""
        return not set().union(*texts) - self._printable

    def missing(self, text: str) -> list[str]:
        """The clusters of ``text`` some chain cannot print, each once, in order."""
        if not set(text) - self._printable:
            return []
        found: dict[str, None] = {}
        for chain in self.chains:
            found.update(dict.fromkeys(uncovered(text, chain)))
        if not found:
            self._printable.update(text)
        return [cluster for cluster in dict.fromkeys(_GRAPHEME.findall(text)) if cluster in found]


# ---- Finding the facts: in this process, in the cache, or from the font ----

_MEMO: dict[str, tuple[tuple, FontFacts]] = {}


def facts(path: str | os.PathLike) -> FontFacts:
    """The facts of the font file at ``path``, from the cache when it is current."""
    real = os.path.realpath(path)
    identity = _identity(real)
    memo = _MEMO.get(real)
    if memo is None or memo[0] != identity:
        memo = _MEMO[real] = (identity, _find(real, identity))
    return memo[1]


def _identity(real: str) -> tuple:
    st = os.stat(real)
    return (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _find(real: str, identity: tuple) -> FontFacts:
    file_name = f"file-{hashlib.sha256(repr(identity).encode()).hexdigest()[:32]}.json"
    folders = _folders()
    for folder in folders:
        found = _read(folder / file_name, None)
        if found is not None:
            return found
    data = Path(real).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    font_name = f"font-{digest}.json"
    found = next((f for f in (_read(folder / font_name, digest) for folder in folders) if f),
                 None)
    record = _record(found or _parse(data), digest)
    # Kept by identity only if the file did not change while it was read, and not
    # so lately that a change could keep its identity.
    fresh = _identity(real) == identity and identity[-1] < time.time_ns() - RACY_NS
    for folder in folders:
        try:
            if found is None:
                _write(folder / font_name, record)
            if fresh:
                _write(folder / file_name, record)
            break
        except OSError:
            continue
    return found or _facts(record)


def _folders() -> list[Path]:
    """The cache folders to read and write, the user's own only (a folder in the
    shared temporary directory could have been made by someone else)."""
    from .resources import cache_roots

    return _own_folders(tuple(cache_roots()))


@functools.lru_cache(maxsize=8)
def _own_folders(roots: tuple[Path, ...]) -> list[Path]:
    folders = []
    for root in roots:
        folder = root / FOLDER
        try:
            if os.stat(folder).st_uid != os.getuid():
                continue
        except FileNotFoundError:
            pass  # made when first written
        except OSError:
            continue
        folders.append(folder)
    return folders


def _parse(data: bytes) -> FontFacts:
    """Read the facts from the font itself (what `text.coverage`, `text.is_colour`
    and `fonts.family_name` read before this cache)."""
    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(data), lazy=True) as font:
        code_points = sorted(font.getBestCmap())
        names = font["name"]
        family = str(names.getDebugName(16) or names.getDebugName(1))
        colour = "COLR" in font
    starts: list[int] = []
    ends: list[int] = []
    for cp in code_points:
        if ends and ends[-1] == cp - 1:
            ends[-1] = cp
        else:
            starts.append(cp)
            ends.append(cp)
    return FontFacts(tuple(starts), tuple(ends), family, colour)


def _record(found: FontFacts, digest: str) -> dict:
    return {"format": FORMAT, "sha256": digest, "family": found.family,
            "colour": found.colour, "starts": found.starts, "ends": found.ends}


def _facts(record: dict) -> FontFacts:
    starts, ends = tuple(record["starts"]), tuple(record["ends"])
    if len(starts) != len(ends) or not all(type(cp) is int for cp in starts + ends):
        raise ValueError("not a font facts record")
    if not isinstance(record["family"], str) or not isinstance(record["colour"], bool):
        raise ValueError("not a font facts record")
    return FontFacts(starts, ends, record["family"], record["colour"])


def _read(path: Path, digest: str | None) -> FontFacts | None:
    """The facts a record holds; None if it is absent, unreadable, of another format
    or (given ``digest``) of another content."""
    try:
        record = json.loads(path.read_bytes())
        if record["format"] != FORMAT or (digest is not None and record["sha256"] != digest):
            return None
        return _facts(record)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, record: dict) -> None:
    """Write a record atomically: a reader sees the whole record or none."""
    from .errors import RenderError
    from .output import write_atomic

    try:
        write_atomic(path, json.dumps(record, separators=(",", ":")).encode())
    except RenderError as error:  # the callers try the next folder
        raise OSError(error.message) from error
