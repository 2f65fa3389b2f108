"""PDF/UA-2 structure for WeasyPrint's tagged PDFs (ISO 14289-2, ISO 32005 nesting).

WeasyPrint 70 tags every text run as a ``Span`` under the element of its box, so
a ``Span`` can sit in a ``Sect`` or an ``Art`` (through ``Div`` and
``NonStruct``, which ISO 32005 treats as transparent); a ``dl``'s ``div`` groups
become ``Div`` in ``L``; an ``a`` and its pseudo-elements become ``Link`` in
``Link``; and destinations point at pages, not at structure elements.

`conform_structure` rewrites the structure tree in place so that it nests as
ISO 32005 asks, without touching page content and keeping every marked-content
item in the same reading order:

- inline kids (``Span``, ``Link``, ``Em``... and bare content items) whose
  nearest non-transparent ancestor is a grouping element (``Document``,
  ``Art``, ``Sect``, ``BlockQuote``...) are wrapped, run by run, in a new
  ``P``; a ``Div``/``NonStruct`` there that holds only inline content becomes
  the ``P`` itself;
- plain ``Div``/``NonStruct`` wrappers in an ``L`` are dissolved (their ``LI``
  kids move up), anything else there is wrapped in ``LI``/``LBody``; loose
  content in an ``LI`` goes into an ``LBody``;
- a ``Div`` where ISO 32005 forbids one (in ``P``, ``Hn``, ``Span``...)
  becomes ``NonStruct``;
- a ``Link`` in a ``Link`` is merged into the outer one, and a link
  annotation held by another element moves to its enclosing ``Link`` (or the
  ``Span`` holding it becomes the ``Link``);
- in a PDF 2.0 file, every outline item, link annotation and open action
  whose destination is in the document gets a go-to action with a structure
  destination (``SD``) next to the page destination (``D``): the element whose
  content starts nearest below the destination's point on its page, content
  drawn by form XObjects included (whose marked content has the form's own
  ``StructParents``).

The parent tree is kept right: whenever a content item or an annotation
changes holder, its entry points at the new holder. Output is deterministic
(new objects are made in tree order, nothing random).
"""

from __future__ import annotations

import io
import math

import pikepdf
from pikepdf import Array, Dictionary, Name

from .book.structure import is_element, kids_of

#: Elements ISO 32005 (and veraPDF) see through when checking what contains what.
TRANSPARENT = frozenset({"Div", "NonStruct", "Part"})
#: Elements that may hold paragraphs but not inline content.
GROUPING = frozenset({"Document", "DocumentFragment", "Art", "Sect", "BlockQuote", "Aside",
                      "Index", "TOCI"})
#: Inline-level elements: a run of them in a grouping element is a paragraph.
PHRASING = frozenset({"Span", "Em", "Strong", "Sub", "Quote", "Code", "Link", "Annot",
                      "Reference", "BibEntry", "Ruby", "Warichu", "Lbl"})
#: Where ISO 32005 forbids a Div (a transparent Div is still checked itself).
DIV_FORBIDDEN = frozenset({"P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "Lbl", "L", "TOC",
                           "Table", "TR", "THead", "TBody", "TFoot", "Span", "Em", "Strong",
                           "Sub", "Quote", "Reference", "Ruby", "Warichu", "RB", "RT", "RP",
                           "WT", "WP"})
#: Elements left as they are wherever they are.
LEAVE = frozenset({"Artifact", "Private"})
#: Keys of an element that carries nothing but its place in the tree.
PLAIN_KEYS = frozenset({"/Type", "/S", "/P", "/K", "/Pg", "/NS"})
#: What an L and an LI may hold besides transparent elements.
LIST_PARTS = {"L": frozenset({"LI", "L", "Caption"}), "LI": frozenset({"Lbl", "LBody"})}


