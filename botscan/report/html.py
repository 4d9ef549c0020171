"""The HTML report: one self-contained page a trader or reviewer reads in a browser or on paper.

The page is built for a reader who may have just downloaded a hostile bot, so everything that
comes from the scanned tree (paths, messages, snippets, evidence, dependency names) is data that
must never become markup or script:

- Jinja2 autoescapes every expression, in text and in attribute values alike, and the
  environment's `finalize` hook first passes every plain string through the text report's
  `neutralise`, so control characters, bidirectional overrides ("Trojan Source") and line
  separators show as visible escapes instead of reordering what the reader sees.
- The only markup that is not escaped is our own stylesheet and script, read from the
  package; the page embeds no scan data for the script (the script reads the DOM), so there is
  no JSON island a `</script>` in a file name could break out of.
- A Content-Security-Policy in a `<meta>` tag allows exactly that one `<style>` and that one
  `<script>`, by the SHA-256 of their text computed here, and nothing else: no network, no
  images, no inline event handlers, no `javascript:` URLs. Even markup that slipped past the
  escaping could not run or call home.

The page loads nothing from outside itself (no CDN, no web fonts), so it can be mailed,
archived next to a CI run or opened offline, and opening it tells nobody that it was read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from botscan.capabilities import LABELS, recommendation
from botscan.catalog import Rule
from botscan.model import Dependency, Finding, ScanResult, Severity
from botscan.report.common import (
    TOOL_NAME,
    TOOL_VERSION,
    capabilities_json,
    ordered_findings,
    ordered_notices,
    rule_for,
    sorted_evidence,
    unwrap,
)
from botscan.report.text import neutralise

TEMPLATE = "report.html"
# Evidence shown per capability before the rest folds away: enough to check the claim, short
# enough that a bot with two hundred order calls does not push the findings off the screen.
EVIDENCE_SHOWN = 5

_INLINE_MARKUP = re.compile(r"`([^`\n]+)`|\*\*([^*\n]+)\*\*")
_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Span:
    """A run of catalog prose: plain text, `code` or **strong**.

    Catalog prose is written in a little Markdown; splitting it into spans lets the template
    render `code` as <code> while every span's text is still escaped, instead of converting
    Markdown to HTML and marking the result safe.
    """

    kind: str
    text: str


@dataclass(frozen=True)
class FindingView:
    anchor: str
    finding: Finding
    rule: Rule
    snippet_lines: list[str]
    commit: str
    """The full commit id of a history finding, empty for a finding in the tree."""
    date: str
    """The evidence's `date` of a history finding (when the commit was made), if known."""
    evidence: list[tuple[str, str]]


@dataclass(frozen=True)
class FileGroup:
    path: str
    findings: list[FindingView]


@dataclass(frozen=True)
class FamilyGroup:
    family: str
    name: str
    files: list[FileGroup]
    active: int
    suppressed: int


@dataclass(frozen=True)
class Verdict:
    level: str
    """The highest active severity's label, or "clean": a CSS class and a word on the page."""
    text: str


def render(result: ScanResult, rules: Mapping[str, Rule], *, title: str = "botscan report") -> str:
    """The report as one HTML document (UTF-8 text ending with a newline).

    `rules` must hold the rule of every finding (an unknown id raises ValueError, as in the
    other formats). The document references no external resource; see the module docstring.
    """
    css, script = _assets()
    findings = ordered_findings(result)
    views = [_finding_view(i, f, rule_for(f, rules)) for i, f in enumerate(findings, 1)]
    families = _families(views)
    counts = result.counts_by_severity()
    page = _environment().get_template(TEMPLATE).render(
        title=title,
        tool_name=TOOL_NAME,
        tool_version=TOOL_VERSION,
        csp=content_security_policy(css, script),
        css=Markup(css),
        script=Markup(script),
        result=result,
        verdict=_verdict(result),
        vet=result.verdict,
        counts=counts,
        total=sum(counts.values()),
        suppressed=sum(1 for f in findings if f.suppressed),
        severities=[s.label for s in sorted(Severity, reverse=True)],
        families=families,
        finding_count=len(views),
        capabilities=[
            {**c, "label": LABELS.get(c["name"], c["name"])} for c in capabilities_json(result)
        ],
        evidence_shown=EVIDENCE_SHOWN,
        recommendation=recommendation(result.capabilities),
        dependencies=_dependency_rows(result.dependencies),
        vulnerable=sum(1 for d in result.dependencies if d.advisories),
        notices=ordered_notices(result),
        prose=prose,
    )
    return page.rstrip("\n") + "\n"


