"""Synthetic entries for tests and benchmarks (never shipped in entries/).

Deterministic for a given seed; each entry is about as long as the seed's
record (three to four A4 pages), links to a few others by slug and to one
role that is not in the bestiary, so books made from them exercise
cross-references, the index and every part of the layout.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from .book.common import roman
from .load import MODELINE
from .model import slug_from

RANKS = ["Junior", "Senior", "Lead", "Principal", "Staff", "Associate", "Chief", "Global Head of",
         "Interim", "Distinguished", "Assistant to the", "Regional"]
DOMAINS = ["Data", "Cloud", "Growth", "Platform", "AI", "Compliance", "Synergy", "Workplace",
           "Revenue", "Culture", "Blockchain", "Observability", "Procurement", "Innovation",
           "Agile", "Customer Success", "Brand", "Risk", "DevOps", "Sustainability"]
ROLES = ["Analyst", "Strategist", "Evangelist", "Architect", "Manager", "Engineer", "Specialist",
         "Coordinator", "Officer", "Consultant", "Champion", "Facilitator", "Owner", "Partner"]
WORDS = ("alignment stakeholder roadmap deliverable leverage bandwidth synergy pipeline "
         "framework initiative cadence visibility ownership velocity blocker dashboard "
         "offsite workstream escalation deck metric quarter headcount process template "
         "governance sprint backlog retrospective touchpoint enablement narrative").split()
TOOLS = ["Spreadsheet", "Slide Deck", "Ticket Queue", "Wiki Page", "Status Report", "Calendar",
         "Kanban Board", "Survey Tool", "Chat Channel", "Email Thread", "Org Chart", "OKR Tracker"]
PLACES = ["Large Tech Corporations", "Consulting Firms", "Series B Startups", "Public Sector",
          "Banks and Insurers", "Retail Headquarters", "Media Conglomerates", "Universities",
          "Logistics Companies", "Telecom Operators", "Pharmaceutical Groups", "Agencies"]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int = 2) -> str:
    return " ".join(_sentence(rng, rng.randint(9, 16)) for _ in range(sentences))


def _title(i: int, rng: random.Random) -> str:
    return f"{rng.choice(RANKS)} {rng.choice(DOMAINS)} {rng.choice(ROLES)} {roman(i + 1).upper()}"


def slug_of(title: str) -> str:
    return slug_from(title)


def synthetic_entries(count: int, seed: int = 0) -> dict[str, dict]:
    """``count`` entries as plain data, by slug."""
    rng = random.Random(seed)
    titles = [_title(i, rng) for i in range(count)]
    slugs = [slug_of(t) for t in titles]
    entries = {}
    for i, (title, slug) in enumerate(zip(titles, slugs)):
        others = [s for s in slugs if s != slug]
        related = [{"slug": s, "match": rng.randint(50, 99), "description": _paragraph(rng, 1)}
                   for s in rng.sample(others, min(2, len(others)))]
        related.append({"title": f"Vice President of {rng.choice(DOMAINS)}",
                        "match": rng.randint(40, 90), "description": _paragraph(rng, 1)})
        hours = rng.random() < 0.2
        entries[slug] = {
            "title": title,
            "aliases": [f"{rng.choice(DOMAINS)} {rng.choice(ROLES)}" for _ in range(4)],
            "org_chart": {"reports_to": [f"VP of {rng.choice(DOMAINS)}"],
                          "peers": [f"{rng.choice(DOMAINS)} {rng.choice(ROLES)}"],
                          "direct_reports": [] if rng.random() < 0.5 else ["Intern"]},
            "habitat": [{"place": place, "detail": _sentence(rng, 8).rstrip(".").lower()}
                        for place in rng.sample(PLACES, 3)],
            "salary": {"amount": rng.randint(16, 90) if hours else rng.randint(45, 260) * 1000,
                       "currency": "USD", "period": "hour" if hours else "year",
                       "footnote": _paragraph(rng, 1), "quote": _paragraph(rng, 1)},
            "flight_risk": {"percent": rng.randint(0, 100), "diagnosis": _paragraph(rng, 2)},
            "metrics": [{"name": f"{rng.choice(DOMAINS)} {w.title()} Index",
                         "description": _paragraph(rng, 1)} for w in rng.sample(WORDS, 3)],
            "weaponry": [{"name": f"The {tool}", "description": _paragraph(rng, 1)}
                         for tool in rng.sample(TOOLS, 3)],
            "encounter": [{"situation": "If engaged", "advice": _paragraph(rng, 1)}],
            "jd_autopsy": [{"illusion": _paragraph(rng, 1), "translation": _paragraph(rng, 2)}
                           for _ in range(3)],
            "day_log": [{"start": f"{h:02d}:00", "end": f"{h + 1:02d}:00",
                         "title": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}",
                         "description": _paragraph(rng, 1)} for h in (9, 11, 15)],
            "burn_ward": [{"quote": _paragraph(rng, 1), "source": "teamblind.com"}
                          for _ in range(3)],
            "related": related,
        }
    return entries


def write_synthetic(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` synthetic entries into ``folder`` (created if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for slug, data in synthetic_entries(count, seed).items():
        path = folder / f"{slug}.yaml"
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=88)
        path.write_text(MODELINE + "\n" + text, encoding="utf-8")
        paths.append(path)
    return paths
