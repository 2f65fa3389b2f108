"""The project's bundle for cluster workers: deterministic, unpacked once, safely."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest

from printshop.build.bundle import Bundle, load_bundle, make_bundle, materialise
from printshop.errors import PrintshopError


def test_the_same_project_makes_the_same_bundle(project):
    first, second = make_bundle(project), make_bundle(project)
    assert first == second
    assert first.digest == hashlib.sha256(first.data).hexdigest()


def test_a_changed_entry_changes_the_digest(scratch):
    from conftest import seed_data

    scratch.write("first-role", seed_data())
    before = make_bundle(scratch.project)
    scratch.write("first-role", {**seed_data(), "title": "Another Role"})
    assert make_bundle(scratch.project).digest != before.digest


def test_unpacked_once_into_the_cache_and_loaded_there(project, tmp_path):
    bundle = make_bundle(project)
    folder = materialise(bundle, tmp_path)
    assert folder == tmp_path / bundle.digest
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert "printshop.toml" in names and "layouts/dossier.css" in names
    assert {f"entries/{p.name}" for p in project.entries_dir.glob("*.yaml")} <= names
    marker = folder / "entries" / "marker"
    marker.write_text("")
    assert materialise(bundle, tmp_path) == folder and marker.exists(), "not unpacked again"
    assert list(tmp_path.iterdir()) == [folder], "nothing else written"
    copy = load_bundle(bundle, tmp_path)
    assert copy.config == project.config and copy.root == folder


def _archive(name: str, kind: bytes = tarfile.REGTYPE) -> Bundle:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = 0 if kind != tarfile.REGTYPE else 2
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
        archive.addfile(info, io.BytesIO(b"hi") if kind == tarfile.REGTYPE else None)
    data = gzip.compress(buffer.getvalue(), mtime=0)
    return Bundle(hashlib.sha256(data).hexdigest(), data)


@pytest.mark.parametrize("name, kind", [("/etc/evil", tarfile.REGTYPE),
                                        ("../evil", tarfile.REGTYPE),
                                        ("entries/../../evil", tarfile.REGTYPE),
                                        ("entries/link", tarfile.SYMTYPE)])
def test_an_unsafe_bundle_is_refused_and_nothing_left(tmp_path, name, kind):
    cache = tmp_path / "cache"
    with pytest.raises(PrintshopError, match="not a file inside the project"):
        materialise(_archive(name, kind), cache)
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_a_damaged_bundle_is_refused(tmp_path):
    bundle = _archive("printshop.toml")
    with pytest.raises(PrintshopError, match="damaged"):
        materialise(Bundle(bundle.digest, bundle.data + b"x"), tmp_path)
