"""PDF/UA-2 structure nesting (printshop.pdftags): what ISO 32005 asks of the tree.

Checked with pikepdf on the seed dossier and on a small page made to have
what the seed lacks (links, a table of contents with leaders, a dl of div
groups, loose text in sections): no veraPDF or Java needed.
"""

from __future__ import annotations

import io

import pikepdf
import pytest

from conftest import SEED
from printshop.pdftags import conform_structure, fix_pdf_ua2
from printshop.book.structure import is_element, kids_of

#: Seen through by ISO 32005 when checking what holds what.
TRANSPARENT = {"Div", "NonStruct", "Part"}
#: Elements that may not hold inline content (ISO 32005, Table 5).
GROUPING = {"Document", "DocumentFragment", "Art", "Sect", "BlockQuote", "Aside"}
#: Inline elements Table 5 keeps out of grouping elements.
INLINE = {"Span", "Em", "Strong", "Sub", "Quote", "Reference", "BibEntry", "Ruby", "Warichu"}

SAMPLE = """<!doctype html><html lang="en"><head><title>Nesting sample</title></head><body>
<nav><h1>Contents</h1><ul class="toc">
<li><a href="#one"><span>First part</span></a></li>
<li><a href="#two">Second part</a></li></ul></nav>
<article><section id="one"><h2>First part</h2>Loose text in a section, <em>emphasis</em> and
<a href="#two">a link</a>.<div>A div of text</div>
<blockquote>Quoted text straight in a blockquote.</blockquote>
<dl><div><dt>Term</dt><dd>Definition</dd></div><div><dt>Other</dt><dd>More</dd></div></dl>
<ol><li>item <a href="#one">back</a></li></ol></section>
<section id="two" style="break-before: page"><h2>Second part</h2><div><div>Nested</div>
<div>divs <span>with <strong>strong</strong></span></div></div><p>End.</p></section></article>
</body></html>"""
SAMPLE_CSS = """body { font-family: "Bestiary Sans"; } h1, h2 { bookmark-level: 1 }
.toc a::after { content: leader('.') target-counter(attr(href), page); }"""


@pytest.fixture(scope="module")
def seed_pdfs(renderer, bestiary) -> dict[str, bytes]:
    document = renderer.render(bestiary.loaded[SEED], bestiary)
    return {variant: document.write_pdf(pdf_variant=variant)
            for variant in ("pdf/ua-2", "pdf/ua-1")}


@pytest.fixture(scope="module")
def sample_pdfs(renderer) -> dict[str, bytes]:
    press = renderer.press
    document = press.render(SAMPLE, [press.sheet("fonts.css"), press.sheet_from(SAMPLE_CSS)])
    return {variant: document.write_pdf(pdf_variant=variant)
            for variant in ("pdf/ua-2", "pdf/ua-1")}


@pytest.fixture(scope="module", params=["seed", "sample"])
def pair(request, seed_pdfs, sample_pdfs) -> tuple[pikepdf.Pdf, pikepdf.Pdf]:
    """(as WeasyPrint wrote it, after conform_structure), PDF/UA-2."""
    data = (seed_pdfs if request.param == "seed" else sample_pdfs)["pdf/ua-2"]
    before, after = pikepdf.open(io.BytesIO(data)), pikepdf.open(io.BytesIO(data))
    conform_structure(after)
    return before, after


def make_element(pdf, kind: str, page, kids: list):
    """A structure element of ``kind`` on ``page`` holding ``kids`` (their /P set)."""
    made = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.StructElem, S=pikepdf.Name("/" + kind), Pg=page,
        K=pikepdf.Array(kids)))
    for kid in kids:
        if is_element(kid):
            kid.P = made
    return made


def kind(element) -> str:
    return str(element.S)[1:]


def elements(pdf: pikepdf.Pdf):
    """(element, type of its nearest non-transparent ancestor, types of all ancestors)."""
    def walk(element, context, ancestors):
        yield element, context, ancestors
        own = context if kind(element) in TRANSPARENT else kind(element)
        for item in kids_of(element):
            if is_element(item):
                yield from walk(item, own, ancestors + (kind(element),))
    for item in kids_of(pdf.Root.StructTreeRoot):
        if is_element(item):
            yield from walk(item, "StructTreeRoot", ())


def leaves(pdf: pikepdf.Pdf) -> list[tuple]:
    """Marked content (page index, MCID) and annotations ("annotation", rectangle), in order."""
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
    found = []

    def walk(element, page):
        page = element.get("/Pg", page)
        for item in kids_of(element):
            if isinstance(item, int):
                found.append((pages[page.objgen], item))
            elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR":
                found.append((pages[item.get("/Pg", page).objgen], int(item.MCID)))
            elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/OBJR":
                found.append(("annotation", tuple(round(float(v), 2) for v in item.Obj.Rect)))
            elif is_element(item):
                walk(item, page)
    for item in kids_of(pdf.Root.StructTreeRoot):
        walk(item, None)
    return found


