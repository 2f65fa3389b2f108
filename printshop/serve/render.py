"""The renderer: one thread redoes the previews the watcher marks dirty.

Every preview is a frozen value: a render builds a new one and publishes it
under the renderer's one lock, so a page being served holds a whole preview,
never half of an old one and half of a new. The same lock guards the list of
entries, the problems, the book and the project they came from.
"""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from ..config import Project, Publication
from ..load import Bestiary, Loaded
from ..report import plural, printable

SCREEN_DPI = 96
BOOK = "\x00book"  # the render queue's name for the book (no slug can be it)


@dataclass(frozen=True)
class EntryPreview:
    """What the browser shows for one entry, rendered in memory."""

    slug: str
    version: int = 0
    state: str = "queued"  # queued, rendering, ready, invalid, failed
    title: str = ""
    risk: str = ""
    salary: str = ""
    problems: tuple[str, ...] = ()
    pdf: bytes | None = None
    pages: tuple[bytes, ...] = ()  # PNG per dossier page
    cards: dict[str, bytes] = field(default_factory=dict)  # preset -> PNG
    alt: str = ""
    meta: str = ""
    seconds: float = 0.0
    finished: float = 0.0  # time.monotonic() when the render ended
    error: str = ""


@dataclass(frozen=True)
class BookPreview:
    """The whole book as one PDF, printed when a page asks for it."""

    version: int = 0
    state: str = "stale"  # stale, queued, rendering, ready, failed
    pdf: bytes | None = None
    pages: int = 0
    specimens: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def summary(self) -> str:
        return f"{plural(self.pages, 'page')}, {plural(self.specimens, 'specimen')}"


@dataclass(frozen=True)
class Index:
    """The index page's state, taken at one moment."""

    rows: list[EntryPreview]
    problems: list[str]  # problems not tied to an entry file
    book: BookPreview
    publication: Publication


