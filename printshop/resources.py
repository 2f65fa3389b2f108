"""What renderers may read: the project's fonts and layouts, nothing else.

Two fences. Fontconfig is pointed at a config that lists only ``fonts/``, so
no machine font can stand in for a missing glyph. WeasyPrint fetches through
`ProjectFetcher`, which serves ``file:`` URLs inside the allowed folders and
refuses everything else (other files, the network, ``data:``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import RenderError

FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")
LOGGER = logging.getLogger("printshop")


def cache_roots() -> list[Path]:
    """Where printshop keeps what it computed once (the fontconfig file, font facts,
    compiled layouts): the user's cache, else the temporary folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [Path(base) / "printshop", Path(tempfile.gettempdir()) / f"printshop-{os.getuid()}"]


def own_folder(folder: Path) -> bool:
    """Make ``folder`` (mode 0700) if need be; whether it and its parent are real
    folders of this user that no one else may write to. A cache whose contents
    decide what code runs (compiled layouts, library names) lives only in one."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (folder.parent, folder):
            st = os.lstat(path)
            if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid()
                    or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                return False
        return os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


def fontconfig_file(fonts_dir: Path, fallbacks: Sequence[str] = (),
                    hidden: Sequence[Path] = ()) -> Path:
    """Write (once) a fontconfig file that knows only the fonts in ``fonts_dir``.

    ``fallbacks`` (family names) are appended, in order, to every family asked
    for: the font stack a character the CSS font lacks falls back on. Files in
    ``hidden`` are never used (the colour emoji font is for cards only).
    """
    fonts_dir = fonts_dir.resolve()
    text = _conf_text(fonts_dir, fallbacks, hidden)
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    for root in cache_roots():
        try:
            return _write_conf(root / f"fontconfig-{key}", text)
        except OSError:
            continue
    raise RenderError("cannot write a fontconfig file: neither ~/.cache nor the temporary "
                      "folder is writable")


def _conf_text(fonts_dir: Path, fallbacks: Sequence[str], hidden: Sequence[Path]) -> str:
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
             "<fontconfig>", f"  <dir>{_xml(str(fonts_dir))}</dir>",
             "  <cachedir>CACHE</cachedir>"]
    if hidden:
        lines += ["  <selectfont><rejectfont>",
                  *(f"    <glob>{_xml(str(path.resolve()))}</glob>" for path in hidden),
                  "  </rejectfont></selectfont>"]
    if fallbacks:
        lines += ['  <match target="pattern">',
                  '    <edit name="family" mode="append_last" binding="strong">',
                  *(f"      <string>{_xml(family)}</string>" for family in fallbacks),
                  "    </edit>", "  </match>"]
    return "\n".join(lines + ["</fontconfig>", ""])


def _write_conf(folder: Path, text: str) -> Path:
    conf = folder / "fonts.conf"
    text = text.replace("CACHE", _xml(str(folder / "cache")), 1)
    if conf.is_file() and conf.read_text(encoding="utf-8") == text:
        return conf
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.replace(tmp.name, conf)
    return conf


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def use_only_bundled_fonts(fonts_dir: Path, fallbacks: Sequence[str] = (),
                           hidden: Sequence[Path] = ()) -> None:
    """Make fontconfig (and so Pango and WeasyPrint) see only the bundled fonts.

    Must run before WeasyPrint is imported: it loads fontconfig at import.
    """
    os.environ["FONTCONFIG_FILE"] = str(fontconfig_file(fonts_dir, fallbacks, hidden))


@functools.cache
def check_harfbuzz_subset() -> bool:
    """Warn once when WeasyPrint will subset fonts slowly (and differently).

    Asks WeasyPrint (after it is imported) whether it loaded the library: it
    looked already, and asking ctypes again would run ``ldconfig -p`` once more.
    """
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset:
        return True
    LOGGER.warning(
        "libharfbuzz-subset0 is not installed: fonts are subset with fontTools, "
        "about 4x slower. Install it with: sudo apt-get install libharfbuzz-subset0"
    )
    return False


def font_files(fonts_dir: Path) -> list[Path]:
    return sorted(p for p in fonts_dir.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)


def check_font_faces(css: Path, fonts_dir: Path) -> None:
    """Every font a stylesheet's @font-face rules name must be a file in ``fonts_dir``:
    WeasyPrint would otherwise fall back to another font with only a warning."""
    from .errors import ConfigError
    from .report import noun_form

    missing = []
    for url in re.findall(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", css.read_text("utf-8")):
        path = Path(os.path.realpath(css.parent / unquote(url)))
        if not path.is_relative_to(os.path.realpath(fonts_dir)) or not path.is_file():
            missing.append(url)
    if missing:
        raise ConfigError(f"{css}: {noun_form(len(missing), 'font file')} missing from "
                          f"{fonts_dir}: {', '.join(missing)}")


class Refused(ValueError):
    """A URL outside what the renderer may read."""


def make_fetcher(allowed: list[Path]):
    """A WeasyPrint URL fetcher confined to files under ``allowed`` folders."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [Path(os.path.realpath(folder)) for folder in allowed]

    class ProjectFetcher(URLFetcher):
        """Serves the project's layouts and fonts; refuses every other URL."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("file",))
            self.requests: list[str] = []  # every URL asked for, served or not
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            self.requests.append(url)
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                return self._refuse(url)
            path = Path(os.path.realpath(unquote(parts.path)))
            if not any(path.is_relative_to(root) for root in roots) or not path.is_file():
                return self._refuse(url)
            return URLFetcherResponse(url, path.read_bytes(), {}, 200)

        def _refuse(self, url):
            self.refused.append(url)
            raise Refused(f"printshop reads only its own layouts and fonts; refused {url[:200]}")

    return ProjectFetcher()
