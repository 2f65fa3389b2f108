"""Shared fixtures: the project, a warm renderer, the seed's dossier, scratch projects."""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

import os

import pytest
import yaml
from hypothesis import settings

# Property tests: a bounded run in CI; `HYPOTHESIS_PROFILE=long make test` for a
# longer local search.
settings.register_profile("ci", max_examples=25, derandomize=True)
settings.register_profile("long", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from printshop.config import load_project
from printshop.load import MODELINE, load_bestiary

ROOT = Path(__file__).resolve().parent.parent
# The test data the tests read (BLNS, the seed record's plain text), carried by
# the project so that a clone alone passes: see tests/data/README.md.
DATA = ROOT / "tests" / "data"
SEED = "junior-ai-ml-model-training-assistant"
FAILURES = ROOT / "tests" / "failures"


@contextlib.contextmanager
def no_render_warnings():
    """Fail if WeasyPrint (or printshop) warned while rendering (a lost font, a bad CSS rule)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("weasyprint", "printshop")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert not records, [r.getMessage() for r in records]


@pytest.fixture(scope="session")
def project():
    return load_project(ROOT)


@pytest.fixture(scope="session")
def bestiary(project):
    return load_bestiary(project.entries_dir)


@pytest.fixture(scope="session")
def renderer(project):
    from printshop.dossier import Dossiers

    return Dossiers(project)


@pytest.fixture(scope="session")
def seed_pdf(renderer, bestiary) -> bytes:
    item = bestiary.loaded[SEED]
    with no_render_warnings():
        return renderer.pdf(item, bestiary)


def seed_data() -> dict:
    """The seed entry as plain data, to vary in tests.

    Related roles are given by title, so the entry stands alone in a scratch
    project that lacks the other entries.
    """
    data = yaml.safe_load((ROOT / "entries" / f"{SEED}.yaml").read_text(encoding="utf-8"))
    for related in data["related"]:
        if "slug" in related:
            path = ROOT / "entries" / f"{related.pop('slug')}.yaml"
            related["title"] = yaml.safe_load(path.read_text(encoding="utf-8"))["title"]
    return data


class Scratch:
    """A throwaway project: the real config, layouts and fonts, its own entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = root / "entries"
        self.entries.mkdir(parents=True)
        shutil.copy(ROOT / "printshop.toml", root / "printshop.toml")

    def write(self, slug: str, data: dict | str) -> Path:
        text = data if isinstance(data, str) else MODELINE + "\n" + yaml.safe_dump(
            data, allow_unicode=True, sort_keys=False, width=1000)
        path = self.entries / f"{slug}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    @property
    def project(self):
        return load_project(self.root)


@pytest.fixture
def scratch(tmp_path) -> Scratch:
    return Scratch(tmp_path / "project")
