"""What an analyzer reports before it becomes a Finding, and how it becomes one.

Analyzers know the rule, the place and the secret; turning that into a `Finding` (severity from
the catalog, a redacted snippet, inline suppression, a fingerprint without line numbers) is the
same for every analyzer, so it lives here once.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from botscan import catalog
from botscan.model import Confidence, Finding, Location
from botscan.redact import redact_text, short_hash

SNIPPET_MAX = 240
_QUOTED = re.compile(r"""(["'])(.*?)\1""")
_SUPPRESS = re.compile(
    r"#\s*botscan:\s*ignore(?:\[(?P<ids>[^\]]*)\])?(?:\s*--\s*(?P<reason>.*\S))?", re.IGNORECASE
)


@dataclass
class Hit:
    rule_id: str
    line: int
    column: int
    message: str
    end_line: int | None = None
    end_column: int | None = None
    secrets: tuple[str, ...] = ()
    evidence: dict[str, object] = field(default_factory=dict)
    confidence: Confidence | None = None


def _suppression(lines: Sequence[str], line: int, rule_id: str) -> str | None:
    """The reason of a `# botscan: ignore[...]` covering `rule_id` on `line`, if any.

    The comment may stand on the line itself, or alone on the line above.
    """
    candidates = []
    if 0 < line <= len(lines):
        candidates.append(lines[line - 1])
    if 1 < line <= len(lines) + 1 and lines[line - 2].lstrip().startswith("#"):
        candidates.append(lines[line - 2])
    for text in candidates:
        match = _SUPPRESS.search(text)
        if match is None:
            continue
        ids = match.group("ids")
        if ids is not None:
            wanted = {i.strip().upper() for i in re.split(r"[,\s]+", ids) if i.strip()}
            if not any(rule_id == w or (len(w) < 6 and rule_id.startswith(w)) for w in wanted):
                continue
        return match.group("reason") or "no reason given"
    return None


def snippet(lines: Sequence[str], line: int, secrets: Sequence[str]) -> str:
    """The finding's source line, redacted: known secrets exactly, other random runs masked."""
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    pieces: list[str] = []
    for secret in secrets:
        pieces.append(secret)
        if secret in text:
            continue
        # The secret is on this line only in parts: a line of a PEM block or an int array, or
        # one of several implicitly concatenated literals ("Ab8X…" "Mk9H…").
        pieces.extend(p.strip() for p in secret.splitlines() if len(p.strip()) >= 8)
        pieces.extend(m.group(2) for m in _QUOTED.finditer(text)
                      if len(m.group(2)) >= 4 and m.group(2) in secret)
    text = redact_text(text, pieces)
    if len(text) > SNIPPET_MAX:
        text = text[: SNIPPET_MAX - 1] + "…"
    return text


def finalize(path: str, text: str, hits: Sequence[Hit], origin: str = "worktree") -> list[Finding]:
    """Findings for one file: catalog severity, redacted snippet, suppression, fingerprint."""
    rules = catalog.rules()
    lines = text.splitlines()
    findings: list[Finding] = []
    occurrences: Counter[tuple[str, str]] = Counter()
    # Every secret found on a line is hidden in every snippet of that line: the finding for
    # the `secret` must not show the `apiKey` beside it.
    by_line: dict[int, list[str]] = {}
    for hit in hits:
        by_line.setdefault(hit.line, []).extend(hit.secrets)
    for hit in sorted(hits, key=lambda h: (h.line, h.column, h.rule_id)):
        rule = rules[hit.rule_id]
        snip = snippet(lines, hit.line, by_line[hit.line])
        normalized = re.sub(r"\s+", "", snip)
        occurrences[(hit.rule_id, normalized)] += 1
        identity = "\0".join(
            (hit.rule_id, path, normalized, str(occurrences[(hit.rule_id, normalized)]))
        )
        evidence = dict(hit.evidence)
        if hit.secrets:
            # The redaction's short hash: lets the history scan drop a secret still at HEAD.
            evidence.setdefault("secret_hash", short_hash(hit.secrets[0]))
        findings.append(
            Finding(
                rule_id=hit.rule_id,
                severity=rule.severity,
                confidence=hit.confidence or rule.confidence,
                message=redact_text(hit.message, hit.secrets),
                location=Location(path, hit.line, hit.column, hit.end_line, hit.end_column,
                                  origin),
                snippet=snip,
                fingerprint=hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()[:32],
                evidence=evidence,
                suppression=_suppression(lines, hit.line, hit.rule_id),
            )
        )
    return findings
