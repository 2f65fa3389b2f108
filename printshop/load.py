"""Load and validate entries: YAML text to `Entry` models, every problem with its place.

Stage one of every command. All entries are gathered and checked before
anything renders; a broken entry is recorded and skipped, never fatal.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from .model import Entry, is_slug, slug_from
from .report import Problem, Severity, failing
from .yamlcore import SCALAR_TAGS, CoreLoader

MAX_BYTES = 1_000_000
MAX_NODES = 50_000
MAX_DEPTH = 32
MODELINE = "# yaml-language-server: $schema=entry.schema.json"

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class Loaded:
    """The outcome of loading one file: its entry, or the problems that stopped it."""

    slug: str
    path: Path
    display: str
    entry: Entry | None = None
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""
    marks: _Marks | None = None

    @property
    def ok(self) -> bool:
        return self.entry is not None and not self.errors

    @property
    def errors(self) -> list[Problem]:
        return failing(self.problems)


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working folder when inside it."""
    absolute = Path(os.path.abspath(path))
    cwd = Path.cwd()
    return str(absolute.relative_to(cwd)) if absolute.is_relative_to(cwd) else str(absolute)


class _Marks:
    """Line and column (1-based) of every value and key, by field path."""

    def __init__(self) -> None:
        self.values: dict[tuple, tuple[int, int]] = {}
        self.keys: dict[tuple, tuple[int, int]] = {}
        #: Values already reported while reading (a refused tag, an alias): validation
        #: does not report them a second time.
        self.reported: set[tuple] = set()

    def already_reported(self, loc: tuple) -> bool:
        return any(loc[:n] in self.reported for n in range(len(loc) + 1))

    def at(self, loc: tuple, key: bool = False) -> tuple[int, int]:
        table = self.keys if key else self.values
        while loc:
            if loc in table:
                return table[loc]
            if loc in self.values:
                return self.values[loc]
            loc = loc[:-1]
        return self.values.get((), (1, 1))


class _Lines:
    """Line and column (1-based) as editors count them: only LF, CRLF and CR end a
    line. (The YAML parser also counts U+0085, U+2028 and U+2029, which editors
    show inside a line, so its own line numbers drift after one.) Columns count
    characters; a tab is one."""

    _END = re.compile(r"\r\n|\r|\n")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in self._END.finditer(text)]

    def indentation_tab(self, index: int) -> bool:
        """Whether the character at ``index`` is a tab with only blanks before it on its line."""
        if self.text[index:index + 1] != "\t":
            return False
        start = self.starts[bisect.bisect_right(self.starts, index) - 1]
        return not self.text[start:index].strip(" \t")

    def question_mark(self, mark) -> tuple[int, int] | None:
        """Where the ``?`` before an empty key is (the parser marks the token after it)."""
        index = len(self.text[:mark.index].rstrip(" \t\r\n")) - 1
        if index < 0 or self.text[index] != "?":
            return None
        return self.at_index(index)

    def tabbed_lines(self) -> int:
        """How many lines start with a tab."""
        return sum(self.text.startswith("\t", start) for start in self.starts)

    def of(self, mark) -> tuple[int, int]:
        """Where a parser mark (its character index) is."""
        return self.at_index(mark.index)

    def at_index(self, index: int) -> tuple[int, int]:
        """Line and column of the character at ``index``."""
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


def _mark(node: yaml.Node, lines: _Lines) -> tuple[int, int]:
    return lines.of(node.start_mark)


