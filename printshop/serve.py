"""`printshop serve`: a live preview of every entry in the browser.

One process keeps the renderers warm (fonts loaded once). A watcher thread
polls entries/, layouts/, fonts/ and printshop.toml; a change marks what it
affects as dirty (one entry, or everything when a layout, font or the config
changes), and one render thread re-renders dirty entries: the dossier's pages
rasterised with PDFium (pypdfium2), every card preset, the alt text and meta
snippet, or the entry's problems. Open pages hear of each render through
server-sent events (`/events`) and fetch the new fragment themselves.

Everything served comes from memory or from the project's own layouts: no
URL path is ever turned into a file path, so `..`, `%2e%2e`, absolute paths
and symlinks reach nothing. Only GET and HEAD; anything else is a 4xx.
"""

from __future__ import annotations

import io
import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .config import Project, load_project
from .load import Bestiary, Loaded, load_bestiary
from .report import printable

LOGGER = logging.getLogger("printshop")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SCREEN_DPI = 96
POLL_SECONDS = 0.25
BOOK = "\x00book"  # the render queue's name for the book (no slug can be it)


@dataclass
class Preview:
    """What the browser shows for one entry, rendered in memory."""

    slug: str
    version: int = 0
    state: str = "queued"  # queued, rendering, ready, invalid, failed
    title: str = ""
    risk: str = ""
    salary: str = ""
    problems: list[str] = field(default_factory=list)
    pdf: bytes | None = None
    pages: list[bytes] = field(default_factory=list)  # PNG per dossier page
    cards: dict[str, bytes] = field(default_factory=dict)  # preset -> PNG
    alt: str = ""
    meta: str = ""
    seconds: float = 0.0
    finished: float = 0.0  # time.monotonic() when the render ended
    error: str = ""


