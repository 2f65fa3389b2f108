"""Writing systems: which way a text runs, its bidi levels, and where emoji are.

Both renderers ask these questions. The dossier marks right-to-left text with
``dir`` (Pango lays it out) and keeps emoji sequences in the emoji font; the
cards (Pillow draws one font and one direction at a time) split a line into
runs and put them in visual order themselves.

Bidi levels come from GNU FriBidi, the reference implementation of the Unicode
Bidirectional Algorithm that Pillow's raqm and Pango already load.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import unicodedata

import regex

from .errors import RenderError

_STRONG = {"L": "ltr", "R": "rtl", "AL": "rtl"}

#: An emoji shown as one picture: a ZWJ sequence, a flag (regional indicator
#: pair), a keycap, a skin-tone sequence, a character with the emoji variation
#: selector, or one shown as emoji by default.
_EMOJI = regex.compile(
    r"\p{Regional_Indicator}|\p{Emoji_Modifier}|\u20e3|\ufe0f"
    r"|\u200d\p{Extended_Pictographic}|^\p{Emoji_Presentation}"
)
_GRAPHEME = regex.compile(r"\X")

#: Stacking marks (combining class other than 0) kept in a row: "Zalgo" text,
#: or Thai with twenty tone marks on one letter, would climb off the page.
MAX_MARKS = 3
_MARK_RUN = regex.compile(r"\p{M}{%d,}" % (MAX_MARKS + 1))


def direction(text: str) -> str | None:
    """'rtl' or 'ltr' from the first strong character, as HTML's ``dir=auto``; None
    when the text has none (digits, punctuation)."""
    for ch in text:
        found = _STRONG.get(unicodedata.bidirectional(ch))
        if found:
            return found
    return None


def cap_marks(text: str) -> str:
    """``text`` with at most MAX_MARKS stacking marks in any run of marks (the rest
    dropped): the one rule for cards and PDFs."""
    if text.isascii() or not _MARK_RUN.search(text):
        return text

    def cut(match) -> str:
        kept, stacked = [], 0
        for ch in match.group():
            if unicodedata.combining(ch):
                stacked += 1
                if stacked > MAX_MARKS:
                    continue
            kept.append(ch)
        return "".join(kept)

    return _MARK_RUN.sub(cut, text)


def is_rtl(text: str) -> bool:
    return direction(text) == "rtl"


def is_emoji(cluster: str) -> bool:
    """Whether a grapheme cluster is an emoji (drawn from the emoji font, whole)."""
    return "\ufe0e" not in cluster and _EMOJI.search(cluster) is not None


def emoji_clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of every emoji cluster of ``text``."""
    if text.isascii():
        return []
    return [m.span() for m in _GRAPHEME.finditer(text) if is_emoji(m.group())]


# FriBidi's paragraph types (fribidi-bidi-types.h): strong, letter, and RTL bits.
_PAR_LTR, _PAR_RTL = 0x110, 0x111


@functools.cache
def _fribidi():
    try:  # the Linux soname first: find_library runs ldconfig (~10 ms a cold process)
        lib = ctypes.CDLL("libfribidi.so.0")
    except OSError:
        lib = None
    try:
        lib = lib or ctypes.CDLL(ctypes.util.find_library("fribidi") or "libfribidi.so.0")
    except OSError as error:
        raise RenderError(
            "GNU FriBidi (libfribidi0) is missing: right-to-left text cannot be laid out. "
            "Install it with: sudo apt-get install libfribidi0") from error
    u32 = ctypes.POINTER(ctypes.c_uint32)
    lib.fribidi_get_bidi_types.argtypes = [u32, ctypes.c_int, u32]
    lib.fribidi_get_bracket_types.argtypes = [u32, ctypes.c_int, u32, u32]
    lib.fribidi_get_par_embedding_levels_ex.argtypes = [
        u32, u32, ctypes.c_int, u32, ctypes.POINTER(ctypes.c_int8)]
    lib.fribidi_get_par_embedding_levels_ex.restype = ctypes.c_int8
    return lib


@functools.lru_cache(maxsize=4096)
def levels(text: str, rtl: bool) -> tuple[int, ...]:
    """The resolved embedding level of each character of one line of a paragraph
    whose base direction is right-to-left if ``rtl`` (even levels run left to right)."""
    if not rtl and all(_STRONG.get(unicodedata.bidirectional(ch)) != "rtl"
                       and unicodedata.bidirectional(ch) not in ("AN", "RLE", "RLO", "RLI")
                       for ch in text):
        return (0,) * len(text)
    lib = _fribidi()
    n = len(text)
    chars = (ctypes.c_uint32 * n)(*map(ord, text))
    types = (ctypes.c_uint32 * n)()
    brackets = (ctypes.c_uint32 * n)()
    lib.fribidi_get_bidi_types(chars, n, types)
    lib.fribidi_get_bracket_types(chars, n, types, brackets)
    base = ctypes.c_uint32(_PAR_RTL if rtl else _PAR_LTR)
    out = (ctypes.c_int8 * n)()
    if not lib.fribidi_get_par_embedding_levels_ex(types, brackets, n, ctypes.byref(base), out):
        raise RenderError(f"FriBidi could not resolve the direction of {text[:40]!r}")
    return tuple(out)


def visual_order(levels_of_runs: list[int]) -> list[int]:
    """Indexes of runs (each at one level) in the order they are drawn, left to
    right: rule L2 of the bidi algorithm, reversing from the highest level down."""
    order = list(range(len(levels_of_runs)))
    if not levels_of_runs:
        return order
    lowest_odd = min(level for level in levels_of_runs) | 1
    for level in range(max(levels_of_runs), lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if levels_of_runs[order[i]] >= level:
                j = i
                while j < len(order) and levels_of_runs[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return order
