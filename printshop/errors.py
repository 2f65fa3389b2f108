"""One exception family, rooted in click's, so users see 'Error: ...' and never a traceback."""

from __future__ import annotations

import click


class PrintshopError(click.ClickException):
    """Anything printshop reports to the user and stops for."""


class ConfigError(PrintshopError):
    """printshop.toml (or the environment) is wrong."""


class EntryError(PrintshopError):
    """One or more entries are invalid; the problems were already reported."""


class RenderError(PrintshopError):
    """A document could not be rendered or written."""