def conform_structure(pdf: pikepdf.Pdf) -> None:
    """Make the structure tree of a WeasyPrint tagged PDF nest as ISO 32005 asks.

    Works in place on an opened `pikepdf.Pdf`; a PDF without a structure tree
    is left alone. Page content and the order of marked content in the tree
    are unchanged; the parent tree follows every move. In a PDF 2.0 file,
    destinations in the document also get structure destinations.
    """
    _conform(pdf, None)


def fix_pdf_ua2(data: bytes) -> bytes:
    """`conform_structure` on PDF bytes: the PDF saved again, with a deterministic ID.

    Existing streams are copied as they are (compressed ones stay compressed,
    byte for byte) and object streams kept as the file had them. The XMP
    metadata is not opened (pikepdf would rewrite it to fix its PDF version);
    its packet stays byte for byte the same, though qpdf always writes a
    metadata stream uncompressed.
    """
    with pikepdf.open(io.BytesIO(data)) as pdf:
        _conform(pdf, data)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve,
                 fix_metadata_version=False)
    return out.getvalue()


def _conform(pdf: pikepdf.Pdf, source: bytes | None) -> None:
    """`conform_structure`; ``source`` is the unchanged file ``pdf`` was opened from, if any."""
    root = pdf.Root.get("/StructTreeRoot")
    if not isinstance(root, Dictionary):
        return
    tree = _Tree(pdf, root)
    for kid in kids_of(root):
        if is_element(kid):
            _visit(tree, kid, "StructTreeRoot", kid.get("/Pg"), None)
    if float(pdf.pdf_version) >= 2.0:
        _add_structure_destinations(pdf, tree, source)


class _Tree:
    """The structure tree's shared state: role map, parent tree, new elements."""

    def __init__(self, pdf: pikepdf.Pdf, root: Dictionary) -> None:
        self.pdf = pdf
        self.role_map = {str(k)[1:]: str(v)[1:] for k, v in root.get("/RoleMap", {}).items()
                         if isinstance(v, Name)}
        self.parent_tree = pikepdf.NumberTree(root.ParentTree) if "/ParentTree" in root else None
        self.reached: set[tuple[int, int]] = set()
        self.kinds: dict[tuple[int, int], str] = {}

    def kind(self, element: Dictionary) -> str:
        """The standard structure type of an element (after the role map)."""
        key = element.objgen
        if key in self.kinds:
            return self.kinds[key]
        kind = str(element.get("/S", "/NonStruct"))[1:]
        for _ in range(8):
            if kind not in self.role_map:
                break
            kind = self.role_map[kind]
        if key != (0, 0):
            self.kinds[key] = kind
        return kind

    def rename(self, element: Dictionary, kind: str) -> str:
        """Give an element another (standard) structure type; returns the type."""
        element.S = Name("/" + kind)
        self.kinds[element.objgen] = kind
        return kind

    def new(self, kind: str, parent: Dictionary, page) -> Dictionary:
        """A new, empty element under ``parent``, on ``page`` (if known)."""
        element = Dictionary(Type=Name.StructElem, S=Name("/" + kind), P=parent, K=Array())
        if page is not None:
            element.Pg = page
        if "/NS" in parent:
            element.NS = parent.NS
        return self.pdf.make_indirect(element)

    def adopt(self, item, page, holder: Dictionary, holder_page):
        """Move a kid (element or content item) found on ``page`` under ``holder``.

        Returns the kid as ``holder`` must list it: a marked-content number
        becomes a marked-content reference when the holder's page differs.
        The parent tree follows content items and annotations.
        """
        if isinstance(item, int):
            self.own_mcid(page, item, holder)
            if _same(page, holder_page):
                return item
            return Dictionary(Type=Name.MCR, Pg=page, MCID=item)
        if not isinstance(item, Dictionary):
            return item
        kind = item.get("/Type")
        if kind == "/MCR":
            item_page = item.get("/Pg", page)
            self.own_mcid(item_page, int(item.MCID), holder, item.get("/Stm"))
            if "/Pg" not in item and not _same(page, holder_page):
                item.Pg = page
        elif kind == "/OBJR":
            self.own_annotation(item.Obj, holder)
        elif is_element(item):
            item.P = holder
        return item

    def own_mcid(self, page, mcid: int, holder: Dictionary, stream=None) -> None:
        """Point the parent tree's entry for ``mcid`` on ``page`` at ``holder``.

        ``stream``: the form XObject the marked content is in (an MCR's
        ``Stm``), if not the page's content: its numbers are the form's own.
        """
        key = _struct_parents(stream if isinstance(stream, pikepdf.Stream) else None, page)
        if self.parent_tree is None or key is None:
            return
        mapping = self.parent_tree.get(key)
        if isinstance(mapping, Array) and mcid < len(mapping):
            mapping[mcid] = holder

    def own_annotation(self, annotation: Dictionary, holder: Dictionary) -> None:
        """Point the parent tree's entry for ``annotation`` at ``holder``."""
        if self.parent_tree is not None and "/StructParent" in annotation:
            self.parent_tree[int(annotation.StructParent)] = holder


