"""The HTTP side: each URL the preview answers, from memory or its two static files.

No URL path is ever turned into a file path, so `..`, `%2e%2e`, absolute paths
and symlinks reach nothing. Only GET and HEAD; anything else is a 4xx.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from .render import EntryPreview

LOGGER = logging.getLogger("printshop")

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
STATIC_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
SECURITY_POLICY = ("default-src 'self'; img-src 'self'; style-src 'self'; "
                   "script-src 'self'; connect-src 'self'")


class Refusal(Exception):
    """A request the preview will not answer: its status and one line of why."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server; its handlers find the studio and the templates on it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, studio, templates) -> None:
        self.studio, self.templates = studio, templates
        super().__init__(address, PreviewHandler)


class PreviewHandler(BaseHTTPRequestHandler):
    """One request: routed by `ROUTES` to a ``route_*`` method, or refused."""

    server: PreviewServer
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
                if match := pattern.match(path):
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
        self.send_header("Content-Security-Policy", SECURITY_POLICY)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    # ---- pages ----

    @property
    def renderer(self):
        return self.server.studio.renderer

    def _preview(self, slug: str) -> EntryPreview:
        if (preview := self.renderer.entry(slug)) is None:
            raise Refusal(HTTPStatus.NOT_FOUND, f"no entry {slug!r}")
        return preview

    def _page(self, template: str, **context) -> tuple:
        text = self.server.templates.get_template(template).render(**context)
        return HTTPStatus.OK, "text/html; charset=utf-8", text.encode("utf-8")

    def _index(self, template: str) -> tuple:
        index = self.renderer.index()
        return self._page(template, rows=index.rows, problems=index.problems,
                          book=index.book, pub=index.publication)

    def route_index(self):
        return self._index("preview/index.html.j2")

    def route_index_fragment(self):
        return self._index("preview/_index.html.j2")

    def _entry(self, template: str, slug: str) -> tuple:
        preview = self._preview(slug)
        return self._page(template, p=preview, pub=self.renderer.project.config.publication)

    def route_entry(self, slug):
        return self._entry("preview/entry.html.j2", slug)

    def route_entry_fragment(self, slug):
        return self._entry("preview/_entry.html.j2", slug)

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
        book = self.renderer.ask_for_book()
        if book.state != "ready" or book.pdf is None:
            raise Refusal(HTTPStatus.CONFLICT, f"the book could not be printed: {book.error}")
        return HTTPStatus.OK, "application/pdf", book.pdf

    def route_static(self, kind):
        # The two assets are fixed names in the project's layouts/preview/.
        path = self.renderer.project.layouts_dir / "preview" / f"preview.{kind}"
        return HTTPStatus.OK, STATIC_TYPES[kind], path.read_bytes()

    def events(self, head: bool) -> None:
        """Server-sent events: 'index' or an entry's slug, each time one changes."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if head:
            return
        self.close_connection = True
        studio = self.server.studio
        try:
            studio.events.stream(self.wfile, studio.stopping)
        except OSError:
            pass
