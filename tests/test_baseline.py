"""Baselines, on real scans: a baselined finding stays baselined when code moves or is
re-indented, a new finding is new, and two identical findings are told apart by occurrence.

Every scan here is `botscan.scan.scan` over files in `tmp_path` (walker, worker pool, analyzers
and fingerprints all real); nothing is built by hand except the broken baseline files.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from helpers_security import token, write
from report_samples import catalog, sample_result

from botscan import __version__
from botscan.baseline import Applied, Baseline, BaselineError, Entry, apply, create, load
from botscan.model import Finding, ScanResult, Severity
from botscan.report import json_report, sarif
from botscan.scan import ScanOptions, scan

RNG = random.Random(20240601)
SECRET = token(RNG, 64)
OTHER_SECRET = token(RNG, 64)

BOT = f"""\
import requests

BINANCE_API_SECRET = "{SECRET}"
URL = "http://prices.example-feed.io/v1"
requests.get(URL, verify=False)
"""


def _scan(root: Path) -> ScanResult:
    return scan([root], ScanOptions(jobs=1, dependencies=False))


def _baseline_of(root: Path, tmp_path: Path) -> Baseline:
    target = tmp_path / "baseline.json"
    target.write_text(create(_scan(root)), encoding="utf-8")
    return load(target)


def _rules(result: ScanResult) -> list[tuple[str, int]]:
    return [(f.rule_id, f.location.line) for f in sorted(result.findings, key=Finding.sort_key)]


def _fails(result: ScanResult, applied: Applied, threshold: Severity = Severity.HIGH) -> bool:
    """The exit-code rule the CLI applies with --baseline: judge only what is not baselined."""
    return any(f.severity >= threshold for f in applied.hide(result).active)


@pytest.fixture
def bot(tmp_path: Path) -> Path:
    root = tmp_path / "bot"
    write(root, "bot.py", BOT)
    return root


def test_scan_of_the_sample_bot(bot: Path) -> None:
    """What the other tests rely on: three findings, one of each rule."""
    assert _rules(_scan(bot)) == [("BOT101", 3), ("BOT401", 4), ("BOT404", 5)]


def test_document_holds_fingerprints_rule_and_path_only(bot: Path) -> None:
    result = _scan(bot)
    text = create(result)
    document = json.loads(text)
    assert list(document) == ["format", "version", "botscan_version", "created", "findings"]
    assert document["format"] == "botscan-baseline" and document["version"] == 1
    assert document["botscan_version"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["created"])
    assert document["findings"] == sorted(
        ({"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": "bot.py"}
         for f in result.findings),
        key=lambda e: (e["path"], e["rule_id"], e["fingerprint"]))
    # No snippet, message or redacted form: a baseline is committed next to the code.
    assert SECRET[:4] not in text and "chars, #" not in text
    assert "verify=False" not in text and "http://prices" not in text
    assert text.endswith("\n")


def test_moving_a_finding_down_ten_lines_keeps_it_baselined(bot: Path, tmp_path: Path) -> None:
    accepted = _baseline_of(bot, tmp_path)
    padding = "".join(f"# note {i}\n" if i % 2 else f"LIMIT_{i} = {i}\n" for i in range(10))
    write(bot, "bot.py", BOT.replace("import requests\n", "import requests\n" + padding))
    moved = _scan(bot)
    assert _rules(moved) == [("BOT101", 13), ("BOT401", 14), ("BOT404", 15)]
    applied = apply(moved, accepted)
    assert all(applied.is_baselined(f) for f in moved.findings)
    assert [applied.state(f) for f in moved.findings] == ["unchanged"] * 3
    assert applied.hide(moved).findings == [] and applied.absent == ()
    assert not _fails(moved, applied)


def test_re_indenting_a_finding_keeps_it_baselined(bot: Path, tmp_path: Path) -> None:
    accepted = _baseline_of(bot, tmp_path)
    body = BOT.split("\n", 2)[2]
    indented = "import requests\n\nif True:\n" + "".join(
        f"        {line}\n" for line in body.splitlines())
    write(bot, "bot.py", indented)
    result = _scan(bot)
    assert _rules(result) == [("BOT101", 4), ("BOT401", 5), ("BOT404", 6)]
    applied = apply(result, accepted)
    assert applied.baselined == accepted.fingerprints
    assert not _fails(result, applied)


def test_a_second_key_is_a_new_finding(bot: Path, tmp_path: Path) -> None:
    accepted = _baseline_of(bot, tmp_path)
    write(bot, "bot.py", BOT + f'BINANCE_API_SECRET_2 = "{OTHER_SECRET}"\n')
    result = _scan(bot)
    applied = apply(result, accepted)
    states = {(f.rule_id, f.location.line): applied.state(f) for f in result.findings}
    assert states == {("BOT101", 3): "unchanged", ("BOT401", 4): "unchanged",
                      ("BOT404", 5): "unchanged", ("BOT101", 6): "new"}
    assert _rules(applied.hide(result)) == [("BOT101", 6)]
    assert _fails(result, applied)


def test_a_rotated_key_on_the_same_line_is_new(bot: Path, tmp_path: Path) -> None:
    """The fingerprint holds the redacted form, whose hash names the secret: swapping one
    committed key for another is a new leak, not the old one."""
    accepted = _baseline_of(bot, tmp_path)
    write(bot, "bot.py", BOT.replace(SECRET, OTHER_SECRET))
    result = _scan(bot)
    applied = apply(result, accepted)
    assert _rules(applied.hide(result)) == [("BOT101", 3)]
    assert [e.rule_id for e in applied.absent] == ["BOT101"]


def test_identical_findings_are_told_apart_by_occurrence(bot: Path, tmp_path: Path) -> None:
    accepted = _baseline_of(bot, tmp_path)
    write(bot, "bot.py", BOT + "\n\n" + "requests.get(URL, verify=False)\n")
    result = _scan(bot)
    twins = [f for f in result.findings if f.rule_id == "BOT404"]
    assert [f.location.line for f in twins] == [5, 8]
    assert twins[0].snippet == twins[1].snippet
    assert twins[0].fingerprint != twins[1].fingerprint
    applied = apply(result, accepted)
    assert [applied.state(f) for f in twins] == ["unchanged", "new"]
    assert _rules(applied.hide(result)) == [("BOT404", 8)]


def test_fixed_finding_is_reported_absent(bot: Path, tmp_path: Path) -> None:
    accepted = _baseline_of(bot, tmp_path)
    write(bot, "bot.py", BOT.replace("verify=False", "timeout=10"))
    applied = apply(_scan(bot), accepted)
    assert [(e.rule_id, e.path) for e in applied.absent] == [("BOT404", "bot.py")]
    assert len(applied.baselined) == 2


def test_suppressed_findings_are_not_baselined(bot: Path, tmp_path: Path) -> None:
    write(bot, "bot.py", BOT.replace("verify=False)", "verify=False)  # botscan: ignore[BOT404]"))
    result = _scan(bot)
    (suppressed,) = [f for f in result.findings if f.suppressed]
    accepted = _baseline_of(bot, tmp_path)
    assert suppressed.fingerprint not in accepted.fingerprints
    assert [e.rule_id for e in accepted.entries] == ["BOT101", "BOT401"]
    applied = apply(result, accepted)
    assert not applied.is_baselined(suppressed) and applied.state(suppressed) == "new"
    assert suppressed in applied.hide(result).findings, "suppressed findings stay suppressed"


def test_round_trip_keeps_hostile_paths(tmp_path: Path) -> None:
    result = sample_result()
    target = tmp_path / "b.json"
    target.write_text(create(result), encoding="utf-8")
    loaded = load(target)
    assert sorted(loaded.entries, key=lambda e: e.fingerprint) == sorted(
        (Entry(f.fingerprint, f.rule_id, f.location.path) for f in result.active),
        key=lambda e: e.fingerprint)
    assert "\x1b" not in target.read_text(encoding="utf-8")
    assert loaded.botscan_version == __version__ and loaded.created


def test_finding_without_fingerprint_cannot_be_baselined() -> None:
    result = sample_result()
    result.findings[0].fingerprint = ""
    with pytest.raises(ValueError, match="no fingerprint"):
        create(result)


def _broken(tmp_path: Path, content: str | bytes) -> Path:
    target = tmp_path / "baseline.json"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return target


def _valid(**changes: object) -> str:
    document: dict[str, object] = {
        "format": "botscan-baseline", "version": 1, "botscan_version": "0.1.0",
        "created": "2024-06-01T00:00:00Z",
        "findings": [{"fingerprint": "ab" * 16, "rule_id": "BOT101", "path": "a.py"}],
    }
    document.update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(("content", "message"), [
    ("", "invalid JSON, line 1"),
    ("{not json", "invalid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("[]", "not a botscan baseline; create one with `botscan baseline create`"),
    ('{"format": "other"}', "not a botscan baseline"),
    (_valid(version=2, botscan_version="9.0"), "version 2 was written by a newer botscan (9.0)"),
    (_valid(version="1"), "without a valid 'version'"),
    (_valid(version=True), "without a valid 'version'"),
    (_valid(version=0), "without a valid 'version'"),
    (_valid(findings={"a": 1}), "without a 'findings' list"),
    (_valid(findings=[{"fingerprint": "", "rule_id": "BOT101", "path": "a.py"}]),
     "entry 1 of 'findings'"),
    (_valid(findings=[{"fingerprint": "x", "rule_id": "BOT101", "path": "a.py"}, "x"]),
     "entry 2 of 'findings'"),
    (_valid(findings=[{"fingerprint": "x", "rule_id": 101, "path": "a.py"}]),
     "entry 1 of 'findings'"),
])
def test_broken_or_foreign_file_is_a_clear_error(tmp_path: Path, content: str | bytes,
                                                 message: str) -> None:
    target = _broken(tmp_path, content)
    with pytest.raises(BaselineError, match=re.escape(message)) as raised:
        load(target)
    assert str(raised.value).startswith(str(target))
    assert isinstance(raised.value, ValueError), "the CLI maps ValueError to exit 2"


def test_other_botscan_outputs_are_named_in_the_error(tmp_path: Path) -> None:
    result = sample_result()
    for text, kind in ((sarif.render(result, catalog()), "a SARIF log"),
                       (json_report.render(result, catalog()), "a botscan JSON report")):
        with pytest.raises(BaselineError, match=f"it looks like {kind}"):
            load(_broken(tmp_path, text))


def test_missing_file_is_a_baseline_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"cannot read baseline .*missing\.json"):
        load(tmp_path / "missing.json")
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load(tmp_path)


def test_valid_minimal_file_loads(tmp_path: Path) -> None:
    loaded = load(_broken(tmp_path, _valid()))
    assert loaded == Baseline((Entry("ab" * 16, "BOT101", "a.py"),), "2024-06-01T00:00:00Z",
                              "0.1.0")
