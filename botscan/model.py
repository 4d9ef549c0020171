"""The data every stage of botscan exchanges: findings, notices and the result of a scan.

Analyzers produce findings; filters mark some of them suppressed; reports only read them.
Nothing here holds a whole secret: analyzers redact before they build a `Finding`, and the
snippet is redacted again by `botscan.redact` before it is stored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that `--fail-on` is a plain comparison."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


class Confidence(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Confidence:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown confidence {text!r}") from None


@dataclass(frozen=True)
class Location:
    """Where a finding is. `path` is relative to the scan root, with forward slashes.

    Lines and columns are 1-based; `end_line`/`end_column` close the span (inclusive line,
    exclusive column). `origin` is "worktree" for files on disk; history findings use
    "commit:<sha>".
    """

    path: str
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    origin: str = "worktree"


@dataclass
class Finding:
    rule_id: str
    severity: Severity
    confidence: Confidence
    message: str
    location: Location
    snippet: str = ""
    """The source line(s), redacted. Never holds a whole secret."""
    fingerprint: str = ""
    """Stable identity without line numbers: rule, path, normalised code, occurrence."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """Machine-readable facts behind the finding (credential kind, host, library...)."""
    suppression: str | None = None
    """Set when an inline `# botscan: ignore[...]` covers the finding: the given reason."""

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.path, self.location.line, self.location.column, self.rule_id)


class NoticeKind(str, enum.Enum):
    """Why something was not (fully) analysed. Every such case is reported, never skipped."""

    NOT_PARSED = "not-parsed"
    """Python that libcst could not parse: scanned as text instead."""
    DECODING = "decoding"
    """Bytes that were not valid in the declared encoding: decoded with replacement."""
    BINARY = "binary"
    """A file named like source that holds binary data."""
    TOO_LARGE = "too-large"
    PATHOLOGICAL = "pathological"
    """Nesting or size that would blow the parser's stack or memory: scanned as text."""
    TIMEOUT = "timeout"
    CRASH = "crash"
    MEMORY = "memory"
    """Analysing the file needed more memory than the per-file cap (`--max-file-memory`)."""
    SYMLINK = "symlink"
    UNREADABLE = "unreadable"
    AUDIT = "not-audited"
    """Dependencies the vulnerability audit could not look up (offline, network, service)."""
    CACHE = "cache"
    """The result cache could not be used (unwritable, or inside a scanned tree)."""
    ARCHIVE = "archive"
    """An archive member not read (caps, links, traversal names, encryption, nesting)."""


@dataclass(frozen=True)
class Notice:
    path: str
    kind: NoticeKind
    message: str


@dataclass(frozen=True)
class Evidence:
    """One place that shows a capability: a call at `path:line`."""

    path: str
    line: int
    call: str


@dataclass
class Capability:
    """Something the bot does with an exchange account or wallet, with its evidence.

    Names: read, trade, transfer, withdraw, keys (API-key or permission management),
    onchain (signs or sends blockchain transactions).
    """

    name: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    description: str = ""


@dataclass
class Dependency:
    """A declared dependency and what the audit learnt about it (one row of the table)."""

    name: str
    version: str | None
    """The exact pinned version, or None when the manifest does not pin one."""
    manifest: str
    line: int
    advisories: list[Advisory] = field(default_factory=list)
    fix: str | None = None
    """"upgrade requests to 2.20.0 or later", when an advisory has a fixed version."""
    audited: bool = False
    skip_reason: str | None = None


@dataclass(frozen=True)
class ScorePart:
    """One line of the score: how many points, out of how many, and why."""

    name: str
    points: float
    maximum: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    level: str
    """"dangerous", "review" or "no blocking issues"."""
    score: float
    """0-10, the sum of the parts (capped), one decimal."""
    parts: tuple[ScorePart, ...]
    drivers: tuple[Finding, ...]
    """The findings that decided the level, most severe first (a handful)."""
    reason: str
    """One sentence saying why this level."""


@dataclass
class ScanResult:
    findings: list[Finding]
    notices: list[Notice]
    files_scanned: int
    duration_seconds: float
    roots: list[str]
    capabilities: list[Capability] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    verdict: Verdict | None = None
    """Set by `botscan vet` (botscan.verdict): reports show it when present."""

    @property
    def active(self) -> list[Finding]:
        """Findings that count: not suppressed."""
        return [f for f in self.findings if not f.suppressed]

    def counts_by_severity(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in self.active:
            counts[f.severity.label] += 1
        return counts
