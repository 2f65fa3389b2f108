"""Entries are data: markup prints as text, and the renderer reads only layouts and fonts."""

from __future__ import annotations

import pytest

from conftest import no_render_warnings, seed_data
from pdfview import page_texts, squash

HOSTILE = [
    "<b>bold?</b> <script>alert(1)</script>",
    '<img src="file:///etc/passwd">',
    "<style>@import url(file:///etc/passwd);</style>",
    "{{ 7*7 }} {% if true %}jinja{% endif %}",
    "url(file:///etc/hostname) </p></article><h2>Injected</h2>",
]


def render(scratch, data):
    from printshop.dossier import Dossiers
    from printshop.load import load_bestiary

    scratch.write("hostile-role", data)
    project = scratch.project
    bestiary = load_bestiary(project.entries_dir)
    item = bestiary.loaded["hostile-role"]
    assert item.ok, [str(p) for p in item.problems]
    renderer = Dossiers(project)
    with no_render_warnings():
        pdf = renderer.pdf(item, bestiary)
    return renderer, pdf


def test_markup_and_template_syntax_print_literally(scratch):
    data = seed_data()
    data["title"] = HOSTILE[0]
    data["aliases"] = HOSTILE
    data["flight_risk"]["diagnosis"] = HOSTILE[3]
    data["metrics"][0]["description"] = HOSTILE[4]
    renderer, pdf = render(scratch, data)
    text = squash(" ".join(page_texts(pdf)))
    for hostile in HOSTILE:
        assert squash(hostile) in text
    assert "49" not in text.replace("2049", ""), "{{ 7*7 }} is never evaluated"
    assert renderer.fetcher.refused == [], "escaped markup asks for nothing"


def test_fetcher_refuses_everything_outside_layouts_and_fonts(project, tmp_path):
    from printshop.resources import Refused, make_fetcher

    fetcher = make_fetcher([project.layouts_dir, project.fonts_dir])
    css = project.layouts_dir / "dossier.css"
    assert fetcher.fetch(css.as_uri()).read() == css.read_bytes()
    outside = [
        "file:///etc/passwd",
        (project.layouts_dir / ".." / "printshop.toml").as_uri(),
        project.layouts_dir.as_uri() + "/../printshop.toml",
        "http://127.0.0.1:9/x.css",
        "https://example.invalid/font.ttf",
        "data:text/css,body{}",
        "ftp://127.0.0.1/x",
    ]
    link = project.layouts_dir / "link-out.css"
    try:
        link.symlink_to("/etc/passwd")
        outside.append(link.as_uri())
        for url in outside:
            with pytest.raises(Refused):
                fetcher.fetch(url)
    finally:
        link.unlink(missing_ok=True)
    assert fetcher.refused == outside


def test_a_slug_cannot_write_outside_the_output_folder(tmp_path):
    from printshop.errors import RenderError
    from printshop.model import is_slug
    from printshop.output import target

    for slug in ("../evil", "a/b", "..", "/etc/passwd", "x\x00y", "Upper"):
        assert not is_slug(slug)
    for name in ("../evil.pdf", "/tmp/evil.pdf", "sub/evil.pdf"):
        with pytest.raises(RenderError):
            target(tmp_path, name)
    assert target(tmp_path, "fine.pdf") == (tmp_path / "fine.pdf").resolve()


def test_only_bundled_fonts_are_visible_to_fontconfig(project):
    """Fontconfig is pointed at fonts/ alone: no machine font can stand in."""
    import os

    from printshop.fonts import load_fonts
    from printshop.resources import fontconfig_file

    fonts = load_fonts(project.layouts_dir, project.fonts_dir)
    path = fontconfig_file(project.fonts_dir, fonts.fallback_families(), fonts.hidden())
    conf = path.read_text()
    assert f"<dir>{project.fonts_dir.resolve()}</dir>" in conf
    assert conf.count("<dir>") == 1 and "<include" not in conf
    # The fallbacks, in the order layouts/fonts.yaml gives them; the colour
    # emoji (for cards) hidden from the PDFs.
    families = [line.strip()[8:-9] for line in conf.splitlines() if "<string>" in line]
    assert families[:3] == ["IBM Plex Sans", "Noto Sans Arabic", "Noto Sans Hebrew"]
    assert families[-1] == "Noto Emoji"
    assert "TwemojiMozilla" in conf.split("<rejectfont>")[1]
    from printshop.dossier import Dossiers

    Dossiers(project)
    assert os.environ["FONTCONFIG_FILE"] == str(path)