def test_no_inline_content_directly_in_grouping_elements(pair):
    _, after = pair
    wrong = [(kind(e), context) for e, context, _ in elements(after)
             if kind(e) in INLINE | {"Link"} and context in GROUPING]
    assert not wrong
    holding = [kind(e) for e, context, _ in elements(after)
               if (kind(e) in GROUPING or (kind(e) in TRANSPARENT and context in GROUPING))
               and any(isinstance(i, int) for i in kids_of(e))]
    assert not holding


def test_before_the_fix_there_was_something_to_fix(pair):
    before, _ = pair
    assert any(kind(e) in INLINE and context in GROUPING for e, context, _ in elements(before))


def test_lists_hold_list_items_only(pair):
    before, after = pair
    assert any(kind(e) == "Div" and context == "L" for e, context, _ in elements(before))
    for element, context, _ in elements(after):
        inside = [kind(i) for i in kids_of(element) if is_element(i)]
        loose = [i for i in kids_of(element) if isinstance(i, int)]
        if kind(element) == "L" or (context == "L" and kind(element) in TRANSPARENT):
            assert set(inside) <= {"LI", "L", "Caption", "NonStruct"} and not loose, inside
        if kind(element) == "LI":
            assert set(inside) <= {"Lbl", "LBody"} and not loose, inside


def test_no_link_in_link_and_every_link_annotation_in_a_link(pair):
    _, after = pair
    assert not [e for e, _, ancestors in elements(after)
                if kind(e) == "Link" and "Link" in ancestors]
    for element, _, _ in elements(after):
        for item in kids_of(element):
            if isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/OBJR" \
                    and item.Obj.get("/Subtype") == "/Link":
                assert kind(element) == "Link"


def test_reading_order_and_annotations_unchanged(pair):
    before, after = pair
    order_before, order_after = leaves(before), leaves(after)
    content = [leaf for leaf in order_before if leaf[0] != "annotation"]
    assert [leaf for leaf in order_after if leaf[0] != "annotation"] == content
    assert sorted(leaf for leaf in order_after if leaf[0] == "annotation") == \
        sorted(leaf for leaf in order_before if leaf[0] == "annotation")


def test_parent_tree_points_at_the_holders(pair):
    _, after = pair
    parent_tree = pikepdf.NumberTree(after.Root.StructTreeRoot.ParentTree)
    pages = {page.objgen: page for page in after.pages}
    held = {}

    def walk(element, page):
        page = element.get("/Pg", page)
        for item in kids_of(element):
            if isinstance(item, int):
                held[(page.objgen, item)] = element.objgen
            elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR":
                held[(item.get("/Pg", page).objgen, int(item.MCID))] = element.objgen
            elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/OBJR":
                assert parent_tree[int(item.Obj.StructParent)].objgen == element.objgen
            elif is_element(item):
                assert item.P.objgen == element.objgen
                walk(item, page)
    for item in kids_of(after.Root.StructTreeRoot):
        walk(item, None)
    assert held
    for (page, mcid), holder in held.items():
        assert parent_tree[int(pages[page].StructParents)][mcid].objgen == holder
    # And the other way: an entry naming an element of the tree names the one
    # that holds that content (WeasyPrint maps running heads to elements it
    # keeps out of the tree; those are not looked at).
    reached = {e.objgen for e, _, _ in elements(after)}
    for page in after.pages:
        for mcid, holder in enumerate(parent_tree[int(page.StructParents)]):
            if isinstance(holder, pikepdf.Dictionary) and holder.objgen in reached:
                assert held.get((page.objgen, mcid)) == holder.objgen


def test_destinations_are_structure_destinations(pair):
    before, after = pair
    reached = {e.objgen for e, _, _ in elements(after)}
    pages = {page.objgen: i for i, page in enumerate(after.pages)}
    names = pikepdf.NameTree(after.Root.Names.Dests) if "/Names" in after.Root else {}
    holders = []
    with after.open_outline() as outline:
        items = list(outline.root)
        while items:
            item = items.pop()
            holders.append(item.obj)
            items += item.children
    holders += [a for page in after.pages for a in page.get("/Annots", ())
                if a.Subtype == "/Link"]
    assert holders
    for holder in holders:
        assert "/Dest" not in holder and holder.A.S == "/GoTo"
        target, structure = holder.A.D, holder.A.SD
        if isinstance(target, pikepdf.String):
            target = names[str(target)]
        element = structure[0]
        assert element.objgen in reached
        assert list(structure)[1:] == list(target)[1:]
        first = next(leaf for leaf in leaves_of(element, pages))
        assert first == pages[target[0].objgen]


