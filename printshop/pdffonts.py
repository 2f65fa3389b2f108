"""The fonts of a PDF joined from separately written ones (the parallel book).

Parts and pieces embed whole fonts, so that a font is the same bytes wherever it
is used and the book stores it once (`SharedFonts`). What each drew is recorded
by glyph (`used_glyphs`: width and text, WeasyPrint's own figures); the joined
book's fonts are then cut to those glyphs, their /W widths and /ToUnicode maps
written anew (`subset_fonts`). Characters no font has are drawn by WeasyPrint
with stand-in glyphs numbered per document: the book numbers them once
(`StandIns`). Text can be rewritten glyph by glyph (`rewrite_text`): the
parallel book writes page numbers over placeholders that way (`write_numbers`).
"""

from __future__ import annotations

import io
import re
import unicodedata
from typing import Callable

from .errors import RenderError

#: Per font: glyph -> (width in thousandths of the size, the text it stands for).
Glyphs = dict[str, dict[int, tuple[int, str]]]


def used_glyphs(document) -> dict[str, list]:
    """Font name (as in /BaseFont) -> [glyph, width, text, character] for each glyph a
    written document drew with it: what the joined book's /W and /ToUnicode are
    made of (WeasyPrint's own figures). ``character`` is the code point of a
    stand-in glyph WeasyPrint draws for a character no font has (see `StandIns`),
    else 0."""
    used: dict[str, dict[int, tuple]] = {}
    for font in getattr(document, "fonts", {}).values():
        name = font.name.decode() if isinstance(font.name, bytes) else str(font.name)
        drawn = used.setdefault(name.lstrip("/"), {})
        stand_ins = {glyph: code for code, glyph in getattr(font, "missing", {}).items()}
        for glyph, text in glyph_texts(font).items():
            drawn[glyph] = (font.widths.get(glyph, 0), text, stand_ins.get(glyph, 0))
    return {name: [[glyph, *drawn[glyph]] for glyph in sorted(drawn)]
            for name, drawn in sorted(used.items())}


def add_glyphs(glyphs: Glyphs, more: dict[str, list],
                changes: dict[str, dict[int, int]] | None = None) -> None:
    """Merge a part's or piece's glyphs (as `used_glyphs` gives them, renumbered by
    ``changes``: see `StandIns`) into the book's."""
    for name, drawn in more.items():
        book = glyphs.setdefault(name, {})
        renumber = (changes or {}).get(name, {})
        for glyph, width, text, _character in drawn:
            book.setdefault(renumber.get(glyph, glyph), (width, text))


def subset_fonts(fonts, glyphs: Glyphs) -> None:
    """Cut each whole font the book embeds down to the glyphs it draws with it.

    Parts embed whole fonts so that every part carries the same bytes and the book
    stores each once; without this, a small book would carry whole fonts (a 4-entry
    book was 3.6x its single-pass size). Glyph numbers are kept (fontTools'
    retain_gids), so the pages' text needs no change. The /W widths and the
    /ToUnicode map are written anew from the glyphs drawn.
    """
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    programs: dict[tuple, tuple[object, dict[int, int]]] = {}  # glyph -> width
    for font in fonts:
        name = _font_name(font)
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor:
                continue
            stream = descriptor.FontFile2
            entry = programs.setdefault(stream.objgen, (stream, {}))
            entry[1].update((glyph, width) for glyph, (width, _) in glyphs.get(name, {}).items())
            if glyphs.get(name):
                descendant.W = _widths(glyphs[name])
                if "/ToUnicode" in font:
                    font.ToUnicode.write(_unicode_map(glyphs[name]))
    for stream, used in programs.values():
        if not used:
            continue
        options = subset.Options(retain_gids=True, passthrough_tables=True,
                                 ignore_missing_glyphs=True, notdef_outline=True,
                                 desubroutinize=True)
        options.drop_tables += ["GSUB", "GPOS", "SVG"]
        font = TTFont(io.BytesIO(stream.read_bytes()), recalcTimestamp=False)  # reproducible
        for tag in ("GSUB", "GPOS", "SVG "):
            # Dropped unread: the subsetter would first decompile the layout tables
            # it is told to drop (fontTools' _compact_layout_tables), most of the
            # join's time in a small book.
            if tag in font:
                del font[tag]
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=sorted(set(used) | {0}))
        subsetter.subset(font)
        _add_stand_ins(font, used)
        out = io.BytesIO()
        font.save(out)
        stream.write(out.getvalue())
        stream.Length1 = len(out.getvalue())


