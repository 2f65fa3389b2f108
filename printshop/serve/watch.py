"""The watcher: polls the project's files and reloads what a change affects.

A change under entries/ reloads the entries; a change anywhere else (a layout,
a font, printshop.toml) reloads the config too, and every preview is redone.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from ..config import Project, load_project
from ..build import check
from ..load import Bestiary

LOGGER = logging.getLogger("printshop")
POLL_SECONDS = 0.25

#: Told of each reload: the project, its entries, and whether everything changed.
Reloaded = Callable[[Project, Bestiary, bool], None]


class Watcher:
    """Polls entries/, layouts/, fonts/ and printshop.toml by modification time and size."""

    def __init__(self, project: Project, reloaded: Reloaded) -> None:
        self.project = project
        self.reloaded = reloaded
        self.stamps: dict[Path, tuple[int, int]] = {}

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

    def reload(self, everything: bool) -> None:
        """Load the entries again (and the config, if ``everything``) and pass them on."""
        if everything:
            self.project = load_project(self.project.root)
        self.reloaded(self.project, check(self.project), everything)

    def run(self, stopping: threading.Event) -> None:
        """Poll until ``stopping`` is set; a failed reload is logged and watching goes on."""
        while not stopping.wait(POLL_SECONDS):
            try:
                changed, shared = self.scan()
                if changed:
                    self.reload(everything=shared)
            except Exception as error:  # keep watching whatever happens
                LOGGER.warning("preview: %s", error)