def leaves_of(element, pages, page=None):
    """Page index of each content item of an element, in order."""
    page = element.get("/Pg", page)
    for item in kids_of(element):
        if isinstance(item, int):
            yield pages[page.objgen]
        elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR":
            yield pages[item.get("/Pg", page).objgen]
        elif is_element(item):
            yield from leaves_of(item, pages, page)


def test_pdf_ua1_keeps_page_destinations(seed_pdfs):
    pdf = pikepdf.open(io.BytesIO(seed_pdfs["pdf/ua-1"]))
    conform_structure(pdf)
    assert not [e for e, context, _ in elements(pdf) if kind(e) in INLINE and context in GROUPING]
    with pdf.open_outline() as outline:
        assert outline.root
        assert all(isinstance(item.destination, pikepdf.Array) for item in outline.root)


def test_idempotent(pair):
    _, after = pair
    buffer = io.BytesIO()
    after.save(buffer, fix_metadata_version=False)
    again = pikepdf.open(buffer)
    conform_structure(again)
    assert [(kind(e), len(kids_of(e))) for e, _, _ in elements(again)] == \
        [(kind(e), len(kids_of(e))) for e, _, _ in elements(after)]
    assert leaves(again) == leaves(after)


def test_fix_pdf_ua2_is_deterministic_and_leaves_content_alone(sample_pdfs):
    data = sample_pdfs["pdf/ua-2"]
    fixed = fix_pdf_ua2(data)
    assert fix_pdf_ua2(data) == fixed
    before, after = pikepdf.open(io.BytesIO(data)), pikepdf.open(io.BytesIO(fixed))
    assert [p.Contents.read_bytes() for p in after.pages] == \
        [p.Contents.read_bytes() for p in before.pages]
    assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
    assert after.pdf_version == "2.0" and "/ID" in after.trailer


def test_merging_a_link_from_another_page_uses_a_marked_content_reference():
    """A Link in a Link on another page: its content joins the outer Link as an MCR."""
    pdf = pikepdf.new()
    for _ in range(2):
        pdf.add_blank_page()
    first, second = (page.obj for page in pdf.pages)

    inner = make_element(pdf, "Link", second, [0])
    outer = make_element(pdf, "Link", first, [0, inner])
    section = make_element(pdf, "Sect", first, [outer])
    document = make_element(pdf, "Document", first, [section])
    first.StructParents, second.StructParents = 0, 1
    parent_tree = pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(
        [0, pikepdf.Array([outer]), 1, pikepdf.Array([inner])])))
    root = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([document]), ParentTree=parent_tree))
    document.P = root
    pdf.Root.StructTreeRoot = root
    before = leaves(pdf)

    conform_structure(pdf)

    assert leaves(pdf) == before == [(0, 0), (1, 0)]
    paragraph = kids_of(section)[0]
    assert kind(paragraph) == "P" and kids_of(paragraph)[0].objgen == outer.objgen
    assert outer.P.objgen == paragraph.objgen
    reference = kids_of(outer)[1]
    assert reference.Type == "/MCR" and reference.Pg.objgen == second.objgen
    assert pikepdf.NumberTree(parent_tree)[1][0].objgen == outer.objgen


@pytest.fixture(scope="module")
def parallel_ua2(project, tmp_path_factory) -> bytes:
    """The parallel book in PDF/UA-2: its pieces' and records' trees joined."""
    from printshop import build
    from printshop.book import BookOptions

    out = tmp_path_factory.mktemp("parallel-ua2")
    outcome = build.book(project, out, BookOptions(paper="a4", pdf_variant="pdf/ua-2"), jobs=1,
                         path="parallel")
    assert outcome.ok, outcome.failures
    return (out / "book" / "bestiary.pdf").read_bytes()


def destination_holders(pdf: pikepdf.Pdf) -> list:
    """Every outline item (depth first) and every link annotation."""
    holders = []
    with pdf.open_outline() as outline:
        items = list(outline.root)
        while items:
            item = items.pop(0)
            holders.append(item.obj)
            items[0:0] = item.children
    return holders + [a for page in pdf.pages for a in page.get("/Annots", ())
                      if a.get("/Subtype") == "/Link"]


def test_parallel_book_destinations_are_structure_destinations(parallel_ua2):
    """Every outline item and link of the joined book points at the element whose
    content is at its destination (in the tree, on the destination's page)."""
    pdf = pikepdf.open(io.BytesIO(parallel_ua2))
    reached = {e.objgen for e, _, _ in elements(pdf)}
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
    names = pikepdf.NameTree(pdf.Root.Names.Dests)
    holders = destination_holders(pdf)
    assert len(holders) > 50
    for holder in holders:
        action = holder.get("/A")
        if action is not None and action.get("/S") == "/URI":
            continue  # not in the document
        assert "/Dest" not in holder and action.S == "/GoTo" and "/SD" in action, holder
        target = action.D
        if isinstance(target, pikepdf.String):
            target = names[str(target)]
        element = action.SD[0]
        assert element.objgen in reached
        assert list(action.SD)[1:] == list(target)[1:]
        assert next(leaves_of(element, pages)) == pages[target[0].objgen]


