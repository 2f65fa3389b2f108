"""Import file records from their plain-text form (a record's page, copied as text).

The text has the shape of `shared/seeds/000_*.txt`: a breadcrumb, the FILE
RECORD id, the question and the title, then eleven numbered parts
("[01] THE ORG-CHART ARCHITECTURE" ...). Copying loses structure, and the
parser undoes what it can: aliases run together ("AI Data AnnotatorML Data
Curator"), labels glued to values ("FLIGHT RISK:85%HIGH RISK",
"[IF ENGAGED:]Offer..."), capitals from the page's styling ("MARKET
AVERAGE"). Every line is either mapped to a field or reported with its line
number: nothing is dropped silently.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import regex
import yaml

from .errors import PrintshopError
from .load import MODELINE, display_path, load_bestiary, parse_entry, validate_entry
from .model import CURRENCY_SYMBOLS, is_slug
from .output import target, write_atomic
from .report import Outcome, Problem, Severity

#: Words written in camel case on purpose: never split an alias inside them.
CAMEL_WORDS = ("DevOps", "DataOps", "MLOps", "FinOps", "SecOps", "DevSecOps", "GitOps",
               "JavaScript", "TypeScript", "GitHub", "GitLab", "LinkedIn", "PowerPoint",
               "YouTube", "McKinsey", "SaaS", "PaaS", "IaaS", "iOS", "macOS", "OAuth",
               "PostgreSQL", "MySQL", "NoSQL", "GraphQL", "WordPress", "SharePoint",
               "ServiceNow", "HubSpot", "FedRAMP", "eCommerce", "FinTech", "PropTech",
               "EdTech", "HealthTech", "ScrumMaster", "QuickBooks", "DocuSign", "OpenAI")
#: The standing captions of parts 01 and 10 (the layouts print them).
CAPTIONS = ("The organizational hierarchy defining the pressure flow and extraction cycle "
            "for this role.",
            "The stark reality of the role, scraped from Reddit, Blind, and anonymous career "
            "boards.")
PARTS = {1: "org", 2: "habitat", 3: "salary", 4: "flight_risk", 5: "metrics", 6: "weaponry",
         7: "encounter", 8: "jd_autopsy", 9: "day_log", 10: "burn_ward", 11: "related"}
CURRENCIES = {symbol: code for code, symbol in CURRENCY_SYMBOLS.items()}  # "$" -> "USD"

_PART = re.compile(r"^\[(\d{2})\]\s*(.+)$")
_MONEY = rf"([{re.escape(''.join(CURRENCIES))}])\s?(\d[\d,]*(?:\.\d+)?)\s*([kK])?"
_FIGURE = re.compile(rf"^{_MONEY}(?:\s*[-–—]\s*{_MONEY})?\s*(?:/\s*(h|hr|hour|yr|year))?$")
_RISK = re.compile(r"^FLIGHT RISK:\s*(\d{1,3})\s*%\s*(.*)$", re.I)
_TAGGED = re.compile(r"^\[([^\]]+?):?\]\s*(.*)$")
_TIMES = re.compile(r"^\[(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\]$")
_MATCH = re.compile(r"^SYSTEM MATCH:\s*(\d{1,3})\s*%$", re.I)
_QUOTED = re.compile(r'^["“”](.*)["“”]$', re.S)
_BULLET = re.compile(r"^\s*[•*·\-–]\s+(.*)$")


@dataclass
class Note:
    """Something the import could not map (or had to guess), at a line of the text."""

    line: int
    message: str
    text: str = ""

    @property
    def said(self) -> str:
        return self.message + (f": {self.text[:80]!r}" if self.text else "")

    def __str__(self) -> str:
        return f"{self.line}: {self.said}"


Line = tuple[int, str]  # a line of the text and its number


@dataclass
class Part:
    """One numbered part of a record: its number and its lines that are not blank."""

    number: int
    lines: list[Line] = field(default_factory=list)

    @property
    def name(self) -> str:
        return PARTS[self.number]

    @property
    def label(self) -> str:
        return f"[{self.number:02d}]"

    @property
    def start(self) -> int:
        """The line to point at for what the part lacks."""
        return self.lines[0][0] if self.lines else 1

    def dropped(self, number: int, line: str) -> Note:
        return Note(number, f"dropped a line of part {self.label}", line)


@dataclass
class Imported:
    """One record's entry (plain data, in the order an editor would write it)."""

    slug: str | None
    data: dict
    notes: list[Note] = field(default_factory=list)  # dropped or guessed
    errors: list[Note] = field(default_factory=list)  # the record cannot be imported


