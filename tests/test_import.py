"""`printshop import`: file records copied as plain text become validated entries."""

from __future__ import annotations

import copy

import pytest
import yaml
from click.testing import CliRunner

from conftest import DATA, ROOT, SEED, seed_data
from printshop.cli import main
from printshop.importer import (CAPTIONS, CURRENCIES, HANDLERS, PARTS, Imported, parse_figure,
                                parse_record, split_aliases)
from printshop.load import load_bestiary, load_entry
from printshop.model import CURRENCY_SYMBOLS, format_money, salary_figure, Salary, slug_from

SEED_TEXT = DATA / "seed-record.txt"


def record_text(data: dict, slug: str) -> str:
    """An entry as its page reads when copied as plain text: the seed's shape, quirks
    and all (aliases run together, labels glued to values, capitals)."""
    title = data["title"]
    question = data.get("question") or f"What does a {title} actually do?"
    salary = Salary(**data["salary"])
    out = [f"OTIOSE/ADULTHOOD/{title.upper()}", "A D U L T H O O D", "The Corporate Bestiary",
           f"FILE RECORD: {slug.upper()}", question.upper(), "", title, "",
           "[01] THE ORG-CHART ARCHITECTURE", "", f"* {CAPTIONS[0]}",
           "KNOWN ALIASES / DISGUISES:", "".join(data["aliases"]), "",
           "[02] THE HABITAT (NATURAL RANGE)", ""]
    for place in data["habitat"]:
        detail = f" ({place['detail']})" if place.get("detail") else ""
        out.append(f"  • {place['place']}{detail}")
    out += ["", "[03] SALARY DELUSION", "", salary.label.upper(), salary_figure(salary)
            .replace("–", "-") + ("/hr" if salary.period == "hour" and salary.amount else "")]
    if salary.footnote:
        out.append(f"* {salary.footnote}")
    if salary.quote:
        out.append(f'"{salary.quote}"')
    risk = data["flight_risk"]
    out += ["", "[04] THE FLIGHT RISK", "", f"FLIGHT RISK:{risk['percent']}%{risk['band']}",
            f"[DIAGNOSIS]{risk['diagnosis']}", "", "[05] THE BULLSHIT METRICS", ""]
    for term in data["metrics"]:
        out += [term["name"], term["description"]]
    out += ["", "[06] SIGNATURE WEAPONRY", ""]
    for term in data["weaponry"]:
        out += [term["name"], term["description"]]
    out += ["", "[07] SURVIVAL / ENCOUNTER GUIDE", ""]
    for item in data["encounter"]:
        out.append(f"[{item['situation'].upper()}:]{item['advice']}")
    out += ["", "[08] THE JD AUTOPSY: WHAT DO THEY ACTUALLY DO?", ""]
    for item in data["jd_autopsy"]:
        out += ["LINKEDIN ILLUSION", f"[{item.get('source') or 'SOURCE REDACTED'}]",
                f'"{item["illusion"]}"', "OTIOSE TRANSLATION", item["translation"]]
    out += ["", "[09] DAY-IN-THE-LIFE LOG", ""]
    for item in data["day_log"]:
        out += [f"[{item['start']} - {item['end']}]", item["title"], item["description"]]
    out += ["", "[10] THE BURN WARD (UNFILTERED COMPLAINTS)", "", f"* {CAPTIONS[1]}"]
    for item in data["burn_ward"]:
        out.append(f'"{item["quote"]}"')
        if item.get("source"):
            out.append(item["source"])
    out += ["", "[11] RELATED SPECIMENS", "", "[VIEW FULL TAXONOMY] ↗"]
    for item in data.get("related", []):
        out += [f"SYSTEM MATCH: {item['match']}%", item["title"], item["description"]]
    out.append("PRODUCED BYOTIOSEOTIOSE icon")
    return "\n".join(out) + "\n"


def invoke(project_root, *args):
    return CliRunner().invoke(main, ["--project", str(project_root), "import", *args])


