"""SARIF: valid against the OASIS 2.1.0 schema, and acceptable to GitHub code scanning.

The schema is necessary, not sufficient: GitHub rejects or misfiles logs the schema allows.
`github_problems` spells out GitHub's own rules (reference/peers.md section 6) so that each one
is asserted, not assumed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from jsonschema import Draft4Validator, Draft7Validator
from report_samples import (
    ESCAPE_PATH,
    HISTORY_ORIGIN,
    REDACTED_SECRET,
    SCRIPT_PATH,
    assert_no_secret,
    catalog,
    empty_result,
    finding,
    sample_result,
    undecodable_result,
)

from botscan import __version__
from botscan.model import ScanResult
from botscan.report import sarif

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_ENV = "BOTSCAN_SARIF_SCHEMA"
SCHEMA_FILE = REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

# The SARIF schema marks artifact URIs `uri-reference`, a format draft 4 does not define, so
# Draft4Validator.FORMAT_CHECKER passes any string there; the draft 7 checker knows it.
_URI_REFERENCE = Draft7Validator.FORMAT_CHECKER

Log = dict[str, Any]


@cache
def _validator() -> Draft4Validator:
    candidates = [Path(p) for p in (os.environ.get(SCHEMA_ENV),) if p] + [SCHEMA_FILE]
    for path in candidates:
        if path.is_file():
            schema = json.loads(path.read_text(encoding="utf-8"))
            return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    pytest.skip(
        f"SARIF 2.1.0 schema not found: set ${SCHEMA_ENV} to the file, or put it at {SCHEMA_FILE}"
    )


def _schema_errors(log: Log) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(log)
    ]


def _render(result: ScanResult | None = None, **options: str) -> Log:
    log: Log = json.loads(sarif.render(result or sample_result(), catalog(), **options))
    return log


def _results(log: Log) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


def github_problems(log: Log) -> Iterator[str]:
    """What GitHub code scanning would reject or misfile in `log`, one message per problem."""
    if "$schema" not in log or log.get("version") != "2.1.0":
        yield "log lacks $schema or version 2.1.0"
    if len(log["runs"]) != 1:
        yield "botscan writes exactly one run"
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        if not driver.get("name") or not driver.get("semanticVersion"):
            yield "driver lacks name or semanticVersion"
        if "/" not in run.get("automationDetails", {}).get("id", ""):
            yield "category (automationDetails.id) has no '/'"
        rules = driver["rules"]
        if len(rules) > 25_000:
            yield "more than 25,000 rules"
        for rule in rules:
            rid = rule["id"]
            if not rule.get("shortDescription", {}).get("text"):
                yield f"{rid}: no shortDescription.text"
            full = rule.get("fullDescription", {}).get("text", "")
            if not full or len(full) > 1000:
                yield f"{rid}: fullDescription.text missing or over 1,000 characters"
            if not rule.get("help", {}).get("text") or not rule["help"].get("markdown"):
                yield f"{rid}: no help.text / help.markdown"
            props = rule.get("properties", {})
            severity = props.get("security-severity")
            if not isinstance(severity, str) or not 0.0 <= float(severity) <= 10.0:
                yield f"{rid}: security-severity {severity!r} is not a string in 0.0-10.0"
            tags = props.get("tags", [])
            if "security" not in tags:
                yield f"{rid}: no 'security' tag, so security-severity is ignored"
            if len(tags) > 20:
                yield f"{rid}: more than 20 tags"
            if props.get("precision") not in ("very-high", "high", "medium", "low"):
                yield f"{rid}: precision {props.get('precision')!r}"
        results = run["results"]
        if len(results) > 25_000:
            yield "more than 25,000 results in the run"
        for result in results:
            where = f"result {result.get('ruleId')}"
            if rules[result["ruleIndex"]]["id"] != result["ruleId"]:
                yield f"{where}: ruleIndex points at another rule"
            if not result.get("message", {}).get("text"):
                yield f"{where}: no message.text"
            locations = result.get("locations", [])
            if not 1 <= len(locations) <= 10:
                yield f"{where}: {len(locations)} locations (GitHub needs 1 to 10)"
            for location in locations:
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                if urlsplit(uri).scheme or uri.startswith("/") or not uri:
                    yield f"{where}: URI {uri!r} is not relative"
                if not _URI_REFERENCE.conforms(uri, "uri-reference"):
                    yield f"{where}: URI {uri!r} is not an RFC 3986 reference"
            if not result.get("partialFingerprints", {}).get("primaryLocationLineHash"):
                yield f"{where}: no partialFingerprints.primaryLocationLineHash"
        for invocation in run.get("invocations", []):
            for note in invocation.get("toolExecutionNotifications", []):
                for location in note.get("locations", []):
                    uri = location["physicalLocation"]["artifactLocation"]["uri"]
                    if not _URI_REFERENCE.conforms(uri, "uri-reference"):
                        yield f"notification: URI {uri!r} is not an RFC 3986 reference"


def test_valid_against_oasis_schema() -> None:
    for result in (sample_result(), empty_result()):
        assert _schema_errors(_render(result)) == []


def test_schema_check_includes_formats() -> None:
    """Guard the guard: the schema's `uri` format (e.g. of `$schema`) is really checked."""
    bad = _render()
    bad["$schema"] = "not a uri"
    assert _schema_errors(bad), "formats are not checked: install jsonschema[format-nongpl]"