def _visit(tree: _Tree, element: Dictionary, context: str, page, link) -> None:
    """Conform ``element`` and its subtree.

    ``context`` is the type of the nearest non-transparent ancestor, ``page``
    the page its marked-content numbers are on, ``link`` the nearest ``Link``
    ancestor (or None).
    """
    tree.reached.add(element.objgen)
    page = element.get("/Pg", page)
    kind = tree.kind(element)
    if kind in LEAVE:
        return
    items = original = kids_of(element)
    if kind == "Span" and link is None and any(_is_link_annotation(i) for i in items):
        kind = tree.rename(element, "Link")
    if kind in TRANSPARENT and context in GROUPING and _is_paragraph(tree, element):
        kind = tree.rename(element, "P")
    elif kind == "Div" and context in DIV_FORBIDDEN:
        kind = tree.rename(element, "NonStruct")
    own = context if kind in TRANSPARENT else kind
    items = _dissolve(tree, items, element, page, own)
    items = _wrap_runs(tree, items, element, page, own)
    if link is not None and kind not in ("Link", "Reference"):
        items = _hand_annotations(tree, items, page, link)
    if items is not original:
        element.K = Array(items)
    inner_link = element if kind == "Link" else link
    for item in items:
        if is_element(item):
            _visit(tree, item, own, page, inner_link)


def _dissolve(tree: _Tree, items: list, element: Dictionary, page, own: str) -> list:
    """Kids of ``element`` with the wrappers ``own`` cannot hold replaced by their kids.

    A ``Link`` in a ``Link``, and a plain ``Div``/``NonStruct`` in an ``L``,
    give their kids to ``element``; one that carries attributes is kept and
    renamed instead (``Span``, ``NonStruct``), so nothing is lost.
    """
    if own == "Link":
        unwanted = {"Link"}
    elif own == "L":
        unwanted = TRANSPARENT
    else:
        return items
    if not any(is_element(item) and tree.kind(item) in unwanted for item in items):
        return items
    result = []
    for item in items:
        if not (is_element(item) and tree.kind(item) in unwanted):
            result.append(item)
        elif not _plain(item):
            tree.rename(item, "Span" if own == "Link" else "NonStruct")
            result.append(item)
        else:
            item_page = item.get("/Pg", page)
            moved = [tree.adopt(kid, item_page, element, page) for kid in kids_of(item)]
            item.K = Array()
            result.extend(_dissolve(tree, moved, element, page, own))
    return result