def content_security_policy(css: str, script: str) -> str:
    """A policy that allows this page's one stylesheet and one script and nothing else.

    Hashes rather than 'unsafe-inline': an element injected into the page (were escaping ever
    to fail) has a different hash and is refused. `default-src 'none'` blocks every fetch,
    image, font, frame and connection; Trusted Types forbid string-to-script sinks such as
    `innerHTML` in our own script too.
    """
    return (
        "default-src 'none'; "
        f"style-src '{_sha256(css)}'; "
        f"script-src '{_sha256(script)}'; "
        "base-uri 'none'; form-action 'none'; "
        "require-trusted-types-for 'script'; trusted-types 'none'"
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def prose(text: str) -> list[list[Span]]:
    """Catalog prose as paragraphs of spans (see `Span`), reflowed like the other formats."""
    paragraphs = _PARAGRAPH.split(unwrap(text))
    return [_spans(p) for p in paragraphs if p.strip()]


def _spans(paragraph: str) -> list[Span]:
    spans: list[Span] = []
    position = 0
    for match in _INLINE_MARKUP.finditer(paragraph):
        if match.start() > position:
            spans.append(Span("text", paragraph[position:match.start()]))
        if match.group(1) is not None:
            spans.append(Span("code", match.group(1)))
        else:
            spans.append(Span("strong", match.group(2)))
        position = match.end()
    if position < len(paragraph):
        spans.append(Span("text", paragraph[position:]))
    return spans


@functools.cache
def _assets() -> tuple[str, str]:
    """The stylesheet and script, exactly as they go between the tags (their hashes say so)."""
    folder = resources.files("botscan.report").joinpath("templates")
    css = folder.joinpath("report.css").read_text(encoding="utf-8")
    script = folder.joinpath("report.js").read_text(encoding="utf-8")
    return css, script


def _display(value: Any) -> Any:
    """Jinja's `finalize`: how every `{{ expression }}` value is shown, before escaping.

    Plain strings may come from the scanned tree, so they are neutralised (control, format and
    separator characters become visible escapes, lone surrogates from undecodable file names
    become `\\udcXX`); our own Markup (stylesheet and script) passes unchanged; None shows as
    nothing rather than as the word "None".
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return neutralise(value)
    return value


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("botscan.report", "templates"),
        autoescape=True,
        finalize=_display,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _finding_view(index: int, finding: Finding, rule: Rule) -> FindingView:
    kind, _, ref = finding.location.origin.partition(":")
    commit = ref if kind == "commit" else ""
    evidence = sorted_evidence(finding)
    date = evidence.get("date") if commit else None
    return FindingView(
        anchor=f"finding-{index}",
        finding=finding,
        rule=rule,
        snippet_lines=_snippet_lines(finding.snippet),
        commit=commit,
        date=date if isinstance(date, str) else "",
        evidence=[(key, _evidence_text(value)) for key, value in evidence.items()],
    )


def _snippet_lines(snippet: str) -> list[str]:
    """The redacted snippet, dedented, one string per line (each is neutralised on output).

    Split on newlines only, so a U+2028 inside a line is shown escaped rather than taken as a
    line break.
    """
    text = textwrap.dedent(snippet.replace("\r\n", "\n").expandtabs(4)).strip("\n")
    return [line.rstrip() for line in text.split("\n")] if text else []


def _evidence_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _families(views: list[FindingView]) -> list[FamilyGroup]:
    """Findings by rule family (BOT1 first), then by file, each file's findings by line."""
    ordered = sorted(views, key=lambda v: v.rule.family)  # stable: keeps path and line order
    groups = []
    for family, members in itertools.groupby(ordered, key=lambda v: v.rule.family):
        views_of_family = list(members)
        files = [
            FileGroup(path, list(of_file))
            for path, of_file in itertools.groupby(
                views_of_family, key=lambda v: v.finding.location.path)
        ]
        suppressed = sum(1 for v in views_of_family if v.finding.suppressed)
        groups.append(FamilyGroup(family, views_of_family[0].rule.family_name, files,
                                  len(views_of_family) - suppressed, suppressed))
    return groups


_VET_LEVELS = {"dangerous": "critical", "review": "medium", "no blocking issues": "clean"}


def _verdict(result: ScanResult) -> Verdict:
    """One line a reader acts on, led by the most severe thing found (or, for `botscan vet`,
    the colour of its verdict: the template shows the verdict itself)."""
    if result.verdict is not None:
        return Verdict(_VET_LEVELS[result.verdict.level], result.verdict.reason)
    counts = result.counts_by_severity()
    total = sum(counts.values())
    files = f"{result.files_scanned} file{'s' if result.files_scanned != 1 else ''}"
    serious = counts["critical"] + counts["high"]
    if serious:
        level = "critical" if counts["critical"] else "high"
        which = " and ".join(f"{counts[s]} {s}" for s in ("critical", "high") if counts[s])
        return Verdict(level, f"Do not give this code a real key yet: {which} "
                              f"finding{'s' if serious != 1 else ''} to fix first "
                              f"({total} in all, in {files}).")
    if total:
        level = "medium" if counts["medium"] else "low"
        return Verdict(level, f"No critical or high findings; {total} lower-severity "
                              f"finding{'s' if total != 1 else ''} to review in {files}.")
    unread = f", but {len(result.notices)} notice{'s' if len(result.notices) != 1 else ''} " \
             "say what was not fully analysed" if result.notices else ""
    return Verdict("clean", f"No findings in {files}{unread}.")


def _dependency_rows(dependencies: list[Dependency]) -> list[Dependency]:
    """Vulnerable packages first, then the unaudited, then the rest, each by manifest line:
    the order the text report uses, so both read the same."""
    return sorted(dependencies,
                  key=lambda d: (not d.advisories, d.audited, d.manifest, d.line, d.name))