def test_importing_the_seed_gives_the_seed_entry(tmp_path):
    result = invoke(ROOT, str(SEED_TEXT), "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output, "every line of the seed is mapped"
    imported = load_entry(tmp_path / f"{SEED}.yaml")
    assert imported.ok, [str(p) for p in imported.problems]
    expected = load_bestiary(ROOT / "entries").loaded[SEED].entry
    for name in type(expected).model_fields:  # field by field, to name the one that differs
        assert getattr(imported.entry, name) == getattr(expected, name), name
    assert imported.entry == expected
    assert (tmp_path / f"{SEED}.yaml").read_text().startswith("# yaml-language-server")


def test_related_specimens_are_linked_by_slug_when_the_role_is_in_the_bestiary():
    text = SEED_TEXT.read_text(encoding="utf-8").replace(
        "\nSDET\n", "\nChief Vibes Officer\n")
    known = {"lead backend data procurement analyst": "lead-backend-data-procurement-analyst",
             "enterprise architect": "enterprise-architect"}
    related = parse_record(text, known).data["related"]
    assert [r.get("slug") or r.get("title") for r in related] == [
        "lead-backend-data-procurement-analyst", "enterprise-architect", "Chief Vibes Officer"]
    assert "slug" not in related[2]


def varied(title: str, **changes) -> dict:
    data = copy.deepcopy(seed_data())
    data["title"] = title
    data["question"] = f"What does a {title} actually do?"
    for related in data["related"]:  # roles not in the bestiary: they stay titles
        related["title"] = "Former " + related["title"]
    for key, value in changes.items():
        data[key] = value
    return data


CASES = {
    "accented": varied(
        "Chargé de Mission Transformation Numérique",
        aliases=["Référent Agilité", "Évangéliste du Cloud", "Ingénieur Données"],
        salary={"label": "Salaire médian", "amount": 52000, "currency": "EUR", "period": "year"},
        flight_risk={"percent": 0, "band": "RISQUE NUL", "diagnosis": "Inamovible, hélas."}),
    "greek-and-cyrillic": varied(
        "Σύμβουλος Ψηφιακού Μετασχηματισμού",
        aliases=["Αρχιτέκτονας Λύσεων", "Дата-инженер", "Владелец Продукта"],
        flight_risk={"percent": 100, "band": "ALREADY GONE", "diagnosis": "Left mid-sentence."}),
    "hourly-range": varied(
        "Contract Prompt Wrangler",
        salary={"label": "Hourly rate", "range": {"low": 16, "high": 21}, "currency": "USD",
                "period": "hour", "footnote": "Paid hourly, when paid at all."}),
    "hourly-amount": varied(
        "Weekend On-Call Shepherd",
        salary={"label": "Market average", "amount": 45, "currency": "GBP", "period": "hour"}),
    "one-of-each": varied(
        "Solo Operator",
        aliases=["The Team"],
        habitat=[{"place": "A Garage"}],
        metrics=[{"name": "Uptime", "description": "Measured in prayers."}],
        weaponry=[{"name": "A Laptop", "description": "Sticker-covered."}],
        encounter=[{"situation": "If engaged", "advice": "Bring coffee."}],
        jd_autopsy=[{"illusion": "Own the roadmap.", "source": "LinkedIn, 2025",
                     "translation": "Be the roadmap."}],
        day_log=[{"start": "09:00", "end": "17:30", "title": "Everything",
                  "description": "All of it."}],
        burn_ward=[{"quote": "I am the on-call rotation."}],
        related=[]),
    "many": varied(
        "Senior DevOps Evangelist",
        aliases=["DevOps Lead", "Platform Whisperer", "LinkedIn Thought Leader",
                 "Kubernetes Sommelier", "YAML Engineer", "Site Reliability Poet"],
        encounter=[{"situation": "If engaged", "advice": "Nod."},
                   {"situation": "If cornered in a meeting", "advice": "Mention Terraform."},
                   {"situation": "If asked about cost", "advice": "Leave."}]),
}


@pytest.mark.parametrize("name", CASES)
def test_records_in_the_seed_shape_round_trip(name, tmp_path):
    data = CASES[name]
    slug = slug_from(name)
    (tmp_path / "record.txt").write_text(record_text(data, slug), encoding="utf-8")
    out = tmp_path / "entries"
    out.mkdir()
    result = invoke(ROOT, str(tmp_path / "record.txt"), "--output", str(out), "--strict")
    assert result.exit_code == 0, result.output
    imported = load_entry(out / f"{slug}.yaml")
    assert imported.ok, [str(p) for p in imported.problems]
    expected = yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))
    got = imported.entry.model_dump(exclude_defaults=True)
    want = type(imported.entry).model_validate(expected).model_dump(exclude_defaults=True)
    for key in want:
        assert got.get(key) == want[key], key
    assert got == want