def _wrap_runs(tree: _Tree, items: list, element: Dictionary, page, own: str) -> list:
    """Kids of ``element`` with each run that ``own`` cannot hold wrapped.

    In a grouping element a run of inline kids becomes a ``P``; in an ``L`` a
    run of non-list kids becomes an ``LI`` (``Lbl`` first, the rest in an
    ``LBody``); in an ``LI`` a run of loose kids becomes an ``LBody``.
    """
    loose = _loose_test(tree, own, items)
    if loose is None or not any(loose(item) for item in items):
        return items
    result, run = [], []
    for item in [*items, None]:
        if item is not None and loose(item):
            run.append(item)
            continue
        if run and (own not in GROUPING or any(_is_phrasing(tree, i) for i in run)):
            result.append(_wrapper(tree, run, element, page, own))
        else:
            result.extend(run)
        run = []
        if item is not None:
            result.append(item)
    return result


def _loose_test(tree: _Tree, own: str, items: list):
    """Which kids an ``own`` element may not hold directly (a predicate), or None.

    In a grouping element: inline kids, and wrappers of inline content when
    some kid is inline (next to inline kids they are inline boxes too: CSS
    never puts inline and block boxes side by side); a run of such wrappers
    alone is left to them. In an ``L`` or ``LI``: anything but its parts.
    """
    if own in GROUPING:
        if not any(_is_phrasing(tree, item) for item in items):
            return None
        return lambda item: _is_phrasing(tree, item) or (
            is_element(item) and tree.kind(item) in TRANSPARENT and _inline_only(tree, item))
    if own in LIST_PARTS:
        allowed = LIST_PARTS[own] | TRANSPARENT | LEAVE
        return lambda item: _is_content(item) or (
            is_element(item) and tree.kind(item) not in allowed)
    return None


def _wrapper(tree: _Tree, run: list, element: Dictionary, page, own: str) -> Dictionary:
    """A new element under ``element`` holding ``run``: P, LI (with LBody) or LBody."""
    if own in GROUPING:
        wrapper = tree.new("P", element, page)
        wrapper.K = Array([tree.adopt(item, page, wrapper, page) for item in run])
        return wrapper
    if own == "LI":
        wrapper = tree.new("LBody", element, page)
        wrapper.K = Array([tree.adopt(item, page, wrapper, page) for item in run])
        return wrapper
    item = tree.new("LI", element, page)
    kids = []
    if is_element(run[0]) and tree.kind(run[0]) == "Lbl":
        kids.append(tree.adopt(run.pop(0), page, item, page))
    if run:
        body = tree.new("LBody", item, page)
        body.K = Array([tree.adopt(kid, page, body, page) for kid in run])
        kids.append(body)
    item.K = Array(kids)
    return item


def _hand_annotations(tree: _Tree, items: list, page, link: Dictionary) -> list:
    """Kids without the link annotations, which move to the enclosing ``link``."""
    if not any(_is_link_annotation(item) for item in items):
        return items
    kept = []
    for item in items:
        if _is_link_annotation(item):
            link.K.append(tree.adopt(item, page, link, link.get("/Pg")))
        else:
            kept.append(item)
    return kept


def _is_paragraph(tree: _Tree, element: Dictionary) -> bool:
    """Whether a transparent element is a paragraph in disguise.

    It is when it holds inline content itself (an inline formatting context:
    CSS never puts inline and block boxes side by side) and nothing
    block-level below it. One that holds only other wrappers is a group.
    """
    return any(_is_phrasing(tree, item) for item in kids_of(element)) \
        and _inline_only(tree, element)


def _is_phrasing(tree: _Tree, item) -> bool:
    """Whether a kid is inline content itself: marked content or an inline element."""
    return _is_content(item) or (is_element(item) and tree.kind(item) in PHRASING)


def _inline_only(tree: _Tree, element: Dictionary) -> bool:
    """Whether ``element`` holds nothing block-level, through transparent kids."""
    for item in kids_of(element):
        if is_element(item):
            kind = tree.kind(item)
            if kind in TRANSPARENT:
                if not _inline_only(tree, item):
                    return False
            elif kind not in PHRASING and kind not in LEAVE:
                return False
    return True


# Structure destinations.

