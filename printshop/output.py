"""Writing results: atomically, and only inside the output folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import RenderError


def target(folder: Path, name: str) -> Path:
    """``folder/name``, refusing any name that would land outside ``folder``."""
    path = (folder / name).resolve()
    if path.parent != folder.resolve():
        raise RenderError(f"refusing to write {name!r} outside {folder}")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    A reader sees the old complete file or the new complete one, never half.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise RenderError(f"cannot write to {path.parent}: {error.strerror or error}") from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise RenderError(f"cannot write {path}: {error.strerror or error}") from error
