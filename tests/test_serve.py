"""`printshop serve`: the live preview, over HTTP and in a real (headless) Chromium."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import threading
import time

import pytest

from conftest import Scratch, seed_data

SLUG = "preview-role"


@contextlib.contextmanager
def serving(root):
    """A scratch project with two entries, served on a free port."""
    from printshop.serve import make_server

    scratch = Scratch(root)
    data = seed_data()
    data["title"] = "Preview Role"
    scratch.write(SLUG, data)
    scratch.write("other-role", seed_data())
    server, studio = make_server(scratch.project, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        wait_until(lambda: all(p.state == "ready" for p in studio.previews.values()), 60)
        yield scratch, base, studio, data
    finally:
        studio.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the tests that only read."""
    with serving(tmp_path_factory.mktemp("served") / "project") as running:
        yield running


@pytest.fixture
def preview(tmp_path):
    """A server of its own, for a test that edits files."""
    with serving(tmp_path / "project") as running:
        yield running


def wait_until(condition, seconds: float, what: str = "the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the page is between two states
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def get(base: str, path: str, method: str = "GET") -> tuple[int, bytes, dict]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_index_lists_every_entry(served):
    scratch, base, studio, data = served
    status, body, _ = get(base, "/")
    text = body.decode()
    assert status == 200
    assert data["title"] in text and "Junior AI/ML Model Training Assistant" in text
    assert "85%" in text
    assert "$146,027" in text and text.count('class="ok">valid') == 2
    assert f'href="/entry/{SLUG}"' in text


def test_the_book_is_printed_when_asked_for(served):
    from pdfview import page_texts

    _, base, studio, _ = served
    assert studio.book.state == "stale", "printed only when asked for"
    assert 'href="/book.pdf"' in get(base, "/")[1].decode()
    status, pdf, headers = get(base, "/book.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert "Preview Role" in " ".join(page_texts(pdf))
    assert "Download the book" in get(base, "/")[1].decode()


def test_an_entry_page_has_pages_cards_alt_text_meta_and_downloads(served):
    scratch, base, studio, _ = served
    status, body, _ = get(base, f"/entry/{SLUG}")
    text = body.decode()
    assert status == 200
    preview_state = studio.previews[SLUG]
    assert len(preview_state.pages) >= 3
    for n in range(1, len(preview_state.pages) + 1):
        assert f"/page/{SLUG}/{n}.png" in text
        status, png, headers = get(base, f"/page/{SLUG}/{n}.png")
        assert status == 200 and png.startswith(b"\x89PNG") and headers["Content-Type"] == "image/png"
    for preset in ("og", "square", "portrait", "story"):
        status, png, _ = get(base, f"/card/{SLUG}/{preset}.png")
        assert status == 200 and png.startswith(b"\x89PNG")
    assert preview_state.alt and preview_state.alt.split(".")[0] in text
    assert "og:image" in preview_state.meta and "&lt;meta" in text  # shown, escaped
    status, pdf, headers = get(base, f"/download/{SLUG}.pdf")
    assert status == 200 and pdf.startswith(b"%PDF-")
    assert headers["Content-Type"] == "application/pdf"
    status, _, headers = get(base, f"/entry/{SLUG}", "HEAD")
    assert status == 200 and int(headers["Content-Length"]) == len(body)


@pytest.mark.parametrize("path", [
    "/../printshop.toml", "/%2e%2e/%2e%2e/etc/passwd", "/static/../../printshop.toml",
    "/static/%2e%2e%2f%2e%2e%2fprintshop.toml", "/static/preview.css/../../../etc/passwd",
    "//etc/passwd", "/etc/passwd", "/page/preview-role/../../../etc/passwd",
    "/entries/preview-role.yaml", "/layouts/book.css", "/entry/..%2f..%2fetc", "/entry/%00",
    "/card/preview-role/..%2f..%2fprintshop.toml.png", "/download/nobody.pdf",
    "/page/preview-role/999.png", "/card/preview-role/nope.png",
    "/static/preview.py", "/fragment/entry/NOPE",
])
def test_no_url_reaches_another_file(served, path):
    scratch, base, _, _ = served
    status, body, _ = get(base, path)
    assert 400 <= status < 500, (path, status)
    assert b"Traceback" not in body and b"[folders]" not in body and b"root:" not in body


def test_only_get_and_head_and_bad_requests_get_a_4xx(served):
    _, base, _, _ = served
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"):
        status, body, headers = get(base, "/", method)
        assert status == 405, method
        assert headers.get("Allow") == "GET, HEAD"
    reply = raw(base, b"GET /a b c\r\n\r\n")  # a request line http.server cannot parse
    assert b"400 Bad request" in reply[:60], reply[:80]  # (answered as HTTP/0.9: no headers)
    reply = raw(base, b"GET http://example.com/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b" 404 " in reply.split(b"\r\n")[0] and b"root:" not in reply
    assert b"Traceback" not in reply


def test_serve_binds_locally_and_warns_otherwise(monkeypatch, tmp_path):
    """The CLI's default host is 127.0.0.1; another address is warned about."""
    from click.testing import CliRunner

    from printshop import serve as serve_module
    from printshop.cli import main

    calls = []

    class Stub:
        server_port = 1

        def serve_forever(self, poll_interval):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    class Studio:
        def stop(self):
            pass

    monkeypatch.setattr(serve_module, "make_server",
                        lambda project, host, port: calls.append((host, port)) or (Stub(), Studio()))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0 and calls[-1] == ("127.0.0.1", 8000)
    assert "warning" not in result.output
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert calls[-1] == ("0.0.0.0", 9000)
    assert "warning: listening on 0.0.0.0" in result.output


# ---- The renderer's state --------------------------------------------------------

def test_the_first_index_shows_titles_before_anything_renders(tmp_path):
    """Titles come from the loaded entries; the render thread has not even started."""
    from printshop.serve import PreviewServer, Studio, preview_templates

    scratch = Scratch(tmp_path / "project")
    data = seed_data()
    data["title"] = "Preview Role"
    scratch.write(SLUG, data)
    scratch.write("other-role", seed_data())
    studio = Studio(scratch.project)
    studio.watcher.reload(everything=False)  # what start() does, without the threads
    server = PreviewServer(("127.0.0.1", 0), studio, preview_templates(studio.project))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    try:
        status, body, _ = get(f"http://127.0.0.1:{server.server_port}", "/")
    finally:
        server.shutdown()
        server.server_close()
    text = body.decode()
    assert status == 200 and studio.previews[SLUG].state == "queued"
    assert f'<a href="/entry/{SLUG}">Preview Role</a>' in text
    assert "Junior AI/ML Model Training Assistant" in text and "queued…" in text


def test_the_book_preview_is_its_own_type(served):
    from pdfview import page_texts

    from printshop.serve import BookPreview, EntryPreview

    _, base, studio, _ = served
    assert isinstance(studio.book, BookPreview) and not isinstance(studio.book, EntryPreview)
    assert all(isinstance(p, EntryPreview) for p in studio.previews.values())
    status, pdf, _ = get(base, "/book.pdf")
    assert status == 200 and studio.book.state == "ready"
    assert studio.book.pages == len(page_texts(pdf)) and studio.book.specimens == 2
    assert f"{studio.book.pages} pages, 2 specimens, printed in" in get(base, "/")[1].decode()


def fast_renderer(project):
    """A `Renderer` whose renders take no time, to hammer its state from many threads."""
    from printshop.serve import BookPreview, EntryPreview, Renderer

    class Fast(Renderer):
        def render_entry(self, item, bestiary, project):
            time.sleep(0)  # let the other threads in mid-render
            mark = f"{item.slug}:{bestiary.title_of(item.slug)}".encode()
            return EntryPreview(item.slug, state="ready", title=bestiary.title_of(item.slug),
                                pdf=mark, pages=(mark,))

        def print_book(self, bestiary, project):
            return BookPreview(state="ready", pdf=b"%PDF-", pages=len(bestiary.loaded),
                               specimens=len(bestiary.loaded))

    return Fast(project, announce=lambda what: None)


def test_readers_never_see_half_an_update(tmp_path):
    """Reloads swap two sets of entries while the render thread renders and pages read:
    every index a page reads is one whole set, every preview one whole render."""
    import sys

    from printshop.load import load_bestiary

    sets = {}
    for name, slugs in (("a", ("alpha", "beta", "gamma")), ("b", ("delta", "epsilon"))):
        scratch = Scratch(tmp_path / name)
        for slug in slugs:
            data = seed_data()
            data["title"] = f"Role {slug}"
            scratch.write(slug, data)
        sets[name] = (scratch.project, load_bestiary(scratch.entries))
    wholes = [set(bestiary.loaded) for _, bestiary in sets.values()]
    renderer = fast_renderer(sets["a"][0])
    renderer.update(*sets["a"], everything=False)
    seen, broken, done = [0], [], threading.Event()

    def reload():  # until the pages have read often enough (or something broke)
        n, deadline = 0, time.monotonic() + 30
        while (n < 1000 or seen[0] < 400) and not done.is_set() and time.monotonic() < deadline:
            renderer.update(*sets["ab"[n % 2]], everything=n % 3 == 0)
            n += 1
        done.set()

    def read():
        while not done.is_set():
            try:
                index = renderer.index()
                slugs = [row.slug for row in index.rows]
                assert set(slugs) in wholes and len(slugs) == len(set(slugs)), slugs
                for row in index.rows:
                    assert row.state in ("queued", "rendering", "ready"), row.state
                    if row.state == "ready":
                        assert row.version >= 1 and row.pages == (row.pdf,), row
                        assert row.pdf == f"{row.slug}:Role {row.slug}".encode(), row
                seen[0] += 1
            except Exception as error:  # the assertion, or a KeyError from a torn update
                broken.append(error)
                done.set()

    def read_the_book():  # waits for the entries queued before it, then for its print
        while not done.is_set():
            book = renderer.ask_for_book(timeout=1)
            if book.state == "ready" and not (book.pdf and book.pages in (2, 3)):
                broken.append(AssertionError(book))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: a missing lock shows at once
    threads = [threading.Thread(target=renderer.run, daemon=True),
               threading.Thread(target=reload), threading.Thread(target=read_the_book)] + [
        threading.Thread(target=read) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads[1:]:
            thread.join(60)
        rendering = threads[0].is_alive()
    finally:
        sys.setswitchinterval(interval)
        renderer.stop()
    assert not broken, broken[:3]
    assert rendering, "the render thread died (on an entry gone from its bestiary?)"
    assert seen[0] >= 400, f"only {seen[0]} reads"


# ---- In a real browser -----------------------------------------------------------

@pytest.fixture
def browser():
    """Debian's headless Chromium through chromedriver; fails (never skips) if it cannot
    start, saying why."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("the preview's browser test needs Debian's chromium and chromium-driver "
                    "(`make test` installs them: scripts/system-deps.sh --test)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(argument)
    try:
        chrome = webdriver.Chrome(service=Service(driver), options=options)
    except Exception as error:
        pytest.fail(f"headless Chromium could not start: {type(error).__name__}: {error}")
    yield chrome
    chrome.quit()


def test_the_open_page_follows_edits_without_reloading(preview, browser):
    from selenium.webdriver.common.by import By

    scratch, base, studio, data = preview
    browser.get(f"{base}/entry/{SLUG}")
    title = lambda: browser.find_element(By.ID, "title").text  # noqa: E731
    wait_until(lambda: title() == "Preview Role", 20, "the entry's title")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "img.page"), 20, "the pages")
    browser.execute_script("window.notReloaded = true;")

    data["title"] = "Renamed Role"
    written = time.monotonic()
    scratch.write(SLUG, data)
    wait_until(lambda: title() == "Renamed Role", 20, "the new title")
    seen_at = time.monotonic()
    assert browser.execute_script("return window.notReloaded === true;"), "the page reloaded"
    rendered = studio.previews[SLUG]
    print(f"edit to page: {seen_at - written:.2f} s; rendering {rendered.seconds:.2f} s; "
          f"render finished to page updated: {seen_at - rendered.finished:.2f} s")
    assert seen_at - rendered.finished < 5  # about 0.1 s here; generous for a busy CI machine

    broken = (scratch.entries / f"{SLUG}.yaml").read_text().replace(
        "flight_risk:\n  percent: 85", "flight_risk:\n  percent: [85")
    assert broken != (scratch.entries / f"{SLUG}.yaml").read_text()
    (scratch.entries / f"{SLUG}.yaml").write_text(broken)
    problems = lambda: browser.find_element(By.ID, "problems").text  # noqa: E731
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "[85" in text)
    placed = (f"{SLUG}.yaml:{line}:", f"{SLUG}.yaml:{line + 1}:")
    # (the conditions are read inside wait_until: the fragment may be swapped meanwhile)
    wait_until(lambda: "YAML syntax error" in problems()
               and any(place in problems() for place in placed), 20, "the placed YAML error")
    assert not browser.find_elements(By.CSS_SELECTOR, "img.page"), "no stale preview"
    assert browser.execute_script("return window.notReloaded === true;")

    scratch.write(SLUG, data)
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "img.page")
               and title() == "Renamed Role" and not browser.find_elements(By.ID, "problems"),
               20, "the fixed entry's preview")
    assert browser.execute_script("return window.notReloaded === true;")


def test_a_layout_change_rerenders_every_entry(preview):
    scratch, base, studio, _ = preview
    shutil.copytree(scratch.project.layouts_dir, scratch.root / "layouts")
    shutil.copytree(scratch.project.fonts_dir, scratch.root / "fonts")
    versions = {slug: p.version for slug, p in studio.previews.items()}
    css = scratch.root / "layouts" / "record.css"
    css.write_text(css.read_text() + "\n.record h2 { color: #00aa00; }\n")
    wait_until(lambda: all(p.version > versions[s] and p.state == "ready"
                           for s, p in studio.previews.items()), 60, "every entry again")
    assert studio.project.layouts_dir == scratch.root / "layouts"