class Studio:
    """The warm renderers, the previews, the watcher and the render thread."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.lock = threading.RLock()
        self.previews: dict[str, Preview] = {}
        self.order: list[str] = []
        self.problems: list[str] = []  # problems not tied to an entry file
        self.dirty: queue.Queue[str | None] = queue.Queue()
        self.listeners: list[queue.Queue[str]] = []
        self.stamps: dict[Path, tuple[int, int]] = {}
        self.digests: dict[str, str] = {}
        self.renderers = None
        self.bestiary: Bestiary | None = None
        self.stopping = threading.Event()
        self.book = Preview("book", state="stale")  # printed when asked for (/book.pdf)
        self.book_done = threading.Condition()

    # ---- watching ----

    def watched(self) -> list[Path]:
        project = self.project
        files = [project.root / "printshop.toml"]
        for folder in (project.entries_dir, project.layouts_dir, project.fonts_dir):
            if folder.is_dir():
                files += [p for p in folder.rglob("*") if p.is_file()]
        return sorted(files)

    def scan(self) -> tuple[bool, bool]:
        """(anything changed, something every preview depends on changed)."""
        stamps = {}
        for path in self.watched():
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps[path] = (stat.st_mtime_ns, stat.st_size)
        changed = {p for p in stamps.keys() | self.stamps.keys()
                   if stamps.get(p) != self.stamps.get(p)}
        self.stamps = stamps
        entries = self.project.entries_dir
        shared = any(not p.is_relative_to(entries) for p in changed)
        return bool(changed), shared

    def refresh(self, everything: bool) -> None:
        """Reload the entries; queue the previews that changed (all, if ``everything``)."""
        with self.lock:
            if everything:
                self.project = load_project(self.project.root)
                self.renderers = None  # layouts, fonts or config changed: start warm again
            self.bestiary = load_bestiary(self.project.entries_dir)
            self.problems = [str(p) for p in self.bestiary.problems if not p.line]
            seen = []
            for slug, item in self.bestiary.loaded.items():
                seen.append(slug)
                key = (item.digest or "") + "|".join(str(p) for p in item.problems)
                key += json.dumps([self.bestiary.title_of(r.slug) for r in item.entry.related
                                   if r.slug] if item.entry else [])
                if everything or self.digests.get(slug) != key:
                    self.digests[slug] = key
                    preview = self.previews.setdefault(slug, Preview(slug))
                    preview.state = "queued"
                    self.dirty.put(slug)
            for gone in set(self.previews) - set(seen):
                del self.previews[gone]
                self.digests.pop(gone, None)
            self.order = sorted(seen, key=lambda s: self._title(s).casefold())
            if self.book.state == "ready":
                self.book.state = "stale"  # printed again when next asked for
        self.announce("index")

    def _title(self, slug: str) -> str:
        item = self.bestiary.loaded[slug] if self.bestiary else None
        return item.entry.title if item is not None and item.entry is not None else slug

    def watch(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            try:
                changed, shared = self.scan()
                if changed:
                    self.refresh(everything=shared)
            except Exception as error:  # keep watching whatever happens
                LOGGER.warning("preview: %s", error)

    # ---- rendering ----

    def _renderers(self):
        if self.renderers is None:
            from .cards import Cards
            from .dossier import Dossiers

            self.renderers = (Dossiers(self.project), Cards(self.project))
        return self.renderers

    def render_loop(self) -> None:
        while not self.stopping.is_set():
            slug = self.dirty.get()
            if slug is None:
                return
            if slug == BOOK:
                if not self.dirty.empty():  # the entries first, the book once they are done
                    self.dirty.put(BOOK)
                    continue
                self.render_book()
                self.announce("index")
                continue
            with self.lock:
                preview = self.previews.get(slug)
                bestiary = self.bestiary
                if preview is None or preview.state != "queued":
                    continue
                preview.state = "rendering"
            self.announce(slug)
            self.render(preview, bestiary)
            self.announce(slug)
            self.announce("index")

    def render(self, preview: Preview, bestiary: Bestiary) -> None:
        item: Loaded = bestiary.loaded[preview.slug]
        start = time.perf_counter()
        result = Preview(preview.slug, problems=[printable(str(p)) for p in item.problems])
        result.title = item.entry.title if item.entry else preview.slug
        if not item.ok:
            result.state = "invalid"
        else:
            try:
                self._render_ok(result, item, bestiary)
                result.state = "ready"
            except Exception as error:  # shown on the page, the server keeps going
                result.state = "failed"
                result.error = printable(getattr(error, "message", None)
                                         or f"{type(error).__name__}: {error}")
        result.seconds = time.perf_counter() - start
        result.finished = time.monotonic()
        with self.lock:
            if preview.state != "rendering":  # queued again meanwhile: keep the newer
                return
            result.version = preview.version + 1
            self.previews[preview.slug] = result

    def ask_for_book(self, timeout: float = 300) -> Preview:
        """The book, printed now if it is stale (after any entries waiting to render)."""
        with self.book_done:
            if self.book.state != "ready":
                if self.book.state != "rendering":
                    self.book.state = "queued"
                    self.dirty.put(BOOK)
                self.book_done.wait_for(lambda: self.book.state in ("ready", "failed"),
                                        timeout)
            return self.book

    def render_book(self) -> None:
        """The whole book in one pass (the warm fonts shared with the dossiers)."""
        from .book import Book

        with self.lock:
            if self.book.state == "ready":
                return
            bestiary = self.bestiary
            result = Preview("book", state="rendering", version=self.book.version)
            self.book = result
        self.announce("index")
        start = time.perf_counter()
        try:
            dossiers, _ = self._renderers()
            book = Book(self.project, press=dossiers.press)
            laid_out = book.render(bestiary)
            result.pdf = book.pdf(laid_out)
            result.title = f"{laid_out.page_count} pages, {len(laid_out.records)} specimens"
            result.state = "ready"
        except Exception as error:
            result.state = "failed"
            result.error = printable(getattr(error, "message", None)
                                     or f"{type(error).__name__}: {error}")
        result.seconds = time.perf_counter() - start
        result.version += 1
        with self.book_done:
            self.book_done.notify_all()

    def _render_ok(self, result: Preview, item: Loaded, bestiary: Bestiary) -> None:
        import pypdfium2 as pdfium

        from .cards import alt_text, encode
        from .share import meta_snippet
        from .model import salary_figure

        dossiers, cards = self._renderers()
        entry = item.entry
        result.risk = f"{entry.flight_risk.percent}%"
        figure = salary_figure(entry.salary)
        result.salary = figure + ("/h" if entry.salary.period == "hour" else "")
        result.pdf = dossiers.pdf(item, bestiary)
        document = pdfium.PdfDocument(result.pdf)
        try:
            for page in document:
                image = page.render(scale=SCREEN_DPI / 72).to_pil()
                buffer = io.BytesIO()
                image.save(buffer, "PNG", compress_level=1)
                result.pages.append(buffer.getvalue())
        finally:
            document.close()
        config = self.project.config
        result.alt = alt_text(item, config)
        for preset in cards.presets:
            card = cards.render(item, preset)
            result.cards[preset] = encode(card, "png").data
            if preset == "og" or not result.meta:
                result.meta = meta_snippet(item, config, f"{item.slug}-{preset}.png",
                                           card.image.size, result.alt)

    # ---- events ----

    def announce(self, what: str) -> None:
        for listener in list(self.listeners):
            listener.put(what)

    def start(self) -> None:
        from .share import say_if_relative

        say_if_relative(self.project.config)
        self.scan()
        self.refresh(everything=False)
        threading.Thread(target=self.watch, name="printshop-watch", daemon=True).start()
        threading.Thread(target=self.render_loop, name="printshop-render", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.dirty.put(None)


# ---- HTTP ------------------------------------------------------------------------

ROUTES = [
    (re.compile(r"^/$"), "index"),
    (re.compile(r"^/fragment/index$"), "index_fragment"),
    (re.compile(r"^/entry/([a-z0-9-]{1,80})$"), "entry"),
    (re.compile(r"^/fragment/entry/([a-z0-9-]{1,80})$"), "entry_fragment"),
    (re.compile(r"^/page/([a-z0-9-]{1,80})/(\d{1,4})\.png$"), "page_png"),
    (re.compile(r"^/card/([a-z0-9-]{1,80})/([a-z0-9_-]{1,40})\.png$"), "card_png"),
    (re.compile(r"^/download/([a-z0-9-]{1,80})\.pdf$"), "pdf"),
    (re.compile(r"^/book\.pdf$"), "book_pdf"),
    (re.compile(r"^/events$"), "events"),
    (re.compile(r"^/static/preview\.(css|js)$"), "static"),
]


class Refusal(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def make_handler(studio: Studio, templates):
    class Handler(BaseHTTPRequestHandler):
        server_version = "printshop-preview"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # quiet: the terminal is for problems
            LOGGER.debug("preview: " + format, *args)

        def send_error(self, code, message=None, explain=None):
            # http.server answers an unknown method with 501: it is the request's fault.
            if code == HTTPStatus.NOT_IMPLEMENTED:
                code, message = HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD"
            body = f"{int(code)} {message or HTTPStatus(code).phrase}\n".encode()
            try:
                self.send_response(code, message)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                if code == HTTPStatus.METHOD_NOT_ALLOWED:
                    self.send_header("Allow", "GET, HEAD")
                self.end_headers()
                if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                    self.wfile.write(body)
            except OSError:
                pass

        def do_GET(self):
            self.answer(head=False)

        def do_HEAD(self):
            self.answer(head=True)

        def refuse_method(self):
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD")

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = \
            refuse_method

        def answer(self, head: bool) -> None:
            try:
                path = urlsplit(self.path).path
                if "\x00" in unquote(path) or unquote(path) != path and ".." in unquote(path):
                    raise Refusal(HTTPStatus.NOT_FOUND, "no such page")
                for pattern, name in ROUTES:
                    match = pattern.match(path)
                    if match:
                        if name == "events":
                            return self.events(head)
                        status, kind, body = getattr(self, "route_" + name)(*match.groups())
                        return self.reply(status, kind, body, head)
                raise Refusal(HTTPStatus.NOT_FOUND, "no such page")
            except Refusal as refusal:
                self.send_error(refusal.status, refusal.message)
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as error:  # a bug: a 500 with one line, never a traceback
                LOGGER.warning("preview: %s: %s", type(error).__name__, error)
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "the preview failed")

        def reply(self, status, kind: str, body: bytes, head: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy",
                             "default-src 'self'; img-src 'self'; style-src 'self'; "
                             "script-src 'self'; connect-src 'self'")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        # ---- pages ----

        def _preview(self, slug: str) -> Preview:
            with studio.lock:
                preview = studio.previews.get(slug)
            if preview is None:
                raise Refusal(HTTPStatus.NOT_FOUND, f"no entry {slug!r}")
            return preview

        def _page(self, template: str, **context) -> tuple:
            text = templates.get_template(template).render(**context)
            return HTTPStatus.OK, "text/html; charset=utf-8", text.encode("utf-8")

        def _index_context(self) -> dict:
            with studio.lock:
                rows = [studio.previews[s] for s in studio.order if s in studio.previews]
                return {"rows": rows, "problems": list(studio.problems),
                        "pub": studio.project.config.publication, "book": studio.book}

        def route_index(self):
            return self._page("preview/index.html.j2", **self._index_context())

        def route_index_fragment(self):
            return self._page("preview/_index.html.j2", **self._index_context())

        def _entry_context(self, slug: str) -> dict:
            preview = self._preview(slug)
            return {"p": preview, "pub": studio.project.config.publication}

        def route_entry(self, slug):
            return self._page("preview/entry.html.j2", **self._entry_context(slug))

        def route_entry_fragment(self, slug):
            return self._page("preview/_entry.html.j2", **self._entry_context(slug))

        def route_page_png(self, slug, number):
            preview = self._preview(slug)
            index = int(number) - 1
            if not 0 <= index < len(preview.pages):
                raise Refusal(HTTPStatus.NOT_FOUND, "no such page")
            return HTTPStatus.OK, "image/png", preview.pages[index]

        def route_card_png(self, slug, preset):
            preview = self._preview(slug)
            if preset not in preview.cards:
                raise Refusal(HTTPStatus.NOT_FOUND, "no such card")
            return HTTPStatus.OK, "image/png", preview.cards[preset]

        def route_pdf(self, slug):
            preview = self._preview(slug)
            if preview.pdf is None:
                raise Refusal(HTTPStatus.NOT_FOUND, "this entry has no dossier (see its problems)")
            return HTTPStatus.OK, "application/pdf", preview.pdf

        def route_book_pdf(self):
            book = studio.ask_for_book()
            if book.state != "ready" or book.pdf is None:
                raise Refusal(HTTPStatus.CONFLICT, f"the book could not be printed: {book.error}")
            return HTTPStatus.OK, "application/pdf", book.pdf

        def route_static(self, kind):
            # The two assets are fixed names in the project's layouts/preview/.
            path = studio.project.layouts_dir / "preview" / f"preview.{kind}"
            body = path.read_bytes()
            kinds = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
            return HTTPStatus.OK, kinds[kind], body

        def events(self, head: bool) -> None:
            """Server-sent events: 'index' or an entry's slug, each time one changes."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if head:
                return
            self.close_connection = True
            listener: queue.Queue[str] = queue.Queue()
            studio.listeners.append(listener)
            try:
                self.wfile.write(b"retry: 500\n\n")
                self.wfile.flush()
                while not studio.stopping.is_set():
                    try:
                        what = listener.get(timeout=10)
                        self.wfile.write(f"data: {what}\n\n".encode())
                    except queue.Empty:
                        self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
            except OSError:
                pass
            finally:
                studio.listeners.remove(listener)

    return Handler


def preview_templates(project: Project):
    """The preview's Jinja environment (autoescaped, like every layout)."""
    from .press import layout_environment

    return layout_environment(project.layouts_dir)


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(project: Project, host: str = "127.0.0.1", port: int = 8000):
    """The preview server and its studio (started: watching and rendering)."""
    studio = Studio(project)
    server = PreviewServer((host, port), make_handler(studio, preview_templates(project)))
    studio.start()
    return server, studio
