"""What a reader of a PDF sees: text per page, outline, metadata, fonts, pixels."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops


def page_texts(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def squash(text: str) -> str:
    """Text with line breaks, hyphenation points and runs of spaces folded, for searching."""
    # PDFium marks a hyphen that ends a line as U+FFFE: it is the word's own hyphen.
    text = text.replace("\ufffe", "-").replace("-\r\n", "-")
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def outline(data: bytes, pages: bool = False) -> list[tuple]:
    """(level, title) of every bookmark, depth first; with ``pages``, (level, title,
    index of the page it opens, its height on that page). A bookmark opens its
    destination (/Dest) or, in PDF/UA-2, its go-to action's page destination (/A /D,
    next to the structure destination /SD)."""
    result = []
    with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_outline() as tree:
        page_of = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}

        def walk(items, level):
            for item in items:
                if pages:
                    dest = item.destination
                    if dest is None and item.action is not None:
                        dest = item.action.D
                    if isinstance(dest, (pikepdf.String, pikepdf.Name)):
                        dest = pikepdf.NameTree(pdf.Root.Names.Dests)[str(dest)] \
                            if isinstance(dest, pikepdf.String) else pdf.Root.Dests[dest]
                    if isinstance(dest, pikepdf.Dictionary):
                        dest = dest.D
                    result.append((level, item.title, page_of[dest[0].objgen],
                                   round(float(dest[3]), 1)))
                else:
                    result.append((level, item.title))
                walk(item.children, level + 1)
        walk(tree.root, 1)
    return result


def metadata(data: bytes) -> dict[str, str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        info = {str(k)[1:]: str(v) for k, v in pdf.docinfo.items()}
        if "/Lang" in pdf.Root:
            info["Lang"] = str(pdf.Root.Lang)
        info["pages"] = str(len(pdf.pages))
        box = pdf.pages[0].mediabox
        info["mediabox"] = ",".join(f"{float(v):.1f}" for v in box)
        return info


def embedded_fonts(data: bytes) -> dict[str, str]:
    """BaseFont name -> family name inside the embedded font program."""
    fonts = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for _, font in page.Resources.get("/Font", {}).items():
                descendants = font.get("/DescendantFonts")
                target = descendants[0] if descendants is not None else font
                descriptor = target.get("/FontDescriptor")
                stream = None
                if descriptor is not None:
                    stream = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
                family = ""
                if stream is not None:
                    family = TTFont(io.BytesIO(stream.read_bytes()))["name"].getDebugName(1) or ""
                fonts[str(font.BaseFont)] = family
    return fonts


def render_page(data: bytes, index: int = 0, dpi: int = 50) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        bitmap = document[index].render(scale=dpi / 72)
        return bitmap.to_pil().convert("RGB")
    finally:
        document.close()


def compare_images(actual: Image.Image, expected_path: Path, failures: Path, name: str,
                   tolerance: int = 48, max_fraction: float = 0.005) -> None:
    """Assert ``actual`` matches the golden PNG: at most ``max_fraction`` of pixels
    differ by more than ``tolerance`` in any channel. On failure the actual,
    expected and difference images are written to ``failures/``."""
    expected = Image.open(expected_path).convert("RGB")
    problem = None
    if actual.size != expected.size:
        problem = f"size {actual.size} != expected {expected.size}"
    else:
        diff = ImageChops.difference(actual, expected).convert("L")
        mask = diff.point(lambda v: 255 if v > tolerance else 0)
        bad = mask.histogram()[255]
        fraction = bad / (actual.width * actual.height)
        if fraction > max_fraction:
            box = mask.getbbox()
            problem = (f"{bad} pixels ({fraction:.2%}) differ by more than {tolerance}; "
                       f"first differing region {box}")
    if problem:
        failures.mkdir(parents=True, exist_ok=True)
        actual.save(failures / f"{name}-actual.png")
        expected.save(failures / f"{name}-expected.png")
        if actual.size == expected.size:
            ImageChops.difference(actual, expected).save(failures / f"{name}-diff.png")
        raise AssertionError(f"{name}: {problem}; see {failures}/{name}-*.png")


def chars_outside(data: bytes, margin_pt: float) -> list[tuple[int, str]]:
    """(page, character) of every visible character outside the page's side margins."""
    outside = []
    document = pdfium.PdfDocument(data)
    try:
        for number, page in enumerate(document, 1):
            text = page.get_textpage()
            width = page.get_width()
            for index in range(text.count_chars()):
                left, _, right, _ = text.get_charbox(index)
                if right - left < 0.01:
                    continue  # line ends and other zero-width marks
                if left < margin_pt - 1 or right > width - margin_pt + 1:
                    outside.append((number, text.get_text_range(index, 1)))
    finally:
        document.close()
    return outside