def test_raw_uri_would_be_caught() -> None:
    """Draft 4 knows no `uri-reference` format, so `github_problems` checks artifact URIs."""
    bad = _render()
    location = _results(bad)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    location["uri"] = "strategies/déjà vu <script>.py"
    assert _schema_errors(bad) == []
    assert any("RFC 3986" in problem for problem in github_problems(bad))


def test_meets_github_code_scanning_rules() -> None:
    for result in (sample_result(), empty_result()):
        assert list(github_problems(_render(result))) == []


def test_log_header_and_driver() -> None:
    log = _render()
    assert list(log) == ["$schema", "version", "runs"]
    assert log["$schema"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["semanticVersion"]) == (
        "botscan",
        __version__,
        __version__,
    )


def test_every_catalog_rule_is_described() -> None:
    rules = _render(empty_result())["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(catalog())
    by_id = {r["id"]: r for r in rules}
    secret = by_id["BOT101"]
    rule = catalog()["BOT101"]
    assert secret["name"] == rule.name
    assert secret["shortDescription"]["text"] == rule.title
    assert secret["help"] == {"text": rule.help_text, "markdown": rule.help_markdown}
    assert secret["defaultConfiguration"]["level"] == "error"
    assert secret["properties"] == {
        "tags": ["security", "external/cwe/cwe-798", "credentials"],
        "precision": "high",
        "security-severity": "9.5",
        "problem.severity": "error",
    }
    levels = {rid: r["defaultConfiguration"]["level"] for rid, r in by_id.items()}
    assert (levels["BOT102"], levels["BOT401"], levels["BOT402"]) == ("error", "warning", "note")
    assert by_id["BOT402"]["properties"]["precision"] == "medium"


def test_long_description_is_cut_cleanly_and_tags_capped() -> None:
    base = catalog()["BOT401"]
    long_rule = dataclasses.replace(
        base,
        description="An extremely long description of the problem. " * 40,
        tags=tuple(f"tag-{i}" for i in range(30)),
    )
    rules = {**catalog(), "BOT401": long_rule}
    log = json.loads(sarif.render(sample_result(), rules))
    assert list(github_problems(log)) == []
    descriptor = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "BOT401")
    full = descriptor["fullDescription"]["text"]
    assert len(full) <= 1000
    kept = full.removesuffix("…")
    assert full.endswith("…") and long_rule.description.startswith(kept)
    assert long_rule.description[len(kept)] in " .", "cut between words"
    assert "An extremely long description of the problem." in full
    tags = descriptor["properties"]["tags"]
    assert len(tags) == 20
    assert tags[:2] == ["security", "external/cwe/cwe-319"]


def test_results_sorted_with_one_relative_location_each() -> None:
    results = _results(_render())
    assert len(results) == 8, "suppressed findings stay in SARIF"
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == sorted(uris, key=unquote)
    for result in results:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"


def test_result_fields() -> None:
    result = next(r for r in _results(_render()) if r["ruleId"] == "BOT101")
    assert result["level"] == "error"
    assert result["message"]["text"] == "Binance API secret written into the source"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "bot/config.py", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {
        "startLine": 12,
        "startColumn": 15,
        "endLine": 12,
        "endColumn": 81,
        "snippet": {"text": f'    "secret": "{REDACTED_SECRET}",'},
    }
    assert result["properties"]["confidence"] == "high"
    assert result["properties"]["evidence"]["value"] == REDACTED_SECRET
    assert "suppressions" not in result
    history = next(r for r in _results(_render()) if r["ruleId"] == "BOT103")
    assert history["properties"]["origin"] == HISTORY_ORIGIN


