"""The verdict of `botscan vet`: one word, a 0-10 risk score whose parts are shown, and the
findings that decided it.

A trader deciding whether to hand a downloaded bot an exchange key cannot weigh forty findings.
They need to know whether anything looks like malice (then nothing else matters), whether the
bot does something risky that an honest bot might still do (withdrawals, keys in history, TLS
off: read those findings first), or neither. The catalog says which rules are signs of malice
and which call for a review (`verdict` in checks/BOT*.toml); the score adds up, per part, how
much else there is, so two "review" bots can still be told apart.

Inline suppressions are the scanned author's words: in a bot somebody else wrote, a
`# botscan: ignore[BOT503]` next to the line that posts your keys is itself a warning, so the
verdict counts suppressed findings like any other (`unsuppress`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from botscan.catalog import Rule
from botscan.model import Finding, NoticeKind, ScanResult, ScorePart, Severity, Verdict

DANGEROUS = "dangerous"
REVIEW = "review"
CLEAR = "no blocking issues"
LEVELS = (CLEAR, REVIEW, DANGEROUS)

_FUND_CAPABILITIES = {"withdraw": 1.0, "onchain": 0.75, "keys": 0.75, "transfer": 0.25}
_UNREAD = frozenset({NoticeKind.NOT_PARSED, NoticeKind.BINARY, NoticeKind.TOO_LARGE,
                     NoticeKind.PATHOLOGICAL, NoticeKind.TIMEOUT, NoticeKind.CRASH,
                     NoticeKind.UNREADABLE, NoticeKind.ARCHIVE, NoticeKind.AUDIT})
_SEVERITY_POINTS = {Severity.CRITICAL: 0.5, Severity.HIGH: 0.25, Severity.MEDIUM: 0.1,
                    Severity.LOW: 0.05}
MAX_DRIVERS = 10
MALICE_FLOOR = 6.0
"""The score of one sign of malice alone; every other part together stays below it (their
caps add up to 5.5), so a score of 6 or more always means "dangerous" and no pile of ordinary
findings in a large framework can look like a backdoor."""
MALICE_CAP = 8.0


def unsuppress(result: ScanResult) -> ScanResult:
    """The result with the scanned author's inline suppressions lifted, each lifted finding
    saying so in its evidence (`author_suppressed`)."""
    findings = [
        dataclasses.replace(f, suppression=None,
                            evidence={**f.evidence, "author_suppressed": f.suppression})
        if f.suppressed else f
        for f in result.findings
    ]
    return dataclasses.replace(result, findings=findings)


def judge(result: ScanResult, rules: dict[str, Rule]) -> Verdict:
    active = result.active
    level_of = _level_function(rules)
    dangerous = [f for f in active if level_of(f) == DANGEROUS]
    review = [f for f in active if level_of(f) == REVIEW]
    parts = _parts(result, active, rules, level_of)
    score = round(min(10.0, sum(p.points for p in parts)), 1)
    if dangerous:
        level, drivers = DANGEROUS, dangerous
        ids = sorted({f.rule_id for f in dangerous})
        reason = (f"signs of malice or a backdoor ({', '.join(ids)}): do not give this bot a "
                  "key until each of them is explained")
    elif review:
        level, drivers = REVIEW, review
        ids = sorted({f.rule_id for f in review})
        reason = (f"risky code an honest bot may still have ({', '.join(ids)}): read these "
                  "findings before giving it a key")
    else:
        level, drivers = CLEAR, []
        reason = "nothing that looks malicious or needs a review before use was found"
    drivers = sorted(drivers, key=lambda f: (-f.severity, -f.confidence, f.sort_key()))
    return Verdict(level, score, tuple(parts), tuple(drivers[:MAX_DRIVERS]), reason)


def _level_function(rules: dict[str, Rule]) -> Callable[[Finding], str]:
    """The level a finding calls for: its rule's `verdict` in the catalog (high and critical
    rules without one call for a review), raised, never lowered, by a detector that saw more
    in this case (`evidence["verdict"]`: a committed `.so` that Python imports in place of the
    `.py` a reviewer reads is worse than a committed binary in general)."""
    def level(finding: Finding) -> str:
        rule = rules.get(finding.rule_id)
        if rule is not None and rule.verdict:
            base = rule.verdict
        else:
            base = REVIEW if finding.severity >= Severity.HIGH else CLEAR
        raised = finding.evidence.get("verdict")
        if raised in LEVELS and LEVELS.index(str(raised)) > LEVELS.index(base):
            return str(raised)
        return base

    return level


def _parts(result: ScanResult, active: Sequence[Finding], rules: dict[str, Rule],
           level_of: Callable[[Finding], str]) -> list[ScorePart]:
    """The score, part by part. Malice dominates (6 points for the first sign); the other
    parts are capped so that no pile of low findings can look like malice. Fund movement counts
    once, from the capability profile (its BOT3xx findings are the same calls)."""
    malice = [f for f in active if level_of(f) == DANGEROUS]
    rest = [f for f in active if level_of(f) != DANGEROUS]
    parts = [
        _counted("signs of malice", malice, MALICE_CAP,
                 lambda fs: MALICE_FLOOR + 0.5 * (len(fs) - 1) if fs else 0.0),
        _funds(result),
    ]
    for name, family, cap in (("credentials", "BOT1", 1.0),
                              ("credential exposure", "BOT2", 0.5),
                              ("transport", "BOT4", 0.5),
                              ("code integrity", "BOT5", 0.5),
                              ("dependencies", "BOT6", 0.5),
                              ("deployment", "BOT7", 0.5)):
        members = [f for f in rest if f.rule_id.startswith(family)]
        parts.append(_counted(name, members, cap,
                              lambda fs: sum(_SEVERITY_POINTS[f.severity] for f in fs)))
    unread = [n for n in result.notices if n.kind in _UNREAD]
    parts.append(ScorePart("not fully analysed", min(0.5, 0.05 * len(unread)), 0.5,
                           _tally(n.kind.value for n in unread)))
    return [p for p in parts if p.points > 0 or p.name == "signs of malice"]


def _counted(name: str, findings: Sequence[Finding], cap: float,
             points: Callable[[Sequence[Finding]], float]) -> ScorePart:
    return ScorePart(name, round(min(cap, points(findings)), 2), cap,
                     _tally(f.rule_id for f in findings))


def _funds(result: ScanResult) -> ScorePart:
    names = {c.name: c for c in result.capabilities}
    points = sum(weight for cap, weight in _FUND_CAPABILITIES.items() if cap in names)
    reasons = tuple(f"{cap} ({names[cap].evidence[0].path}:{names[cap].evidence[0].line})"
                    for cap in _FUND_CAPABILITIES if cap in names and names[cap].evidence)
    return ScorePart("moves funds", min(1.5, points), 1.5, reasons)


def _tally(items: Iterable[str]) -> tuple[str, ...]:
    """`["BOT101", "BOT101", "BOT401"]` -> `("BOT101 x2", "BOT401")`."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return tuple(f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items()))
