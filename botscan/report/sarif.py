"""SARIF 2.1.0, shaped for GitHub code scanning.

The OASIS schema accepts far more than GitHub does, and GitHub's failures are quiet or late:
a result without a location rejects the whole upload, a category without '/' is no category,
a line number inside a fingerprint turns every edit above a finding into a closed alert and a
new one. This module therefore follows GitHub's rules on top of the schema (see
reference/peers.md section 6): every catalog rule carries its help, `security-severity` is a
string beside a `security` tag, locations are relative percent-encoded URIs under %SRCROOT%,
fingerprints are the line-free ones botscan computes, and the run stays within GitHub's limits.
Suppressed findings stay in the log with `suppressions`, so that GitHub shows them as such
instead of re-opening them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

from botscan.capabilities import recommendation
from botscan.catalog import Rule
from botscan.model import Confidence, Finding, Notice, ScanResult, Severity
from botscan.report.common import (
    TOOL_NAME,
    TOOL_VERSION,
    JSONObject,
    capabilities_json,
    dumps,
    is_relative,
    ordered_findings,
    ordered_notices,
    rule_for,
    sorted_evidence,
    truncate,
    unwrap,
    verdict_json,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
DEFAULT_CATEGORY = "botscan/"
SRCROOT = "%SRCROOT%"

# GitHub code scanning limits: above them the upload is rejected, not truncated.
MAX_RESULTS = 25_000
MAX_TAGS_PER_RULE = 20
MAX_FULL_DESCRIPTION = 1000

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# CodeQL's vocabulary for `problem.severity`, which GitHub shows for non-security views.
_PROBLEM_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "recommendation",
}
_PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}


def normalise_category(category: str) -> str:
    """The `automationDetails.id`: GitHub reads a category only up to a '/', so ensure one.

    Without the slash GitHub takes the whole id as a run id and files the upload under an
    empty category, where a second tool's upload replaces it.
    """
    category = category.strip() or DEFAULT_CATEGORY
    return category if "/" in category else category + "/"


def artifact_uri(path: str) -> str:
    """A scan-relative path as an RFC 3986 relative reference.

    Everything outside the unreserved set and '/' is percent-encoded as UTF-8: spaces, '<',
    '#', '%', non-ASCII, and ':' so that a first segment like `c:x.py` is not read as a scheme.
    A file name whose bytes are not UTF-8 reaches us with surrogate escapes; they are encoded
    back to those bytes, so the URI names the file on disk.
    """
    return quote(path, safe="/", errors="surrogateescape")


def _artifact_location(path: str) -> JSONObject:
    """Relative to %SRCROOT%; an explicit file outside the working directory gets a file URI
    (valid SARIF; GitHub scans always run inside the repository, so they never see one)."""
    if not is_relative(path):
        return {"uri": "file://" + artifact_uri(path)}
    return {"uri": artifact_uri(path), "uriBaseId": SRCROOT}


def _tags(rule: Rule) -> list[str]:
    """`security` first (GitHub ignores security-severity without it), then the CWE, then ours."""
    tags = ["security"]
    if rule.cwe:
        tags.append(f"external/cwe/cwe-{rule.cwe}")
    tags.extend(rule.tags)
    return list(dict.fromkeys(tags))[:MAX_TAGS_PER_RULE]


def _rule_descriptor(rule: Rule) -> JSONObject:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": truncate(unwrap(rule.description), MAX_FULL_DESCRIPTION)},
        "help": {"text": rule.help_text, "markdown": rule.help_markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": _tags(rule),
            "precision": _PRECISION[rule.confidence],
            "security-severity": rule.security_severity,
            "problem.severity": _PROBLEM_SEVERITY[rule.severity],
        },
    }


def _region(finding: Finding) -> JSONObject:
    location = finding.location
    region: JSONObject = {"startLine": location.line, "startColumn": location.column}
    if location.end_line is not None:
        region["endLine"] = location.end_line
    if location.end_column is not None:
        region["endColumn"] = location.end_column
    if finding.snippet:
        region["snippet"] = {"text": finding.snippet}
    return region


def _result(finding: Finding, rule_index: int,
            baseline_state: Callable[[Finding], str] | None) -> JSONObject:
    if not finding.fingerprint:
        raise ValueError(
            f"finding {finding.rule_id} at {finding.location.path} has no fingerprint; without "
            "one GitHub cannot track the alert across commits"
        )
    result: JSONObject = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact_location(finding.location.path),
                    "region": _region(finding),
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": finding.fingerprint},
        "properties": {
            "confidence": finding.confidence.label,
            "origin": finding.location.origin,
            "evidence": sorted_evidence(finding),
        },
    }
    if baseline_state is not None:
        result["baselineState"] = baseline_state(finding)
    if finding.suppression is not None:
        suppression: JSONObject = {"kind": "inSource"}
        if finding.suppression:
            suppression["justification"] = finding.suppression
        result["suppressions"] = [suppression]
    return result


def _within_limit(findings: list[Finding]) -> tuple[list[Finding], int]:
    """At most MAX_RESULTS findings, the ones that matter most, and how many were left out.

    Active findings before suppressed ones, then by severity: what GitHub would show first.
    """
    if len(findings) <= MAX_RESULTS:
        return findings, 0
    ranked = sorted(findings, key=lambda f: (f.suppressed, -f.severity, f.sort_key()))
    return sorted(ranked[:MAX_RESULTS], key=Finding.sort_key), len(findings) - MAX_RESULTS


def _notification(notice: Notice) -> JSONObject:
    """A notice as a tool-execution notification.

    The path is in the text as well as in `locations`, because GitHub's tool status page shows
    the message only; the location is left out when the path is not inside the tree.
    """
    notification: JSONObject = {
        "level": "warning",
        "message": {"text": f"{notice.path}: {notice.message}" if notice.path
                    else notice.message},
    }
    if is_relative(notice.path):
        notification["locations"] = [
            {"physicalLocation": {"artifactLocation": _artifact_location(notice.path)}}
        ]
    notification["properties"] = {"kind": notice.kind.value}
    return notification


def _overflow_notification(left_out: int) -> JSONObject:
    return {
        "level": "warning",
        "message": {
            "text": f"{left_out} results left out: GitHub code scanning rejects a run with more "
            f"than {MAX_RESULTS}; the most severe were kept. Use the JSON report for all of them."
        },
    }


def render(
    result: ScanResult, rules: Mapping[str, Rule], *, category: str = DEFAULT_CATEGORY,
    baseline_state: Callable[[Finding], str] | None = None,
) -> str:
    """The report as a SARIF 2.1.0 log with one run, ready for GitHub code scanning.

    With a baseline, every result stays in the log (so GitHub does not close its alerts) and
    carries `baselineState` "new" or "unchanged".

    Every rule of `rules` is described, not only those with results, so that GitHub can show
    help for any alert, including ones from earlier uploads. `category` becomes
    `automationDetails.id`; a '/' is appended when it has none.
    """
    descriptors = [_rule_descriptor(rule) for _, rule in sorted(rules.items())]
    rule_index = {d["id"]: i for i, d in enumerate(descriptors)}
    findings, left_out = _within_limit(ordered_findings(result))
    results = [_result(f, rule_index[rule_for(f, rules).id], baseline_state) for f in findings]
    notifications = [_notification(n) for n in ordered_notices(result)]
    if left_out:
        notifications.append(_overflow_notification(left_out))
    run: JSONObject = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "semanticVersion": TOOL_VERSION,
                "rules": descriptors,
            }
        },
        "automationDetails": {"id": normalise_category(category)},
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The scanned root; result paths are relative to it."}}
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        # The capability profile: what the bot does with an account, and the key it needs.
        "properties": {
            "capabilities": capabilities_json(result),
            "recommendation": recommendation(result.capabilities),
            **({"verdict": verdict_json(result)} if result.verdict is not None else {}),
        },
    }
    return dumps({"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]})
