"""The project's inputs as one archive, sent to each cluster worker once per build.

A worker needs printshop installed, not the project's files: the client packs
``printshop.toml``, the layouts, the fonts, the entries (and the book's
foreword) into a deterministic tar archive named by its sha256, and each
worker unpacks it into its own cache the first time it sees that digest.
Nothing else is written on a worker.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import CONFIG_NAME, Project, load_project
from ..errors import PrintshopError


@dataclass(frozen=True)
class Bundle:
    """A project's inputs: a gzipped tar archive, and the sha256 of its bytes."""

    digest: str
    data: bytes


def make_bundle(project: Project) -> Bundle:
    """Pack the project's config, layouts, fonts, entries and foreword (paths relative
    to the project; the same files give the same bytes)."""
    files = dict(_project_files(project))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    data = gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)
    return Bundle(hashlib.sha256(data).hexdigest(), data)


def _project_files(project: Project):
    """(name in the archive, path here) of every file a worker reads."""
    root = project.root
    if (root / CONFIG_NAME).is_file():
        yield CONFIG_NAME, root / CONFIG_NAME
    # The layouts and fonts go as the project's own, even when they are printshop's.
    for name, folder in (("layouts", project.layouts_dir), ("fonts", project.fonts_dir),
                         (_inside(project, project.entries_dir), project.entries_dir)):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield f"{name}/{path.relative_to(folder).as_posix()}", path
    foreword = project.config.book.foreword
    if foreword and (root / foreword).is_file():
        yield _inside(project, root / foreword), root / foreword


def _inside(project: Project, path: Path) -> str:
    """``path`` relative to the project, as a worker will find it."""
    try:
        return path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        raise PrintshopError(f"{path} is outside the project {project.root}: a cluster build "
                             "sends only the project's own files") from None


def cache_dir() -> Path:
    """Where bundles are unpacked by default: ``~/.cache/printshop/bundles``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "printshop" / "bundles"


def materialise(bundle: Bundle, cache: Path | None = None) -> Path:
    """The bundle's project folder in ``cache`` (`cache_dir` by default), unpacked
    there unless it already is."""
    folder = (cache or cache_dir()) / bundle.digest
    if folder.is_dir():
        return folder
    if hashlib.sha256(bundle.data).hexdigest() != bundle.digest:
        raise PrintshopError("the project's bundle arrived damaged (its digest differs)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    unpacking = Path(tempfile.mkdtemp(prefix=f".{bundle.digest[:12]}.", dir=folder.parent))
    try:
        _unpack(bundle.data, unpacking)
        os.rename(unpacking, folder)  # whole or not at all; another thread may have won
    except OSError:
        if not folder.is_dir():
            raise
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    return folder


def load_bundle(bundle: Bundle, cache: Path | None = None) -> Project:
    """The project the bundle holds, read from its unpacked copy."""
    return load_project(materialise(bundle, cache))


def _unpack(data: bytes, folder: Path) -> None:
    """Regular files only, each strictly inside ``folder``."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as archive:
        for member in archive:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts \
                    or not name.parts:
                raise PrintshopError(f"the project's bundle holds {member.name!r}, "
                                     "which is not a file inside the project; refusing it")
            path = folder.joinpath(*name.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            path.write_bytes(source.read())