class _Converter:
    """Turns a composed YAML node tree into plain data, recording marks and problems."""

    def __init__(self, loader: yaml.Loader, add, lines: _Lines) -> None:
        self.loader = loader
        self.add = add
        self.lines = lines
        self.marks = _Marks()
        self.seen: set[int] = set()
        self.count = 0
        self.aliases: list[tuple] = []  # field paths where an alias stood

    def convert(self, node: yaml.Node, loc: tuple = (), depth: int = 0):
        self.marks.values[loc] = _mark(node, self.lines)
        self.count += 1
        if id(node) in self.seen:
            self.aliases.append(loc)
            self.marks.reported.add(loc)
            return None
        self.seen.add(id(node))
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig(_mark(node, self.lines))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth) if self._tag_ok(node, _MAP_TAG, loc) else None
        if isinstance(node, yaml.SequenceNode):
            if not self._tag_ok(node, _SEQ_TAG, loc):
                return None
            return [self.convert(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        if not self._tag_ok(node, SCALAR_TAGS, loc):
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as error:
            self.add(loc, _mark(node, self.lines), f"cannot read {node.value!r}: {error}")
            self.marks.reported.add(loc)
            return None

    def _tag_ok(self, node: yaml.Node, allowed, loc: tuple) -> bool:
        if node.tag == allowed or node.tag in allowed:
            return True
        self.marks.reported.add(loc)
        self.add(loc, _mark(node, self.lines), f"tag {node.tag!r} is not allowed; entries are plain data "
                 "(text, numbers, lists and mappings)")
        return False

    def _mapping(self, node: yaml.MappingNode, loc: tuple, depth: int) -> dict:
        result: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if id(key_node) in self.seen:  # an alias as a key: placed at its *name
                self.aliases.append(loc)
                continue
            self.seen.add(id(key_node))
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "" and not key_node.style:
                # ``?`` with nothing after it: the parser places the empty key at the next token
                where = self.lines.question_mark(key_node.start_mark)
                self.add(loc, where or _mark(key_node, self.lines),
                         f"an empty key{' (a ? with no name)' if where else ''}; write a field name")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                kind = ("a list" if isinstance(key_node, yaml.SequenceNode) else
                        "a mapping" if isinstance(key_node, yaml.MappingNode) else
                        "not text" if key_node.tag in SCALAR_TAGS else
                        f"tagged {key_node.tag}")
                self.add(loc, _mark(key_node, self.lines),
                         f"keys must be plain names; this key is {kind}: write a field name")
                continue
            key = key_node.value
            if not key.strip():
                self.add(loc, _mark(key_node, self.lines),
                         f"an empty key ({json.dumps(key)}); write a field name")
                continue
            if key == "<<":
                self.add(loc, _mark(key_node, self.lines), "merge keys (<<) are not allowed; write the fields out")
                continue
            here = (*loc, key)
            if key in result:
                self.add(here, _mark(key_node, self.lines),
                         f"duplicate key {key!r} (first at line {first_line[key]}); "
                         "delete one of them")
                continue
            first_line[key] = _mark(key_node, self.lines)[0]
            self.marks.keys[here] = _mark(key_node, self.lines)
            result[key] = self.convert(value_node, here, depth + 1)
        return result


class _TooBig(Exception):
    def __init__(self, mark: tuple[int, int]) -> None:
        self.mark = mark


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
SHOWN_KEY = 40  # characters of an odd key shown in a field path


def _field_path(loc: tuple) -> str:
    """``habitat[0].detail``; a key that is not a plain name is quoted and escaped as
    JSON (``"foo\\nbar"``, ``""``) and shortened, so the path stays on one line."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = str(part)
        if not _PLAIN_NAME.match(name):
            shown = name if len(name) <= SHOWN_KEY else name[:SHOWN_KEY - 1] + "…"
            name = json.dumps(shown, ensure_ascii=False)
        text += f".{name}" if text else name
    return text


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (for 'did you mean')."""
    cls: typing.Any = Entry
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or part not in cls.model_fields:
            return None
        cls = _unwrap(cls.model_fields[part].annotation)
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _unwrap(annotation):
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


_KINDS = {str: "text", int: "a whole number", float: "a number", bool: "true/false",
          type(None): "an empty value", list: "a list", dict: "a mapping"}


def _kind(value) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: dict) -> str:
    """Pydantic's error in an editor's words."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        key = error["loc"][-1]
        model = _model_at(error["loc"][:-1])
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if close:
            return f"unknown field; did you mean {close[0]!r}?"
        return f"unknown field; expected one of: {', '.join(known)}"
    expected = {"string_type": "text", "int_type": "a whole number", "float_type": "a number",
                "list_type": "a list", "model_type": "a mapping of fields",
                "model_attributes_type": "a mapping of fields", "dict_type": "a mapping",
                "bool_type": "true or false"}
    if kind in expected:
        shown = "" if value is None else f" {_shown(value)}"
        return f"must be {expected[kind]}, got {_kind(value)}{shown}"
    if kind == "int_from_float":
        return f"must be a whole number, got {value}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long ({len(value)} characters); at most {ctx.get('max_length')}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_shown(value)}"
    if kind == "string_pattern_mismatch" and error["loc"][-1] == "currency":
        return f"must be a three-letter currency code like 'USD', got {_shown(value)}"
    return error["msg"].removeprefix("Value error, ")


def _decode(data: bytes, add) -> str | None:
    if b"\x00" in data:
        add((), (1, 1), "this is a binary file, not YAML text")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        add((), (line, column),
            f"not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8")
        return None


ANCHORS = "anchors (&name) and aliases (*name) are not allowed; write the value out in full"
TABS = ("a tab in the indentation; YAML indents with spaces only: replace the tabs before "
        "the text of the line with spaces (most editors: 'Convert Indentation to Spaces')")


def _yaml_problem(error: yaml.MarkedYAMLError, lines: _Lines) -> tuple[tuple[int, int], str]:
    mark = error.problem_mark or error.context_mark
    where = lines.of(mark) if mark else (1, 1)
    if re.search(r"\b(anchor|alias)\b", f"{error.context} {error.problem}"):  # e.g. *undefined
        return where, ANCHORS
    if mark and lines.indentation_tab(mark.index):
        others = lines.tabbed_lines() - lines.text.startswith("\t", lines.starts[where[0] - 1])
        return where, TABS + (f"; {others} other line(s) also start with a tab" if others > 0 else "")
    message = " ".join(str(part) for part in (error.context, error.problem) if part)
    start = error.context_mark
    if start is not None and mark is not None and start.index != mark.index:
        line, column = lines.of(start)
        message += f" (it started at line {line}, column {column})"
    return where, f"YAML syntax error: {message}"


def parse_entry(text: str, display: str) -> tuple[dict | None, _Marks | None, list[Problem]]:
    """YAML text to plain data with its marks, or the problems that stop it."""
    problems: list[Problem] = []

    def add(loc, where, message, severity=Severity.ERROR):
        problems.append(Problem(display, where[0], where[1], _field_path(loc), message, severity))

    if _only_comments(text):
        add((), (1, 1), "the file is empty; an entry needs at least 'title'")
        return None, None, problems
    loader = CoreLoader(text)
    lines = _Lines(text)
    try:
        node = loader.get_single_node()
        if node is None:
            add((), (1, 1), "the file is empty; an entry needs at least 'title'")
            return None, None, problems
        if not isinstance(node, yaml.MappingNode):
            add((), _mark(node, lines), "an entry must be a mapping of fields (title: ..., aliases: ...)")
            return None, None, problems
        converter = _Converter(loader, add, lines)
        data = converter.convert(node)
        if converter.aliases:
            _report_aliases(text, converter.aliases, add, lines)
    except yaml.MarkedYAMLError as error:
        where, message = _yaml_problem(error, lines)
        add((), where, message)
        return None, None, problems
    except yaml.YAMLError as error:
        add((), (1, 1), f"YAML error: {error}")
        return None, None, problems
    except _TooBig as error:
        add((), error.mark, f"the entry is too large or too deeply nested "
            f"(over {MAX_NODES} values or {MAX_DEPTH} levels)")
        return None, None, problems
    finally:
        loader.dispose()
    return data, converter.marks, problems


def _only_comments(text: str) -> bool:
    """Whether a file holds no value: blank lines, comments and document markers."""
    for line in _Lines._END.split(text.lstrip("\ufeff")):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return False
    return True


def _report_aliases(text: str, locs: list[tuple], add, lines: _Lines) -> None:
    """Place each alias at its ``*name`` (the composed tree only knows the anchor)."""
    marks = [event.start_mark for event in yaml.parse(text, Loader=CoreLoader)
             if isinstance(event, yaml.AliasEvent)]
    for loc, mark in zip(locs, marks):
        add(loc, lines.of(mark), ANCHORS)


def validate_entry(data: dict, marks: _Marks, display: str) -> tuple[Entry | None, list[Problem]]:
    """Plain data to an Entry, every validation problem placed in the file."""
    try:
        return Entry.model_validate(data), []
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            loc = tuple(item["loc"])
            if marks.already_reported(loc):
                continue
            line, column = marks.at(loc, key=item["type"] == "extra_forbidden")
            problems.append(Problem(display, line, column, _field_path(loc), _message(item)))
        return None, problems


def load_entry(path: Path, slug: str | None = None) -> Loaded:
    """Read one entry file; never raises for anything wrong inside the file."""
    display = display_path(path)
    loaded = Loaded(slug=slug or path.stem, path=path, display=display)

    def add(where, message, severity=Severity.ERROR):
        loaded.problems.append(Problem(display, where[0], where[1], "", message, severity))

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            add((1, 1), f"the file is {size:,} bytes; entries may be at most {MAX_BYTES:,}")
            return loaded
        data = path.read_bytes()
    except OSError as error:
        add((1, 1), f"cannot read the file: {error.strerror or error}")
        return loaded
    if not is_slug(loaded.slug):
        add((1, 1), "the file name must be the entry's slug: lowercase letters, digits and "
            f"hyphens, ending in .yaml (e.g. {_suggest_slug(loaded.slug)}.yaml)")
    text = _decode(data, lambda loc, where, message: add(where, message))
    if text is None:
        return loaded
    loaded.digest = hashlib.sha256(data).hexdigest()
    raw, marks, problems = parse_entry(text, display)
    loaded.marks = marks
    loaded.problems.extend(problems)
    if raw is None:
        return loaded
    entry, problems = validate_entry(raw, marks, display)
    loaded.problems.extend(problems)
    if not text.lstrip("\ufeff").startswith(MODELINE):
        add((1, 1), f"first line should be the schema modeline '{MODELINE}' so editors "
            "validate while typing", severity=Severity.WARNING)
    if not loaded.errors:
        loaded.entry = entry
    return loaded


def _suggest_slug(name: str) -> str:
    return slug_from(name, fallback="my-role")


@dataclass
class Bestiary:
    """Every entry of the project, loaded and cross-checked, and the ones a command asked for."""

    entries_dir: Path
    loaded: dict[str, Loaded]
    selected: list[Loaded]
    problems: list[Problem]

    @property
    def valid(self) -> list[Loaded]:
        """The selected entries that can be rendered."""
        return [item for item in self.selected if item.ok]

    @property
    def errors(self) -> list[Problem]:
        return failing(self.problems)

    def title_of(self, slug: str) -> str:
        item = self.loaded.get(slug)
        return item.entry.title if item and item.entry else slug


def _entry_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _resolve(selector: str, entries_dir: Path) -> Path | None:
    candidate = Path(selector)
    if candidate.suffix in (".yaml", ".yml") or os.sep in selector or candidate.is_file():
        return candidate
    path = entries_dir / f"{selector}.yaml"
    return path if path.is_file() else None


def load_bestiary(entries_dir: Path, selectors: typing.Sequence[str] = (),
                  coverage=None) -> Bestiary:
    """Load every entry in ``entries_dir`` plus any given paths, then cross-check them.

    ``selectors`` are slugs from the folder or paths to YAML files anywhere;
    none selects every entry of the folder. With ``coverage`` (`fontfacts.Coverage`),
    text no bundled font can print is a warning at its field.
    """
    loaded: dict[str, Loaded] = {}
    problems: list[Problem] = []
    in_folder: list[Loaded] = []
    inside = Path(os.path.realpath(entries_dir))
    for path in _entry_files(entries_dir):
        if Path(os.path.realpath(path)).is_relative_to(inside):
            item = load_entry(path)
        else:  # a link out of the folder could print any file it reaches: not read
            item = Loaded(slug=path.stem, path=path, display=display_path(path))
            item.problems.append(Problem(item.display, 1, 1, "", "this is a link to a file "
                                 "outside the entries folder; copy the entry in instead"))
        if item.slug in loaded:
            item.problems.append(Problem(item.display, 1, 1, "", f"slug {item.slug!r} is "
                                 f"already used by {loaded[item.slug].display}; rename one file"))
        loaded.setdefault(item.slug, item)
        in_folder.append(item)
    selected: list[Loaded] = [] if selectors else in_folder
    for selector in selectors:
        item = _select(selector, entries_dir, loaded, problems)
        if item is not None and item not in selected:
            selected.append(item)
    for item in selected:
        item.problems.extend(_check_related(item, loaded))
        if coverage is not None and item.entry is not None:
            item.problems.extend(_uncovered(item, coverage))
        problems.extend(item.problems)
    problems.sort(key=lambda p: (p.path, p.line, p.column))
    return Bestiary(entries_dir, loaded, selected, problems)


def _uncovered(item: Loaded, coverage) -> list[Problem]:
    """One warning per text field with characters no bundled font has, at the field."""
    from .fontfacts import describe_uncovered

    texts: list[tuple[tuple, str]] = []
    stack: list[tuple[tuple, typing.Any]] = [((), item.entry.model_dump())]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            texts.append((loc, value))
        elif isinstance(value, dict):
            stack.extend(((*loc, key), inner) for key, inner in value.items())
        elif isinstance(value, list):
            stack.extend(((*loc, i), inner) for i, inner in enumerate(value))
    if coverage.printable(text for _, text in texts):  # the usual case: one set difference
        return []
    found = []
    for loc, text in texts:
        if missing := coverage.missing(text):
            line, column = item.marks.at(loc) if item.marks else (1, 1)
            found.append(Problem(item.display, line, column, _field_path(loc),
                                 describe_uncovered(missing), Severity.WARNING))
    return sorted(found)


def _select(selector: str, entries_dir: Path, loaded: dict[str, Loaded],
            problems: list[Problem]) -> Loaded | None:
    """The entry a command-line ENTRY names: a slug of the folder, or a file anywhere."""
    if selector in loaded and not Path(selector).suffix:
        return loaded[selector]
    path = _resolve(selector, entries_dir)
    if path is None or not path.exists():
        slugs = sorted(loaded)
        close = difflib.get_close_matches(selector, slugs, n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        elif slugs:  # as for an unknown field: say what there is
            more = f" and {len(slugs) - 5} more in {entries_dir.name}/" if len(slugs) > 5 else ""
            hint = f"; the entries are {', '.join(slugs[:5])}{more}"
        else:
            hint = f"; {entries_dir} has no entries"
        problems.append(Problem(selector, 0, 0, "", f"no such entry{hint}"))
        return None
    resolved = path.resolve()
    same = next((i for i in loaded.values() if i.path.resolve() == resolved), None)
    if same is not None:
        return same
    item = load_entry(path)
    if item.slug in loaded:
        item.problems.append(Problem(item.display, 1, 1, "", f"slug {item.slug!r} is already "
                             f"used by {loaded[item.slug].display}; rename one file"))
    else:
        loaded[item.slug] = item
    return item


def _check_related(item: Loaded, loaded: dict[str, Loaded]) -> list[Problem]:
    if item.entry is None or item.marks is None:
        return []
    problems = []
    for index, related in enumerate(item.entry.related):
        if related.slug is None:
            continue
        loc = ("related", index, "slug")
        line, column = item.marks.at(loc)
        if related.slug == item.slug:
            message = "an entry cannot be related to itself"
        elif related.slug in loaded:
            continue
        else:
            close = difflib.get_close_matches(related.slug, list(loaded), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = (f"no entry {related.slug!r} in the bestiary; {hint}"
                       "(use 'title' for a role that is not in it)")
        problems.append(Problem(item.display, line, column, _field_path(loc), message))
    return problems
