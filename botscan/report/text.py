"""The human-readable report: what a bot author reads in a terminal, a pre-commit hook or a CI log.

Findings are grouped under their file so that a long run reads like a to-do list, each with
its redacted snippet and the first sentence of the fix, and the run ends with one summary
line that is easy to grep.

Everything printed here may come from a hostile repository (file names, code in snippets), so
every piece of it goes through `neutralise` before it reaches the terminal: a file named
`\\x1b]0;…\\x07` must not retitle the window or hide the findings printed before it.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping

from botscan.capabilities import LABELS, recommendation
from botscan.catalog import Rule
from botscan.model import Finding, ScanResult
from botscan.report.common import first_sentence, ordered_findings, ordered_notices, rule_for

# ANSI SGR parameters; severities follow the usual red / yellow / cyan ladder.
_STYLES = {
    "critical": "1;31",
    "high": "31",
    "medium": "33",
    "low": "36",
    "path": "1",
    "heading": "1",
    "summary": "1",
    "snippet": "2",
    "fix": "32",
    "dangerous": "1;31",
    "review": "1;33",
    "no blocking issues": "1;32",
}
_SNIPPET_INDENT = " " * 6
# A minified or generated line can be megabytes long; a terminal reader needs its start only.
_MAX_SNIPPET_LINE = 200

Painter = Callable[[str, str], str]


def neutralise(text: str, *, multiline: bool = False) -> str:
    """`text` with every non-printable character shown as a visible escape such as `\\x1b`.

    This covers C0 and C1 controls (ANSI escape sequences, carriage returns that overwrite a
    line), DEL, and Unicode format characters such as the bidirectional overrides that make
    code read differently from how it runs. Tabs are kept, and newlines where `multiline`.
    """
    if text.isprintable():
        return text
    keep = "\t\n" if multiline else "\t"
    return "".join(ch if ch.isprintable() or ch in keep else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _painter(color: bool) -> Painter:
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _position(finding: Finding) -> str:
    return f"{finding.location.line}:{finding.location.column}"


def _origin_label(origin: str) -> str:
    """`commit:<40 hex>` as `commit 4f1c2a9be07d`: a full sha drowns the message it follows."""
    kind, _, ref = origin.partition(":")
    return f"commit {ref[:12]}" if kind == "commit" and ref else origin


def _snippet_lines(snippet: str) -> Iterator[str]:
    """The snippet dedented, line by line, each neutralised and cut to a readable width.

    Lines are split on newlines only: `str.splitlines` would also treat separators such as
    U+2028 as line ends and so hide them instead of showing them escaped.
    """
    text = textwrap.dedent(snippet.replace("\r\n", "\n").expandtabs(4)).strip("\n")
    for line in text.split("\n") if text else ():
        shown = neutralise(line.rstrip())
        if len(shown) > _MAX_SNIPPET_LINE:
            shown = shown[: _MAX_SNIPPET_LINE - 1] + "…"
        yield shown


def _finding_lines(finding: Finding, rule: Rule, width: int, paint: Painter) -> Iterator[str]:
    severity = finding.severity.label
    head = (
        f"  {_position(finding).ljust(width)}  {finding.rule_id}  "
        f"{paint(severity, severity.ljust(8))}  {neutralise(finding.message)}"
    )
    origin = finding.location.origin
    if origin != "worktree":
        head += f" ({neutralise(_origin_label(origin))})"
    yield head
    for line in _snippet_lines(finding.snippet):
        yield _SNIPPET_INDENT + paint("snippet", line)
    yield f"{_SNIPPET_INDENT}{paint('fix', 'fix:')} {neutralise(first_sentence(rule.remediation))}"


def _summary(result: ScanResult) -> str:
    """`3 findings (1 critical, 2 high) in 12 files, 0.41 s`, plus what was left out of it."""
    counts = result.counts_by_severity()
    total = sum(counts.values())
    files = _plural(result.files_scanned, "file")
    duration = f"{result.duration_seconds:.2f} s"
    if total:
        by_severity = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
        parts = [f"{_plural(total, 'finding')} ({by_severity}) in {files}, {duration}"]
    else:
        parts = [f"No findings in {files} ({duration})"]
    suppressed = len(result.findings) - total
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    if result.notices:
        parts.append(_plural(len(result.notices), "notice"))
    return "; ".join(parts)


_EVIDENCE_SHOWN = 3


_DEPENDENCIES_SHOWN = 40


def _dependency_lines(result: ScanResult, paint: Painter) -> list[str]:
    """The dependency table: vulnerable packages first; the full table is in the JSON."""
    if not result.dependencies:
        return []
    rows = sorted(result.dependencies,
                  key=lambda d: (not d.advisories, d.audited, d.manifest, d.line, d.name))
    table = [("package", "version", "manifest", "advisories", "fix")]
    for dep in rows[:_DEPENDENCIES_SHOWN]:
        advisories = ", ".join(a.id for a in dep.advisories) or (
            "none known" if dep.audited else "not audited")
        table.append((dep.name, dep.version or "(range)", f"{dep.manifest}:{dep.line}",
                      advisories, dep.fix or ""))
    widths = [min(max(len(row[i]) for row in table), 40) for i in range(4)]
    lines = [paint("heading", "Dependencies:")]
    for row in table:
        cells = [neutralise(cell)[:40].ljust(widths[i]) for i, cell in enumerate(row[:4])]
        lines.append("  " + "  ".join(cells) + ("  " + neutralise(row[4]) if row[4] else ""))
    hidden = len(rows) - _DEPENDENCIES_SHOWN
    if hidden > 0:
        lines.append(f"  … and {hidden} more (see --format json)")
    lines.append("")
    return lines


def _profile_lines(result: ScanResult, paint: Painter) -> list[str]:
    """What the bot does with the account, with evidence, and the key it needs. Left out when
    nothing was recognised (a pre-commit run on one helper file has no profile to show)."""
    if not result.capabilities:
        return []
    lines = [paint("heading", "Capability profile:")]
    for capability in result.capabilities:
        shown = ", ".join(f"{neutralise(e.path)}:{e.line} `{neutralise(e.call)}`"
                          for e in capability.evidence[:_EVIDENCE_SHOWN])
        more = len(capability.evidence) - _EVIDENCE_SHOWN
        extra = f" (+{more} more)" if more > 0 else ""
        lines.append(f"  {LABELS[capability.name]:<26} {shown}{extra}")
    lines.extend(textwrap.wrap(recommendation(result.capabilities), width=98,
                               initial_indent="  ", subsequent_indent="  "))
    lines.append("")
    return lines


def _grouped_findings(findings: Iterable[Finding], rules: Mapping[str, Rule],
                      paint: Painter) -> list[str]:
    """Findings under a line naming their file, consecutive ones of a file grouped."""
    lines: list[str] = []
    for path, group in itertools.groupby(findings, key=lambda f: f.location.path):
        members = list(group)
        width = max(len(_position(f)) for f in members)
        lines.append(paint("path", neutralise(path)))
        for finding in members:
            lines.extend(_finding_lines(finding, rule_for(finding, rules), width, paint))
        lines.append("")
    return lines


def _verdict_lines(result: ScanResult, paint: Painter) -> list[str]:
    """The `botscan vet` verdict: the word, the score and its parts, and why."""
    verdict = result.verdict
    if verdict is None:
        return []
    lines = [paint(verdict.level, f"Verdict: {verdict.level.upper()}") +
             f"  (risk score {verdict.score:.1f} / 10)"]
    lines.extend(textwrap.wrap(neutralise(verdict.reason), width=98, initial_indent="  ",
                               subsequent_indent="  "))
    lines.append(paint("heading", "Score:"))
    for part in verdict.parts:
        why = ", ".join(neutralise(r) for r in part.reasons[:6])
        more = f" (+{len(part.reasons) - 6} more)" if len(part.reasons) > 6 else ""
        lines.append(f"  {part.points:4.1f} / {part.maximum:<4.1f} {part.name:<24} {why}{more}"
                     .rstrip())
    lines.append("")
    return lines


def render_vet(result: ScanResult, rules: Mapping[str, Rule], *, color: bool = False,
               report: str | None = None) -> str:
    """What `botscan vet` prints: the verdict and score, the findings that decided it, the
    capability profile with the key to create, and where the full report is. The complete
    list of findings belongs in the HTML report, not in a terminal."""
    paint = _painter(color)
    lines = _verdict_lines(result, paint)
    verdict = result.verdict
    if verdict is not None and verdict.drivers:
        lines.append(paint("heading", "What decided it:"))
        lines.extend(_grouped_findings(verdict.drivers, rules, paint))
        rest = len(result.active) - len(verdict.drivers)
        if rest > 0:
            lines[-1:] = [f"(and {_plural(rest, 'more finding')} in the full report)", ""]
    lines.extend(_profile_lines(result, paint) or [
        paint("heading", "Capability profile:"),
        *textwrap.wrap(recommendation(result.capabilities), width=98, initial_indent="  ",
                       subsequent_indent="  "), ""])
    if report is not None:
        lines.append(f"Full report: {neutralise(report)}")
    lines.append(paint("summary", _summary(result)))
    return "\n".join(lines) + "\n"


def render(result: ScanResult, rules: Mapping[str, Rule], *, color: bool = False) -> str:
    """The report as text; ANSI colour only when `color` (the CLI decides: tty, NO_COLOR)."""
    paint = _painter(color)
    lines: list[str] = _verdict_lines(result, paint)
    active = [f for f in ordered_findings(result) if not f.suppressed]
    lines.extend(_grouped_findings(active, rules, paint))
    lines.extend(_dependency_lines(result, paint))
    lines.extend(_profile_lines(result, paint))
    notices = ordered_notices(result)
    if notices:
        lines.append(paint("heading", "Notices (not fully analysed):"))
        lines.extend(
            f"  {neutralise(n.path) + ': ' if n.path else ''}{neutralise(n.message)} "
            f"[{n.kind.value}]" for n in notices
        )
        lines.append("")
    lines.append(paint("summary", _summary(result)))
    return "\n".join(lines) + "\n"
