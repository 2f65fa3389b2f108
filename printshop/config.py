"""Project configuration: publication-wide text, colours, paper and folders."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from . import PDF_VARIANTS
from .errors import ConfigError

CONFIG_NAME = "printshop.toml"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _hex_colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"must be a colour like '#1a2b3c', got {value!r}")
    return value.lower()


Colour = Annotated[str, AfterValidator(_hex_colour)]


M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """A settings model (printshop.toml, cards.yaml, fonts.yaml): an unknown key is a
    mistake, and settings do not change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_settings(path: Path, model: type[M], what: str) -> M:
    """A YAML settings file of the layouts, read (`yamlcore`) and validated by ``model``."""
    import yaml

    from .yamlcore import CoreLoader

    try:
        return model.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=CoreLoader))
    except OSError as error:
        raise ConfigError(f"cannot read {what} {path}: {error.strerror}") from error
    except (yaml.YAMLError, ValidationError) as error:
        raise ConfigError(f"{path}: {error}") from error


class Publication(ConfigModel):
    publisher: str = "OTIOSE"
    collection: str = "ADULTHOOD"
    title: str = "The Corporate Bestiary"
    language: str = "en"
    date: str | None = Field(
        default=None,
        description="Edition date (YYYY-MM-DD) written into PDF metadata; "
        "SOURCE_DATE_EPOCH overrides it.",
    )


class Colours(ConfigModel):
    ink: Colour = "#17171c"
    muted: Colour = "#5b5b66"
    paper: Colour = "#ffffff"
    rule: Colour = "#c9c6bd"
    accent: Colour = "#b3121f"
    panel: Colour = "#f3f1ea"


class Band(ConfigModel):
    upto: int = Field(ge=0, le=100, description="Highest percent in this band.")
    label: str
    colour: Colour


DEFAULT_BANDS = (
    Band(upto=24, label="LOW RISK", colour="#2a744a"),
    Band(upto=49, label="MODERATE RISK", colour="#836400"),
    Band(upto=74, label="ELEVATED RISK", colour="#ad4c0e"),
    Band(upto=100, label="HIGH RISK", colour="#b3121f"),
)


class FlightRiskBands(ConfigModel):
    bands: list[Band] = Field(default_factory=lambda: list(DEFAULT_BANDS), min_length=1)

    @model_validator(mode="after")
    def _ascending_to_100(self) -> FlightRiskBands:
        limits = [band.upto for band in self.bands]
        if limits != sorted(set(limits)) or limits[-1] != 100:
            raise ValueError(f"band limits must rise and end at 100, got {limits}")
        return self


class Print(ConfigModel):
    paper: Literal["a4", "letter"] = "a4"
    pdf_variant: Literal[PDF_VARIANTS] = Field(
        default=PDF_VARIANTS[0],
        description="PDF variant of dossiers and the book: PDF/UA (accessible, the default), "
        "PDF/A (archive), PDF/X-4 (print exchange) or none (untagged).")


class Folders(ConfigModel):
    entries: str = "entries"
    output: str = "output"


class CustomPreset(ConfigModel):
    """A share-card preset of the project's own: a size, and the parts to show."""

    size: tuple[int, int] = Field(description="Width and height in pixels.")
    layout: str | None = Field(
        default=None, description="Built-in layout to scale; by default the nearest in shape."
    )
    parts: list[str] | None = Field(default=None, description="Text parts to show; default all.")

    @model_validator(mode="after")
    def _sane_size(self) -> CustomPreset:
        if not all(200 <= side <= 4096 for side in self.size):
            raise ValueError(f"size must be 200-4096 pixels a side, got {list(self.size)}")
        return self


class CardSettings(ConfigModel):
    presets: dict[str, CustomPreset] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_base_url(cls, data):
        if isinstance(data, dict) and "base_url" in data:
            raise ValueError("base_url is no longer read: use [site] url instead "
                             "(e.g. url = \"https://bestiary.example/\", with cards = \"cards/\")")
        return data