def test_unmapped_lines_are_warnings_at_their_line_and_strict_fails(tmp_path):
    lines = SEED_TEXT.read_text(encoding="utf-8").splitlines()
    at = lines.index("[05] THE BULLSHIT METRICS") + 2
    lines.insert(at, "Sponsored: try our premium plan")  # a stray line: metrics go odd
    risk = lines.index("[04] THE FLIGHT RISK") + 2
    lines.insert(risk, "Advertisement")
    (tmp_path / "record.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke(ROOT, str(tmp_path / "record.txt"), "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"record.txt:{risk + 1}:1: warning: dropped a line of part [04]: 'Advertisement'" \
        in result.output
    assert f"record.txt:{at + 2}:1: warning: dropped a name without a description in part " \
           "[05]: 'Sponsored: try our premium plan'" in result.output
    assert (tmp_path / f"{SEED}.yaml").exists()
    # --strict, as in every command: the same work, and the warnings fail the command.
    (tmp_path / f"{SEED}.yaml").unlink()
    result = invoke(ROOT, str(tmp_path / "record.txt"), "--output", str(tmp_path), "--strict")
    assert result.exit_code == 1
    assert result.output.rstrip().splitlines()[-1] == \
        "Error: 2 problems in 1 file (--strict: warnings count)"
    assert (tmp_path / f"{SEED}.yaml").exists()


def test_never_overwrites_without_force(tmp_path):
    assert invoke(ROOT, str(SEED_TEXT), "--output", str(tmp_path)).exit_code == 0
    (tmp_path / f"{SEED}.yaml").write_text("# edited by hand\n", encoding="utf-8")
    result = invoke(ROOT, str(SEED_TEXT), "--output", str(tmp_path))
    assert result.exit_code == 1 and "exists; --force replaces it" in result.output
    assert (tmp_path / f"{SEED}.yaml").read_text() == "# edited by hand\n"
    assert invoke(ROOT, str(SEED_TEXT), "--output", str(tmp_path), "--force").exit_code == 0
    assert load_entry(tmp_path / f"{SEED}.yaml").ok


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("FILE RECORD: JUNIOR-AI-ML-MODEL-TRAINING-ASSISTANT\n", ""),
     "no 'FILE RECORD: <ID>' line"),
    (lambda t: t.replace("FLIGHT RISK:85%HIGH RISK", "FLIGHT RISK: high"),
     "no 'FLIGHT RISK: NN%' line in part [04]"),
    (lambda t: t.replace("[09] DAY-IN-THE-LIFE LOG", "DAY LOG"), "part [09] (day log) is missing"),
    (lambda t: t.replace("[10:00 - 11:00]", "[11:00 - 10:00]"),
     "day_log[0]: end (10:00) must be after start (11:00)"),
    (lambda t: "", "no 'FILE RECORD: <ID>' line"),
    (lambda t: t.replace("FILE RECORD: JUNIOR-AI-ML-MODEL-TRAINING-ASSISTANT",
                         "FILE RECORD: " + "A" * 81), "the FILE RECORD id is not a slug"),
])
def test_a_record_that_cannot_be_imported_says_why(tmp_path, damage, message):
    (tmp_path / "record.txt").write_text(damage(SEED_TEXT.read_text(encoding="utf-8")),
                                         encoding="utf-8")
    result = invoke(ROOT, str(tmp_path / "record.txt"), "--output", str(tmp_path))
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.yaml"))


def test_aliases_run_together_are_split_at_case_changes():
    assert split_aliases("AI Data AnnotatorML Data CuratorAI Training Specialist") == [
        "AI Data Annotator", "ML Data Curator", "AI Training Specialist"]
    assert split_aliases("Senior DevOps EngineerLinkedIn Influencer") == [
        "Senior DevOps Engineer", "LinkedIn Influencer"]
    assert split_aliases("Référent AgilitéÉvangéliste du Cloud") == [
        "Référent Agilité", "Évangéliste du Cloud"]
    assert split_aliases("Scrum Master / Agile Coach") == ["Scrum Master", "Agile Coach"]


@pytest.mark.parametrize("number", PARTS)
def test_each_part_is_read_by_its_handler_in_the_table(number, monkeypatch):
    parts = []
    handler = HANDLERS[number]
    monkeypatch.setitem(HANDLERS, number, lambda part, record: (parts.append(part),
                                                                handler(part, record)))
    whole = parse_record(SEED_TEXT.read_text(encoding="utf-8"))
    assert [part.number for part in parts] == [number]
    assert parts[0].name == PARTS[number] and parts[0].lines
    alone = Imported(None, {})  # the handler alone fills its field as in the whole record
    handler(parts[0], alone)
    key = "aliases" if number == 1 else PARTS[number]
    assert alone.data == {key: whole.data[key]}
    assert not alone.notes and not alone.errors


def test_currency_symbols_are_read_as_they_print():
    assert len(CURRENCIES) == len(CURRENCY_SYMBOLS)  # no symbol stands for two currencies
    for code, symbol in CURRENCY_SYMBOLS.items():
        assert CURRENCIES[symbol] == code
        printed = format_money(146027, code)
        assert printed == f"{symbol}146,027"
        assert parse_figure(printed, None) == {"currency": code, "amount": 146027,
                                               "period": "year"}
