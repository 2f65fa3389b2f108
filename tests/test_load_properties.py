"""Properties of the loader (issue 15): it reads what YAML reads, and says every
problem on one line `path:line:column: message`.

Random mappings and strings, full of what editors and copy-paste put in text (tabs,
U+2028/U+2029/U+0085, control characters, a byte-order mark, quotes and YAML's own
punctuation), are written as YAML by PyYAML's emitter, with LF, CRLF or CR line ends
and with or without a BOM. printshop must read from that text exactly the values the
reference reader (`yaml.safe_load`, PyYAML's pure-Python parser, not the libyaml
printshop uses) reads. Arbitrary YAML-like text, valid or not, must give messages
that are each one line at a place inside the file.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from printshop.load import MODELINE, _Lines, load_entry, parse_entry, validate_entry
from printshop.yamlcore import CoreLoader
from conftest import seed_data

#: What editors and pasted text bring that plain letters do not.
AWKWARD = ("\t", "\u2028", "\u2029", "\x85", "\ufeff", "\r", "\n", "\r\n", "\x00", "\x01",
           "\x07", "\x1b", "\x7f", "\u200b", "\u202e", " ", "  ", ":", ": ", "#", " #", "&",
           "*", "!", "?", "|", ">", "'", '"', "-", "- ", "{", "}", "[", "]", ",", "%", "@",
           "`", "\\", "~", "null", "yes", "no", "0x1F", "1_000", "1.5e5", "10:00", "2024-01-01",
           "é", "ش", "👩🏽‍💻", "\u0301")
pieces = st.one_of(st.sampled_from(AWKWARD),
                   st.characters(codec="utf-8", exclude_categories=("Cs",)))
strings = st.lists(pieces, max_size=12).map("".join)
keys = strings.filter(lambda key: key.strip())  # an empty key is refused, by design
values = st.recursive(
    strings,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12)
documents = st.dictionaries(keys, values, min_size=1, max_size=6)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


class _Dumper(yaml.SafeDumper):
    """PyYAML's emitter, quoting every string that either schema would read as something
    else: YAML 1.1's (the reference's: `no`, `0x1F`) or printshop's 1.2-like one
    (`1.5e5`), so that a plain string means a string to both readers."""


_Dumper.yaml_implicit_resolvers = copy.deepcopy(yaml.SafeDumper.yaml_implicit_resolvers)
for first, pairs in CoreLoader.yaml_implicit_resolvers.items():
    _Dumper.yaml_implicit_resolvers.setdefault(first, []).extend(pairs)


@st.composite
def yaml_texts(draw, data_strategy):
    data = draw(data_strategy)
    text = yaml.dump(
        data, Dumper=_Dumper, allow_unicode=draw(st.booleans()),
        default_style=draw(st.sampled_from([None, None, '"', "'"])),
        default_flow_style=draw(st.sampled_from([False, None, True])),
        width=draw(st.sampled_from([20, 80, 1000])), indent=draw(st.integers(2, 6)))
    text = text.replace("\n", draw(LINE_ENDS))  # the emitter's breaks are all structure
    if draw(st.booleans()):
        text = "\ufeff" + text
    return data, text


def one_clean_line(problem, text: str) -> None:
    shown = str(problem)
    assert re.fullmatch(r"[^\n]+:\d+:\d+: [^\n]+", shown), shown
    assert len(shown.splitlines()) == 1, shown  # nor \r, U+2028, U+2029, U+0085
    assert "Node(" not in shown and "Mark(" not in shown, shown
    lines = len(_Lines(text).starts)
    assert 1 <= problem.line <= lines and problem.column >= 1, (shown, lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_texts(documents))
def test_values_are_exactly_what_yaml_reads(case):
    data, text = case
    expected = yaml.safe_load(text)  # not always `data`: PyYAML's emitter does not round-
    # trip U+0085 in single quotes, for one; what matters is that both readers agree
    found, _, problems = parse_entry(text, "f.yaml")
    assert not problems, [str(p) for p in problems]
    assert found == expected


TEXT_FIELDS = [("title",), ("question",), ("aliases", 0), ("habitat", 0, "place"),
               ("habitat", 0, "detail"), ("salary", "footnote"), ("flight_risk", "diagnosis"),
               ("weaponry", 0, "description"), ("burn_ward", 0, "quote"),
               ("day_log", 0, "description")]


def _at(data, path):
    for part in path:
        data = data[part]
    return data


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(strings.filter(lambda s: s.strip()), min_size=len(TEXT_FIELDS),
                max_size=len(TEXT_FIELDS)), st.data())
def test_text_reaches_the_model_as_written(tmp_path, texts, draw):
    """Through the whole loader (bytes on disk, decoding, validation): each text field
    of the entry is the string YAML reads, tabs and line breaks and all."""
    data = seed_data()
    for path, value in zip(TEXT_FIELDS, texts):
        assume(_at(data, path[:-1]) is not None)
        _at(data, path[:-1])[path[-1]] = value
    _, text = draw.draw(yaml_texts(st.just(data)))
    head = "\ufeff" if text.startswith("\ufeff") else ""
    file = tmp_path / "role.yaml"
    file.write_bytes((head + MODELINE + "\n" + text.removeprefix(head)).encode())
    loaded = load_entry(file)
    expected = yaml.safe_load(text)
    errors = [p for p in loaded.errors if "must be a valid slug" not in p.message]
    for problem in errors:
        one_clean_line(problem, text)
    if errors:  # only a length limit may refuse a random string
        assert all("too long" in p.message for p in errors), [str(p) for p in errors]
        return
    model = loaded.entry.model_dump()
    for path in TEXT_FIELDS:
        assert _at(model, path) == _at(expected, path), path


yamlish = st.lists(st.one_of(
    st.sampled_from(AWKWARD + ("\n  ", "\n\t", "\r  - ", "&a ", "*a", "!!set ", "!!python/name:x",
                               "<<: ", "? ", "--- ", "...", "%YAML 1.2", "title: ", "aliases:\n  - ",
                               "\n    ")),
    st.characters(codec="utf-8", exclude_categories=("Cs",))), max_size=40).map("".join)


@settings(max_examples=600, deadline=None)
@given(yamlish, LINE_ENDS)
def test_every_message_is_one_line_inside_the_file(text, end):
    text = text.replace("\n", end)
    found, marks, problems = parse_entry(text, "f.yaml")
    for problem in problems:
        one_clean_line(problem, text)
    if isinstance(found, dict):
        _, more = validate_entry(found, marks, "f.yaml")
        for problem in more:
            one_clean_line(problem, text)


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_line_ends_change_nothing(end):
    """The seed with other line ends: the same values, the same messages."""
    text = yaml.dump(seed_data(), Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    broken = text.replace("percent: ", "percent: x", 1)
    assert broken != text
    for sample in (text, broken):
        said = []
        for version in (sample, sample.replace("\n", end)):
            found, marks, problems = parse_entry(version, "f.yaml")
            problems += validate_entry(found, marks, "f.yaml")[1]
            said.append((found, [str(p) for p in problems]))
        assert said[0] == said[1]
    assert said[0][1] and "flight_risk.percent" in said[0][1][0]
