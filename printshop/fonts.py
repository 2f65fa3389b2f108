"""The bundled fonts' jobs (``layouts/fonts.yaml``), for both renderers.

One list of fallbacks per weight serves the cards (Pillow, through
`text.FontChain`) and the PDFs (WeasyPrint, through the fontconfig file
`resources.fontconfig_file` writes): a character the CSS font or the card
role's font lacks comes from the first font of the list that has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


from .config import ConfigModel, read_settings
from .errors import ConfigError
from .report import noun_form

FONTS_FILE = "fonts.yaml"
Weight = Literal["regular", "bold"]


class Role(ConfigModel):
    file: str
    fallbacks: Weight = "regular"


class FontPlan(ConfigModel):
    roles: dict[str, Role]
    fallbacks: dict[Weight, list[str]]
    colour_emoji: str | None = None


def family_name(path: str) -> str:
    """A font file's family as fontconfig names it (the typographic family if any),
    from the cached font facts (`fontfacts`: no font is parsed twice)."""
    from .fontfacts import family_name as cached_family_name

    return cached_family_name(path)


@dataclass(frozen=True)
class Fonts:
    """The font plan with its files found: chains for card roles, families for PDFs."""

    fonts_dir: Path
    plan: FontPlan

    def path(self, name: str) -> str:
        return str(self.fonts_dir / name)

    @property
    def colour_emoji(self) -> str | None:
        return self.path(self.plan.colour_emoji) if self.plan.colour_emoji else None

    def chain(self, role: str):
        """The card font of ``role`` with its fallbacks (and the colour emoji font)."""
        from .text import FontChain

        spec = self.plan.roles[role]
        first = self.path(spec.file)
        rest = [self.path(f) for f in self.plan.fallbacks.get(spec.fallbacks, [])]
        return FontChain((first, *(p for p in rest if p != first)), self.colour_emoji)

    def fallback_families(self) -> list[str]:
        """The families PDFs fall back on, in order (fontconfig picks the weight)."""
        seen: dict[str, None] = {}
        for weight in ("regular", "bold"):
            for name in self.plan.fallbacks.get(weight, []):
                seen.setdefault(family_name(self.path(name)))
        return list(seen)

    def coverage(self):
        """What the fallback chains can print (`fontfacts.Coverage`): for the entries'
        one check of characters no bundled font has."""
        from .fontfacts import Coverage

        return Coverage([self.path(f) for f in files] for files in self.plan.fallbacks.values())

    def hidden(self) -> list[Path]:
        """Font files fontconfig must not see (the colour emoji, for cards only)."""
        return [self.fonts_dir / self.plan.colour_emoji] if self.plan.colour_emoji else []


def load_fonts(layouts_dir: Path, fonts_dir: Path) -> Fonts:
    """Read ``layouts/fonts.yaml`` and check that every file it names is bundled."""
    path = layouts_dir / FONTS_FILE
    plan = read_settings(path, FontPlan, "the font plan")
    named = [r.file for r in plan.roles.values()]
    named += [f for files in plan.fallbacks.values() for f in files]
    named += [plan.colour_emoji] if plan.colour_emoji else []
    missing = sorted({f for f in named if not (fonts_dir / f).is_file()})
    if missing:
        raise ConfigError(f"{path}: {noun_form(len(missing), 'font file')} missing from "
                          f"{fonts_dir}: {', '.join(missing)}")
    if plan.colour_emoji:
        from .fontfacts import is_colour

        if not is_colour(str(fonts_dir / plan.colour_emoji)):
            raise ConfigError(f"{path}: colour_emoji: {plan.colour_emoji} has no COLR "
                              "table; name a COLR colour font (Pillow draws it at any size)")
    return Fonts(fonts_dir, plan)
