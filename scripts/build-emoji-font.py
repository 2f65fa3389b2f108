"""Build printshop's colour emoji font from Twemoji Mozilla (a COLRv0 font):

    .venv/bin/python scripts/build-emoji-font.py twemoji.woff2 fonts/twemoji/TwemojiMozilla-printshop.ttf

``twemoji.woff2`` is npm `twemoji-colr-font` 15.0.3. Two changes, nothing else:
the file is TrueType (Pillow's FreeType reads no WOFF2 here), and each colour
glyph's empty base outline becomes the union of its layers (composite
components). Pillow sizes the drawing from the base outline: with Mozilla's
empty ones, every emoji drew nothing. The output is byte-identical run to run.
"""

import sys

from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent


def main(source: str, target: str) -> None:
    font = TTFont(source, recalcTimestamp=False)
    font.flavor = None
    glyf = font["glyf"]
    for base, layers in font["COLR"].ColorLayers.items():
        if glyf[base].numberOfContours != 0:
            continue  # the base has an outline of its own
        composite = Glyph()
        composite.numberOfContours = -1
        composite.components = []
        for layer in layers:
            component = GlyphComponent()
            component.glyphName, component.x, component.y, component.flags = layer.name, 0, 0, 0
            composite.components.append(component)
        glyf[base] = composite
    font.save(target)


if __name__ == "__main__":
    main(*sys.argv[1:3])
