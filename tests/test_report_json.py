"""The JSON report: the documented, versioned shape, stable order, faithful and safe strings."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from report_samples import (
    ESCAPE_PATH,
    HISTORY_ORIGIN,
    REDACTED_SECRET,
    SCRIPT_PATH,
    UNDECODABLE_PATH,
    assert_no_secret,
    catalog,
    empty_result,
    sample_result,
    undecodable_result,
)

from botscan import __version__
from botscan.model import ScanResult
from botscan.report import json_report

DOC = Path(__file__).resolve().parents[1] / "docs" / "json-format.md"

TOP_KEYS = ["schema_version", "tool", "summary", "findings", "notices", "dependencies",
            "capabilities", "recommendation"]
SUMMARY_KEYS = [
    "total",
    "by_severity",
    "suppressed",
    "notices",
    "files_scanned",
    "duration_seconds",
]
FINDING_KEYS = [
    "rule_id",
    "title",
    "family",
    "severity",
    "confidence",
    "message",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "origin",
    "snippet",
    "fingerprint",
    "evidence",
    "suppressed",
    "suppression_reason",
    "cwe",
    "remediation",
]
NOTICE_KEYS = ["path", "kind", "message"]


def _load(result: ScanResult | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json_report.render(result or sample_result(), catalog()))
    return document


def test_round_trips_with_documented_top_level() -> None:
    document = _load()
    assert list(document) == TOP_KEYS
    assert document["schema_version"] == 1
    assert document["tool"] == {"name": "botscan", "version": __version__}


def test_summary() -> None:
    summary = _load()["summary"]
    assert list(summary) == SUMMARY_KEYS
    assert summary == {
        "total": 6,
        "by_severity": {"critical": 2, "high": 3, "medium": 1, "low": 0},
        "suppressed": 2,
        "notices": 3,
        "files_scanned": 12,
        "duration_seconds": 0.41,
    }


def test_every_finding_has_the_documented_keys_in_order() -> None:
    findings = _load()["findings"]
    assert len(findings) == 8, "suppressed findings are kept, marked"
    for item in findings:
        assert list(item) == FINDING_KEYS


def test_findings_sorted_by_path_line_column_rule() -> None:
    findings = _load()["findings"]
    keys = [(f["path"], f["line"], f["column"], f["rule_id"]) for f in findings]
    assert keys == sorted(keys)


def test_finding_values() -> None:
    by_rule = {f["rule_id"]: f for f in _load()["findings"]}
    secret = by_rule["BOT101"]
    assert secret["title"] == catalog()["BOT101"].title
    assert secret["family"] == "BOT1"
    assert (secret["severity"], secret["confidence"]) == ("critical", "high")
    assert (secret["path"], secret["line"], secret["column"]) == ("bot/config.py", 12, 15)
    assert (secret["end_line"], secret["end_column"]) == (12, 81)
    assert secret["snippet"] == f'    "secret": "{REDACTED_SECRET}",'
    assert secret["cwe"] == 798
    assert secret["remediation"].startswith("Read the value at run time")
    assert "\n" not in secret["remediation"], "hard wraps of the TOML are joined"
    assert secret["evidence"] == {
        "credential": "exchange-secret",
        "exchange": "binance",
        "value": REDACTED_SECRET,
    }
    assert by_rule["BOT102"]["end_column"] is None
    assert by_rule["BOT103"]["origin"] == HISTORY_ORIGIN
    assert by_rule["BOT401"]["path"] == SCRIPT_PATH
    assert by_rule["BOT404"]["family"] == "BOT4"


def test_suppressed_findings_are_marked_with_their_reason() -> None:
    by_rule = {f["rule_id"]: f for f in _load()["findings"]}
    assert by_rule["BOT106"]["suppressed"] is True
    assert by_rule["BOT106"]["suppression_reason"] == "revoked test bot"
    assert by_rule["BOT402"]["suppressed"] is True
    assert by_rule["BOT402"]["suppression_reason"] == ""
    assert by_rule["BOT101"]["suppressed"] is False
    assert by_rule["BOT101"]["suppression_reason"] is None


def test_notices() -> None:
    notices = _load()["notices"]
    assert [list(n) for n in notices] == [NOTICE_KEYS] * 3
    assert [n["path"] for n in notices] == [ESCAPE_PATH, "data/candles.json", "legacy/py2_bot.py"]
    assert notices[0]["kind"] == "binary"


def test_empty_scan() -> None:
    document = _load(empty_result())
    assert document["findings"] == [] and document["notices"] == []
    assert document["summary"]["total"] == 0


def test_stable_output() -> None:
    result = sample_result()
    shuffled = dataclasses.replace(
        result, findings=result.findings[::-1], notices=result.notices[::-1]
    )
    assert json_report.render(result, catalog()) == json_report.render(shuffled, catalog())


def test_terminal_controls_are_escaped_yet_round_trip() -> None:
    rendered = json_report.render(sample_result(), catalog())
    assert "\x1b" not in rendered and "\x07" not in rendered
    assert "<script>x</script> déjà vu €.py" in rendered, "printable text stays readable"
    hostile = dataclasses.replace(sample_result(), notices=[])
    hostile.findings[0].message = "C1 \x9b31m DEL \x7f bidi \u202e end \u2028"
    rendered = json_report.render(hostile, catalog())
    assert not re.search("[\x7f-\x9f\u2028\u202e]", rendered)
    messages = {f["message"] for f in json.loads(rendered)["findings"]}
    assert "C1 \x9b31m DEL \x7f bidi \u202e end \u2028" in messages


def test_set_and_path_evidence_is_serialised() -> None:
    result = sample_result()
    result.findings[0].evidence = {"hosts": {"b.example", "a.example"}, "file": Path("a/b.py")}
    by_rule = {f["rule_id"]: f for f in _load(result)["findings"]}
    assert by_rule["BOT404"]["evidence"] == {"file": "a/b.py", "hosts": ["a.example", "b.example"]}


def test_unknown_rule_is_an_error() -> None:
    rules = dict(catalog())
    del rules["BOT101"]
    with pytest.raises(ValueError, match="BOT101"):
        json_report.render(sample_result(), rules)


def test_finding_without_path_is_an_error() -> None:
    result = sample_result()
    first = result.findings[0]
    first.location = dataclasses.replace(first.location, path="")
    with pytest.raises(ValueError, match="without a path"):
        json_report.render(result, catalog())


def test_every_key_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert set(TOP_KEYS + SUMMARY_KEYS + FINDING_KEYS + NOTICE_KEYS) <= documented
    assert "schema_version" in DOC.read_text(encoding="utf-8")


def test_never_prints_whole_secret() -> None:
    rendered = json_report.render(sample_result(), catalog())
    assert REDACTED_SECRET in rendered
    assert_no_secret(rendered)


def test_undecodable_file_name_is_escaped_and_round_trips() -> None:
    rendered = json_report.render(undecodable_result(), catalog())
    rendered.encode("utf-8")
    document = json.loads(rendered)
    assert document["findings"][0]["path"] == UNDECODABLE_PATH
    assert document["notices"][0]["path"] == UNDECODABLE_PATH