class Renderer:
    """The previews, their render queue and the thread that works through it."""

    def __init__(self, project: Project, announce: Callable[[str], None]) -> None:
        self.announce = announce
        self.lock = threading.Lock()
        self.book_changed = threading.Condition(self.lock)
        self._project = project
        self._bestiary: Bestiary | None = None
        self._previews: dict[str, EntryPreview] = {}
        self._order: list[str] = []
        self._problems: list[str] = []
        self._keys: dict[str, str] = {}  # what each preview was rendered from
        self._book = BookPreview()
        self._dirty: queue.Queue[str | None] = queue.Queue()
        self._warm = None  # (project, Dossiers, Cards): the render thread's own

    # ---- reading (any thread) ----

    @property
    def project(self) -> Project:
        with self.lock:
            return self._project

    @property
    def book(self) -> BookPreview:
        with self.lock:
            return self._book

    def entries(self) -> dict[str, EntryPreview]:
        with self.lock:
            return dict(self._previews)

    def entry(self, slug: str) -> EntryPreview | None:
        with self.lock:
            return self._previews.get(slug)

    def index(self) -> Index:
        with self.lock:
            return Index([self._previews[s] for s in self._order], list(self._problems),
                         self._book, self._project.config.publication)

    # ---- what changed (the watcher's thread) ----

    def update(self, project: Project, bestiary: Bestiary, everything: bool) -> None:
        """Take the reloaded entries; queue the previews that changed (all, if ``everything``)."""
        with self.lock:
            self._project, self._bestiary = project, bestiary
            self._problems = [str(p) for p in bestiary.problems if not p.line]
            for slug, item in bestiary.loaded.items():
                key = render_key(item, bestiary)
                if everything or self._keys.get(slug) != key:
                    self._keys[slug] = key
                    old = self._previews.get(slug)
                    self._previews[slug] = (replace(old, state="queued") if old else
                                            EntryPreview(slug, title=bestiary.title_of(slug)))
                    self._dirty.put(slug)
            for gone in set(self._previews) - set(bestiary.loaded):
                del self._previews[gone]
                self._keys.pop(gone, None)
            self._order = sorted(bestiary.loaded, key=lambda s: bestiary.title_of(s).casefold())
            if self._book.state == "ready":
                self._book = replace(self._book, state="stale")  # printed again when asked for
        self.announce("index")

    def ask_for_book(self, timeout: float = 300) -> BookPreview:
        """The book, printed now if it is stale (after any entries waiting to render)."""
        with self.book_changed:
            if self._book.state != "ready":
                if self._book.state not in ("queued", "rendering"):
                    self._book = replace(self._book, state="queued")
                    self._dirty.put(BOOK)
                self.book_changed.wait_for(lambda: self._book.state in ("ready", "failed"),
                                           timeout)
            return self._book

    # ---- rendering (the render thread) ----

    def run(self) -> None:
        """Render what is queued, entries before the book, until `stop`."""
        while (name := self._dirty.get()) is not None:
            if name != BOOK:
                self._render_queued_entry(name)
            elif not self._dirty.empty():  # the entries first, the book once they are done
                self._dirty.put(BOOK)
            else:
                self._print_queued_book()

    def stop(self) -> None:
        self._dirty.put(None)

    def _render_queued_entry(self, slug: str) -> None:
        with self.lock:
            queued = self._previews.get(slug)
            if queued is None or queued.state != "queued":
                return
            rendering = self._previews[slug] = replace(queued, state="rendering")
            project, bestiary = self._project, self._bestiary
        self.announce(slug)
        result = self.render_entry(bestiary.loaded[slug], bestiary, project)
        with self.lock:
            if self._previews.get(slug) is rendering:  # else queued again: keep the newer
                self._previews[slug] = replace(result, version=rendering.version + 1)
        self.announce(slug)
        self.announce("index")

    def _print_queued_book(self) -> None:
        with self.lock:
            if self._book.state != "queued":
                return
            rendering = self._book = replace(self._book, state="rendering")
            project, bestiary = self._project, self._bestiary
        self.announce("index")
        result = self.print_book(bestiary, project)
        with self.book_changed:
            self._book = replace(result, version=rendering.version + 1)
            self.book_changed.notify_all()
        self.announce("index")

    def render_entry(self, item: Loaded, bestiary: Bestiary, project: Project) -> EntryPreview:
        """One entry's preview: its pages, cards, alt text and meta; or why there are none."""
        start = time.perf_counter()
        done = dict(slug=item.slug, title=bestiary.title_of(item.slug),
                    problems=tuple(printable(str(p)) for p in item.problems))
        if not item.ok:
            done.update(state="invalid")
        else:
            try:
                done.update(self._draw(item, bestiary, project), state="ready")
            except Exception as error:  # shown on the page, the server keeps going
                done.update(state="failed", error=failure(error))
        return EntryPreview(**done, seconds=time.perf_counter() - start,
                            finished=time.monotonic())

    def print_book(self, bestiary: Bestiary, project: Project) -> BookPreview:
        """The whole book in one pass (the warm fonts shared with the dossiers)."""
        from ..book import Book

        start = time.perf_counter()
        try:
            dossiers, _ = self._renderers(project)
            book = Book(project, press=dossiers.press)
            laid_out = book.render(bestiary)
            done = dict(state="ready", pdf=book.pdf(laid_out), pages=laid_out.page_count,
                        specimens=len(laid_out.records))
        except Exception as error:
            done = dict(state="failed", error=failure(error))
        return BookPreview(**done, seconds=time.perf_counter() - start)

    def _renderers(self, project: Project):
        """The dossier and card renderers, kept warm until the project is reloaded."""
        if self._warm is None or self._warm[0] is not project:
            from ..cards import Cards
            from ..dossier import Dossiers

            self._warm = (project, Dossiers(project), Cards(project))
        return self._warm[1:]

    def _draw(self, item: Loaded, bestiary: Bestiary, project: Project) -> dict:
        from ..cards import alt_text, encode
        from ..model import salary_figure
        from ..share import meta_snippet, pick_meta_preset

        dossiers, cards = self._renderers(project)
        entry, config = item.entry, project.config
        pdf = dossiers.pdf(item, bestiary)
        alt = alt_text(item, config)
        drawn, meta = {}, ""
        meta_preset = pick_meta_preset(cards.presets)
        for preset in cards.presets:
            card = cards.render(item, preset)
            drawn[preset] = encode(card, "png").data
            if preset == meta_preset:
                meta = meta_snippet(item, config, f"{item.slug}-{preset}.png",
                                    card.image.size, alt)
        salary = salary_figure(entry.salary) + ("/h" if entry.salary.period == "hour" else "")
        return dict(risk=f"{entry.flight_risk.percent}%", salary=salary, pdf=pdf,
                    pages=rasterise(pdf), cards=drawn, alt=alt, meta=meta)


def render_key(item: Loaded, bestiary: Bestiary) -> str:
    """What an entry's preview depends on: its file, its problems, its related titles."""
    key = (item.digest or "") + "|".join(str(p) for p in item.problems)
    return key + json.dumps([bestiary.title_of(r.slug) for r in item.entry.related
                             if r.slug] if item.entry else [])


def rasterise(pdf: bytes) -> tuple[bytes, ...]:
    """Each page of the PDF as a PNG at screen resolution (PDFium)."""
    import pypdfium2 as pdfium

    pages = []
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            buffer = io.BytesIO()
            page.render(scale=SCREEN_DPI / 72).to_pil().save(buffer, "PNG", compress_level=1)
            pages.append(buffer.getvalue())
    finally:
        document.close()
    return tuple(pages)


def failure(error: Exception) -> str:
    """A render's error in one line, for the page."""
    return printable(getattr(error, "message", None) or f"{type(error).__name__}: {error}")
