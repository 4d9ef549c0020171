"""The HTML report: its structure, hostile data kept as text, and the page in a real browser.

The static tests parse the page with the standard library's `html.parser` into a small tree and
check what a reader sees (verdict, counts, every finding, the dependency table, notices) and
what a hostile repository could abuse (markup in paths, messages, snippets, evidence; the
Content-Security-Policy; references to anything outside the file).

The browser tests run Debian's `chromium` headless, unmocked: the page's own script must run
(it marks <body>), the payloads planted in the data must not (they would mark <body> too, or
create elements), the filters must work when clicked, the page must fit a phone's width, and it
must make no request. They skip, saying so, when no Chromium is installed.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_samples import (
    HISTORY_ORIGIN,
    REDACTED_SECRET,
    SCRIPT_PATH,
    UNDECODABLE_PATH,
    assert_no_secret,
    catalog,
    empty_result,
    finding,
    sample_findings,
    sample_notices,
    undecodable_result,
)

from botscan.capabilities import recommendation
from botscan.model import (
    Advisory,
    Capability,
    Dependency,
    Evidence,
    Finding,
    Notice,
    NoticeKind,
    ScanResult,
    Severity,
)
from botscan.report import html
from botscan.report.common import first_sentence, unwrap
from botscan.report.text import neutralise

REPO = Path(__file__).resolve().parents[1]
HISTORY_DATE = "2023-04-01T09:30:00+00:00"

# Each payload, if it ever ran, marks <body> with data-pwned (and sets window.__pwned), so the
# dumped DOM shows it; the markup ones would also create elements the page never has.
PWN = "window.__pwned=1;document.body.setAttribute('data-pwned','1')"
PAYLOADS = (
    f"<script>{PWN}</script>",
    f'"><img src=x onerror="{PWN}">',
    f"'><svg onload=\"{PWN}\"></svg>",
    f"</script><script>{PWN}</script>",
    f"</textarea></title></style><script>{PWN}</script>",
    f"javascript:{PWN}",
    "</style><style>body{display:none}</style>",
    "<!-- ]]> {{ 7*7 }} ${7*7}",
    "line\u2028separator\u2029end",
    "\u202eevil\u202c.py",
)
LEAK = "http://127.0.0.1:{port}/leak"


# -- sample results --------------------------------------------------------------------------


def rich_result() -> ScanResult:
    """The shared sample plus what only the HTML report lays out: a capability profile with
    more evidence than is shown unfolded, a dependency table, findings of four families, and
    a history finding with its commit date."""
    findings = [
        with_evidence(f, date=HISTORY_DATE) if f.location.origin != "worktree" else f
        for f in sample_findings()
    ]
    findings += [
        finding("BOT301", "bot/treasury.py", 31, "Withdrawal to an address read from config",
                "exchange.withdraw(code, amount, cfg['address'])",
                evidence={"library": "ccxt", "method": "withdraw"}),
        finding("BOT601", "requirements.txt", 3, "requests 2.19.0 has 1 known vulnerability",
                "requests==2.19.0",
                evidence={"package": "requests", "version": "2.19.0"}),
    ]
    trade = [Evidence("bot/strategy.py", 10 + 7 * i, f"exchange.create_order(symbol, side_{i})")
             for i in range(8)]
    return ScanResult(
        findings=findings,
        notices=[*sample_notices(),
                 Notice("requirements.txt", NoticeKind.AUDIT,
                        "1 pinned dependency not audited (numpy: service unreachable)")],
        files_scanned=14,
        duration_seconds=1.73,
        roots=["."],
        capabilities=[
            Capability("read", [Evidence("bot/exchange.py", 22, "exchange.fetch_balance()")]),
            Capability("trade", trade),
            Capability("withdraw", [Evidence("bot/treasury.py", 31, "exchange.withdraw")]),
        ],
        dependencies=[
            Dependency("ccxt", "4.2.1", "requirements.txt", 1, audited=True),
            Dependency("numpy", "1.26.0", "requirements.txt", 2,
                       skip_reason="not audited: service unreachable"),
            Dependency(
                "requests", "2.19.0", "requirements.txt", 3,
                advisories=[Advisory("PYSEC-2018-28", ("CVE-2018-18074",), ("2.20.0",),
                                     "Sends an Authorization header over a redirect to http.")],
                fix="upgrade requests to 2.20.0 or later", audited=True),
            Dependency("python-telegram-bot", None, "requirements.txt", 4),
        ],
    )


def with_evidence(item: Finding, **extra: object) -> Finding:
    """`item` with more evidence (a history finding's date, as the history source adds it)."""
    item.evidence = {**item.evidence, **extra}
    return item


def hostile_result(port: int = 9) -> ScanResult:
    """Every field a repository controls, filled with payloads; `port` is where a leak would
    land (the loopback server of the network test)."""
    leak = LEAK.format(port=port)
    findings = []
    for i, payload in enumerate((*PAYLOADS, f'<img src="{leak}">')):
        item = finding("BOT401", f"bots/{payload}/x{i}.py", i + 1, f"msg {payload}",
                       f"URL = {payload!r}  # {payload}",
                       evidence={"host": payload, "list": [payload, {"k": payload}]},
                       suppression=payload if i % 3 == 0 else None)
        findings.append(item)
    findings.append(finding("BOT103", f"old/{PAYLOADS[0]}.py", 1, PAYLOADS[1], PAYLOADS[3],
                            origin=f"commit:{PAYLOADS[1]}", evidence={"date": PAYLOADS[0]}))
    return ScanResult(
        findings=findings,
        notices=[Notice(p, NoticeKind.NOT_PARSED, p) for p in PAYLOADS]
        + [Notice("", NoticeKind.AUDIT, f"<link rel=stylesheet href=\"{leak}.css\">")],
        files_scanned=len(PAYLOADS),
        duration_seconds=0.1,
        roots=[PAYLOADS[0], f"url({leak}-css)"],
        capabilities=[Capability(PAYLOADS[1], [Evidence(PAYLOADS[0], 1, PAYLOADS[3])]),
                      Capability("trade", [Evidence(p, 2, p) for p in PAYLOADS])],
        dependencies=[Dependency(p, p, p, 1, [Advisory(p, (p,), (p,), p)], fix=p)
                      for p in PAYLOADS[:4]]
        + [Dependency(PAYLOADS[4], None, "requirements.txt", 9, skip_reason=PAYLOADS[5])],
    )


# -- a small DOM over html.parser -----------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def one(self, tag: str | None = None, cls: str | None = None) -> Node:
        (found,) = self.all(tag, cls)
        return found

    def by_id(self, anchor: str) -> Node:
        (found,) = [n for n in self.iter() if n.attrs.get("id") == anchor]
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(document: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(document)
    builder.close()
    return builder.root


def _render(result: ScanResult | None = None, **kwargs: str) -> str:
    return html.render(result or rich_result(), catalog(), **kwargs)


def _page(result: ScanResult | None = None) -> Node:
    return parse(_render(result))


def _squash(text: str) -> str:
    return " ".join(text.split())


# -- structure -------------------------------------------------------------------------------


def test_complete_document_with_one_style_and_one_script() -> None:
    page = _render()
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert page.endswith("</html>\n")
    tree = parse(page)
    assert len(tree.all("style")) == 1
    assert len(tree.all("script")) == 1
    assert tree.one("title").text == "botscan report"
    assert tree.one("h1").text == "botscan report"
    assert parse(_render(title="Vetting freqtrade-fork")).one("title").text == (
        "Vetting freqtrade-fork")


def test_verdict_counts_files_and_duration_at_the_top() -> None:
    tree = _page()
    verdict = tree.by_id("verdict")
    assert "verdict-critical" in verdict.classes
    assert _squash(verdict.text) == (
        "Highest severity: critical Do not give this code a real key yet: 2 critical and "
        "5 high findings to fix first (8 in all, in 14 files).")
    counts = {li.attrs["data-count"]: _squash(li.text) for li in tree.all("li", "count")}
    assert counts == {"critical": "2 critical", "high": "5 high", "medium": "1 medium",
                      "low": "0 low", "suppressed": "2 suppressed", "notices": "4 notices"}
    assert "14 files scanned in 1.73 s" in tree.one("p", "meta").text


@pytest.mark.parametrize(("findings", "level", "text"), [
    ([finding("BOT401", "feed.py", 1, "plain http", 'URL = "http://x.example"')], "medium",
     "No critical or high findings; 1 lower-severity finding to review in 1 file."),
    ([], "clean", "No findings in 1 file."),
])
def test_verdict_without_serious_findings(findings: list[Finding], level: str,
                                          text: str) -> None:
    result = ScanResult(findings=findings, notices=[], files_scanned=1, duration_seconds=0.05,
                        roots=["."])
    verdict = _page(result).by_id("verdict")
    assert f"verdict-{level}" in verdict.classes
    assert verdict.text.endswith(text)


def test_clean_verdict_points_at_notices() -> None:
    verdict = _page(ScanResult([], sample_notices(), 3, 0.1, ["."])).by_id("verdict")
    assert verdict.text.endswith(
        "No findings in 3 files, but 3 notices say what was not fully analysed.")


def test_capability_profile_with_evidence_and_key_recommendation() -> None:
    result = rich_result()
    tree = _page(result)
    profile = tree.by_id("profile")
    assert _squash(profile.one("p", "recommendation").text) == (
        "Key to create: " + _squash(recommendation(result.capabilities)))
    rows = {row.attrs["data-capability"]: row for row in profile.all("tr")
            if "data-capability" in row.attrs}
    assert list(rows) == ["read", "trade", "withdraw"]
    assert rows["read"].one("th").text == "read account data"
    assert _squash(rows["read"].one("li").text) == "bot/exchange.py:22 exchange.fetch_balance()"
    trade = rows["trade"]
    assert len(trade.all("li")) == 8, "every piece of evidence is in the page"
    folded = trade.one("details")
    assert folded.one("summary").text == "3 more"
    assert len(folded.all("li")) == 3
    assert profile.all("code")[1].text == "exchange.create_order(symbol, side_0)"


def test_findings_grouped_by_family_then_file_then_line() -> None:
    tree = _page()
    families = tree.all("section", "family")
    assert [f.attrs["data-family"] for f in families] == ["BOT1", "BOT3", "BOT4", "BOT6"]
    assert [_squash(f.one("h3").text) for f in families] == [
        "BOT1 · Credentials at rest (3, 1 suppressed)",
        "BOT3 · Fund movement (1)",
        "BOT4 · Transport (3, 1 suppressed)",
        "BOT6 · Dependencies (1)",
    ]
    layout = {
        family.attrs["data-family"]: [
            (group.one("h4").text,
             [(a.one("span", "rule-id").text, a.one("span", "loc").text)
              for a in group.all("article")])
            for group in family.all("section", "file-group")
        ]
        for family in families
    }
    assert layout["BOT1"] == [
        ("bot/config.py", [("BOT102", "bot/config.py:11:15"), ("BOT101", "bot/config.py:12:15")]),
        ("notify/telegram.py", [("BOT106", "notify/telegram.py:5:10")]),
        ("old/keys.py", [("BOT103", "old/keys.py:1:15")]),
    ]
    assert layout["BOT4"] == [
        ("bot/exchange.py", [("BOT403", "bot/exchange.py:8:12"),
                             ("BOT404", "bot/exchange.py:40:1")]),
        ("scripts/local_dashboard.py", [("BOT402", "scripts/local_dashboard.py:2:8")]),
        (SCRIPT_PATH, [("BOT401", f"{SCRIPT_PATH}:3:8")]),
    ]
    assert len(tree.all("article", "finding")) == len(rich_result().findings)


def test_each_finding_has_severity_text_confidence_snippet_why_and_fix() -> None:
    rules = catalog()
    tree = _page()
    for item in rich_result().findings:
        rule = rules[item.rule_id]
        (article,) = [a for a in tree.all("article", "finding")
                      if a.one("span", "loc").text.startswith(f"{item.location.path}:"
                                                              f"{item.location.line}:")
                      and a.one("span", "rule-id").text == item.rule_id]
        assert article.attrs["data-severity"] == item.severity.label
        assert article.attrs["data-family"] == rule.family
        assert article.one("span", "badge").text == item.severity.label, "severity as text"
        assert f"confidence {item.confidence.label}" in article.one("p", "finding-meta").text
        assert _squash(article.one("h5").text) == f"{item.rule_id} {rule.title}"
        assert article.one("p", "message").text == item.message
        lines = [span.text for span in article.one("pre", "snippet").all("span", "line")]
        assert "\n".join(lines) == textwrap.dedent(item.snippet)
        fix = _squash(article.one("div", "fix").text)
        assert first_sentence(rule.remediation).replace("`", "") in fix
        why = article.one("details", "why")
        assert why.one("summary").text == "Why it matters"
        assert _squash(unwrap(rule.description)).replace("`", "").replace("**", "")[:80] in (
            _squash(why.text))


def test_catalog_markdown_becomes_code_and_strong_elements() -> None:
    article = next(a for a in _page().all("article", "finding")
                   if a.one("span", "rule-id").text == "BOT101")
    fix = article.one("div", "fix")
    assert [c.text for c in fix.all("code")] == ['os.environ["BINANCE_API_SECRET"]']
    assert [s.text for s in fix.all("strong")] == ["rotate the key now"]
    assert "**" not in fix.text and "`" not in fix.text


def test_multi_line_snippet_is_dedented_line_by_line() -> None:
    article = next(a for a in _page().all("article", "finding")
                   if a.one("span", "rule-id").text == "BOT404")
    lines = [s.text for s in article.one("pre", "snippet").all("span", "line")]
    assert lines == ["resp = requests.get(", "    url, verify=False", ")"]


def test_history_finding_shows_commit_and_date() -> None:
    article = next(a for a in _page().all("article", "finding")
                   if a.one("span", "rule-id").text == "BOT103")
    history = article.one("p", "history")
    sha = HISTORY_ORIGIN.removeprefix("commit:")
    assert _squash(history.text) == f"In git history: commit {sha[:12]}, {HISTORY_DATE}"
    assert history.one("code").attrs["title"] == sha
    worktree = next(a for a in _page().all("article", "finding")
                    if a.one("span", "rule-id").text == "BOT101")
    assert not worktree.all("p", "history")


def test_suppressed_findings_are_shown_marked_and_not_counted() -> None:
    articles = {a.one("span", "rule-id").text: a for a in _page().all("article", "finding")}
    for rule_id, reason in (("BOT106", ": revoked test bot"), ("BOT402", "")):
        article = articles[rule_id]
        assert article.attrs["data-suppressed"] == "1"
        assert "is-suppressed" in article.classes
        assert article.one("span", "tag-suppressed").text == f"suppressed in the source{reason}"
    assert articles["BOT101"].attrs["data-suppressed"] == "0"


def test_evidence_listed_as_key_value_pairs() -> None:
    article = next(a for a in _page().all("article", "finding")
                   if a.one("span", "rule-id").text == "BOT101")
    pairs = [(div.one("dt").text, div.one("dd").text)
             for div in article.one("details", "evidence").all("div")]
    assert pairs == [("credential", "exchange-secret"), ("exchange", "binance"),
                     ("value", REDACTED_SECRET)]


def test_dependency_table() -> None:
    table = _page().by_id("dependencies").one("table")
    assert [_squash(th.text) for th in table.one("thead").all("th")] == [
        "Package", "Version", "Manifest", "Advisories", "Fix"]
    rows = [[_squash(cell.text) for cell in row.children if isinstance(cell, Node)]
            for row in table.one("tbody").all("tr")]
    assert rows == [
        ["requests", "2.19.0", "requirements.txt:3", "PYSEC-2018-28 (CVE-2018-18074)details"
         "Sends an Authorization header over a redirect to http.",
         "upgrade requests to 2.20.0 or later"],
        ["numpy", "1.26.0", "requirements.txt:2", "not audited: service unreachable", ""],
        ["python-telegram-bot", "not pinned", "requirements.txt:4", "not audited", ""],
        ["ccxt", "4.2.1", "requirements.txt:1", "none known", ""],
    ]
    assert table.one("tbody").all("tr")[0].classes == {"vulnerable"}


def test_notices_listed_with_their_kind() -> None:
    items = [_squash(li.text) for li in _page().by_id("notices").all("li")]
    assert items == [
        r"binary assets/\x1b[31mevil\x07.py: binary data in a file named like source",
        "too-large data/candles.json: 12.4 MB is over the 10 MB limit",
        "not-parsed legacy/py2_bot.py: Python 2 syntax: libcst could not parse it, scanned as "
        "text",
        "not-audited requirements.txt: 1 pinned dependency not audited (numpy: service "
        "unreachable)",
    ]


def test_filter_controls_cover_every_severity_and_present_family() -> None:
    form = _page().by_id("controls")
    assert "hidden" in form.attrs, "shown by the script only, so that no dead control shows"
    boxes = [(i.attrs["name"], i.attrs["value"]) for i in form.all("input")
             if i.attrs.get("type") == "checkbox"]
    assert boxes == [("severity", s.label) for s in sorted(Severity, reverse=True)] + [
        ("family", f) for f in ("BOT1", "BOT3", "BOT4", "BOT6")] + [("suppressed", "1")]
    assert all("checked" in i.attrs for i in form.all("input") if i.attrs["type"] == "checkbox")
    search = form.by_id("search")
    assert search.attrs["type"] == "search"
    assert [label.attrs.get("for") for label in form.all("label")].count("search") == 1


def test_empty_result_has_no_controls_and_says_so() -> None:
    tree = _page(empty_result())
    assert not [n for n in tree.iter() if n.attrs.get("id") == "controls"]
    assert "No findings." in tree.by_id("findings").text
    assert "No dependency manifest was found or read." in tree.by_id("dependencies").text
    assert "Every file was analysed." in tree.by_id("notices").text
    assert len(tree.all("script")) == 1, "the script still marks the page and handles print"


def test_no_secret_and_redacted_forms_kept() -> None:
    page = _render()
    assert_no_secret(page)
    assert REDACTED_SECRET in parse(page).text


def test_unknown_rule_is_an_error() -> None:
    item = finding("BOT401", "a.py", 1, "m", "s")
    item.rule_id = "BOT999"
    with pytest.raises(ValueError, match="BOT999"):
        _render(ScanResult([item], [], 1, 0.1, ["."]))


def test_undecodable_file_name_is_shown_escaped_and_page_is_utf8() -> None:
    page = _render(undecodable_result())
    page.encode("utf-8")
    assert UNDECODABLE_PATH not in page
    assert "bots/caf\\udce9.py" in parse(page).one("h4").text


# -- CSP and self-containment ----------------------------------------------------------------


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _csp(tree: Node) -> dict[str, list[str]]:
    (meta,) = [m for m in tree.all("meta")
               if m.attrs.get("http-equiv", "").lower() == "content-security-policy"]
    directives = {}
    for part in meta.attrs["content"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_csp_allows_exactly_the_inline_style_and_script_by_hash() -> None:
    page = _render()
    tree = parse(page)
    csp = _csp(tree)
    assert csp["default-src"] == ["'none'"]
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    (script,) = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert csp["style-src"] == [f"'{_sha256(style)}'"]
    assert csp["script-src"] == [f"'{_sha256(script)}'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'none'"]
    assert "'unsafe-inline'" not in page and "'unsafe-eval'" not in page
    assert "unsafe-hashes" not in page
    head = tree.one("head")
    order = [n.tag for n in head.children if isinstance(n, Node)]
    assert order.index("meta") < order.index("style"), "the policy precedes what it governs"
    assert page.index("Content-Security-Policy") < page.index("<style>")


def test_no_inline_handlers_or_style_attributes_the_csp_would_refuse() -> None:
    for tree in (_page(), _page(hostile_result())):
        for node in tree.iter():
            assert not any(name.startswith("on") for name in node.attrs), node
            assert "style" not in node.attrs, node


@pytest.mark.parametrize("make", [rich_result, hostile_result], ids=["sample", "hostile"])
def test_references_nothing_outside_the_file(make: Callable[[], ScanResult]) -> None:
    page = _render(make())
    tree = parse(page)
    assert not tree.all("link") and not tree.all("img") and not tree.all("iframe")
    for node in tree.iter():
        for name in ("src", "srcset", "action", "formaction", "poster", "data", "background"):
            assert name not in node.attrs, node
        if "href" in node.attrs:
            assert node.attrs["href"].startswith("#"), node
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    (script,) = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    for code in (style, script):
        assert "http://" not in code and "https://" not in code and "//" + "cdn" not in code
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|sendBeacon|import\()", script)


# -- hostile data ----------------------------------------------------------------------------

# Elements and attributes the template itself uses: a hostile page has nothing else.
_TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "a", "header", "h1", "h2", "h3", "h4",
    "h5", "h6", "p", "span", "ul", "li", "nav", "main", "section", "strong", "div", "table",
    "thead", "tbody", "tr", "th", "td", "code", "details", "summary", "form", "fieldset",
    "legend", "label", "input", "article", "pre", "dl", "dt", "dd", "footer", "script",
}


def test_hostile_data_stays_text_everywhere() -> None:
    page = _render(hostile_result(), title=PAYLOADS[0])
    tree = parse(page)
    assert {n.tag for n in tree.iter()} - {"#document"} <= _TEMPLATE_TAGS
    assert len(tree.all("script")) == 1 and len(tree.all("style")) == 1
    assert tree.one("script").attrs == {} and tree.one("style").attrs == {}
    assert "<script>window" not in page and "<img" not in page and "<svg" not in page
    assert page.count("</script>") == 1 and page.count("</style>") == 1
    text = tree.text
    for payload in PAYLOADS:
        shown = neutralise(payload)
        assert shown in text, payload
    assert tree.one("title").text == PAYLOADS[0]
    # A separator or bidi override from the repository never reaches the page raw.
    for char in ("\u2028", "\u2029", "\u202e"):
        assert char not in page
    assert "line\\u2028separator\\u2029end" in text
    assert "{{ 7*7 }}" in text and "49" not in text


def test_hostile_data_in_attributes_round_trips_intact() -> None:
    tree = _page(hostile_result())
    article = next(a for a in tree.all("article", "finding")
                   if a.one("span", "rule-id").text == "BOT103")
    assert article.one("p", "history").one("code").attrs["title"] == PAYLOADS[1]
    rows = [r for r in tree.by_id("profile").all("tr") if "data-capability" in r.attrs]
    assert rows[0].attrs["data-capability"] == PAYLOADS[1]
    assert rows[0].one("th").text == PAYLOADS[1]
    for node in tree.iter():
        assert "data-pwned" not in node.attrs and "onerror" not in node.attrs


# -- the templates ship ----------------------------------------------------------------------


def test_templates_ship_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("botscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"botscan/report/html.py", "botscan/report/templates/report.html",
            "botscan/report/templates/report.css",
            "botscan/report/templates/report.js"} <= names


# -- a real browser --------------------------------------------------------------------------

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium not found, so the browser tests of the HTML report did NOT "
                "run (no script check, no filter check, no screenshots). Install it with "
                "`apt-get install chromium` (Debian/Ubuntu) and run the tests again.")


# No host name resolves, so nothing the page asked for could reach the network; the loopback
# tests exclude 127.0.0.1, where their own server records every request.
OFFLINE = "MAP * ~NOTFOUND"
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def run_chromium(browser: str, tmp_path: Path, url: str, *args: str,
                 resolver: str = OFFLINE) -> str:
    """Headless Chromium on `url`, with a fresh profile and `resolver` rules; its stdout."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--hide-scrollbars", f"--user-data-dir={profile}",
        f"--host-resolver-rules={resolver}", *args, url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(browser: str, tmp_path: Path, url: str, resolver: str = OFFLINE) -> Node:
    dom = run_chromium(browser, tmp_path, url, "--virtual-time-budget=5000", "--dump-dom",
                       resolver=resolver)
    assert dom.strip(), "Chromium dumped no DOM"
    return parse(dom)


def _write(tmp_path: Path, name: str, page: str) -> Path:
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


def test_browser_runs_the_page_script_and_none_of_the_payloads(chromium: str,
                                                                tmp_path: Path) -> None:
    result = hostile_result()
    report = _write(tmp_path, "hostile.html", _render(result, title=PAYLOADS[3]))
    dom = dump_dom(chromium, tmp_path, report.as_uri())
    body = dom.one("body")
    assert body.attrs.get("data-report-js") == "ready", "the page's own script did not run"
    assert "data-pwned" not in body.attrs, "a payload ran"
    for node in dom.iter():
        assert "data-pwned" not in node.attrs, node
        assert not any(name.startswith("on") for name in node.attrs), node
    assert {n.tag for n in dom.iter()} - {"#document"} <= _TEMPLATE_TAGS
    assert len(dom.all("script")) == 1 and not dom.all("img") and not dom.all("svg")
    assert "hidden" not in dom.by_id("controls").attrs, "the script showed the filters"
    # The whole page is there, payloads as text, though no name could be resolved.
    assert len(dom.all("article", "finding")) == len(result.findings)
    assert dom.one("footer").text.strip().startswith("Generated by botscan")
    for payload in PAYLOADS:
        assert neutralise(payload) in dom.text


def test_browser_filter_preset_from_the_address(chromium: str, tmp_path: Path) -> None:
    report = _write(tmp_path, "report.html", _render())
    dom = dump_dom(chromium, tmp_path, report.as_uri() + "#severity=critical&suppressed=0")
    shown = [a for a in dom.all("article", "finding") if "hidden" not in a.attrs]
    assert sorted(a.one("span", "rule-id").text for a in shown) == ["BOT101", "BOT103"]
    assert dom.by_id("filter-status").text == "Filtered: showing 2 of 10 findings."
    families = {s.attrs["data-family"]: "hidden" in s.attrs for s in dom.all("section", "family")}
    assert families == {"BOT1": False, "BOT3": True, "BOT4": True, "BOT6": True}


# The harness page (same origin as the report, on a loopback server) drives the report in an
# iframe as a reader would: it clicks the checkboxes, types a search, and measures the page at
# a phone's width; then writes what it saw into its own DOM for --dump-dom.
_HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>harness</title><link rel="icon" href="data:,">
</head><body>
<iframe id="report" src="/%s" width="390" height="844"></iframe>
<pre id="results">pending</pre>
<script>
const frame = document.getElementById("report");
frame.addEventListener("load", () => {
  const doc = frame.contentDocument;
  const out = {ready: doc.body.getAttribute("data-report-js")};
  const shown = () => Array.from(doc.querySelectorAll("article.finding"))
    .filter((a) => !a.hidden).map((a) => a.querySelector(".rule-id").textContent);
  const box = (name, value) => doc.querySelector(`input[name="${name}"][value="${value}"]`);
  out.all = shown();
  ["high", "medium", "low"].forEach((v) => box("severity", v).click());
  out.critical = shown();
  out.status = doc.getElementById("filter-status").textContent;
  ["high", "medium", "low"].forEach((v) => box("severity", v).click());
  box("family", "BOT1").click();
  out.noBot1 = shown();
  box("family", "BOT1").click();
  box("suppressed", "1").click();
  out.noSuppressed = shown();
  box("suppressed", "1").click();
  const search = doc.getElementById("search");
  search.value = "EXCHANGE.py";
  search.dispatchEvent(new Event("input", {bubbles: true}));
  out.search = shown();
  search.value = "no such thing anywhere";
  search.dispatchEvent(new Event("input", {bubbles: true}));
  out.none = shown();
  out.noMatchShown = !doc.getElementById("no-match").hidden;
  search.value = "";
  search.dispatchEvent(new Event("input", {bubbles: true}));
  const root = doc.documentElement;
  out.overflow = root.scrollWidth - root.clientWidth;
  out.wideSnippets = Array.from(doc.querySelectorAll("pre.snippet"))
    .filter((p) => p.scrollWidth > p.clientWidth + 1).length;
  document.getElementById("results").textContent = JSON.stringify(out);
});
</script></body></html>
"""


@contextmanager
def serve(directory: Path) -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server for `directory` that records every path requested of it."""
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads `requested` instead."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requested
    finally:
        server.shutdown()
        server.server_close()


def _harness_results(chromium: str, tmp_path: Path, site: Path, port: int,
                     report: str) -> dict[str, Any]:
    _write(site, f"harness-{report}", _HARNESS % report)
    dom = dump_dom(chromium, tmp_path, f"http://127.0.0.1:{port}/harness-{report}",
                   resolver=LOOPBACK_ONLY)
    return json.loads(html_lib.unescape(dom.by_id("results").text))  # type: ignore[no-any-return]


def test_browser_filters_and_search_work_when_used(chromium: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _write(site, "report.html", _render())
    with serve(site) as (port, requested):
        out = _harness_results(chromium, tmp_path, site, port, "report.html")
    every = ["BOT102", "BOT101", "BOT106", "BOT103", "BOT301", "BOT403", "BOT404", "BOT402",
             "BOT401", "BOT601"]
    assert out["ready"] == "ready"
    assert out["all"] == every
    assert out["critical"] == ["BOT101", "BOT103"]
    assert out["status"] == "Filtered: showing 2 of 10 findings."
    assert out["noBot1"] == [r for r in every if not r.startswith("BOT1")]
    assert out["noSuppressed"] == [r for r in every if r not in ("BOT106", "BOT402")]
    assert out["search"] == ["BOT403", "BOT404"], "search is case-insensitive, on paths too"
    assert out["none"] == [] and out["noMatchShown"] is True
    assert out["overflow"] <= 0, "the page scrolls sideways at 390 px"
    assert out["wideSnippets"] == 0, "snippets wrap inside their box"
    assert set(requested) == {"/harness-report.html", "/report.html"}


def test_browser_hostile_page_requests_nothing_and_fits_a_phone(chromium: str,
                                                                tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with serve(site) as (port, requested):
        _write(site, "hostile.html", _render(hostile_result(port)))
        dom = dump_dom(chromium, tmp_path, f"http://127.0.0.1:{port}/hostile.html",
                       resolver=LOOPBACK_ONLY)
        alone = list(requested)
        out = _harness_results(chromium, tmp_path, site, port, "hostile.html")
    assert dom.one("body").attrs.get("data-report-js") == "ready"
    assert alone == ["/hostile.html"], "the page alone asks for nothing more, not even an icon"
    assert out["ready"] == "ready"
    assert out["overflow"] <= 0 and out["wideSnippets"] == 0
    assert not [p for p in requested if "leak" in p], requested
    assert set(requested) == {"/hostile.html", "/harness-hostile.html"}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)],
                         ids=["phone", "desktop"])
def test_browser_screenshots(chromium: str, tmp_path: Path, width: int, height: int) -> None:
    """Screenshots of the sample report. Set BOTSCAN_SCREENSHOT_DIR to keep them (docs/)."""
    report = _write(tmp_path, "report.html", _render(title="botscan report: example-bot"))
    png = tmp_path / f"report-{width}x{height}.png"
    run_chromium(chromium, tmp_path, report.as_uri(), f"--screenshot={png}",
                 f"--window-size={width},{height}")
    assert png.is_file(), "Chromium wrote no screenshot"
    assert _png_size(png) == (width, height)
    assert png.stat().st_size > 20_000, "a near-empty screenshot: the page did not render"
    keep = os.environ.get("BOTSCAN_SCREENSHOT_DIR")
    if keep:
        shutil.copy(png, Path(keep) / f"html-report-{width}x{height}.png")


def test_rendering_does_not_change_the_result() -> None:
    """Rendering reads the result only: the CLI renders several formats from one scan."""
    result = rich_result()
    before = [(f.location, dict(f.evidence), f.snippet) for f in result.findings]
    _render(result)
    assert [(f.location, dict(f.evidence), f.snippet) for f in result.findings] == before


def test_browser_on_a_fixture_bots_report(chromium: str, tmp_path: Path) -> None:
    """The report of a real scan (the signals bot, with a planted `<script>` file name): it
    renders, the page's script runs, the severity filter works, the planted markup stays text,
    and the page asks for nothing but itself."""
    from botscan.deps import AuditSettings
    from botscan.scan import ScanOptions, scan

    bot = tmp_path / "bot"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "signals_bot", bot)
    planted = bot / "<script>document.body.setAttribute('data-pwned','1')<"
    planted.mkdir()
    (planted / "x.py").write_text('API_SECRET = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"\n')
    result = scan([bot], ScanOptions(jobs=1, audit=AuditSettings(offline=True)))
    site = tmp_path / "site"
    site.mkdir()
    _write(site, "report.html", html.render(result, catalog()))
    with serve(site) as (port, requested):
        dom = dump_dom(chromium, tmp_path, f"http://127.0.0.1:{port}/report.html",
                       resolver=LOOPBACK_ONLY)
        alone = list(requested)
        out = _harness_results(chromium, tmp_path, site, port, "report.html")
    body = dom.one("body")
    assert body.attrs.get("data-report-js") == "ready"
    assert "data-pwned" not in body.attrs
    assert alone == ["/report.html"]
    critical = sorted({f.rule_id for f in result.active if f.severity.label == "critical"})
    assert sorted(set(out["critical"])) == critical and out["all"]
    assert len(out["all"]) == len(result.active)
