"""Recall and precision of the importer over documents read by a person.

A corpus directory holds `NAME.txt` (or .md, .docx, .pdf) beside `NAME.yaml`, the events a
careful reader extracts (tests/import_corpus/README.md). Run it to print the figures:

    python -m importer.quality tests/import_corpus
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from importer.document import read_document
from importer.extract import Findings, extract
from scheduler.calendar.periods import DueRule, PeriodDue, level_dates, regime
from scheduler.calendar.workdays import WorkCalendar

KINDS = ("deadline", "window", "observance")
DOCUMENT_SUFFIXES = (".txt", ".md", ".docx", ".pdf")

Event = tuple[str, ...]  # (kind, when...), comparable across the two sides
_WORKDAYS = WorkCalendar()  # due days written as days of the month do not depend on it


def found_events(found: Findings) -> set[Event]:
    """The importer's events, as the reader's YAML writes them."""
    events: set[Event] = set()
    for d in found.deadlines:
        if d.recurrence == "monthly":
            events.add(("deadline", "monthly", str(d.day)))
        elif d.recurrence == "quarterly" and d.day is not None and found.year:
            events.update(("deadline", date(found.year, m, d.day).isoformat()) for m in (3, 6, 9, 12))
        elif d.recurrence == "regime" and d.day is not None and found.year:  # Decree 09 periods
            for period in regime(d.regime, found.year):  # type: ignore[arg-type]
                due = PeriodDue(DueRule(d.day), None if d.focal_day is None else DueRule(d.focal_day))
                events.update(
                    ("deadline", day.isoformat()) for day in level_dates(period, due, _WORKDAYS) if day
                )
        elif d.due is not None:
            events.add(("deadline", d.due.isoformat()))
    events.update(("window", w.start.isoformat(), w.end.isoformat()) for w in found.windows)
    events.update(("observance", f"{o.month:02d}-{o.day:02d}") for o in found.observances)
    return events


def expected_events(data: dict[str, Any]) -> set[Event]:
    """The reader's events from a corpus YAML file."""
    events: set[Event] = set()
    for e in data.get("events") or []:
        if e["kind"] == "deadline" and "monthly" in e:
            events.add(("deadline", "monthly", str(e["monthly"])))
        elif e["kind"] == "deadline":
            events.add(("deadline", str(e["date"])))
        elif e["kind"] == "window":
            events.add(("window", str(e["start"]), str(e["end"])))
        else:
            events.add(("observance", str(e["date"])))
    return events


@dataclass
class Score:
    true: int = 0
    false: int = 0  # found, not expected
    missed: int = 0  # expected, not found

    @property
    def precision(self) -> float:
        return self.true / (self.true + self.false) if self.true + self.false else 1.0

    @property
    def recall(self) -> float:
        return self.true / (self.true + self.missed) if self.true + self.missed else 1.0


@dataclass
class Report:
    scores: dict[str, Score] = field(default_factory=lambda: {k: Score() for k in KINDS})
    documents: list[tuple[str, set[Event], set[Event]]] = field(default_factory=list)  # name, false, missed

    def add(self, name: str, found: set[Event], expected: set[Event]) -> None:
        for kind in KINDS:
            mine = {e for e in found if e[0] == kind}
            theirs = {e for e in expected if e[0] == kind}
            score = self.scores[kind]
            score.true += len(mine & theirs)
            score.false += len(mine - theirs)
            score.missed += len(theirs - mine)
        self.documents.append((name, found - expected, expected - found))

    def total(self) -> Score:
        scores = self.scores.values()
        return Score(sum(s.true for s in scores), sum(s.false for s in scores), sum(s.missed for s in scores))


def corpus_documents(corpus: Path) -> list[tuple[Path, Path]]:
    """(document, expected events) pairs, by name."""
    pairs = []
    for expected in sorted(corpus.glob("*.yaml")):
        for suffix in DOCUMENT_SUFFIXES:
            document = expected.with_suffix(suffix)
            if document.is_file():
                pairs.append((document, expected))
                break
    return pairs


def score_corpus(corpus: Path) -> Report:
    report = Report()
    for document, expected_file in corpus_documents(corpus):
        data = yaml.safe_load(expected_file.read_text(encoding="utf-8"))
        doc = read_document(document)
        found = extract(doc.paragraphs, doc.locations)
        report.add(document.name, found_events(found), expected_events(data))
    return report


def format_report(report: Report) -> str:
    lines = [
        "| kind | found right | found wrong | missed | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for kind, s in [*report.scores.items(), ("all", report.total())]:
        lines.append(f"| {kind} | {s.true} | {s.false} | {s.missed} | {s.precision:.2f} | {s.recall:.2f} |")
    for name, false, missed in report.documents:
        if false or missed:
            lines.append(f"{name}: wrong {sorted(false)} missed {sorted(missed)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    corpus = Path(argv[1] if len(argv) > 1 else "tests/import_corpus")
    report = score_corpus(corpus)
    print(f"{len(report.documents)} documents in {corpus}")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