def _add_stand_ins(font, used: dict[int, int]) -> None:
    """Give a subset TrueType font the stand-in glyphs drawn past its last glyph
    (see `StandIns`): each a box (the .notdef outline) as wide as the page's text
    says, as WeasyPrint's own subsetting gives them. Without them, viewers draw
    such glyphs at a width of their own and the text runs out of its column."""
    order = font.getGlyphOrder()
    extra = [glyph for glyph in used if glyph >= len(order)]
    if not extra or "glyf" not in font:
        return
    glyf, hmtx = font["glyf"], font["hmtx"]
    scale = font["head"].unitsPerEm / 1000
    notdef = glyf[order[0]]
    for glyph in range(len(order), max(extra) + 1):
        name = f"printshop.standin{glyph}"
        order.append(name)
        glyf.glyphs[name] = notdef
        hmtx.metrics[name] = (round(used.get(glyph, 0) * scale), 0)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    font["maxp"].numGlyphs = len(order)


def _widths(drawn: dict[int, tuple[int, str]]):
    """A CID font's /W array: runs of consecutive glyphs with their widths."""
    import pikepdf

    runs: list = []
    for glyph in sorted(drawn):
        if runs and runs[-2] + len(runs[-1]) == glyph:
            runs[-1].append(drawn[glyph][0])
        else:
            runs += [glyph, [drawn[glyph][0]]]
    return pikepdf.Array([pikepdf.Array(r) if isinstance(r, list) else r for r in runs])


#: What a glyph maps to when it is part of a cluster another glyph of the cluster
#: maps (Devanagari's i-sign drawn before its consonant, a split vowel of Tamil):
#: U+2060 WORD JOINER, invisible and default-ignorable. Mapped to nothing, as
#: WeasyPrint leaves it, PDFium reads the glyph's number as a character (U+025F
#: inside a Hindi word) and poppler a space. PDF/UA wants every code mapped.
CLUSTER_TAIL = "\u2060"


def glyph_text(text: str) -> str:
    """The /ToUnicode text of a drawn glyph (see CLUSTER_TAIL)."""
    return text or CLUSTER_TAIL


def glyph_texts(font) -> dict[int, str]:
    """The /ToUnicode text of each glyph WeasyPrint drew with ``font`` (a WeasyPrint
    font): its own, except CLUSTER_TAIL for a glyph with none, and the glyph's own
    character for a mirrored glyph. Right-to-left text draws "(" with the glyph of
    ")"; WeasyPrint keeps the first text a glyph was drawn for, so after one Arabic
    "(...)" every ")" of the font read as "(". A mirrored glyph maps to the
    character it is the glyph of."""
    mirrored = None
    out = {}
    for glyph, text in font.to_unicode.items():
        if len(text) == 1 and unicodedata.mirrored(text):
            mirrored = _mirrored_glyphs(font) if mirrored is None else mirrored
            text = mirrored.get(glyph, text)
        out[glyph] = glyph_text(text)
    return out


def _mirrored_glyphs(font) -> dict[int, str]:
    """Glyph -> character, for the font's mirrored characters (its cmap, read once
    per font file and process)."""
    from weasyprint.text.ffi import ffi, harfbuzz

    name = font.name if isinstance(font.name, bytes) else str(font.name).encode()
    blob = harfbuzz.hb_face_reference_blob(font.hb_face)
    try:
        length = ffi.new("unsigned int *")
        data = harfbuzz.hb_blob_get_data(blob, length)
        key = (name.split(b"+", 1)[-1], length[0], font.index)
        if key not in _MIRRORED:
            _MIRRORED[key] = _mirrored_cmap(bytes(ffi.buffer(data, length[0])), font.index)
    finally:
        harfbuzz.hb_blob_destroy(blob)
    return _MIRRORED[key]


