"""The JSON report: botscan's own machine-readable format, documented in docs/json-format.md.

It is a contract with scripts and dashboards we do not see, so its shape is versioned
(`schema_version`), its key order is fixed and its findings are sorted: two runs over the
same tree give byte-identical output apart from the duration. Adding a key keeps the version;
renaming, removing or retyping one bumps it.
"""

from __future__ import annotations

from collections.abc import Mapping

from botscan.capabilities import recommendation
from botscan.catalog import Rule
from botscan.model import Dependency, Finding, Notice, ScanResult
from botscan.report.common import (
    TOOL_NAME,
    TOOL_VERSION,
    JSONObject,
    capabilities_json,
    dumps,
    ordered_findings,
    ordered_notices,
    rule_for,
    sorted_evidence,
    unwrap,
    verdict_json,
)

SCHEMA_VERSION = 1


def _finding(finding: Finding, rule: Rule) -> JSONObject:
    location = finding.location
    return {
        "rule_id": finding.rule_id,
        "title": rule.title,
        "family": rule.family,
        "severity": finding.severity.label,
        "confidence": finding.confidence.label,
        "message": finding.message,
        "path": location.path,
        "line": location.line,
        "column": location.column,
        "end_line": location.end_line,
        "end_column": location.end_column,
        "origin": location.origin,
        "snippet": finding.snippet,
        "fingerprint": finding.fingerprint,
        "evidence": sorted_evidence(finding),
        "suppressed": finding.suppressed,
        "suppression_reason": finding.suppression,
        "cwe": rule.cwe,
        "remediation": unwrap(rule.remediation),
    }


def _notice(notice: Notice) -> JSONObject:
    return {"path": notice.path, "kind": notice.kind.value, "message": notice.message}


def _summary(result: ScanResult) -> JSONObject:
    by_severity = result.counts_by_severity()
    total = sum(by_severity.values())
    return {
        "total": total,
        "by_severity": by_severity,
        "suppressed": len(result.findings) - total,
        "notices": len(result.notices),
        "files_scanned": result.files_scanned,
        "duration_seconds": round(result.duration_seconds, 3),
    }


def _dependency(dep: Dependency) -> JSONObject:
    return {
        "name": dep.name,
        "version": dep.version,
        "manifest": dep.manifest,
        "line": dep.line,
        "audited": dep.audited,
        "skip_reason": dep.skip_reason,
        "advisories": [{"id": a.id, "aliases": list(a.aliases),
                        "fix_versions": list(a.fix_versions), "description": a.description}
                       for a in dep.advisories],
        "fix": dep.fix,
    }


def render(result: ScanResult, rules: Mapping[str, Rule]) -> str:
    """The report as a JSON document (see docs/json-format.md), ending with a newline."""
    document: JSONObject = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "summary": _summary(result),
        "findings": [_finding(f, rule_for(f, rules)) for f in ordered_findings(result)],
        "notices": [_notice(n) for n in ordered_notices(result)],
        "dependencies": [_dependency(d) for d in result.dependencies],
        "capabilities": capabilities_json(result),
        "recommendation": recommendation(result.capabilities),
    }
    verdict = verdict_json(result)
    if verdict is not None:
        document["verdict"] = verdict
    return dumps(document)