def _add_structure_destinations(pdf: pikepdf.Pdf, tree: _Tree, source: bytes | None) -> None:
    """Give every destination in the document a structure destination (ISO 32000-2 SD).

    Outline items and link annotations with a ``Dest`` get a go-to action with
    that destination as ``D`` and the structure destination as ``SD``; go-to
    actions without ``SD`` get one. Destinations not in the document, and
    those no content can be found for, are left alone. ``source``: the bytes
    ``pdf`` was opened from, if at hand (where content lies is read from them).
    """
    finder = _ElementFinder(pdf, tree, source)
    try:
        _give_structure_destinations(pdf, finder)
    finally:
        finder.close()


def _give_structure_destinations(pdf: pikepdf.Pdf, finder: "_ElementFinder") -> None:
    """Add structure destinations to outline items, link annotations, the open action."""
    for holder in _destination_holders(pdf):
        if "/Dest" in holder:
            action = _go_to(finder, holder.Dest)
            if action is not None:
                holder.A = action
                del holder["/Dest"]
        else:
            _complete_go_to(finder, holder.get("/A"))
    action = pdf.Root.get("/OpenAction")
    if isinstance(action, Array):
        go_to = _go_to(finder, action)
        if go_to is not None:
            pdf.Root.OpenAction = go_to
    else:
        _complete_go_to(finder, action)


def _go_to(finder: "_ElementFinder", destination) -> Dictionary | None:
    """A go-to action to ``destination`` (kept as D) with its structure destination (SD)."""
    structure = finder.structure_destination(destination)
    if structure is None:
        return None
    return Dictionary(S=Name.GoTo, D=destination, SD=structure)


def _complete_go_to(finder: "_ElementFinder", action) -> None:
    """Give a go-to action without a structure destination one, if it can be found."""
    if isinstance(action, Dictionary) and action.get("/S") == "/GoTo" \
            and "/SD" not in action and "/D" in action:
        structure = finder.structure_destination(action.D)
        if structure is not None:
            action.SD = structure


def _destination_holders(pdf: pikepdf.Pdf):
    """Outline items (depth first) then link annotations (page by page), each once."""
    seen = set()
    outlines = pdf.Root.get("/Outlines")
    stack = [outlines.First] if isinstance(outlines, Dictionary) and "/First" in outlines else []
    while stack:
        item = stack.pop()
        if not isinstance(item, Dictionary) or item.objgen in seen:
            continue
        seen.add(item.objgen)
        yield item
        if "/Next" in item:
            stack.append(item.Next)
        if "/First" in item:
            stack.append(item.First)
    for page in pdf.pages:
        for annotation in page.obj.get("/Annots", ()):
            if isinstance(annotation, Dictionary) and annotation.get("/Subtype") == "/Link":
                yield annotation