def _folder_url(value: str) -> str:
    """A path (or URL) that file names are appended to: it ends with '/'."""
    return value if value.endswith("/") else value + "/"


def _site_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"must be an absolute http(s) URL like 'https://bestiary.example/', got {value!r}")
    return _folder_url(value)


def _page_template(value: str) -> str:
    try:
        value.format(slug="x")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"must be a URL template with {{slug}} only, like "
                         f"'roles/{{slug}}.html', got {value!r} ({error})") from None
    return value


class SiteSettings(ConfigModel):
    """Where the outputs are published: the meta snippets' absolute URLs."""

    url: Annotated[str, AfterValidator(_site_url)] | None = Field(
        default=None,
        description="Base URL the outputs are published under (https://...); "
        "without it og:image is relative and og:url is left out.")
    cards: Annotated[str, AfterValidator(_folder_url)] = Field(
        default="cards/", description="Path below url where the share cards sit.")
    dossiers: Annotated[str, AfterValidator(_folder_url)] = Field(
        default="dossiers/", description="Path below url where the dossier PDFs sit.")
    page: Annotated[str, AfterValidator(_page_template)] | None = Field(
        default=None,
        description="Template of a record's own web page below url, e.g. 'roles/{slug}.html'; "
        "by default og:url is the dossier PDF's URL.")


class BookSettings(ConfigModel):
    filename: str = Field(default="bestiary.pdf", pattern=r"^[A-Za-z0-9._-]+\.pdf$")
    subtitle: str = "A Field Guide to the Roles of Corporate Life"
    order: Literal["title", "slug", "flight_risk", "salary"] | list[str] = Field(
        default="title", description="How entries are ordered, or a list of slugs."
    )
    foreword: str | None = Field(
        default=None, description="A Markdown file of the project, printed before the contents."
    )


class BuildSettings(ConfigModel):
    """Where `printshop build` runs its work."""

    scheduler: str | None = Field(
        default=None,
        description="A Dask scheduler's address (tcp://HOST:PORT) to build on a cluster; "
        "PRINTSHOP_SCHEDULER and --scheduler override it. Default: this machine's cores.")


class Config(ConfigModel):
    publication: Publication = Publication()
    colours: Colours = Colours()
    flight_risk: FlightRiskBands = FlightRiskBands()
    print: Print = Print()
    folders: Folders = Folders()
    cards: CardSettings = CardSettings()
    book: BookSettings = BookSettings()
    site: SiteSettings = SiteSettings()
    build: BuildSettings = BuildSettings()

    def band_for(self, percent: int) -> Band:
        """The flight-risk band a percentage falls in."""
        for band in self.flight_risk.bands:
            if percent <= band.upto:
                return band
        return self.flight_risk.bands[-1]

    def created(self) -> str | None:
        """The document date: SOURCE_DATE_EPOCH, else the configured date, else none."""
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch:
            try:
                when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
            except ValueError as error:
                raise ConfigError(f"SOURCE_DATE_EPOCH must be whole seconds, got {epoch!r}") from error
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.publication.date


@dataclass(frozen=True)
class Project:
    """Where a bestiary lives: its config, entries, layouts, fonts and output."""

    root: Path
    config: Config

    @property
    def entries_dir(self) -> Path:
        return self.root / self.config.folders.entries

    @property
    def output_dir(self) -> Path:
        return self.root / self.config.folders.output

    @property
    def layouts_dir(self) -> Path:
        own = self.root / "layouts"
        return own if own.is_dir() else PACKAGE_ROOT / "layouts"

    @property
    def fonts_dir(self) -> Path:
        own = self.root / "fonts"
        return own if own.is_dir() else PACKAGE_ROOT / "fonts"


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding printshop.toml, else ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return start


def load_project(root: Path | None = None) -> Project:
    """Read the project's config (defaults where the file or a key is absent)."""
    root = find_root(Path.cwd()) if root is None else root.resolve()
    path = root / CONFIG_NAME
    data = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: {error}") from error
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        lines = [
            f"{path}: {'.'.join(str(p) for p in e['loc'])}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    return Project(root=root, config=config)
