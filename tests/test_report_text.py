"""The text report: layout a person can scan, counts that add up, nothing a terminal obeys."""

from __future__ import annotations

import re

from report_samples import (
    ESCAPE_PATH,
    REDACTED_SECRET,
    SCRIPT_PATH,
    assert_no_secret,
    catalog,
    empty_result,
    finding,
    sample_result,
    undecodable_result,
)

from botscan.model import ScanResult
from botscan.report import text

# The SGR sequences the renderer itself emits; anything else starting with ESC is a leak.
_OWN_SGR = re.compile(r"\x1b\[[0-9;]*m")
_FINDING_LINE = re.compile(r"^  (\d+):(\d+) +(BOT\d{3})  (\w+) +(.*)$")


def _render(result: ScanResult | None = None, *, color: bool = False) -> str:
    return text.render(result or sample_result(), catalog(), color=color)


def _groups(output: str) -> dict[str, list[tuple[int, str, str]]]:
    """{path: [(line, rule id, severity), ...]} read back from the report."""
    groups: dict[str, list[tuple[int, str, str]]] = {}
    current: list[tuple[int, str, str]] = []
    for line in output.splitlines():
        if line and not line.startswith(" ") and not line.startswith("Notices"):
            if re.match(r"^\d+ findings? |^No findings", line):
                break
            current = groups.setdefault(line, [])
        elif match := _FINDING_LINE.match(line):
            current.append((int(match[1]), match[3], match[4]))
    return groups


def test_findings_grouped_by_sorted_file_and_ordered_by_line() -> None:
    groups = _groups(_render())
    assert list(groups) == sorted(groups)
    assert list(groups) == ["bot/config.py", "bot/exchange.py", "old/keys.py", SCRIPT_PATH]
    assert groups["bot/config.py"] == [(11, "BOT102", "high"), (12, "BOT101", "critical")]
    assert groups["bot/exchange.py"] == [(8, "BOT403", "high"), (40, "BOT404", "high")]


def test_finding_line_snippet_and_fix_hint() -> None:
    lines = _render().splitlines()
    index = next(i for i, line in enumerate(lines) if "BOT101" in line)
    assert re.match(
        r"^  12:15  BOT101  critical  Binance API secret written into the source$", lines[index]
    )
    assert lines[index + 1] == f'      "secret": "{REDACTED_SECRET}",'
    fix = lines[index + 2]
    assert fix.startswith("      fix: Read the value at run time from the environment")
    assert fix.endswith("copies already made.")
    assert "**" not in fix
    assert "Create the new key" not in fix, "only the first sentence of the remediation"


def test_multi_line_snippet_is_dedented_under_the_finding() -> None:
    output = _render()
    assert "      resp = requests.get(\n          url, verify=False\n      )\n" in output


def test_history_finding_names_its_commit() -> None:
    line = next(line for line in _render().splitlines() if "BOT103" in line)
    assert line.endswith("(commit 4f1c2a9be07d)")


def test_suppressed_findings_are_counted_not_listed() -> None:
    output = _render()
    assert "BOT106" not in output
    assert "BOT402" not in output
    assert "notify/telegram.py" not in output
    assert "2 suppressed" in output


def test_summary_line_counts_by_severity() -> None:
    last = _render().splitlines()[-1]
    assert last == (
        "6 findings (2 critical, 3 high, 1 medium) in 12 files, 0.41 s; 2 suppressed; 3 notices"
    )


def test_summary_singular() -> None:
    one = finding("BOT401", "feed.py", 1, "plain http", 'URL = "http://x.example"')
    result = ScanResult(
        findings=[one], notices=[], files_scanned=1, duration_seconds=0.05, roots=["."]
    )
    assert _render(result).splitlines()[-1] == "1 finding (1 medium) in 1 file, 0.05 s"


def test_no_findings() -> None:
    assert _render(empty_result()) == "No findings in 12 files (0.41 s)\n"


def test_only_suppressed_findings_is_no_findings() -> None:
    result = sample_result()
    result.findings = [f for f in result.findings if f.suppressed]
    result.notices = []
    assert _render(result) == "No findings in 12 files (0.41 s); 2 suppressed\n"


def test_notices_have_their_own_section() -> None:
    output = _render()
    section = output.split("Notices (not fully analysed):\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [
        r"  assets/\x1b[31mevil\x07.py: binary data in a file named like source [binary]",
        "  data/candles.json: 12.4 MB is over the 10 MB limit [too-large]",
        "  legacy/py2_bot.py: Python 2 syntax: libcst could not parse it, scanned as text"
        " [not-parsed]",
    ]


def test_no_ansi_without_color() -> None:
    output = _render(color=False)
    assert "\x1b" not in output
    assert ESCAPE_PATH not in output


def test_ansi_with_color_changes_nothing_but_colour() -> None:
    coloured = _render(color=True)
    assert "\x1b[1;31mcritical\x1b[0m" in coloured
    assert _OWN_SGR.sub("", coloured) == _render(color=False)
    assert "\x1b" not in _OWN_SGR.sub("", coloured), "only our own SGR codes may be raw"


def test_control_characters_are_neutralised() -> None:
    hostile = finding(
        "BOT404",
        "evil/\x1b[2J\x1b]0;pwned\x07.py",
        3,
        "verify off\r\x1b[2Kall clear\n0 findings",
        "requests.get(url, verify=False)  # \u202e)eslaF=yfirev\u202c \x9b31m \x7f\u2028x",
    )
    result = ScanResult(
        findings=[hostile], notices=[], files_scanned=1, duration_seconds=0.1, roots=["."]
    )
    for color in (False, True):
        output = _OWN_SGR.sub("", _render(result, color=color))
        for raw in ("\x1b", "\x07", "\r", "\x9b", "\x7f", "\u202e", "\u202c", "\u2028"):
            assert raw not in output
        assert r"evil/\x1b[2J\x1b]0;pwned\x07.py" in output
        assert r"verify off\x0d\x1b[2Kall clear\x0a0 findings" in output
        assert r"\u202e)eslaF=yfirev\u202c \x9b31m \x7f\u2028x" in output


def test_hostile_path_is_shown_verbatim_when_printable() -> None:
    assert f"\n{SCRIPT_PATH}\n" in _render()


def test_long_snippet_line_is_cut() -> None:
    long_line = "x = [" + "1, " * 500 + "]"
    item = finding("BOT401", "gen.py", 1, "plain http", long_line)
    result = ScanResult(
        findings=[item], notices=[], files_scanned=1, duration_seconds=0.1, roots=["."]
    )
    snippet = next(line for line in _render(result).splitlines() if "x = [" in line)
    assert len(snippet) <= 6 + 200
    assert snippet.endswith("…")


def test_never_prints_whole_secret() -> None:
    for color in (False, True):
        output = _render(color=color)
        assert REDACTED_SECRET in output
        assert_no_secret(output)


def test_undecodable_file_name_is_shown_escaped() -> None:
    output = _render(undecodable_result())
    output.encode("utf-8")
    assert "bots/caf\\udce9.py" in output