_MIRRORED: dict[tuple, dict[int, str]] = {}


def _mirrored_cmap(data: bytes, index: int) -> dict[int, str]:
    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(data), fontNumber=index, lazy=True) as font:
        order = font.getGlyphOrder()
        ids = {name: i for i, name in enumerate(order)}
        return {ids[name]: chr(code) for code, name in font.getBestCmap().items()
                if unicodedata.mirrored(chr(code)) and name in ids}


def fill_unicode_maps(document, pdf) -> None:
    """A WeasyPrint finisher: each font's /ToUnicode map made of `glyph_texts`."""
    fonts = {font.name: font for font in getattr(document, "fonts", {}).values()}
    for obj in pdf.objects:
        if not isinstance(obj, dict) or "ToUnicode" not in obj or obj.get("BaseFont") not in fonts:
            continue
        texts = glyph_texts(fonts[obj["BaseFont"]])
        stream = pdf.objects[int(obj["ToUnicode"].split()[0])]
        stream.stream = [_mapped(line, texts) for line in stream.stream]


def _mapped(line, texts: dict[int, str]):
    """One bfchar line of WeasyPrint's /ToUnicode, with the glyph's text from ``texts``
    where WeasyPrint's is empty or a mirrored character. Other lines stay as they are:
    a map WeasyPrint made from the whole font's cmap (the parallel book's parts keep
    whole fonts, shared by digest) must stay the same in every part."""
    if not (isinstance(line, bytes) and line.startswith(b"<") and line.endswith(b">")
            and b"> <" in line):
        return line
    glyph_hex, text_hex = line[1:-1].split(b"> <")
    glyph = int(glyph_hex, 16)
    text = bytes.fromhex(text_hex.decode()).decode("utf-16-be")
    if glyph not in texts or texts[glyph] == text or not (
            text == "" or len(text) == 1 and unicodedata.mirrored(text)):
        return line
    return b"<%04x> <%s>" % (glyph, texts[glyph].encode("utf-16-be").hex().encode())


