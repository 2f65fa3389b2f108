"""`printshop serve`: a live preview of every entry in the browser.

One process keeps the renderers warm (fonts loaded once). Read it in the order
the data flows:

- `watch`: polls entries/, layouts/, fonts/ and printshop.toml and reloads
  the entries (and the config, when something shared changed);
- `render`: queues what the reload affects and re-renders it on one thread
  (the dossier's pages rasterised with PDFium, every card preset, the alt text
  and meta snippet, or the entry's problems; the book when a page asks);
- `events`: tells open pages what changed, by server-sent events (`/events`);
  each page then fetches the new fragment itself;
- `handler`: the URLs, answered from memory (templates in layouts/preview/);
- `studio`: the three wired together, and `make_server`.
"""

from .handler import PreviewHandler, PreviewServer
from .render import BookPreview, EntryPreview, Renderer
from .studio import Studio, make_server, preview_templates

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

__all__ = ["LOCAL_HOSTS", "BookPreview", "EntryPreview", "PreviewHandler", "PreviewServer",
           "Renderer", "Studio", "make_server", "preview_templates"]
