"""YAML as printshop reads every file of its own (entries, card layouts, the font
plan): safe, and with YAML 1.2-like scalars.

YAML 1.1 reads ``10:00`` as the number 600, ``no`` and ``on`` as booleans and
``2024-01-01`` as a date; in a role record or a layout those are text.
"""

from __future__ import annotations

import re

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CoreLoader(_Loader):
    """A safe loader (libyaml when present) that resolves only YAML 1.2's core scalars."""


CoreLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    CoreLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))

#: The tags of the scalars `CoreLoader` resolves (anything else was written as a tag).
SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