def sentence_case(text: str) -> str:
    """'MARKET AVERAGE' -> 'Market average' (capitals that were only styling)."""
    text = text.strip().rstrip(":").strip()
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


def split_aliases(text: str) -> list[str]:
    """'AI Data AnnotatorML Data Curator' -> ['AI Data Annotator', 'ML Data Curator'].

    Copied text loses the breaks between aliases; a new one starts where a lower-case
    letter (or digit, or bracket) meets a capital, except inside known camel-case
    words (DevOps, LinkedIn...).
    """
    if any(sep in text for sep in (" / ", ";", " | ", "·")):
        return [part.strip() for part in re.split(r" / |;| \| |·", text) if part.strip()]
    plain = {word[0] + word[1:].lower(): word for word in CAMEL_WORDS}
    for word in CAMEL_WORDS:
        text = re.sub(rf"(?<![A-Z]){re.escape(word)}(?![a-z])", word[0] + word[1:].lower(),
                      text)
    parts = regex.split(r"(?<=[\p{Ll}\p{Nd})\]'’])(?=\p{Lu})", text)
    out = []
    for part in parts:
        for lowered, word in plain.items():
            part = re.sub(rf"(?<![A-Z]){re.escape(lowered)}(?![a-z])", word, part)
        if part.strip():
            out.append(part.strip())
    return out


def _money(digits: str, thousands: str | None) -> float:
    value = float(digits.replace(",", ""))
    return value * 1000 if thousands else value


def parse_figure(text: str, footnote: str | None) -> dict | None:
    """'$146,027' or '$16-$21' (with /hr or an hourly footnote) as salary fields."""
    match = _FIGURE.match(text.strip())
    if not match:
        return None
    symbol, digits, k, _, digits2, k2, per = match.groups()
    salary: dict = {"currency": CURRENCIES[symbol]}
    low = _money(digits, k)
    if digits2:
        salary["range"] = {"low": _int(low), "high": _int(_money(digits2, k2))}
        top = salary["range"]["high"]
    else:
        salary["amount"] = _int(low)
        top = low
    hourly_note = bool(footnote and re.search(r"\bhourly\b|\bper hour\b|/\s?hr?\b|\ban hour\b",
                                              footnote, re.I))
    if per in ("h", "hr", "hour") or (per is None and hourly_note and top < 1000):
        salary["period"] = "hour"
    else:
        salary["period"] = "year"
    return salary