def links(data: bytes) -> list[dict]:
    """Every internal link: its page, the text under it, and the page it lands on."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page_of = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}
        names = pikepdf.NameTree(pdf.Root.Names.Dests) if "/Names" in pdf.Root else {}
        boxes = []
        for index, page in enumerate(pdf.pages):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") != "/Link":
                    continue
                dest = annot.get("/Dest")
                if dest is None and "/A" in annot:
                    dest = annot.A.get("/D")
                if isinstance(dest, pikepdf.String):
                    dest = names[str(dest)]
                target = page_of[dest[0].objgen] if dest is not None else None
                boxes.append((index, [float(v) for v in annot.Rect], target))
    document = pdfium.PdfDocument(data)
    try:
        for index, (left, bottom, right, top), target in boxes:
            text = document[index].get_textpage().get_text_bounded(left, bottom, right, top)
            found.append({"page": index, "text": squash(text), "target": target})
    finally:
        document.close()
    return found


def page_labels(data: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [pikepdf.Page(page).label for page in pdf.pages]


def page_boxes(data: bytes, index: int) -> dict[str, list[float]]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[index].obj
        return {name: [round(float(v), 2) for v in page[f"/{name}"]]
                for name in ("MediaBox", "TrimBox", "BleedBox") if f"/{name}" in page}


def qpdf_check(data: bytes) -> str:
    """``qpdf --check`` on the PDF: '' when it passes, else what qpdf said."""
    import shutil
    import subprocess
    import tempfile

    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is installed by scripts/system-deps.sh (Debian package qpdf)"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run([qpdf, "--check", handle.name], capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stdout + done.stderr


def _marked_texts(data: bytes) -> dict[tuple, str]:
    """The text of each marked-content sequence, as PDFium reads it: (page index,
    in a form?, MCID) -> text. Marked content inside a form XObject is keyed apart
    (its MCIDs are the form's own)."""
    import ctypes

    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(data)
    texts: dict[tuple, str] = {}

    def read(obj, textpage, index, in_form):
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            for i in range(raw.FPDFFormObj_CountObjects(obj)):
                read(raw.FPDFFormObj_GetObject(obj, i), textpage, index, True)
            return
        if kind != raw.FPDF_PAGEOBJ_TEXT:
            return
        mcid = raw.FPDFPageObj_GetMarkedContentID(obj)
        if mcid < 0:
            return
        size = raw.FPDFTextObj_GetText(obj, textpage, None, 0)
        buffer = ctypes.create_string_buffer(size)
        raw.FPDFTextObj_GetText(obj, textpage, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
        text = buffer.raw[:size].decode("utf-16-le").rstrip("\x00")
        key = (index, in_form, mcid)
        texts[key] = texts.get(key, "") + text

    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        for i in range(raw.FPDFPage_CountObjects(page.raw)):
            read(raw.FPDFPage_GetObject(page.raw, i), textpage.raw, index, False)
    return texts


#: Structure types a reader steps through (ISO 32005 treats them as transparent).
TRANSPARENT = {"/NonStruct", "/Div", "/Part"}


def tag_sequence(data: bytes) -> list[tuple[str, str]]:
    """The structure tree in reading order, as (type, text) pairs: each element that
    is not transparent, with the text of the marked content it holds directly."""
    texts = _marked_texts(data)
    out: list[tuple[str, str]] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {page.objgen: i for i, page in enumerate(pdf.pages)}

        def visit(element):
            kids = element.get("/K")
            kids = [] if kids is None else list(kids) if isinstance(kids, pikepdf.Array) else [kids]
            own = []
            for kid in kids:
                if isinstance(kid, int):
                    own.append(texts.get((pages.get(element.Pg.objgen), False, int(kid)), ""))
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    page = kid.get("/Pg", element.get("/Pg"))
                    own.append(texts.get((pages.get(page.objgen), "/Stm" in kid, int(kid.MCID)), ""))
            if str(element.S) not in TRANSPARENT:
                out.append((str(element.S), squash("".join(own))))
            for kid in kids:
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    visit(kid)

        root = pdf.Root.StructTreeRoot
        for kid in (root.K if isinstance(root.K, pikepdf.Array) else [root.K]):
            visit(kid)
    return out


def reader_texts(data: bytes) -> dict[str, list[str]]:
    """Each page's text as three readers we did not write extract it: PDFium (Chrome's
    viewer), pypdf and poppler (pdftotext -raw: in content order, as a screen reader
    without tags would; its default layout mode regroups text by columns)."""
    import subprocess
    import tempfile

    from pypdf import PdfReader

    texts = {"pdfium": page_texts(data),
             "pypdf": [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]}
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", handle.name, "-"], check=True,
                             capture_output=True).stdout.decode()
    texts["poppler"] = out.split("\f")[:len(texts["pdfium"])]
    return texts
