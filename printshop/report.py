"""What commands report, in one place: problems at their places, the outcome of a
command or stage, and the one rule that decides whether a command failed.

Every command and every stage of a build ends in an `Outcome`. `failing` is the
rule for the exit status; ``--strict`` means what it means in MkDocs: the work is
done as usual, warnings count as errors, and the command fails. Text from entries
shown on a terminal goes through `printable`; a problem is always one line.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an entry (or another input), at a place in its file."""

    path: str
    line: int
    column: int
    field: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        label = f"{self.field}: " if self.field else ""
        prefix = "" if self.is_error else f"{self.severity}: "
        return printable(one_line(f"{where}: {label}{prefix}{self.message}"))


def failing(problems: Iterable[Problem], strict: bool = False) -> list[Problem]:
    """The problems that fail a command: its errors, and with ``--strict`` its warnings too."""
    return [p for p in problems if strict or p.is_error]


def noun_form(count: int, noun: str) -> str:
    """``entry`` for one, ``entries`` for any other count; ``font file``, ``font files``."""
    if count == 1:
        return noun
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{noun[:-1]}ies"
    return f"{noun}s"


def plural(count: int, noun: str) -> str:
    """``1 entry``, ``2 entries``, ``3 outputs``."""
    return f"{count} {noun_form(count, noun)}"


@dataclass
class StageTally:
    """One stage of a build: outputs made, found up to date, failed; when it finished."""

    built: int = 0
    fresh: int = 0
    failed: int = 0
    seconds: float = 0.0


@dataclass
class Outcome:
    """What a command made and what went wrong: for the summary and the exit status."""

    written: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # outputs not made, one line each
    stages: dict[str, StageTally] = field(default_factory=dict)  # a build's, in order
    stale: list[str] = field(default_factory=list)  # outputs of entries no longer there
    seconds: float = 0.0

    def failed(self, strict: bool = False) -> bool:
        return bool(self.failures or failing(self.problems, strict))

    @property
    def ok(self) -> bool:
        return not self.failed()

    def verdict(self, strict: bool = False) -> str | None:
        """Why the command fails, in one line (``None`` if it does not)."""
        said = []
        if self.failures:
            said.append(f"{plural(len(self.failures), 'output')} failed")
        if problems := failing(self.problems, strict):
            files = len({p.path for p in problems})
            said.append(f"{plural(len(problems), 'problem')} in {plural(files, 'file')}"
                        + (" (--strict: warnings count)" if not all(p.is_error for p in problems)
                           else ""))
        return "; ".join(said) or None


_LINE_BREAKS = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x85": "\\x85",
                "\u2028": "\\u2028", "\u2029": "\\u2029"}


def one_line(text: str) -> str:
    """A problem is one line (``path:line:column: field: message``, for grep and
    editors): line breaks and tabs from the entry's text are written as escapes."""
    return text.translate(str.maketrans(_LINE_BREAKS))


#: Characters a terminal acts on or reorders: control codes (escape sequences,
#: bell, backspace) and bidirectional overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to show on a terminal: what would act on it is written as an escape."""
    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)
