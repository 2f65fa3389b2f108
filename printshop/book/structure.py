"""The parallel book's one structure tree, joined from its pieces' and parts'.

Every piece of the parallel book (front matter, appendix, index) and every
record's part is written tagged by WeasyPrint: a structure tree whose
/Document holds, page by page, the elements of that page, and a ParentTree
mapping each page's marked content (and each link annotation) to its element.
Joining them (ISO 32000-1, 14.7): a source's pages are copied into the book as
they are; its elements follow them, in page order, under the book's
/Document, their ParentTree keys (the pages' /StructParents and the
annotations' /StructParent) moved past those already used.
"""

from __future__ import annotations



def _number_tree(node) -> list[tuple[int, object]]:
    """The (key, value) pairs of a PDF number tree."""
    pairs = []
    nums = node.get("/Nums")
    if nums is not None:
        pairs.extend((int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2))
    for kid in node.get("/Kids", []):
        pairs.extend(_number_tree(kid))
    return pairs


def kids_of(element) -> list:
    """An element's /K as a list (it may be one object, an array or absent)."""
    import pikepdf

    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def is_element(item) -> bool:
    """Whether a kid is a structure element (not a content item or annotation)."""
    import pikepdf

    return isinstance(item, pikepdf.Dictionary) and "/S" in item


def elements(top) -> list:
    """Every structure element under (and including) the given ones, depth first."""
    out, stack = [], list(reversed(top))
    while stack:
        element = stack.pop()
        if not is_element(element):
            continue
        out.append(element)
        stack.extend(reversed(kids_of(element)))
    return out


def _document(root):
    import pikepdf

    kids = root.K
    return kids[0] if isinstance(kids, pikepdf.Array) else kids


class StructureJoin:
    """The structure tree of the book being joined (``pdf``, which starts as the
    front matter's document and so has its tree)."""

    def __init__(self, pdf) -> None:
        root = pdf.Root.StructTreeRoot
        self.pdf = pdf
        self.document = _document(root)
        self.nums: dict[int, object] = dict(_number_tree(root.ParentTree))
        self.next_key = max(self.nums, default=-1) + 1
        self.adopted: list = []  # copied elements whose parent is the book's /Document

    def append(self, kids) -> None:
        """Add top-level elements (their /P already the book's /Document, see `_take`)
        at the end of the book's /Document."""
        import pikepdf

        document_kids = self.document.get("/K")
        if not isinstance(document_kids, pikepdf.Array):
            document_kids = self.document.K = pikepdf.Array(kids_of(self.document))
        document_kids.extend(kids)

    def _take(self, source) -> tuple[list, dict[int, object], int]:
        """Copy a source's top-level elements into the book (not yet placed), with its
        ParentTree; keys are moved by the returned offset."""
        import pikepdf

        root = source.Root.StructTreeRoot
        document = _document(root)
        kids = kids_of(document)
        entries = _number_tree(root.ParentTree)
        # Elements whose parent is the source's /Document (its kids, and elements
        # WeasyPrint maps but leaves out of the tree, such as running heads) get the
        # book's: copying the source's would copy its whole tree a second time.
        adopted = [element for element in elements(
            [*kids, *(v for _, value in entries for v in kids_of({"/K": value}))])
            if element.get("/P") is not None and element.P.objgen == document.objgen]
        for element in adopted:
            del element.P
        carrier = source.make_indirect(pikepdf.Array([*kids, *(value for _, value in entries)]))
        copied = self.pdf.copy_foreign(carrier)
        for element in adopted:
            copy = self.pdf.copy_foreign(element)
            copy.P = self.document
            self.adopted.append(copy)
        offset = self.next_key
        self.next_key += max((key for key, _ in entries), default=-1) + 1
        values = {key: copied[len(kids) + i] for i, (key, _) in enumerate(entries)}
        return list(copied)[:len(kids)], values, offset

    def adopt_pages(self, source, pages) -> list:
        """The structure of a source whose pages were just copied into the book as
        ``pages``: its top-level elements, returned to be placed; keys moved on."""
        if "/StructTreeRoot" not in source.Root:
            return []
        kids, values, offset = self._take(source)
        for key, value in values.items():
            self.nums[key + offset] = value
        for page in pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        return kids

    def finish(self) -> None:
        """Write the joined ParentTree."""
        import pikepdf

        root = self.pdf.Root.StructTreeRoot
        root.ParentTree = self.pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(
            [v for key in sorted(self.nums) for v in (key, self.nums[key])])))
        root.ParentTreeNextKey = self.next_key


class BodyStructure(StructureJoin):
    """The structure tree of a book joined body first (`join.Joined`): the parts'
    elements and keys are collected as they come (keys from 0, their parent a
    stand-in for the book's /Document); `prepend` then puts the front matter's tree
    (whose root and /Document become the book's) and any pages after it before
    them, and moves the body's keys past theirs. The result is the tree
    `StructureJoin` makes joining the same sources front matter first."""

    def __init__(self, pdf) -> None:  # pylint: disable=super-init-not-called
        import pikepdf

        self.pdf = pdf
        self.document = pdf.make_indirect(pikepdf.Dictionary())  # until `prepend`
        self.nums = {}
        self.next_key = 0
        self.adopted = []
        self.kids: list | None = []  # the body's top-level elements (None: placed)
        self.keyed: list = []  # the body's pages, whose keys move in `prepend`

    def append(self, kids) -> None:
        if self.kids is None:
            super().append(kids)
        else:
            self.kids.extend(kids)

    def adopt_pages(self, source, pages) -> list:
        if self.kids is not None:
            self.keyed.extend(page.obj for page in pages)
        return super().adopt_pages(source, pages)

    def prepend(self, front, more: list) -> None:
        """Put the tree of ``front`` (whose pages were just copied into the book: its
        root becomes the book's) and of the sources ``more`` (source, pages), copied
        after it, before the body's."""
        import pikepdf

        body_nums, body_kids, body_adopted, body_next = (self.nums, self.kids, self.adopted,
                                                         self.next_key)
        root = self.pdf.Root.StructTreeRoot = self.pdf.copy_foreign(front.Root.StructTreeRoot)
        self.document = _document(root)
        self.nums = dict(_number_tree(root.ParentTree))
        self.next_key = max(self.nums, default=-1) + 1
        self.adopted = []
        kids: list = []
        for source, pages in more:
            kids.extend(StructureJoin.adopt_pages(self, source, pages))  # keys final
        base = self.next_key
        for element in body_adopted:
            element.P = self.document
        for page in self.keyed:
            if "/StructParents" in page:
                page.StructParents = int(page.StructParents) + base
            for annotation in page.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + base
        self.keyed = []
        self.nums.update((key + base, value) for key, value in body_nums.items())
        self.next_key += body_next
        document_kids = self.document.get("/K")
        if not isinstance(document_kids, pikepdf.Array):
            document_kids = self.document.K = pikepdf.Array(kids_of(self.document))
        document_kids.extend([*kids, *body_kids])
        self.kids = None  # from now on, straight into the book's /Document
