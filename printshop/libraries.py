"""WeasyPrint's C libraries, looked up once per machine rather than once per process.

WeasyPrint 70 loads GObject, Pango, HarfBuzz (and its subset and vector parts),
fontconfig and PangoFT2 by trying several names for each, the names of every
platform. cffi hands each name it cannot open directly to
`ctypes.util.find_library`, which on Linux runs ``ldconfig -p``, then gcc, then
ld: 22 lookups, ~280 ms of every cold process (measured: 278 ms of a 643 ms
``import weasyprint``), with the same answers every time.

`import_weasyprint` imports WeasyPrint's library layer with those answers
remembered in the user's cache, keyed by what they depend on (the dynamic
linker's cache file, ``LD_LIBRARY_PATH``, the machine and Python), and puts
`find_library` back as it was afterwards. The answers decide which code is
loaded, so only a cache folder of the user's own that no one else may write to
is used; without one, or when the key changed, the lookups run as before.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

FOLDER = "libraries"
LINKER_CACHE = "/etc/ld.so.cache"
MODULE = "weasyprint.text.ffi"


def lookup_key() -> str:
    """What `find_library`'s answers depend on, as one string."""
    try:
        st = os.stat(LINKER_CACHE)
        linker = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        linker = "none"
    return "|".join((linker, os.environ.get("LD_LIBRARY_PATH", ""), platform.machine(),
                     sys.platform, sys.version.split()[0]))


def _folder() -> Path | None:
    from .resources import cache_roots, own_folder

    for root in cache_roots():
        if own_folder(root / FOLDER):
            return root / FOLDER
    return None


def _remembered(path: Path, key: str) -> dict[str, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("key") != key:
        return {}
    answers = data.get("answers")
    if not isinstance(answers, dict):
        return {}
    return {k: v for k, v in answers.items()
            if isinstance(k, str) and (v is None or isinstance(v, str))}


def _remember(path: Path, key: str, answers: dict[str, str | None]) -> None:
    from .errors import RenderError
    from .output import write_atomic

    try:
        write_atomic(path, json.dumps({"key": key, "answers": answers}, sort_keys=True).encode())
    except RenderError:
        pass  # an unwritable cache only costs the lookups


def import_weasyprint() -> None:
    """Import WeasyPrint's library layer (``weasyprint.text.ffi``), its library
    lookups answered from the cache where the cache knows them."""
    if MODULE in sys.modules:
        return
    import ctypes.util

    folder = _folder()
    path = folder / "find_library.json" if folder else None
    key = lookup_key()
    known = _remembered(path, key) if path else {}
    asked: dict[str, str | None] = {}
    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name in known:
            return known[name]
        asked[name] = original(name)
        return asked[name]

    ctypes.util.find_library = find_library
    try:
        __import__(MODULE)
    finally:
        ctypes.util.find_library = original
    if path and asked:
        _remember(path, key, {**known, **asked})
