"""Helpers the text, JSON and SARIF renderers share, so that they cannot drift apart.

Three renderers that sort, look up rules, reflow catalog prose or serialise JSON each in their
own way would, sooner or later, disagree about which finding comes first or which rule a
finding belongs to; a reader comparing a terminal run with a SARIF alert should see the same
thing in the same order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from botscan import __version__
from botscan.catalog import Rule
from botscan.model import Finding, Notice, ScanResult

TOOL_NAME = "botscan"
TOOL_VERSION = __version__

JSONObject = dict[str, Any]

# Characters json.dumps(ensure_ascii=False) leaves raw but that must not be: DEL, the C1
# controls (U+009B is a one-byte CSI for some terminals), the Unicode line separators and the
# bidirectional overrides of "Trojan Source", which a terminal may act on; and lone surrogates,
# which is how Python holds file-name bytes that are not UTF-8 and which cannot be encoded.
# Escaping them as \uXXXX keeps the document equal to the same data after json.loads, makes
# `cat report.json` harmless and the output always encodable as UTF-8.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z\s])")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def ordered_findings(result: ScanResult) -> list[Finding]:
    """Every finding, suppressed ones included, in (path, line, column, rule) order.

    One order for all formats keeps diffs between two runs small and makes the formats
    comparable line by line.
    """
    findings = sorted(result.findings, key=Finding.sort_key)
    for finding in findings:
        check_path(finding.location.path)
    return findings


def ordered_notices(result: ScanResult) -> list[Notice]:
    """Notices in (path, kind, message) order, for the same reason as `ordered_findings`."""
    return sorted(result.notices, key=lambda n: (n.path, n.kind.value, n.message))


def is_relative(path: str) -> bool:
    """A non-empty path that names something inside the scanned root, not an absolute one."""
    return bool(path) and not path.startswith("/") and not PurePath(path).is_absolute()


def check_path(path: str) -> None:
    """Refuse a finding without a location.

    Every finding points at a file (DESIGN: "Every finding has a location"), and GitHub
    rejects a whole SARIF upload for one result without a usable location, so a missing path
    is a bug upstream that must surface here rather than as a broken report. Paths are relative
    to the scan root, except for explicit file arguments outside the working directory.
    """
    if not path:
        raise ValueError("finding without a path")


def rule_for(finding: Finding, rules: Mapping[str, Rule]) -> Rule:
    """The catalog entry of a finding; an unknown id is a wiring bug, so it fails loudly.

    Rendering a finding without its rule would drop its title and remediation silently and,
    in SARIF, produce a result GitHub cannot explain.
    """
    try:
        return rules[finding.rule_id]
    except KeyError:
        raise ValueError(
            f"finding {finding.rule_id} at {finding.location.path}:{finding.location.line} "
            "has no rule in the catalog passed to the report"
        ) from None


def unwrap(text: str) -> str:
    """Catalog prose is hard-wrapped for TOML; joins wrapped lines, keeps paragraph breaks."""
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def first_sentence(text: str) -> str:
    """The first sentence of catalog prose, unwrapped and without Markdown emphasis.

    A sentence ends at '.', '!' or '?' followed by white space and something that is not a
    lower-case letter, so that "e.g. this" does not cut the sentence short.
    """
    flat = " ".join(unwrap(text).replace("**", "").split())
    return _SENTENCE_END.split(flat, maxsplit=1)[0]


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, marked with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def sorted_evidence(finding: Finding) -> JSONObject:
    """Evidence with sorted keys: analyzers fill it in any order, reports must not vary."""
    return dict(sorted(finding.evidence.items()))


def _json_default(value: object) -> Any:
    """Evidence is free-form; accept the few non-JSON types analyzers naturally use."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, PurePath):
        return value.as_posix()
    raise TypeError(f"evidence value of type {type(value).__name__} is not JSON-serialisable")


def dumps(document: JSONObject) -> str:
    """Indented JSON with a final newline, safe to print to a terminal, identical on reload."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=_json_default)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) + "\n"


def capabilities_json(result: ScanResult) -> list[JSONObject]:
    """The capability profile: each capability with its evidence (also used by SARIF)."""
    return [
        {"name": c.name, "evidence": [{"path": e.path, "line": e.line, "call": e.call}
                                      for e in c.evidence]}
        for c in result.capabilities
    ]


def verdict_json(result: ScanResult) -> JSONObject | None:
    """The `botscan vet` verdict (None for a plain scan): level, score, its parts, the reason,
    and the drivers by fingerprint (their full records are among the findings)."""
    verdict = result.verdict
    if verdict is None:
        return None
    return {
        "level": verdict.level,
        "score": verdict.score,
        "reason": verdict.reason,
        "parts": [{"name": p.name, "points": p.points, "maximum": p.maximum,
                   "reasons": list(p.reasons)} for p in verdict.parts],
        "drivers": [{"rule_id": f.rule_id, "path": f.location.path, "line": f.location.line,
                     "fingerprint": f.fingerprint} for f in verdict.drivers],
    }
