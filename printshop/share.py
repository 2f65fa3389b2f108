"""Share meta: the <meta> tags that make a link to a role show its card.

`meta_snippet` writes the Open Graph and Twitter tags a site pastes into the
<head> of a role's page (``output/cards/<slug>.meta.html``). Their URLs come
from ``[site]`` in printshop.toml; every value is HTML-escaped, as entry text
is data.
"""

from __future__ import annotations

import html
import logging
from pathlib import PurePosixPath
from typing import Collection
from urllib.parse import quote, urljoin

from .config import Config
from .load import Loaded
from .model import flat

LOGGER = logging.getLogger("printshop")
DESCRIPTION_MAX = 200  # characters of og:description, "…" included
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".webp": "image/webp"}
RELATIVE_WARNING = (
    "printshop.toml has no [site] url: og:image and og:url in the meta snippets are "
    "relative; social sites ignore relative URLs. Set [site] url = \"https://...\"")


def pick_meta_preset(names: Collection[str]) -> str | None:
    """The card preset the meta snippet shows: ``og`` when drawn, else the first."""
    return "og" if "og" in names else next(iter(names), None)


def meta_snippet(item: Loaded, config: Config, image_name: str, size: tuple[int, int],
                 alt: str) -> str:
    """The <meta> tags that make a link to this role show its card.

    With ``[site] url`` every URL is absolute: og:image is the cards' folder
    below the url plus the (URL-quoted) file name, og:url the record's page
    (``[site] page``) or else its dossier PDF.

    Without it, og:image is the bare file name (as the card sits next to the
    snippet) and og:url is left out rather than made relative: og:url is the
    canonical address a crawler files the share under, and a relative path
    (such as ``../dossiers/<slug>.pdf``) only holds for a page in the output's
    own ``cards`` folder. Left out, a crawler takes the address of the page it
    fetched, which is right wherever the snippet is pasted. This is said once
    per process as a warning.
    """
    entry = item.entry
    site = config.site
    name = quote(image_name)
    if site.url:
        image = urljoin(site.url, site.cards) + name
        if site.page:
            page = urljoin(site.url, site.page.format(slug=quote(item.slug)))
        else:
            page = urljoin(site.url, site.dossiers) + quote(f"{item.slug}.pdf")
    else:
        image, page = name, None  # the build says so once: say_if_relative
    description = shorten(entry.flight_risk.diagnosis)
    tags: list[tuple[str, str, str]] = [
        ("property", "og:type", "article"),
        ("property", "og:site_name", config.publication.title),
        ("property", "og:title", entry.title),
        ("property", "og:description", description),
    ]
    if locale := og_locale(config.publication.language):
        tags.append(("property", "og:locale", locale))
    if page:
        tags.append(("property", "og:url", page))
    tags.append(("property", "og:image", image))
    if image.startswith("https://"):
        tags.append(("property", "og:image:secure_url", image))
    if kind := IMAGE_TYPES.get(PurePosixPath(image_name).suffix.lower()):
        tags.append(("property", "og:image:type", kind))
    tags += [
        ("property", "og:image:width", str(size[0])),
        ("property", "og:image:height", str(size[1])),
        ("property", "og:image:alt", alt),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", entry.title),
        ("name", "twitter:description", description),
        ("name", "twitter:image", image),
        ("name", "twitter:image:alt", alt),
    ]
    lines = [f'<meta {attr}="{key}" content="{html.escape(flat(value), quote=True)}">'
             for attr, key, value in tags]
    return "\n".join(lines) + "\n"


def shorten(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """Whitespace collapsed; over ``limit`` characters, cut at a word and ended with "…"."""
    text = flat(text)
    if len(text) <= limit:
        return text
    cut = text[:limit]  # one more than fits with "…": a space there means a whole word
    head, space, _ = cut.rpartition(" ")
    kept = head if space else cut[:limit - 1]
    return kept.rstrip(" ,;:.-–—") + "…"


def og_locale(language: str) -> str | None:
    """og:locale from the publication's language tag: "en" -> "en", "en-GB" -> "en_GB"."""
    parts = language.strip().split("-")
    if not parts[0].isalpha():
        return None
    if len(parts) >= 2 and len(parts[1]) == 2 and parts[1].isalpha():
        return f"{parts[0].lower()}_{parts[1].upper()}"
    return parts[0].lower()


def say_if_relative(config) -> None:
    """Warn that the meta snippets' URLs are relative when there is no ``[site] url``.
    Said by the command (once per run), not by each snippet: a build draws cards in
    several processes."""
    if config.site.url is None:
        LOGGER.warning(RELATIVE_WARNING)