class _ElementFinder:
    """Finds the structure element at a destination from where marked content lies."""

    def __init__(self, pdf: pikepdf.Pdf, tree: _Tree, source: bytes | None) -> None:
        self.pdf = pdf
        self.tree = tree
        self.source = source
        self.page_index = {page.objgen: i for i, page in enumerate(pdf.pages)}
        self.names = None
        if "/Names" in pdf.Root and "/Dests" in pdf.Root.Names:
            self.names = pikepdf.NameTree(pdf.Root.Names.Dests)
        self._document = None
        self._candidates: dict[int, list[tuple]] = {}
        self._mappings: dict[int, Array | None] = {}
        self._found: dict[tuple, Dictionary | None] = {}

    def structure_destination(self, destination) -> Array | None:
        """The structure destination for a destination (array, name or string), or None."""
        explicit = self.explicit(destination)
        if explicit is None:
            return None
        x, y = _view_point(explicit)
        index = self.page_index[explicit[0].objgen]
        key = (index, x, y)
        if key not in self._found:
            self._found[key] = self.element_at(index, x, y)
        element = self._found[key]
        if element is None:
            return None
        return Array([element, *list(explicit)[1:]])

    def explicit(self, destination) -> Array | None:
        """The page destination array a destination stands for, if in this document."""
        if isinstance(destination, Name):
            destination = self.pdf.Root.get("/Dests", {}).get(destination)
        elif isinstance(destination, pikepdf.String):
            destination = self.names.get(str(destination)) if self.names is not None else None
        if isinstance(destination, Dictionary):
            destination = destination.get("/D")
        if (isinstance(destination, Array) and len(destination) >= 2
                and isinstance(destination[0], Dictionary)
                and destination[0].objgen in self.page_index):
            return destination
        return None

    def element_at(self, index: int, x: float | None, y: float) -> Dictionary | None:
        """The element whose content starts nearest below (x, y) on page ``index``.

        The highest line of content below the point (at or right of ``x``
        if there is any, for columns) is taken, and on it the leftmost item;
        with nothing below the point, the lowest content of the page.
        """
        candidates = self.candidates(index)
        below = [c for c in candidates if c[0] <= y]
        pool = [c for c in below if x is None or c[3] >= x - 1] or below
        if pool:
            line = max(c[0] for c in pool)
            pool = [c for c in pool if c[1] <= line <= c[2]]
        elif candidates:
            line = min(c[0] for c in candidates)
            pool = [c for c in candidates if c[0] == line]
        else:
            return None
        best = min(pool, key=lambda c: (c[3], c[4]))
        return _block_of(self.tree, best[5])

    def candidates(self, index: int) -> list[tuple]:
        """(middle, bottom, top, left, MCID, holder) of the tree's content on a page.

        Content drawn by a form XObject counts too: its MCID is looked up in
        the parent tree under the form's ``StructParents`` (the page's if the
        form has none), the form being found by where it is drawn.
        """
        if index not in self._candidates:
            found = []
            if self.tree.parent_tree is not None:
                boxes, forms = _marked_content_boxes(self.document(), index)
                streams = _DrawnStreams(self.pdf.pages[index].obj, forms)
                for *box, mcid, path in boxes:
                    mapping = self.mapping(streams.key(path))
                    holder = mapping[mcid] if mapping is not None and mcid < len(mapping) \
                        else None
                    if isinstance(holder, Dictionary) and holder.objgen in self.tree.reached:
                        found.append((*box, mcid, holder))
            self._candidates[index] = found
        return self._candidates[index]

    def mapping(self, key: int | None) -> Array | None:
        """The parent tree's array for a content stream's ``StructParents`` key."""
        if key is None:
            return None
        if key not in self._mappings:
            mapping = self.tree.parent_tree.get(key)
            self._mappings[key] = mapping if isinstance(mapping, Array) else None
        return self._mappings[key]

    def document(self):
        """The PDF opened with PDFium (from ``source``, or saved for it)."""
        if self._document is None:
            import pypdfium2

            source = self.source
            if source is None:
                buffer = io.BytesIO()
                self.pdf.save(buffer, fix_metadata_version=False,
                              stream_decode_level=pikepdf.StreamDecodeLevel.none)
                source = buffer.getvalue()
            self._document = pypdfium2.PdfDocument(source)
        return self._document

    def close(self) -> None:
        """Close the PDFium document, if one was opened."""
        if self._document is not None:
            self._document.close()
            self._document = None