def test_uris_are_percent_encoded() -> None:
    by_rule = {r["ruleId"]: r for r in _results(_render())}
    uri = by_rule["BOT401"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "strategies/%3Cscript%3Ex%3C/script%3E%20d%C3%A9j%C3%A0%20vu%20%E2%82%AC.py"
    assert unquote(uri) == SCRIPT_PATH
    assert sarif.artifact_uri("c:x.py") == "c%3Ax.py", "a colon must not read as a scheme"
    assert sarif.artifact_uri("50%.py#1?") == "50%25.py%231%3F"


def test_fingerprint_is_the_findings_and_ignores_its_line() -> None:
    result = sample_result()
    before = {r["ruleId"]: r["partialFingerprints"] for r in _results(_render(result))}
    for item in result.findings:
        item.location = dataclasses.replace(
            item.location, line=item.location.line + 7, end_line=None
        )
    after = {r["ruleId"]: r["partialFingerprints"] for r in _results(_render(result))}
    assert before == after
    for item in result.findings:
        assert before[item.rule_id] == {"primaryLocationLineHash": item.fingerprint}


def test_missing_fingerprint_is_an_error() -> None:
    result = sample_result()
    result.findings[0].fingerprint = ""
    with pytest.raises(ValueError, match="fingerprint"):
        sarif.render(result, catalog())


def test_suppressed_findings_carry_suppressions() -> None:
    by_rule = {r["ruleId"]: r for r in _results(_render())}
    assert by_rule["BOT106"]["suppressions"] == [
        {"kind": "inSource", "justification": "revoked test bot"}
    ]
    assert by_rule["BOT402"]["suppressions"] == [{"kind": "inSource"}]


def test_notices_become_tool_execution_notifications() -> None:
    (invocation,) = _render()["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning"] * 3
    assert notes[0]["message"]["text"] == f"{ESCAPE_PATH}: binary data in a file named like source"
    uri = notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "assets/%1B%5B31mevil%07.py"
    assert [n["properties"]["kind"] for n in notes] == ["binary", "too-large", "not-parsed"]


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("botscan/", "botscan/"),
        ("pr-checks", "pr-checks/"),
        ("botscan/deps", "botscan/deps"),
        ("  ", "botscan/"),
    ],
)
def test_category_always_has_a_slash(category: str, expected: str) -> None:
    log = _render(category=category)
    assert log["runs"][0]["automationDetails"] == {"id": expected}


def test_default_category_and_base_id() -> None:
    run = _render()["runs"][0]
    assert run["automationDetails"]["id"] == "botscan/"
    assert "%SRCROOT%" in run["originalUriBaseIds"]


def test_result_limit_keeps_the_most_severe() -> None:
    lows = [
        finding("BOT402", f"gen/m{i:05}.py", 1, "plain http", f'U = "http://10.0.0.{i % 250}"')
        for i in range(sarif.MAX_RESULTS)
    ]
    critical = finding("BOT101", "zz/last.py", 9, "secret", f'S = "{REDACTED_SECRET}"')
    big = ScanResult(
        findings=[*lows, critical],
        notices=[],
        files_scanned=len(lows) + 1,
        duration_seconds=1.0,
        roots=["."],
    )
    started = time.perf_counter()
    log = json.loads(sarif.render(big, catalog()))
    assert time.perf_counter() - started < 10
    results = _results(log)
    assert len(results) == sarif.MAX_RESULTS
    assert results[-1]["ruleId"] == "BOT101", "the critical finding is kept, in path order"
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "1 results left out" in notes[-1]["message"]["text"]
    assert list(github_problems(log)) == []


def test_never_prints_whole_secret() -> None:
    rendered = sarif.render(sample_result(), catalog())
    assert REDACTED_SECRET in rendered
    assert_no_secret(rendered)


def test_undecodable_file_name_is_encoded_as_its_bytes() -> None:
    rendered = sarif.render(undecodable_result(), catalog())
    rendered.encode("utf-8")
    log = json.loads(rendered)
    assert _schema_errors(log) == []
    assert list(github_problems(log)) == []
    uri = _results(log)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "bots/caf%E9.py"