def _unicode_map(drawn: dict[int, tuple[int, str]]) -> bytes:
    """A /ToUnicode CMap of the glyphs drawn (in WeasyPrint's form: bfchar lines;
    every code drawn is mapped, as PDF/UA wants: see CLUSTER_TAIL)."""
    pairs = [b"<%04x> <%s>" % (glyph, glyph_text(text).encode("utf-16-be").hex().encode())
             for glyph, (_width, text) in sorted(drawn.items())]
    blocks = b"".join(b"%d beginbfchar\n%s\nendbfchar\n" % (len(pairs[i:i + 100]),
                                                              b"\n".join(pairs[i:i + 100]))
                      for i in range(0, len(pairs), 100))
    return (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo\n<< /Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <ffff>\nendcodespacerange\n" + blocks
            + b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")


#: What text drawing looks like in WeasyPrint's content: a text matrix (its last
#: two operands, the origin), a font and size, an array of glyphs and spacings.
_TEXT_OPS = re.compile(rb"(-?[\d.]+) (-?[\d.]+) Tm|/([^\s/\[\]<>()]+)\s+([-+\d.]+)\s+Tf"
                       rb"|\[([^\]]*)\]\s*TJ")
_GLYPH = re.compile(rb"<([0-9a-fA-F]*)>")

#: A rewrite of a text array: (font, size, glyphs) -> None (leave it), or the
#: glyphs changed (None for a glyph to drop) and how far to move its origin.
Rewrite = Callable[[object, float, list[int]], "tuple[list[int | None], float] | None"]


def _font_name(font) -> str:
    """A PDF font's name, as /BaseFont gives it (with its subset tag)."""
    return str(font.get("/BaseFont", "")).lstrip("/")


def _font_program(font):
    """The TrueType program a Type0 PDF font embeds, read lazily by fontTools, or None."""
    import io

    from fontTools.ttLib import TTFont

    try:
        program = font.DescendantFonts[0].FontDescriptor.FontFile2.read_bytes()
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return TTFont(io.BytesIO(program), lazy=True)


class Digits:
    """Per font of the book: the placeholder glyph (the slashed zero of the font's
    "zero" feature) and the glyphs of 0-9, or None; read once per font."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, list[int]] | None] = {}

    def __call__(self, font) -> tuple[int, list[int]] | None:
        name = _font_name(font)
        if name not in self._known:
            self._known[name] = self._read(font)
        return self._known[name]

    @staticmethod
    def _read(font) -> tuple[int, list[int]] | None:
        face = _font_program(font)
        if face is None:
            return None
        cmap = face.getBestCmap() or {}
        if "GSUB" not in face or not all(ord(d) in cmap for d in "0123456789"):
            return None
        for record in face["GSUB"].table.FeatureList.FeatureRecord:
            if record.FeatureTag != "zero":
                continue
            for index in record.Feature.LookupListIndex:
                for table in face["GSUB"].table.LookupList.Lookup[index].SubTable:
                    alternate = getattr(table, "mapping", {}).get(cmap[ord("0")])
                    if alternate:
                        return (face.getGlyphID(alternate),
                                [face.getGlyphID(cmap[ord(d)]) for d in "0123456789"])
        return None


def rewrite_text(content: bytes, fonts, rewrite: Rewrite,
                 wanted: Callable[[object, bytes], bool] | None = None) -> bytes:
    """``content`` with each text array passed through ``rewrite`` (see `Rewrite`).
    Glyphs are 2-byte codes, as WeasyPrint writes them for its CID fonts; the
    spacing numbers between them stay where they are; a move shifts the x of the
    text matrix before the array. ``wanted`` (font, the array's bytes): whether
    ``rewrite`` may change the array at all (a quick look, so that the others'
    glyphs are not read)."""
    out, last, font, size, origin = [], 0, None, 0.0, None
    for match in _TEXT_OPS.finditer(content):
        if match.group(1) is not None:
            origin = match
            continue
        if match.group(3) is not None:
            font, size = fonts.get("/" + match.group(3).decode("latin-1")), float(match.group(4))
            continue
        if font is None:
            continue
        array = match.group(5)
        if wanted is not None and not wanted(font, array):
            continue
        tokens = list(_GLYPH.finditer(array))
        glyphs = [int(t.group(1)[i:i + 4], 16) for t in tokens
                  for i in range(0, len(t.group(1)), 4)]
        result = rewrite(font, size, glyphs)
        if result is None:
            continue
        changed, move = result
        written, at, k = [], 0, 0
        for token in tokens:
            n = len(token.group(1)) // 4
            written += [array[at:token.start()], b"<", b"".join(
                b"%04x" % g for g in changed[k:k + n] if g is not None), b">"]
            k, at = k + n, token.end()
        written.append(array[at:])
        if move and origin is not None and origin.start() >= last:
            x = float(origin.group(1)) + move
            out += [content[last:origin.start(1)], b"%f" % x, content[origin.end(1):match.start(5)]]
        else:
            out.append(content[last:match.start(5)])
        out.append(b"".join(written))
        last = match.end(5)
    out.append(content[last:])
    return b"".join(out)


def write_numbers(content: bytes, numbers: list[tuple[str, bool]], fonts, digits: Digits,
                  glyphs: Glyphs) -> bytes:
    """Write page numbers over their placeholders (runs of slashed zeros, one text
    array each, in document order): ``numbers`` are (number, right-aligned?).
    Placeholder glyphs past a number's digits are dropped; a right-aligned number
    moves right by their width. The digits drawn join ``glyphs`` (with the
    placeholder's width: the font's figures are tabular)."""
    todo = list(numbers)

    def rewrite(font, size: float, drawn: list[int]):
        known = digits(font)
        if known is None or not todo:
            return None
        placeholder, figures = known
        at = [i for i, glyph in enumerate(drawn) if glyph == placeholder]
        if not at:
            return None
        number, right = todo.pop(0)
        if len(number) > len(at):
            raise RenderError(f"page {number} has more digits than the {len(at)} its "
                              "placeholder reserves")
        changed: list[int | None] = list(drawn)
        for k, i in enumerate(at):
            changed[i] = figures[int(number[k])] if k < len(number) else None
        book = glyphs.setdefault(_font_name(font), {})
        width = book.get(placeholder, (0, ""))[0]
        for digit in number:
            book.setdefault(figures[int(digit)], (width, digit))
        return changed, (len(at) - len(number)) * width * size / 1000 if right else 0.0

    def wanted(font, array: bytes) -> bool:
        # Only an array with the placeholder's code can hold a placeholder (a match
        # across two glyphs' codes is weeded out by `rewrite`).
        known = digits(font)
        if known is None or not todo:
            return False
        code = b"%04x" % known[0]
        return code in array or code.upper() in array

    content = rewrite_text(content, fonts, rewrite, wanted)
    if todo:
        raise RenderError(f"{len(todo)} page number(s) found no placeholder")
    return content


class StandIns:
    """One number per character for the stand-in glyphs of characters no font has.

    WeasyPrint draws such a character with a glyph number past the font's last
    glyph, counting per document: two parts can give one number to different
    characters. The book numbers each (font, character) once and rewrites the
    text of a part or piece whose numbers differ (only such text is read).
    """

    def __init__(self) -> None:
        self._counts: dict[str, int | None] = {}
        self._numbers: dict[str, dict[int, int]] = {}

    def _count(self, font) -> int | None:
        name = _font_name(font)
        if name not in self._counts:
            face = _font_program(font)
            self._counts[name] = face["maxp"].numGlyphs if face is not None else None
        return self._counts[name]

    def renumber(self, drawn: dict[str, list], containers) -> dict[str, dict[int, int]]:
        """The book's numbers for a source's stand-in glyphs (font -> old -> new), and
        its text rewritten to match, in ``containers`` (pages or forms)."""
        fonts = {_font_name(font): font for container in containers
                 for font_map in SharedFonts._font_maps(container, set())
                 for font in font_map.values()}
        changes: dict[str, dict[int, int]] = {}
        for name, items in drawn.items():
            count = self._count(fonts[name]) if name in fonts else None
            if count is None:
                continue
            numbers = self._numbers.setdefault(name, {})
            for glyph, _width, _text, character in items:
                if glyph >= count and character:
                    number = numbers.setdefault(character, count + len(numbers))
                    if number != glyph:
                        changes.setdefault(name, {})[glyph] = number
        if changes:
            def rewrite(font, _size, glyphs):
                table = changes.get(_font_name(font))
                return ([table.get(g, g) for g in glyphs], 0.0) if table else None

            for stream, font_map in _text_streams(containers):
                stream.write(rewrite_text(stream.read_bytes(), font_map, rewrite))
        return changes


def _text_streams(containers):
    """(content stream, its /Font map) of pages or forms, and of the forms they draw."""
    import pikepdf

    seen: set = set()
    stack = list(containers)
    while stack:
        container = stack.pop()
        obj = getattr(container, "obj", container)
        resources = obj.get("/Resources")
        if resources is None:
            continue
        font_map = resources.get("/Font", {})
        contents = obj.get("/Contents") if "/Contents" in obj else obj
        for stream in (contents if isinstance(contents, pikepdf.Array) else [contents]):
            if isinstance(stream, pikepdf.Stream) and stream.objgen not in seen:
                seen.add(stream.objgen)
                yield stream, font_map
        for _, xobject in resources.get("/XObject", {}).items():
            if xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                stack.append(xobject)


class SharedFonts:
    """Every font of the joined book stored once.

    Parts and pieces embed whole fonts (widths and Unicode maps for every glyph),
    so a font is the same object, byte for byte, wherever it is used. Before a
    source's pages are copied, each font the book already has is swapped, in the
    source's resources, for a small marker naming it; after copying, the markers
    point at the book's copy. Nothing is copied twice, so memory does not grow
    with the number of parts that share a font.
    """

    MARK = "/PrintshopFont"

    def __init__(self) -> None:
        self.fonts: dict[str, object] = {}  # digest -> the font in the book

    @staticmethod
    def _font_maps(container, seen: set):
        """The /Font resource dictionaries of a page or form, and of its forms."""
        resources = container.get("/Resources")
        if resources is None or resources.objgen in seen and resources.objgen != (0, 0):
            return
        seen.add(resources.objgen)
        if "/Font" in resources:
            yield resources.Font
        for _, xobject in resources.get("/XObject", {}).items():
            if xobject.get("/Subtype") == "/Form":
                yield from SharedFonts._font_maps(xobject, seen)

    @staticmethod
    def _digest(obj, hashes: dict) -> str:
        """A hash of an object and everything it refers to (streams by their bytes)."""
        import hashlib

        import pikepdf

        key = obj.objgen if getattr(obj, "is_indirect", False) else None
        if key and key in hashes:
            return hashes[key]
        text = obj.unparse(resolved=True) if isinstance(obj, pikepdf.Array) else b" R"
        if b" R" not in text:
            # An array (a whole font's /W: thousands of numbers) that refers to no
            # other object is its own text: one call instead of one per item.
            parts = ["array", hashlib.sha256(text).hexdigest()]
        elif isinstance(obj, pikepdf.Stream):
            parts = [repr(sorted((str(k), SharedFonts._digest(v, hashes))
                                 for k, v in obj.stream_dict.items() if k != "/Length")),
                     hashlib.sha256(obj.read_raw_bytes()).hexdigest()]
        elif isinstance(obj, pikepdf.Dictionary):
            parts = sorted((str(k), SharedFonts._digest(v, hashes)) for k, v in obj.items())
        elif isinstance(obj, pikepdf.Array):
            parts = [SharedFonts._digest(v, hashes) for v in obj]
        else:
            parts = [repr(obj)]
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()
        if key:
            hashes[key] = digest
        return digest

    def hold_back(self, containers) -> None:
        """Swap, in a source about to be copied, the fonts the book has for markers."""
        import pikepdf

        hashes: dict = {}
        seen: set = set()
        for container in containers:
            for font_map in self._font_maps(container, seen):
                for name, font in list(font_map.items()):
                    if self.MARK in font:
                        continue
                    if isinstance(font.get("/Encoding"), pikepdf.Stream):
                        # WeasyPrint's own encoding, written where a document draws
                        # stand-ins for missing characters (mapped to .notdef), covers
                        # that document's glyphs only. The book's fonts carry every
                        # glyph drawn, stand-ins included (`_add_stand_ins`): identity.
                        font.Encoding = pikepdf.Name("/Identity-H")
                    digest = self._digest(font, hashes)
                    if digest in self.fonts:
                        font_map[name] = pikepdf.Dictionary({self.MARK: pikepdf.String(digest)})
                    else:
                        font[self.MARK] = pikepdf.String(digest)

    def restore(self, containers) -> None:
        """Point the copied markers at the book's fonts; adopt fonts seen first."""
        seen: set = set()
        for container in containers:
            for font_map in self._font_maps(container, seen):
                for name, font in list(font_map.items()):
                    if self.MARK not in font:
                        continue
                    digest = str(font[self.MARK])
                    if digest in self.fonts and font.objgen != self.fonts[digest].objgen:
                        font_map[name] = self.fonts[digest]
                    else:
                        del font[self.MARK]
                        self.fonts[digest] = font