def _int(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _unquote(text: str) -> str | None:
    match = _QUOTED.match(text.strip())
    return match.group(1).strip() if match else None


def parse_record(text: str, known_titles: dict[str, str] | None = None) -> Imported:
    """One record's text to entry data. ``known_titles``: lower-cased title -> slug of
    the entries already in the bestiary (related specimens are linked by slug)."""
    lines = list(enumerate(text.replace("\r\n", "\n").replace("\ufeff", "").split("\n"), 1))
    record = Imported(None, {})
    header, parts = _split(lines, record)
    _header(header, record)
    for number, name in PARTS.items():
        if number not in parts:
            record.errors.append(Note(len(lines), f"part [{number:02d}] "
                                                  f"({name.replace('_', ' ')}) is missing"))
    for number in sorted(parts):
        HANDLERS[number](parts[number], record)
    link_related(record.data, known_titles or {})
    order = ("title", "question", "aliases", "habitat", "salary", "flight_risk", "metrics",
             "weaponry", "encounter", "jd_autopsy", "day_log", "burn_ward", "related")
    record.data = {key: record.data[key] for key in order if key in record.data}
    return record


def _split(lines: list[Line], record: Imported) -> tuple[list[Line], dict[int, Part]]:
    """The header's lines, and the parts by number (a part given twice is an error)."""
    header: list[Line] = []
    parts: dict[int, Part] = {}
    current = None
    for number, line in lines:
        match = _PART.match(line.strip())
        if match and int(match.group(1)) in PARTS:
            current = int(match.group(1))
            if current in parts:
                record.errors.append(Note(number, f"part [{current:02d}] appears twice"))
            parts[current] = Part(current)
        elif current is None:
            header.append((number, line))
        elif line.strip():
            parts[current].lines.append((number, line.strip()))
    return header, parts


def _header(header: list[Line], record: Imported) -> None:
    body = [(n, line.strip()) for n, line in header if line.strip()]
    question = title = None
    for index, (number, line) in enumerate(body):
        if line.upper().startswith("FILE RECORD:"):
            given = line.split(":", 1)[1].strip()
            record.slug = given.lower()
            if not is_slug(record.slug):
                record.errors.append(Note(number, "the FILE RECORD id is not a slug", given))
        elif line.endswith("?") and line.isupper():
            question = (number, line)
        elif re.fullmatch(r"(?:[A-Z] )+[A-Z]", line) or line == "The Corporate Bestiary":
            pass  # the collection's letter-spaced name; the publication
        elif index == 0 and "/" in line and line.isupper():
            pass  # the breadcrumb: publisher / collection / title
        elif title is None and question is not None:
            title = (number, line)
        else:
            record.notes.append(Note(number, "dropped a header line", line))
    if record.slug is None:
        record.errors.append(Note(1, "no 'FILE RECORD: <ID>' line"))
    if title is None:
        record.errors.append(Note(1, "no title line (it follows the question)"))
        return
    record.data["title"] = title[1]
    if question is not None:
        record.data["question"] = _question(question[1], title[1])


def _question(question: str, title: str) -> str:
    """'WHAT DOES A SDET ACTUALLY DO?' with its title as written, the rest in sentence case."""
    at = question.upper().find(title.upper())
    if at < 0:
        return sentence_case(question)
    before = question[:at].lower()
    before = before[:1].upper() + before[1:]
    return before + title + question[at + len(title):].lower()


def _org(part: Part, record: Imported) -> None:
    data = record.data
    aliases_next = False
    for number, line in part.lines:
        bullet = _BULLET.match(line)
        if bullet and bullet.group(1) in CAPTIONS:
            continue
        if line.upper().startswith("KNOWN ALIASES"):
            rest = line.split(":", 1)[1].strip() if ":" in line else ""
            if rest:
                data.setdefault("aliases", []).extend(split_aliases(rest))
            aliases_next = not rest
        elif aliases_next:
            data.setdefault("aliases", []).extend(split_aliases(line))
            aliases_next = False
            if any(len(a.split()) == 1 and len(a) <= 3 for a in data["aliases"]):
                record.notes.append(Note(number, "an alias of three letters or fewer: check how "
                                                 "the run-together aliases were split", line))
        else:
            record.notes.append(part.dropped(number, line))
    if not data.get("aliases"):
        record.errors.append(Note(part.start, f"no aliases in part {part.label}"))


def _habitat(part: Part, record: Imported) -> None:
    for _, line in part.lines:
        bullet = _BULLET.match(line)
        text = bullet.group(1) if bullet else line
        match = re.match(r"^(.*?)\s*\((.*)\)\s*$", text)
        place = {"place": match.group(1), "detail": match.group(2)} if match else {"place": text}
        record.data.setdefault("habitat", []).append(place)


def _salary(part: Part, record: Imported) -> None:
    salary: dict = {}
    footnote = next((_BULLET.match(line).group(1) for _, line in part.lines
                     if _BULLET.match(line)), None)
    figure_seen = False
    for number, line in part.lines:
        bullet = _BULLET.match(line)
        figure = parse_figure(line, footnote)
        if figure and not figure_seen:
            salary.update(figure)
            figure_seen = True
        elif bullet:
            salary["footnote"] = bullet.group(1)
        elif _unquote(line) is not None and "quote" not in salary:
            salary["quote"] = _unquote(line)
        elif not figure_seen and "label" not in salary and line.isupper():
            salary["label"] = sentence_case(line)
        else:
            record.notes.append(part.dropped(number, line))
    if not figure_seen:
        record.errors.append(Note(part.start, "no salary figure like '$146,027' or '$16-$21' "
                                              f"in part {part.label}"))
        return
    order = ("label", "amount", "range", "currency", "period", "footnote", "quote")
    record.data["salary"] = {key: salary[key] for key in order if key in salary}


def _risk(part: Part, record: Imported) -> None:
    risk: dict = {}
    for number, line in part.lines:
        match = _RISK.match(line)
        tagged = _TAGGED.match(line)
        if match:
            risk["percent"] = int(match.group(1))
            if match.group(2).strip():
                risk["band"] = match.group(2).strip()
        elif tagged and tagged.group(1).upper() == "DIAGNOSIS":
            risk["diagnosis"] = tagged.group(2)
        elif "diagnosis" in risk:
            risk["diagnosis"] += " " + line
        else:
            record.notes.append(part.dropped(number, line))
    if "percent" not in risk:
        record.errors.append(Note(part.start, f"no 'FLIGHT RISK: NN%' line in part {part.label}"))
        return
    record.data["flight_risk"] = risk


def _is_name(line: str) -> bool:
    """A metric's or weapon's name: short, and not a sentence."""
    return len(line) <= 90 and not line.endswith((".", "!", "?", '"', "”", ")."))


def _terms(part: Part, record: Imported) -> None:
    """A name, then its description (a sentence), keyed by the part's name. A name
    followed by another name, or a sentence with no name before it, is reported, not
    paired by position."""
    def unpaired(line: Line) -> Note:
        return Note(line[0], f"dropped a name without a description in part {part.label}",
                    line[1])

    terms, pending = [], None
    for number, line in part.lines:
        if pending is None:
            if _is_name(line):
                pending = (number, line)
            else:
                record.notes.append(Note(number, "dropped a description without a name in "
                                                 f"part {part.label}", line))
        elif _is_name(line) and len(part.lines) > 1:
            record.notes.append(unpaired(pending))
            pending = (number, line)
        else:
            terms.append({"name": pending[1], "description": line})
            pending = None
    if pending is not None:
        record.notes.append(unpaired(pending))
    record.data[part.name] = terms


def _encounter(part: Part, record: Imported) -> None:
    for number, line in part.lines:
        tagged = _TAGGED.match(line)
        if tagged and tagged.group(2):
            record.data.setdefault("encounter", []).append(
                {"situation": sentence_case(tagged.group(1)), "advice": tagged.group(2)})
        elif record.data.get("encounter"):
            record.data["encounter"][-1]["advice"] += " " + line
        else:
            record.notes.append(part.dropped(number, line))


def _autopsy(part: Part, record: Imported) -> None:
    items: list[dict] = []
    state = None
    for number, line in part.lines:
        upper = line.upper()
        if upper == "LINKEDIN ILLUSION":
            items.append({})
            state = "illusion"
        elif upper == "OTIOSE TRANSLATION" and items:
            state = "translation"
        elif state == "illusion" and _TAGGED.match(line) and "illusion" not in items[-1]:
            source = _TAGGED.match(line).group(1)
            if source.upper() != "SOURCE REDACTED":
                items[-1]["source"] = source
        elif state == "illusion" and items:
            quoted = _unquote(line)
            items[-1]["illusion"] = (items[-1].get("illusion", "") + " "
                                     + (quoted if quoted is not None else line)).strip()
        elif state == "translation" and items:
            items[-1]["translation"] = (items[-1].get("translation", "") + " " + line).strip()
        else:
            record.notes.append(part.dropped(number, line))
    order = ("illusion", "source", "translation")  # as an editor writes them
    record.data["jd_autopsy"] = [{key: item[key] for key in order if key in item}
                                 for item in items]


def _headed(part: Part, record: Imported, head) -> list[dict]:
    """Items that each start at a line ``head`` reads (into a dict, else None), then a
    title line, then a description that may run over several lines."""
    items: list[dict] = []
    for number, line in part.lines:
        start = head(line)
        if start is not None:
            items.append(start)
        elif items and "title" not in items[-1]:
            items[-1]["title"] = line
        elif items and "description" not in items[-1]:
            items[-1]["description"] = line
        elif items:
            items[-1]["description"] += " " + line
        else:
            record.notes.append(part.dropped(number, line))
    return items


def _day_log(part: Part, record: Imported) -> None:
    def head(line: str) -> dict | None:
        times = _TIMES.match(line)
        if not times:
            return None
        start, end = (f"{int(t.split(':')[0]):02d}:{t.split(':')[1]}" for t in times.groups())
        return {"start": start, "end": end}

    record.data["day_log"] = _headed(part, record, head)


def _burn_ward(part: Part, record: Imported) -> None:
    items = record.data.setdefault("burn_ward", [])
    for number, line in part.lines:
        bullet = _BULLET.match(line)
        quoted = _unquote(line)
        if bullet and bullet.group(1) in CAPTIONS:
            continue
        if quoted is not None:
            items.append({"quote": quoted})
        elif items and "source" not in items[-1]:
            items[-1]["source"] = line
        else:
            record.notes.append(part.dropped(number, line))


def _related(part: Part, record: Imported) -> None:
    """Related specimens by title (`link_related` turns known ones into slugs)."""
    def head(line: str) -> dict | None:
        match = _MATCH.match(line)
        return {"match": int(match.group(1))} if match else None

    specimens = replace(part, lines=[
        (number, line) for number, line in part.lines
        if not line.upper().startswith("[VIEW FULL TAXONOMY]")
        and not line.upper().replace(" ", "").startswith("PRODUCEDBY")])  # page furniture
    record.data["related"] = [{"title": item.get("title", ""), "match": item["match"],
                               "description": item.get("description", "")}
                              for item in _headed(specimens, record, head)]


#: Part number -> the handler that maps its lines into the record.
HANDLERS = {1: _org, 2: _habitat, 3: _salary, 4: _risk, 5: _terms, 6: _terms, 7: _encounter,
            8: _autopsy, 9: _day_log, 10: _burn_ward, 11: _related}


def link_related(data: dict, known_titles: dict[str, str]) -> None:
    """Related specimens whose title is a known role's point at it by slug."""
    for index, item in enumerate(data.get("related", [])):
        slug = known_titles.get(item.get("title", "").casefold())
        if slug:
            data["related"][index] = {"slug": slug, **{k: v for k, v in item.items()
                                                       if k != "title"}}


# ---- Writing the entry -----------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Lists indented under their key; text over 64 characters folded."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_text(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 64 and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def to_yaml(data: dict) -> str:
    """An entry as an editor would write it: the schema modeline, then block style with
    long text folded at the first space after column 72."""
    def dump(part: dict) -> str:
        return yaml.dump(part, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=72,
                         indent=2)

    heading = {key: data[key] for key in ("title", "question") if key in data}
    blocks = [dump(heading)] + [dump({key: value}) for key, value in data.items()
                                if key not in heading]
    return MODELINE + "\n" + "\n".join(blocks)


def import_file(path: Path, known_titles: dict[str, str]) -> Imported:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Imported(None, {}, errors=[Note(1, f"not UTF-8 (byte 0x{error.object[error.start]:02x})")])
    except OSError as error:
        return Imported(None, {}, errors=[Note(1, f"cannot read it: {error.strerror}")])
    return parse_record(text, known_titles)


def import_records(project, files, output: Path | None = None, force: bool = False):
    """Turn record texts into validated entries in ``output`` (default: entries/).

    Returns an `Outcome`: files written, one failure line per file not imported, and
    the notes (what was dropped or guessed) as warnings at their line of the text.
    """
    logger = logging.getLogger("printshop")
    folder = output or project.entries_dir
    outcome = Outcome()
    bestiary = load_bestiary(project.entries_dir)
    known = {item.entry.title.casefold(): item.slug for item in bestiary.loaded.values()
             if item.entry is not None}
    records = [(Path(path), import_file(Path(path), {})) for path in files]
    for _, record in records:  # records imported together may name each other
        if record.slug and "title" in record.data:
            known.setdefault(record.data["title"].casefold(), record.slug)
    for path, record in records:
        shown = display_path(path)
        link_related(record.data, known)
        outcome.problems += [Problem(shown, note.line, 1, "", note.said, Severity.WARNING)
                             for note in record.notes]
        written = _write_entry(record, shown, folder, force)
        if isinstance(written, str):
            outcome.failures.append(f"{shown}: {written}")
        else:
            outcome.written.append(written)
            logger.info("%s -> %s", shown, display_path(written))
    return outcome


def _write_entry(record: Imported, shown: str, folder: Path, force: bool) -> Path | str:
    """Validate the record's entry and write it into ``folder``: its path, or why not."""
    if record.errors:
        return "not imported: " + "; ".join(f"line {note.line}: {note.message}"
                                            for note in record.errors)
    text = to_yaml(record.data)
    raw, marks, problems = parse_entry(text, shown)
    if raw is not None:
        _, problems = validate_entry(raw, marks, shown)
    if problems:
        return "not imported, the entry would be invalid: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems)
    try:
        destination = target(folder, f"{record.slug}.yaml")
        if destination.exists() and not force:
            return f"{display_path(destination)} exists; --force replaces it"
        write_atomic(destination, text.encode("utf-8"))
    except PrintshopError as error:
        return error.message
    return destination
