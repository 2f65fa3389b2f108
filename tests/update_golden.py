"""Regenerate the golden images: `.venv/bin/python tests/update_golden.py`.

Run it only after a deliberate change of the layout, and look at every image
it writes (tests/golden/*.png) before committing them.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from conftest import SEED  # noqa: E402
from pdfview import render_page  # noqa: E402

from printshop.cards import Cards, encode  # noqa: E402
from printshop.config import load_project  # noqa: E402
from printshop.dossier import Dossiers  # noqa: E402
from printshop.load import load_bestiary  # noqa: E402


def main() -> None:
    project = load_project(HERE.parent)
    bestiary = load_bestiary(project.entries_dir)
    pdf = Dossiers(project).pdf(bestiary.loaded[SEED], bestiary)
    golden = HERE / "golden"
    golden.mkdir(exist_ok=True)
    for index in (0, 1):
        path = golden / f"dossier-p{index + 1}.png"
        render_page(pdf, index, dpi=50).save(path, optimize=True)
        print("wrote", path)
    cards = Cards(project)
    for preset in ("og", "square", "portrait", "story"):
        path = golden / f"card-{preset}.png"
        path.write_bytes(encode(cards.render(bestiary.loaded[SEED], preset), "png").data)
        print("wrote", path)
    from test_cards import loaded
    from test_scripts import SCRIPTS, entry

    for name in SCRIPTS:  # an og card per writing system (tests/data/scripts.yaml)
        path = golden / f"card-og-{name}.png"
        path.write_bytes(encode(cards.render(loaded(entry(name), name), "og"), "png").data)
        print("wrote", path)


if __name__ == "__main__":
    main()
