"""The entry model: one role record of the bestiary, validated.

Field names are the YAML keys editors write. Every constraint that can fail
says so in words an editor can act on (``must be 0-100, got 150``); the loader
adds where in the file it happened.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 80
_SLUG = re.compile(SLUG_PATTERN)
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
#: ISO 4217 code -> the symbol printed before an amount (other codes print as 'CHF 1,200').
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty (it holds only spaces or line breaks)")
    return value


def _text(max_length: int):
    """Text exactly as the editor wrote it (YAML's reading, never trimmed or rewritten:
    the layouts decide how whitespace prints), not blank, at most ``max_length``."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(_not_blank),
    ]


Line = _text(300)  # names, titles, labels: one line of print
Text = _text(20_000)  # paragraphs


def _percent(value: int) -> int:
    if not 0 <= value <= 100:
        raise PydanticCustomError("range", "must be 0-100, got {value}", {"value": value})
    return value


Percent = Annotated[
    int, AfterValidator(_percent), Field(json_schema_extra={"minimum": 0, "maximum": 100})
]


def _time(value: str) -> str:
    if not _TIME.match(value):
        raise PydanticCustomError(
            "time", "must be a 24-hour time like '09:30', got {value}", {"value": repr(value)}
        )
    return value


Time = Annotated[str, AfterValidator(_time), Field(pattern=_TIME.pattern)]


def is_slug(value: str) -> bool:
    """Lowercase ASCII letters and digits, words joined by single hyphens, at most SLUG_MAX."""
    return bool(_SLUG.fullmatch(value)) and len(value) <= SLUG_MAX


def slug_from(text: str, fallback: str = "role") -> str:
    """A slug for a title or a name: accents dropped ('é' -> 'e'), every other run of
    characters one hyphen, whole words kept up to SLUG_MAX; ``fallback`` if none is left."""
    plain = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", plain))
    while len(slug) > SLUG_MAX:
        slug = slug.rpartition("-")[0] or slug[:SLUG_MAX]
    return slug or fallback


def _slug(value: str) -> str:
    if not is_slug(value):
        raise PydanticCustomError(
            "slug",
            "must be a slug of lowercase letters, digits and single hyphens "
            "(at most {max} characters), got {value}",
            {"value": repr(value), "max": SLUG_MAX},
        )
    return value


Slug = Annotated[str, AfterValidator(_slug), Field(pattern=SLUG_PATTERN, max_length=SLUG_MAX)]


def _money(value: float) -> float:
    if not 0 < value < 1e9:
        raise PydanticCustomError(
            "range", "must be a positive amount below 1,000,000,000, got {value}", {"value": value}
        )
    return value


Money = Annotated[
    float,
    AfterValidator(_money),
    Field(json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 1e9}),
]


class Record(BaseModel):
    """Base of every part: unknown keys are errors, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Term(Record):
    """A named thing with its description (a metric, a weapon)."""

    name: Line
    description: Text


class Habitat(Record):
    place: Line
    detail: Text | None = Field(default=None, description="Printed in brackets after the place.")


class SalaryRange(Record):
    low: Money
    high: Money

    @model_validator(mode="after")
    def _ordered(self) -> SalaryRange:
        if self.low > self.high:
            raise PydanticCustomError(
                "range", "low ({low}) must not exceed high ({high})",
                {"low": self.low, "high": self.high},
            )
        return self


class Salary(Record):
    label: Line = "Market average"
    amount: Money | None = Field(default=None, description="The figure; or give `range`.")
    range: SalaryRange | None = Field(default=None, description="Low and high; or give `amount`.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        default="USD", description="ISO 4217 code."
    )
    period: Literal["year", "hour"] = "year"
    footnote: Text | None = None
    quote: Text | None = None

    @model_validator(mode="after")
    def _one_figure(self) -> Salary:
        if (self.amount is None) == (self.range is None):
            raise PydanticCustomError(
                "figure", "give exactly one of 'amount' or 'range'", {}
            )
        return self


class FlightRisk(Record):
    percent: Percent
    band: Line | None = Field(
        default=None, description="Band label; by default the configured band's label."
    )
    diagnosis: Text


class Encounter(Record):
    situation: Line = Field(description="When this applies, e.g. 'If engaged'.")
    advice: Text


class Autopsy(Record):
    illusion: Text = Field(description="The job ad's words, quoted.")
    source: Line | None = Field(default=None, description="Where the ad ran; none prints [SOURCE REDACTED].")
    translation: Text


class LogItem(Record):
    start: Time
    end: Time
    title: Line
    description: Text

    @model_validator(mode="after")
    def _ordered(self) -> LogItem:
        if self.end <= self.start:
            raise PydanticCustomError(
                "time", "end ({end}) must be after start ({start})",
                {"start": self.start, "end": self.end},
            )
        return self


class Complaint(Record):
    quote: Text
    source: Line | None = None


class Related(Record):
    slug: Slug | None = Field(default=None, description="The related role's slug, when it is in the bestiary.")
    title: Line | None = Field(default=None, description="The related role's title, when it is not.")
    match: Percent
    description: Text

    @model_validator(mode="after")
    def _one_reference(self) -> Related:
        if (self.slug is None) == (self.title is None):
            raise PydanticCustomError(
                "reference",
                "give exactly one of 'slug' (a role in the bestiary) or 'title' (one that is not)",
                {},
            )
        return self


class OrgChart(Record):
    reports_to: list[Line] = Field(default_factory=list, description="From the top down.")
    peers: list[Line] = Field(default_factory=list)
    direct_reports: list[Line] = Field(default_factory=list)


class Entry(Record):
    """One corporate role: a FILE RECORD of the bestiary."""

    title: Line
    question: Line | None = Field(
        default=None, description="The headline; by default 'What does a <title> actually do?'"
    )
    aliases: list[Line] = Field(min_length=1)
    org_chart: OrgChart | None = None
    habitat: list[Habitat] = Field(min_length=1)
    salary: Salary
    flight_risk: FlightRisk
    metrics: list[Term] = Field(min_length=1)
    weaponry: list[Term] = Field(min_length=1)
    encounter: list[Encounter] = Field(min_length=1)
    jd_autopsy: list[Autopsy] = Field(min_length=1)
    day_log: list[LogItem] = Field(min_length=1)
    burn_ward: list[Complaint] = Field(min_length=1)
    related: list[Related] = Field(default_factory=list)


def flat(text: str) -> str:
    """Text for a one-line place (document metadata, share tags, alt text, a card's
    lines): each run of whitespace, line breaks and tabs included, as one space, none
    at the ends. The model keeps what the editor wrote; this is how it prints there."""
    return " ".join(text.split())


def record_id(slug: str) -> str:
    """The FILE RECORD id printed on the dossier."""
    return slug.upper()


def headline(entry: Entry) -> str:
    return entry.question or f"What does a {entry.title} actually do?"


def format_money(value: float, currency: str) -> str:
    """'$146,027', '€16.50', 'CHF 1,200'."""
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{currency} {number}"


def salary_figure(salary: Salary) -> str:
    """The salary as printed large: '$146,027' or '$16–$21'."""
    if salary.range is not None:
        low = format_money(salary.range.low, salary.currency)
        high = format_money(salary.range.high, salary.currency)
        return f"{low}–{high}"
    return format_money(salary.amount, salary.currency)


def entry_schema() -> dict:
    """The JSON Schema of an entry file, for editors and `printshop schema`."""
    schema = Entry.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "printshop entry (a role record of The Corporate Bestiary)"
    return schema
