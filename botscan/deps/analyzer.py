"""The dependency analyzer: manifests in; findings, notices and the dependency table out.

Order of work: read every manifest (never running anything), apply the offline rules
(BOT602-BOT605), then audit the exact pins (BOT601) unless `offline`. A pin that was not
audited, for whatever reason, is said so in a notice with the count: an unreachable service
must never read as "no known vulnerabilities".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from botscan.analyzers.hits import Hit, finalize
from botscan.deps.audit import AuditOutcome, Pin, audit, service_key
from botscan.deps.cache import AuditCache
from botscan.deps.declared import Declared, Role, Source
from botscan.deps.manifests import read_manifests
from botscan.deps.supply_chain import covered, rule_hits
from botscan.model import Advisory, Dependency, Finding, Notice, NoticeKind

SERVICES = ("osv", "pypi")
_IDS_SHOWN = 5
_NAMES_SHOWN = 5

AUDIT_NOTICE = NoticeKind.AUDIT
"""The kind of "not audited" notices: `NoticeKind.AUDIT` once the model has it."""


@dataclass(frozen=True)
class AuditSettings:
    offline: bool = False
    """Skip the vulnerability audit (and say so); the offline rules still run."""
    service: str = "osv"
    """"osv" or "pypi"."""
    osv_url: str | None = None
    """An OSV-compatible query URL, for organisations that mirror OSV."""
    cache_dir: Path | None = None
    """Where look-ups are cached; never inside the scanned tree."""
    cache_ttl_seconds: int = 24 * 3600
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"unknown vulnerability service {self.service!r} "
                             f"(expected {' or '.join(SERVICES)})")
        if self.osv_url is not None and self.service != "osv":
            raise ValueError("an OSV URL needs the osv service")
        if self.osv_url is not None and not self.osv_url.startswith(("https://", "http://")):
            raise ValueError(f"the OSV URL must be http(s): {self.osv_url!r}")
        if self.timeout_seconds <= 0 or self.cache_ttl_seconds < 0:
            raise ValueError("timeout must be positive and the cache TTL not negative")


@dataclass
class DependencyResult:
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)

    @property
    def not_audited(self) -> list[Dependency]:
        """Pinned rows the audit did not cover (what `--strict-deps` should fail on)."""
        return [d for d in self.dependencies if d.version is not None and not d.audited]


def _row_reason(d: Declared) -> str | None:
    if d.source is not Source.INDEX:
        return f"{d.source.value} requirement: not on the index, cannot be audited"
    if d.version is None:
        return "not pinned to an exact version: cannot be audited"
    return None


def fix_text(name: str, version: str, advisories: Sequence[Advisory]) -> str | None:
    """"upgrade requests to 2.20.0 or later": the lowest release past every fixed advisory."""
    try:
        current = Version(version)
    except InvalidVersion:
        return None
    needed: list[Version] = []
    for advisory in advisories:
        fixes = []
        for text in advisory.fix_versions:
            try:
                fixes.append(Version(text))
            except InvalidVersion:
                continue
        later = sorted(v for v in fixes if v > current)
        if later:
            needed.append(later[0])
    return f"upgrade {name} to {max(needed)} or later" if needed else None


def _vulnerability_message(pin: Pin, advisories: Sequence[Advisory], fix: str | None) -> str:
    named = [f"{a.id} ({', '.join(a.aliases)})" if a.aliases else a.id
             for a in advisories[:_IDS_SHOWN]]
    more = len(advisories) - _IDS_SHOWN
    count = f"{len(advisories)} known vulnerabilit{'y' if len(advisories) == 1 else 'ies'}"
    listed = "; ".join(named) + (f"; and {more} more" if more > 0 else "")
    unfixed = [a.id for a in advisories if not a.fix_versions]
    if fix is None:
        advice = f"no fixed release of {pin.name} is known: replace it or make sure the " \
                 "vulnerable code is unreachable"
    elif unfixed:
        advice = f"{fix} (no fix is known for {', '.join(unfixed)})"
    else:
        advice = fix
    return f"{pin.name} {pin.version} has {count}: {listed}. Fix: {advice}"


def _pinned(count: int) -> str:
    return f"{count} pinned dependenc{'y' if count == 1 else 'ies'}"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMES_SHOWN])
    return shown + (f" and {len(items) - _NAMES_SHOWN} more" if len(items) > _NAMES_SHOWN else "")


class _Run:
    def __init__(self, root: Path, manifests: Sequence[tuple[str, bytes]],
                 settings: AuditSettings) -> None:
        self.settings = settings
        self.read = read_manifests(root, manifests)
        self.result = DependencyResult(notices=list(self.read.notices))
        skip_pinning = covered(self.read.declared)
        self.hits = rule_hits(self.read.declared, skip_pinning, self.read.texts)
        # Rows: what gets installed. A range that a lock file pins is represented by the
        # lock's entry; build requirements and unpinned constraints install nothing here.
        self.rows = [d for d in self.read.declared
                     if d not in skip_pinning and (d.role is Role.DEPENDENCY or (
                         d.role is Role.CONSTRAINT and d.version is not None))]

    def pins(self) -> list[Pin]:
        return list(dict.fromkeys(Pin(d.name, d.version) for d in self.rows
                                  if d.name and d.version and d.source is Source.INDEX))

    def run(self) -> DependencyResult:
        pins = self.pins()
        outcome: AuditOutcome | None = None
        service = service_key(self.settings.service, self.settings.osv_url)
        if pins and self.settings.offline:
            self._notice("", f"--offline: vulnerability audit skipped; {_pinned(len(pins))} "
                             "not checked for known vulnerabilities")
        elif pins:
            cache = AuditCache(self.settings.cache_dir, self.settings.cache_ttl_seconds,
                               service)
            outcome = audit(pins, self.settings.service, self.settings.osv_url,
                            self.settings.timeout_seconds, cache)
            if outcome.errors:
                self._notice("", f"vulnerability audit failed ({service}): "
                                 f"{'; '.join(dict.fromkeys(outcome.errors))}; "
                                 f"{_pinned(len(outcome.failed))} not checked for known "
                                 "vulnerabilities")
        self._rows(outcome)
        self._skipped_notices(outcome)
        for manifest in sorted(self.hits):
            self.result.findings.extend(
                finalize(manifest, self.read.texts.get(manifest, ""), self.hits[manifest]))
        return self.result

    def _notice(self, path: str, message: str) -> None:
        self.result.notices.append(Notice(path, AUDIT_NOTICE, message))

    def _rows(self, outcome: AuditOutcome | None) -> None:
        for d in self.rows:
            row = Dependency(name=d.name or d.written, version=d.version, manifest=d.manifest,
                             line=d.line, skip_reason=_row_reason(d))
            self.result.dependencies.append(row)
            if row.skip_reason is not None or d.name is None or d.version is None:
                continue
            pin = Pin(d.name, d.version)
            if outcome is None:
                row.skip_reason = "not audited: --offline"
            elif pin in outcome.failed:
                row.skip_reason = "not audited: the vulnerability audit failed"
            elif pin in outcome.advisories:
                row.audited = True
                row.advisories = list(outcome.advisories[pin])
                row.fix = fix_text(pin.name, pin.version, row.advisories)
                if row.advisories:
                    self._vulnerable(d, pin, row)
            else:
                row.skip_reason = outcome.skipped.get(pin, "not audited")

    def _vulnerable(self, d: Declared, pin: Pin, row: Dependency) -> None:
        self.hits.setdefault(d.manifest, []).append(Hit(
            rule_id="BOT601", line=d.line, column=1,
            message=_vulnerability_message(pin, row.advisories, row.fix),
            evidence={"package": pin.name, "version": pin.version, "fix": row.fix or "",
                      "advisories": [{"id": a.id, "aliases": list(a.aliases),
                                      "fix_versions": list(a.fix_versions)}
                                     for a in row.advisories]}))

    def _skipped_notices(self, outcome: AuditOutcome | None) -> None:
        """Per manifest: pins the service answered nothing for (not the whole-run failures,
        which have their own notice above)."""
        if outcome is None:
            return
        by_manifest: dict[str, dict[str, list[str]]] = {}
        for row in self.result.dependencies:
            pin = Pin(row.name, row.version) if row.version is not None else None
            if pin is None or pin not in outcome.skipped:
                continue
            reason = outcome.skipped[pin]
            by_manifest.setdefault(row.manifest, {}).setdefault(reason, []).append(row.name)
        for manifest, reasons in sorted(by_manifest.items()):
            total = sum(len(names) for names in reasons.values())
            detail = "; ".join(f"{_names(names)}: {reason}" for reason, names in reasons.items())
            self._notice(manifest, f"{_pinned(total)} not audited for known vulnerabilities "
                                   f"({detail})")


def analyze_dependencies(root: Path, manifests: Sequence[tuple[str, bytes]],
                         settings: AuditSettings) -> DependencyResult:
    """Findings (BOT601-BOT605), notices and table rows for the manifests of one scan root.

    `manifests` holds (path relative to `root` with `/`, raw bytes) for every file that
    `is_manifest` accepted; files they include (`-r`) are read from under `root` only.
    """
    return _Run(root, manifests, settings).run()
