"""The studio: the watcher, the renderer and the broadcaster, wired and started."""

from __future__ import annotations

import threading

from ..config import Project
from .events import Broadcaster
from .handler import PreviewServer
from .render import BookPreview, EntryPreview, Renderer
from .watch import Watcher


class Studio:
    """Watcher -> renderer -> broadcaster: the first two on threads of their own."""

    def __init__(self, project: Project) -> None:
        self.stopping = threading.Event()
        self.events = Broadcaster()
        self.renderer = Renderer(project, announce=self.events.announce)
        self.watcher = Watcher(project, reloaded=self.renderer.update)

    @property
    def project(self) -> Project:
        return self.renderer.project

    @property
    def previews(self) -> dict[str, EntryPreview]:
        return self.renderer.entries()

    @property
    def book(self) -> BookPreview:
        return self.renderer.book

    def start(self) -> None:
        """Load the entries, then watch and render on two daemon threads."""
        from ..share import say_if_relative

        say_if_relative(self.project.config)
        self.watcher.scan()
        self.watcher.reload(everything=False)
        threading.Thread(target=self.watcher.run, args=(self.stopping,),
                         name="printshop-watch", daemon=True).start()
        threading.Thread(target=self.renderer.run, name="printshop-render", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.renderer.stop()


def preview_templates(project: Project):
    """The preview's Jinja environment (autoescaped, like every layout)."""
    from ..press import layout_environment

    return layout_environment(project.layouts_dir)


def make_server(project: Project, host: str = "127.0.0.1", port: int = 8000):
    """The preview server and its studio (started: watching and rendering)."""
    studio = Studio(project)
    server = PreviewServer((host, port), studio, preview_templates(project))
    studio.start()
    return server, studio