def test_parallel_book_parent_tree_agrees_with_the_tree(parallel_ua2):
    """In the joined book (keys moved on, elements moved by the UA-2 nesting), each
    page's parent tree entry names the element that holds each marked content."""
    pdf = pikepdf.open(io.BytesIO(parallel_ua2))
    parent_tree = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
    held, streams = {}, {}  # (stream, MCID) -> holder; stream -> its StructParents
    for element, _, _ in elements(pdf):
        page = element.get("/Pg")
        for kid in kids_of(element):
            if isinstance(kid, int):
                stream = page
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                stream = kid.get("/Stm", kid.get("/Pg", page))
                kid = int(kid.MCID)
            else:
                continue
            held[(stream.objgen, kid)] = element.objgen
            streams[stream.objgen] = int(stream.StructParents)
    assert len(held) > 1000
    for (stream, mcid), holder in held.items():
        assert parent_tree[streams[stream]][mcid].objgen == holder
    reached = {e.objgen for e, _, _ in elements(pdf)}
    for stream, key in streams.items():
        for mcid, holder in enumerate(parent_tree[key]):
            if isinstance(holder, pikepdf.Dictionary) and holder.objgen in reached:
                assert held.get((stream, mcid)) == holder.objgen


def test_structure_destinations_find_content_in_forms():
    """Content drawn by a form XObject is found where the form puts it on the page
    (its transformation applied), and mapped to elements through the form's own
    StructParents: the form drawn, not the first one the resources list."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(600, 800))
    page = pdf.pages[0].obj

    def form(content: bytes, key: int) -> pikepdf.Stream:
        stream = pikepdf.Stream(pdf, content)
        stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
        stream.BBox, stream.StructParents = pikepdf.Array([0, 0, 600, 800]), key
        return stream

    drawn = form(b"/H1 <</MCID 0>> BDC 0 700 100 20 re f EMC "
                 b"/P <</MCID 1>> BDC 0 400 100 20 re f EMC", 1)
    listed = form(b"/P <</MCID 0>> BDC 0 0 10 10 re f EMC", 2)  # in the resources only
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(A=listed, B=drawn))
    # Drawn 300 pt lower: the heading at 400-420 on the page, the P at 100-120.
    page.Contents = pikepdf.Stream(pdf, b"q 1 0 0 1 0 -300 cm /B Do Q "
                                        b"/Span <</MCID 0>> BDC 0 600 100 20 re f EMC")
    page.StructParents = 0

    def element(kind, kids):
        return make_element(pdf, kind, page, kids)

    def in_form(stream, mcid):
        return pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page, Stm=stream, MCID=mcid)

    heading = element("H1", [in_form(drawn, 0)])
    span = element("Span", [0])
    section = element("Sect", [in_form(drawn, 1), span])  # loose content: wrapped in a P
    other = element("P", [in_form(listed, 0)])
    document = element("Document", [heading, section, other])
    root = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([document]),
        ParentTree=pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(
            [0, pikepdf.Array([span]), 1, pikepdf.Array([heading, section]),
             2, pikepdf.Array([other])])))))
    document.P = root
    pdf.Root.StructTreeRoot = root
    with pdf.open_outline() as outline:
        for y in (425, 130, 625):  # the heading, the P, the Span
            outline.root.append(pikepdf.OutlineItem(
                str(y), pikepdf.Array([page, pikepdf.Name.XYZ, 0, y, 0])))
    buffer = io.BytesIO()
    pdf.save(buffer, force_version="2.0")

    fixed = pikepdf.open(io.BytesIO(fix_pdf_ua2(buffer.getvalue())))

    section = fixed.Root.StructTreeRoot.K[0].K[1]
    paragraph = kids_of(section)[0]
    assert kind(paragraph) == "P" and kids_of(paragraph)[0].Stm.StructParents == 1
    parent_tree = pikepdf.NumberTree(fixed.Root.StructTreeRoot.ParentTree)
    assert parent_tree[1][1].objgen == paragraph.objgen, "the form's entry follows its MCR"
    assert kind(parent_tree[0][0]) == "Span" and len(parent_tree[0]) == 1
    with fixed.open_outline() as outline:
        found = [item.action.SD[0] for item in outline.root]
    assert [kind(e) for e in found] == ["H1", "P", "Span"]
    assert found[1].objgen == paragraph.objgen
    assert found[2].objgen == kids_of(paragraph)[1].objgen