def _marked_content_boxes(document, index: int) -> tuple[list[tuple], dict[tuple, int]]:
    """Where the marked content of a page lies, read with PDFium.

    Returns the boxes, (vertical middle, bottom, top, left, MCID, path)
    sorted, and how many form XObjects each content stream draws (path ->
    count). ``path`` names the content stream the MCID is in: ``()`` for the
    page's, ``(k,)`` for the form drawn k-th in it (counting forms only),
    ``(k, j)`` for the j-th form drawn by that one, and so on.

    Objects of any kind (text, images, paths, forms) that carry an MCID are
    read, and the objects inside forms too. PDFium gives the bounds of an
    object in a form in the form's space (its /Matrix applied): the form
    object's matrix (the transformation in force where it is drawn) takes
    them to the page. An item drawn by several objects is placed by its
    highest one.
    """
    import ctypes

    import pypdfium2.raw as raw

    corners = [ctypes.c_float() for _ in range(4)]
    pointers = [ctypes.byref(corner) for corner in corners]
    matrix = raw.FS_MATRIX()
    highest: dict[tuple, tuple] = {}
    counts: dict[tuple, int] = {}

    def walk(count: int, get, path: tuple, transforms: list[tuple]) -> None:
        forms = 0
        for number in range(count):
            obj = get(number)
            mcid = raw.FPDFPageObj_GetMarkedContentID(obj)
            if mcid >= 0 and raw.FPDFPageObj_GetBounds(obj, *pointers):
                left, bottom, _, top = _on_page(
                    [corner.value for corner in corners], transforms)
                middle = (bottom + top) / 2
                key = (path, mcid)
                if key not in highest or middle > highest[key][0]:
                    highest[key] = (middle, bottom, top, left)
            if raw.FPDFPageObj_GetType(obj) == raw.FPDF_PAGEOBJ_FORM:
                inner = transforms
                if raw.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)):
                    values = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
                    if values != (1, 0, 0, 1, 0, 0):
                        inner = [values, *transforms]
                walk(raw.FPDFFormObj_CountObjects(obj),
                     lambda n, form=obj: raw.FPDFFormObj_GetObject(form, n),
                     (*path, forms), inner)
                forms += 1
        counts[path] = forms

    page = raw.FPDF_LoadPage(document.raw, index)
    try:
        walk(raw.FPDFPage_CountObjects(page), lambda n: raw.FPDFPage_GetObject(page, n), (), [])
    finally:
        raw.FPDF_ClosePage(page)
    boxes = sorted((*box, mcid, path) for (path, mcid), box in highest.items())
    return boxes, counts


def _on_page(box: list[float], transforms: list[tuple]) -> tuple[float, float, float, float]:
    """A (left, bottom, right, top) box taken through matrices, innermost first: the
    box around its transformed corners."""
    left, bottom, right, top = box
    if not transforms:
        return left, bottom, right, top
    points = [(left, bottom), (left, top), (right, bottom), (right, top)]
    for a, b, c, d, e, f in transforms:
        points = [(a * x + c * y + e, b * x + d * y + f) for x, y in points]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


class _DrawnStreams:
    """The content streams PDFium read on a page, named by path (see
    `_marked_content_boxes`), and the parent tree key of each.

    PDFium does not say which form XObject a form object draws; but it makes
    one form object per ``Do`` of a form, in content order. So the k-th form
    object of a stream is the form named by the k-th ``Do`` (of a form) in that
    stream's content, looked up in its resources; a stream where the two counts
    differ is not trusted (its forms get no key). Pages may share one resource
    dictionary listing many forms, so the resources' names alone would not do.
    A form's key is its ``StructParents``; a form
    without one shares the key of the stream that draws it (its marked
    content belongs to that stream's numbering).
    """

    def __init__(self, page: Dictionary, forms: dict[tuple, int]) -> None:
        self.forms = forms
        self.streams: dict[tuple, tuple | None] = {
            (): (page, _resources(page), _struct_parents(None, page))}
        self.drawn: dict[tuple, list | None] = {}

    def key(self, path: tuple) -> int | None:
        """The parent tree key of the stream at ``path``, or None if not known."""
        stream = self.stream(path)
        return None if stream is None else stream[2]

    def stream(self, path: tuple) -> tuple | None:
        """(stream or page, resources, key) for ``path``, or None if not known."""
        if path not in self.streams:
            self.streams[path] = None
            outer = self.stream(path[:-1])
            forms = self.forms_in(path[:-1], outer) if outer is not None else None
            if forms is not None and path[-1] < len(forms):
                form = forms[path[-1]]
                key = outer[2]
                if "/StructParents" in form:
                    key = _struct_parents(form, None)
                self.streams[path] = (form, form.get("/Resources", outer[1]), key)
        return self.streams[path]

    def forms_in(self, path: tuple, stream: tuple) -> list | None:
        """The form XObjects drawn by the stream at ``path``, in order; None if
        they do not match what PDFium found."""
        if path not in self.drawn:
            content, resources, _ = stream
            xobjects = resources.get("/XObject") if isinstance(resources, Dictionary) else None
            forms = []
            if isinstance(xobjects, Dictionary) and self.forms.get(path, 0):
                try:
                    operations = pikepdf.parse_content_stream(content, "Do")
                except pikepdf.PdfError:
                    operations = None
                for operands, _ in operations or ():
                    xobject = xobjects.get(operands[0]) if len(operands) == 1 \
                        and isinstance(operands[0], Name) else None
                    if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form":
                        forms.append(xobject)
            self.drawn[path] = forms if len(forms) == self.forms.get(path, 0) else None
        return self.drawn[path]


