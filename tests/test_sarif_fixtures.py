"""SARIF of every fixture bot: valid against the OASIS schema, and within GitHub code
scanning's rules (descriptions, help, security-severity, fingerprints, relative URIs,
category). Uses the validator and the rules check of test_report_sarif."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_fixtures import parse_expectations
from test_report_sarif import _schema_errors, github_problems

from botscan import catalog
from botscan.deps import AuditSettings
from botscan.report import sarif
from botscan.scan import ScanOptions, scan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("bot", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_fixture_sarif_is_valid_for_github(bot: str) -> None:
    result = scan([FIXTURES / bot], ScanOptions(jobs=1, audit=AuditSettings(offline=True)))
    # A clean bot's SARIF (no results) must be valid too; a labelled one must have results.
    if parse_expectations(FIXTURES / bot).labels:
        assert result.findings, f"{bot}: no findings, nothing to check"
    log = json.loads(sarif.render(result, catalog.rules()))
    assert _schema_errors(log) == []
    assert list(github_problems(log)) == []
