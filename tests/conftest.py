"""Shared pytest configuration.

The fixture harness (`test_fixtures.py`) records what the scanner found against what the
fixtures label, in `QUALITY`; `pytest_terminal_summary` prints precision and recall per rule
family from it at the end of every run that scanned fixtures, passing or failing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


class QualityLedger:
    """True/false positives and misses by fixture and rule id.

    Keyed by fixture, so a test that runs twice (reruns, `--lf` then a full run in one
    session) replaces its own numbers instead of counting them twice.
    """

    def __init__(self) -> None:
        self._by_fixture: dict[str, dict[str, Counts]] = {}

    def record(self, fixture: str, tp: Iterable[str], fp: Iterable[str], fn: Iterable[str]) -> None:
        """Record one fixture's result; each iterable holds one rule id per finding/label."""
        per_rule: dict[str, Counts] = {}
        for attr, ids in (("tp", tp), ("fp", fp), ("fn", fn)):
            for rule_id in ids:
                counts = per_rule.setdefault(rule_id, Counts())
                setattr(counts, attr, getattr(counts, attr) + 1)
        self._by_fixture[fixture] = per_rule

    def __bool__(self) -> bool:
        return bool(self._by_fixture)

    def by_rule(self) -> dict[str, Counts]:
        total: dict[str, Counts] = {}
        for per_rule in self._by_fixture.values():
            for rule_id, counts in per_rule.items():
                total.setdefault(rule_id, Counts()).add(counts)
        return dict(sorted(total.items()))

    def by_family(self) -> dict[str, Counts]:
        total: dict[str, Counts] = {}
        for rule_id, counts in self.by_rule().items():
            total.setdefault(rule_id[:4], Counts()).add(counts)
        return total

    def render(self) -> list[str]:
        header = f"{'family / rule':<16}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>9}"
        lines = [
            f"fixtures scanned: {', '.join(sorted(self._by_fixture))}",
            header,
            "-" * len(header),
        ]
        rules = self.by_rule()
        grand = Counts()
        for family, fam in self.by_family().items():
            grand.add(fam)
            lines.append(self._row(family, fam))
            for rule_id, counts in rules.items():
                if rule_id.startswith(family):
                    lines.append(self._row(f"  {rule_id}", counts))
        lines.append("-" * len(header))
        lines.append(self._row("all", grand))
        return lines

    @staticmethod
    def _row(name: str, c: Counts) -> str:
        return f"{name:<16}{c.tp:>5}{c.fp:>5}{c.fn:>5}{_pct(c.precision):>11}{_pct(c.recall):>9}"


QUALITY = QualityLedger()


@pytest.fixture(scope="session")
def quality_ledger() -> QualityLedger:
    return QUALITY


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI caches results by default: in tests, in a directory of the session's own
    (`BOTSCAN_CACHE_DIR`, which CLI subprocesses inherit), never in the user's."""
    previous = os.environ.get("BOTSCAN_CACHE_DIR")
    os.environ["BOTSCAN_CACHE_DIR"] = str(tmp_path_factory.mktemp("botscan-cache"))
    yield
    if previous is None:
        del os.environ["BOTSCAN_CACHE_DIR"]
    else:
        os.environ["BOTSCAN_CACHE_DIR"] = previous


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not QUALITY:
        return
    terminalreporter.write_sep("=", "botscan detection quality on fixtures/")
    for line in QUALITY.render():
        terminalreporter.write_line(line)
