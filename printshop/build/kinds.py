"""The kinds of output, one per stage: what each is keyed on, which files it writes
(relative to the output folder), which warm renderer makes it, and how. A kind's
`make` returns its files as bytes; only the client writes them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Mapping

from ..load import Bestiary, Loaded
from ..report import plural
from .plan import PARTS_DIR, Task, digest, related

if TYPE_CHECKING:
    from .worker import Worker, WorkerSetup

LOGGER = logging.getLogger("printshop")


class Kind:
    """One stage's output: ``renderer`` is the warm renderer its `make` uses; tasks of
    a lower ``rank`` start first (the book's parts: the longest chain of work)."""

    stage: str
    renderer: str
    rank: int = 2

    def key(self, setup: WorkerSetup, common: str, item: Loaded | None,
            bestiary: Bestiary) -> str:
        """What the output depends on (``common``: `plan.fingerprint`)."""
        raise NotImplementedError

    def outputs(self, setup: WorkerSetup, slug: str | None, key: str) -> tuple[str, ...]:
        """The files a task writes, relative to the output folder."""
        raise NotImplementedError

    def make(self, worker: Worker, task: Task, inputs: Mapping[str, bytes]) -> dict[str, bytes]:
        """The task's files: relative path -> bytes."""
        raise NotImplementedError


class Dossiers(Kind):
    stage, renderer = "dossiers", "dossiers"

    def key(self, setup, common, item, bestiary):
        return digest(common, "dossier", setup.options.variant(setup.project.config),
                      item.digest, related(item, bestiary))

    def outputs(self, setup, slug, key):
        return (f"dossiers/{slug}.pdf",)

    def make(self, worker, task, inputs):
        renderer, bestiary = worker.renderer(self.renderer), worker.bestiary
        item = bestiary.loaded[task.slug]
        document = renderer.render(item, bestiary)
        data = renderer.pdf(item, bestiary, document)
        LOGGER.info("laid out %s (%d pages)", task.outputs[0], len(document.pages))
        return {task.outputs[0]: data}


class Cards(Kind):
    stage, renderer = "cards", "cards"

    def key(self, setup, common, item, bestiary):
        return digest(common, "cards", item.digest, list(setup.card_options[0]))

    def outputs(self, setup, slug, key):
        from ..share import pick_meta_preset

        names, fmt, _ = setup.card_options
        extension = "jpg" if fmt == "jpeg" else fmt
        meta = (f"cards/{slug}.meta.html",) if pick_meta_preset(names) else ()
        return (*(f"cards/{slug}-{name}.{extension}" for name in names),
                f"cards/{slug}.alt.txt", *meta)

    def make(self, worker, task, inputs):
        """Draw one entry's cards, its alt text and meta snippet."""
        from ..cards import alt_text, encode
        from ..share import meta_snippet, pick_meta_preset

        renderer, item = worker.renderer(self.renderer), worker.bestiary.loaded[task.slug]
        names, fmt, scale = worker.card_options
        alt = alt_text(item, renderer.config)
        meta, meta_preset = None, pick_meta_preset(names)
        files = {}
        for name in names:
            card = renderer.render(item, name, scale)
            encoded = encode(card, fmt)
            filename = f"{item.slug}-{name}.{encoded.extension}"
            if encoded.note:
                LOGGER.warning("%s: %s", filename, encoded.note)
            files[f"cards/{filename}"] = encoded.data
            if name == meta_preset:
                meta = meta_snippet(item, renderer.config, filename, card.image.size, alt)
        files[f"cards/{item.slug}.alt.txt"] = (alt + "\n").encode()
        if meta:
            files[f"cards/{item.slug}.meta.html"] = meta.encode()
        return files


class Parts(Kind):
    """One record of the parallel book, laid out alone, for the parts cache."""

    stage, renderer, rank = "parts", "book", 0

    def outputs(self, setup, slug, key):
        from ..book import RecordPart

        return RecordPart.files(f"{PARTS_DIR}/{key}")

    def make(self, worker, task, inputs):
        from ..book import render_part

        bestiary = worker.bestiary
        in_book = {item.slug for item in bestiary.valid}
        part = render_part(worker.renderer(self.renderer), bestiary.loaded[task.slug],
                           bestiary, in_book)
        return part.to_files(f"{PARTS_DIR}/{task.key}")


class Book(Kind):
    """The book: in one pass, or (with ``task.parts``) joined from the parts cache,
    each part as soon as it is laid out (`joining`: the client joins the parts as
    their results come in, `commands.with_book_joined`)."""

    stage, renderer, rank = "book", "book", 1

    def key(self, setup, common, item, bestiary):
        return digest(common, "book", setup.options.variant(setup.project.config),
                      sorted((i.slug, i.digest) for i in bestiary.valid),
                      sorted(i.display for i in bestiary.selected if not i.ok))

    def outputs(self, setup, slug, key):
        return (f"book/{setup.project.config.book.filename}",)

    def make(self, worker, task, inputs):
        if task.parts:
            joining = self.joining(worker, task, inputs)
            joining.ready(*(slug for slug, _ in task.parts))
            return self.finish(worker, task, joining)
        printer = worker.renderer(self.renderer)
        say_left_out(worker.bestiary)
        laid_out = printer.render(worker.bestiary)  # the single pass
        return self._files(task, laid_out, printer.pdf(laid_out))

    def joining(self, worker: Worker, task: Task, files: Mapping[str, bytes]):
        """The book's parts, read from ``files``, to be joined as they are laid out."""
        from ..book import Joining

        return Joining(worker.renderer(self.renderer), worker.bestiary,
                       {slug: f"{PARTS_DIR}/{key}" for slug, key in task.parts}, files)

    def finish(self, worker: Worker, task: Task, joining, submit=None) -> dict[str, bytes]:
        """The book's file, every part joined (``submit``: see `book.stitch`)."""
        say_left_out(worker.bestiary)
        laid_out = joining.finish(submit)
        return self._files(task, laid_out, laid_out.pdf())

    def _files(self, task: Task, laid_out, data: bytes) -> dict[str, bytes]:
        LOGGER.info("laid out %s (%d pages, %d specimens)", task.outputs[0],
                    laid_out.page_count, len(laid_out.records))
        return {task.outputs[0]: data}


def say_left_out(bestiary: Bestiary) -> None:
    """The book is printed without broken entries, and says which."""
    left_out = [item.display for item in bestiary.selected if not item.ok]
    if left_out:
        LOGGER.warning("the book leaves out %s with errors: %s",
                       plural(len(left_out), "entry"), ", ".join(left_out))


KINDS: dict[str, Kind] = {kind.stage: kind for kind in (Dossiers(), Cards(), Parts(), Book())}
