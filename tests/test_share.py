"""Share meta snippets, read as crawlers read them: extruct's Open Graph parser."""

from __future__ import annotations

import contextlib
import logging
from html.parser import HTMLParser

import extruct
import pytest
from click.testing import CliRunner

from conftest import ROOT, SEED, seed_data
from printshop import share
from printshop.cli import main
from printshop.config import Config, load_project
from printshop.errors import ConfigError
from printshop.load import Loaded
from printshop.model import Entry
from printshop.share import RELATIVE_WARNING, meta_snippet

SITE = "https://bestiary.example/"
ALT = 'Share card: "Role" <b>85%</b> & more'


def loaded(data: dict, slug: str = "test-role") -> Loaded:
    return Loaded(slug=slug, path=ROOT / "entries" / f"{slug}.yaml", display=f"{slug}.yaml",
                  entry=Entry.model_validate(data))


def config(**site) -> Config:
    return Config.model_validate({"site": site} if site else {})


def page(snippet: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">\n{snippet}'
            "<title>x</title></head><body><p>x</p></body></html>")


def opengraph(snippet: str) -> dict:
    """The Open Graph properties a crawler reads from a page with the snippet in <head>."""
    found = extruct.extract(page(snippet), syntaxes=["opengraph"], uniform=True)["opengraph"]
    assert len(found) == 1, found
    return found[0]


class _NameMeta(HTMLParser):
    """<meta name=... content=...> tags (Twitter's), which the opengraph syntax skips."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and "name" in attrs:
            self.tags.setdefault(attrs["name"], []).append(attrs.get("content"))


def twitter(snippet: str) -> dict[str, str]:
    reader = _NameMeta()
    reader.feed(page(snippet))
    reader.close()
    assert all(len(values) == 1 for values in reader.tags.values()), reader.tags
    return {name: values[0] for name, values in reader.tags.items() if name.startswith("twitter:")}


@contextlib.contextmanager
def printshop_warnings():
    """Warnings on the "printshop" logger (the CLI stops it propagating to the root)."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep(level=logging.WARNING)
    logger = logging.getLogger("printshop")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_snippet_read_by_an_open_graph_parser(bestiary):
    item = bestiary.loaded[SEED]
    snippet = meta_snippet(item, config(url=SITE), f"{SEED}-og.png", (1200, 630), ALT)
    og = opengraph(snippet)
    image = f"{SITE}cards/{SEED}-og.png"
    assert og["og:image"] == image and og["og:image:secure_url"] == image
    assert og["og:url"] == f"{SITE}dossiers/{SEED}.pdf"
    assert og["@type"] == "article"  # extruct's uniform form carries og:type as @type
    assert og["og:site_name"] == "The Corporate Bestiary"
    assert og["og:title"] == "Junior AI/ML Model Training Assistant"
    assert og["og:description"] == " ".join(item.entry.flight_risk.diagnosis.split())
    assert og["og:image:type"] == "image/png"
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "630")
    assert og["og:image:alt"] == ALT
    assert og["og:locale"] == "en"
    tw = twitter(snippet)
    assert tw == {"twitter:card": "summary_large_image", "twitter:title": og["og:title"],
                  "twitter:description": og["og:description"], "twitter:image": image,
                  "twitter:image:alt": ALT}


def test_long_description_is_cut_at_a_word():
    data = seed_data()
    data["flight_risk"]["diagnosis"] = "Their   core\nfunction " + "is automatable " * 30
    og = opengraph(meta_snippet(loaded(data), config(url=SITE), "x-og.png", (1200, 630), ALT))
    description = og["og:description"]
    assert len(description) <= 200 and description.endswith("…")
    assert description.startswith("Their core function is automatable")
    words = description.removesuffix("…").split(" ")
    assert all(word in ("Their", "core", "function", "is", "automatable") for word in words)
    assert share.shorten("x" * 300) == "x" * 199 + "…"
    assert share.shorten("word " * 40) == ("word " * 40).strip()  # exactly 199: kept whole


def test_title_and_alt_are_escaped():
    data = seed_data()
    data["title"] = 'The <b>"Chief"</b> & \'Officer\''
    snippet = meta_snippet(loaded(data), config(url=SITE), "x-og.png", (1200, 630), ALT)
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet
    assert "&quot;Chief&quot;" in snippet
    og = opengraph(snippet)
    assert og["og:title"] == data["title"]
    assert og["og:image:alt"] == ALT
    assert twitter(snippet)["twitter:title"] == data["title"]
    assert snippet.count("<meta ") == snippet.count("\n")  # no tag broke out of its line


