"""Baselines: accept the findings a repository has today, so that only new ones fail a build.

A team adopting botscan on an old bot cannot fix forty findings before its next pull request;
`botscan baseline create` records what is there, and `--baseline FILE` then hides exactly
those findings, so a pull request fails only for what it adds.

A baseline holds each finding's fingerprint (computed by `botscan.analyzers.hits.finalize` from
the rule, the path, the redacted line without any white space, and the occurrence of that line
in the file) and, for people reading the file in a review, its rule id and path. It holds no
line numbers, so adding lines above a finding or re-indenting it keeps it baselined; and it
holds no snippet or message, because those carry the first characters of secrets and a
baseline is committed next to the code. Matching is by fingerprint alone.

The file is versioned JSON. `load` refuses anything else with a `BaselineError` (a ValueError)
that names the file and says what is wrong, which the CLI turns into exit 2: a typo in
`--baseline` must stop the build, never silently baseline nothing or everything.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from botscan import __version__
from botscan.model import Finding, ScanResult
from botscan.report.common import dumps

FORMAT = "botscan-baseline"
VERSION = 1
"""Bumped when a reader of the old layout would misread the new one."""

BaselineState = Literal["new", "unchanged"]


class BaselineError(ValueError):
    """A baseline file that cannot be used: unreadable, not JSON, not a botscan baseline, or
    written by a newer botscan. The message names the file; the CLI exits 2 with it."""


@dataclass(frozen=True)
class Entry:
    """One accepted finding. Only `fingerprint` is matched; the rest is for human readers."""

    fingerprint: str
    rule_id: str
    path: str


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Entry, ...]
    created: str
    """UTC ISO 8601 time of `botscan baseline create`."""
    botscan_version: str

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(entry.fingerprint for entry in self.entries)


@dataclass(frozen=True)
class Applied:
    """A scan compared with a baseline.

    `baselined` holds the fingerprints of the scan's unsuppressed findings that the baseline
    accepts; `absent` the baseline entries that no finding matches any more (fixed, or the file
    was renamed), which a reader may want to drop by creating the baseline again.
    """

    baselined: frozenset[str]
    absent: tuple[Entry, ...]

    def is_baselined(self, finding: Finding) -> bool:
        return not finding.suppressed and finding.fingerprint in self.baselined

    def state(self, finding: Finding) -> BaselineState:
        """SARIF `baselineState` of `finding`: "unchanged" if the baseline accepts it."""
        return "unchanged" if self.is_baselined(finding) else "new"

    def hide(self, result: ScanResult) -> ScanResult:
        """A copy of `result` without its baselined findings (suppressed ones stay, since
        reports count them apart anyway): what the text, JSON and HTML reports show and what
        `--fail-on` judges."""
        kept = [f for f in result.findings if not self.is_baselined(f)]
        return dataclasses.replace(result, findings=kept)


def create(result: ScanResult) -> str:
    """The baseline of `result`'s unsuppressed findings, as the text of a JSON file.

    Suppressed findings are left out: their `# botscan: ignore` comment already accepts them,
    and it, not the baseline, should say why. A finding without a fingerprint is a bug in the
    analyzer that made it and raises ValueError, since it could never match again.
    """
    entries: dict[str, Entry] = {}
    for finding in result.active:
        if not finding.fingerprint:
            raise ValueError(f"finding {finding.rule_id} at {finding.location.path}:"
                             f"{finding.location.line} has no fingerprint to baseline")
        entries.setdefault(finding.fingerprint,
                           Entry(finding.fingerprint, finding.rule_id, finding.location.path))
    ordered = sorted(entries.values(), key=lambda e: (e.path, e.rule_id, e.fingerprint))
    document = {
        "format": FORMAT,
        "version": VERSION,
        "botscan_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": [dataclasses.asdict(entry) for entry in ordered],
    }
    return dumps(document)


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline written by `create`; BaselineError for anything else."""
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {source}: {exc.strerror or exc}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BaselineError(f"{source}: not a botscan baseline (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{source}: not a botscan baseline (invalid JSON, line "
                            f"{exc.lineno}: {exc.msg})") from None
    return _baseline(source, document)


def apply(result: ScanResult, baseline: Baseline) -> Applied:
    """Which of `result`'s findings `baseline` accepts, and which of its entries are gone."""
    accepted = baseline.fingerprints
    present = {f.fingerprint for f in result.active}
    return Applied(
        baselined=frozenset(present & accepted),
        absent=tuple(e for e in baseline.entries if e.fingerprint not in present),
    )


def _baseline(source: str, document: Any) -> Baseline:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(f"{source}: not a botscan baseline{_looks_like(document)}; "
                            "create one with `botscan baseline create`")
    version = document.get("version")
    if type(version) is not int or version < 1:
        raise BaselineError(f"{source}: baseline without a valid 'version'")
    if version > VERSION:
        raise BaselineError(f"{source}: baseline version {version} was written by a newer "
                            f"botscan ({document.get('botscan_version', '?')}); this one "
                            f"({__version__}) reads version {VERSION}: upgrade botscan")
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise BaselineError(f"{source}: baseline without a 'findings' list")
    entries = []
    for number, item in enumerate(findings, 1):
        fields = ("fingerprint", "rule_id", "path")
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in fields) \
                or not item["fingerprint"]:
            raise BaselineError(f"{source}: entry {number} of 'findings' needs the strings "
                                "'fingerprint' (not empty), 'rule_id' and 'path'")
        entries.append(Entry(item["fingerprint"], item["rule_id"], item["path"]))
    return Baseline(
        entries=tuple(entries),
        created=str(document.get("created", "")),
        botscan_version=str(document.get("botscan_version", "")),
    )


def _looks_like(document: Any) -> str:
    """What a wrong file probably is, for the error message: the usual mix-ups are the other
    JSON files botscan writes."""
    if isinstance(document, dict):
        if "runs" in document and "version" in document:
            return " (it looks like a SARIF log)"
        if "schema_version" in document and "findings" in document:
            return " (it looks like a botscan JSON report)"
    return ""