def _resources(page: Dictionary):
    """A page's resource dictionary, inherited from the page tree if need be."""
    node = page
    for _ in range(64):
        if not isinstance(node, Dictionary):
            return None
        if "/Resources" in node:
            return node.Resources
        node = node.get("/Parent")
    return None


def _struct_parents(stream, page) -> int | None:
    """The parent tree key of a content stream: a form's ``StructParents`` if it
    has one, else its page's; None if neither has one."""
    for holder in (stream, page):
        if holder is not None and "/StructParents" in holder:
            value = holder.StructParents
            if isinstance(value, int):
                return int(value)
    return None


def _view_point(explicit: Array) -> tuple[float | None, float]:
    """(left or None, top) that a page destination shows; the page top if none."""
    view = str(explicit[1]) if len(explicit) > 1 else "/Fit"
    values = [_number(v) for v in list(explicit)[2:]]
    x = y = None
    if view == "/XYZ":
        x, y = (values + [None, None])[:2]
    elif view in ("/FitH", "/FitBH"):
        y = (values + [None])[0]
    elif view in ("/FitV", "/FitBV"):
        x = (values + [None])[0]
    elif view == "/FitR" and len(values) >= 4:
        x, y = values[0], values[3]
    return x, math.inf if y is None else y


def _block_of(tree: _Tree, element: Dictionary) -> Dictionary:
    """The outermost element that starts with ``element``, climbing inline and
    transparent elements only (a Span to its P or heading)."""
    while tree.kind(element) in PHRASING | TRANSPARENT:
        parent = element.get("/P")
        if not is_element(parent) or parent.objgen not in tree.reached \
                or tree.kind(parent) in ("Document", "StructTreeRoot"):
            break
        first = next((k for k in kids_of(parent) if _is_content(k) or (
            is_element(k) and kids_of(k))), None)
        if not (is_element(first) and first.objgen == element.objgen):
            break
        element = parent
    return element


# Small helpers.

def _is_content(item) -> bool:
    """Whether a kid is marked content: a number or a marked-content reference."""
    return isinstance(item, int) or (isinstance(item, Dictionary) and item.get("/Type") == "/MCR")


def _is_link_annotation(item) -> bool:
    """Whether a kid is an object reference to a link annotation."""
    return (isinstance(item, Dictionary) and item.get("/Type") == "/OBJR"
            and isinstance(item.get("/Obj"), Dictionary) and item.Obj.get("/Subtype") == "/Link")


def _plain(element: Dictionary) -> bool:
    """Whether an element carries nothing but its place (no attributes, ID, text...)."""
    return all(str(key) in PLAIN_KEYS for key in element.keys())


def _same(a, b) -> bool:
    """Whether two page objects (or None) are the same."""
    if a is None or b is None:
        return a is None and b is None
    return a.objgen == b.objgen


def _number(value) -> float | None:
    """A PDF number as float; None for null."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