def test_page_template_paths_and_quoted_file_name():
    cfg = config(url="http://example.org/bestiary", cards="static/cards", dossiers="/pdf/",
                 page="roles/{slug}.html")
    og = opengraph(meta_snippet(loaded(seed_data(), slug="a-role"), cfg, "a role-og.webp",
                                (1080, 1080), ALT))
    assert og["og:image"] == "http://example.org/bestiary/static/cards/a%20role-og.webp"
    assert "og:image:secure_url" not in og  # http only
    assert og["og:image:type"] == "image/webp"
    assert og["og:url"] == "http://example.org/bestiary/roles/a-role.html"
    og = opengraph(meta_snippet(loaded(seed_data(), slug="a-role"),
                                config(url="https://example.org/", dossiers="/pdf"),
                                "a-role-og.jpeg", (1080, 1080), ALT))
    assert og["og:url"] == "https://example.org/pdf/a-role.pdf"
    assert og["og:image:type"] == "image/jpeg"


def test_without_site_url_relative_and_warned_once(bestiary):
    item = bestiary.loaded[SEED]
    with printshop_warnings() as warnings:
        snippets = [meta_snippet(item, config(), f"{SEED}-{preset}.png", (1200, 630), ALT)
                    for preset in ("og", "square", "story")]
        share.say_if_relative(config())
        share.say_if_relative(config(url=SITE))
    assert warnings == [RELATIVE_WARNING]  # said by the command, not per snippet
    assert "[site] url" in RELATIVE_WARNING
    og = opengraph(snippets[0])
    assert og["og:image"] == f"{SEED}-og.png"
    assert "og:url" not in og and "og:image:secure_url" not in og
    assert og["og:title"] == "Junior AI/ML Model Training Assistant"
    with printshop_warnings() as warnings:
        meta_snippet(item, config(url=SITE), "x.png", (1200, 630), ALT)
    assert warnings == []


def test_old_base_url_is_refused_with_the_way_out(tmp_path):
    (tmp_path / "printshop.toml").write_text('[cards]\nbase_url = "https://x.example/"\n')
    with pytest.raises(ConfigError) as error:
        load_project(tmp_path)
    message = error.value.message
    assert "printshop.toml: cards: " in message
    assert "base_url is no longer read: use [site] url instead" in message


@pytest.mark.parametrize("url", ["bestiary.example/", "/cards/", "ftp://bestiary.example/",
                                 "https://"])
def test_site_url_must_be_absolute_http(tmp_path, url):
    (tmp_path / "printshop.toml").write_text(f'[site]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as error:
        load_project(tmp_path)
    assert (f"printshop.toml: site.url: must be an absolute http(s) URL like "
            f"'https://bestiary.example/', got '{url}'") in error.value.message


def test_site_page_template_checked(tmp_path):
    (tmp_path / "printshop.toml").write_text('[site]\npage = "roles/{name}.html"\n')
    with pytest.raises(ConfigError) as error:
        load_project(tmp_path)
    assert "site.page: must be a URL template with {slug} only" in error.value.message


def test_cards_command_writes_absolute_meta(scratch):
    config_file = scratch.root / "printshop.toml"
    config_file.write_text(config_file.read_text()
                           + f'\n[site]\nurl = "{SITE}"\npage = "roles/{{slug}}.html"\n')
    data = seed_data()
    data["title"] = "A <b>bold</b> role"
    scratch.write("bold-role", data)
    out = scratch.root / "out"
    result = CliRunner().invoke(main, ["--project", str(scratch.root), "cards", "bold-role",
                                       "--preset", "og", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "no [site] url" not in result.output
    snippet = (out / "cards" / "bold-role.meta.html").read_text(encoding="utf-8")
    og = opengraph(snippet)
    assert og["og:image"] == f"{SITE}cards/bold-role-og.png"
    assert og["og:url"] == f"{SITE}roles/bold-role.html"
    assert og["og:title"] == "A <b>bold</b> role"
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "630")
    alt = (out / "cards" / "bold-role.alt.txt").read_text(encoding="utf-8").strip()
    assert og["og:image:alt"] == alt
    assert twitter(snippet)["twitter:image"] == og["og:image"]


def test_cards_command_without_site_warns_once(scratch):
    scratch.write("one-role", seed_data())
    scratch.write("two-role", seed_data())
    out = scratch.root / "out"
    result = CliRunner().invoke(main, ["--project", str(scratch.root), "cards", "--preset",
                                       "og", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("no [site] url") == 1
    og = opengraph((out / "cards" / "two-role.meta.html").read_text(encoding="utf-8"))
    assert og["og:image"] == "two-role-og.png" and "og:url" not in og


def test_build_in_two_processes_warns_once(scratch):
    """The build draws cards in worker processes; the warning comes from the
    command, once, not from each worker."""
    for slug in ("one-role", "two-role", "three-role"):
        scratch.write(slug, seed_data())
    result = CliRunner().invoke(main, ["--project", str(scratch.root), "build", "--only",
                                       "cards", "--jobs", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.count("no [site] url") == 1


def test_the_meta_snippet_shows_the_og_card_else_the_first():
    from printshop.share import pick_meta_preset

    assert pick_meta_preset(["square", "og", "story"]) == "og"
    assert pick_meta_preset(["square", "story"]) == "square"
    assert pick_meta_preset([]) is None
