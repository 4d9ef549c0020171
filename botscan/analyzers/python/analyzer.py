"""The Python analyzer: decode, parse once, run every detector, fall back to text when needed.

A file that cannot be parsed (Python 2, a syntax error, nesting that would blow libcst's
stack) is never silently skipped: it gets a notice saying why, and is scanned for credentials
as text, so a key in an old Python 2 script is still found. The signs of obfuscation (BOT507)
are textual: they are read from the text of every file, parsed or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from botscan.analyzers import text_credentials, text_obfuscation
from botscan.analyzers.hits import Hit, finalize
from botscan.analyzers.python import decoding
from botscan.analyzers.python.detect_codeexec import CodeExecDetector
from botscan.analyzers.python.detect_credentials import CredentialDetector
from botscan.analyzers.python.detect_credstores import CredentialStoreDetector
from botscan.analyzers.python.detect_exfiltration import ExfiltrationDetector
from botscan.analyzers.python.detect_exposure import DebugSwitchDetector, ExposureDetector
from botscan.analyzers.python.detect_funds import FundsDetector
from botscan.analyzers.python.detect_patching import MonkeyPatchDetector
from botscan.analyzers.python.detect_setup import InstallTimeDetector
from botscan.analyzers.python.detect_transport import TransportDetector
from botscan.analyzers.python.detect_web import WebDetector
from botscan.analyzers.python.engine import (
    Detector,
    FileContext,
    Pathological,
    parse,
    run_detectors,
)
from botscan.analyzers.python.options import Options
from botscan.analyzers.python.prefilter import runnable
from botscan.model import Evidence, Finding, Notice, NoticeKind
from botscan.sources.decode import DecodedSource, decode_python
from botscan.testcode import is_test_path

DETECTORS: tuple[type[Detector], ...] = (
    CredentialDetector, TransportDetector, ExposureDetector, DebugSwitchDetector, FundsDetector,
    WebDetector, CodeExecDetector, ExfiltrationDetector, CredentialStoreDetector,
    MonkeyPatchDetector, InstallTimeDetector,
)
"""Detector classes, in the order they run (a detector comes after those it `needs`); each
file gets fresh instances, so detectors may keep per-file state."""
_TEXT_NOTE = " (found by text scan)"
PARSE_CAP_BYTES = 1_000_000
"""libcst needs ~500 bytes of memory per byte of source: larger files are scanned as text."""


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    evidence: list[tuple[str, Evidence]] = field(default_factory=list)
    """(capability, where) for the capability profile."""


def analyze_python(path: str, data: bytes, options: Options,
                   enabled: frozenset[str] | None = None, *,
                   prefiltered: bool = True) -> FileResult:
    """Findings, notices and capability evidence of one Python file.

    Only the detectors whose triggers the file holds are run, and a file none of them could
    fire on is not parsed (`prefilter.py`); `prefiltered=False` runs them all, for the test that
    shows the two agree.
    """
    result = FileResult()
    decoded = decode_python(data)
    if decoded.had_errors:
        result.notices.append(Notice(path, NoticeKind.DECODING,
                                     f"not cleanly decodable (declared encoding refused, or "
                                     f"invalid bytes): read as {decoded.encoding} with "
                                     "replacement characters"))
    text = decoded.text
    in_tests = is_test_path(path)
    chosen = [d for d in DETECTORS if (enabled is None or d.rules & enabled)
              and (d.runs_on_tests or not in_tests)]
    needed = {n for d in chosen for n in d.needs}
    chosen = [d for d in DETECTORS if d in chosen or d in needed]
    if prefiltered:
        chosen = runnable(chosen, _as_utf8(data, decoded), options)
    detectors = [d() for d in chosen]
    hits: list[Hit]
    if len(data) > PARSE_CAP_BYTES:
        result.notices.append(Notice(path, NoticeKind.TOO_LARGE,
                                     f"{len(data):,} bytes is over the {PARSE_CAP_BYTES:,}-byte "
                                     "parse limit: scanned as text for credentials only"))
        hits = text_credentials.scan_text(text, note=_TEXT_NOTE)
    elif not detectors:
        hits = []  # nothing could fire here: not even worth parsing
    else:
        try:
            hits = _parsed_hits(path, text, options, detectors, result)
        except Pathological as exc:
            result.notices.append(Notice(path, NoticeKind.PATHOLOGICAL,
                                         f"not parsed ({exc}): scanned as text for credentials "
                                         "only"))
            hits = text_credentials.scan_text(text, note=_TEXT_NOTE)
        except (cst.ParserSyntaxError, SyntaxError, RecursionError, ValueError) as exc:
            result.notices.append(Notice(path, NoticeKind.NOT_PARSED,
                                         f"not parsed as Python 3 ({_describe(exc)}): scanned "
                                         "as text for credentials only"))
            hits = text_credentials.scan_text(text, note=_TEXT_NOTE)
    hits += _obfuscation_hits(path, text, enabled)
    if enabled is not None:
        hits = [h for h in hits if h.rule_id in enabled]
    result.findings = finalize(path, text, hits)
    return result


def _obfuscation_hits(path: str, text: str, enabled: frozenset[str] | None) -> list[Hit]:
    if enabled is not None and "BOT507" not in enabled:
        return []
    return text_obfuscation.scan_obfuscation(text, path)


def _as_utf8(data: bytes, decoded: DecodedSource) -> bytes:
    """The source as the parser will read it, in UTF-8: its bytes, unless a declared encoding
    (or bytes that are not UTF-8) make the text something else."""
    if decoded.encoding == "utf-8" and not decoded.had_errors:
        return data
    return decoded.text.encode("utf-8", "surrogatepass")


def analyze_as_text(path: str, data: bytes, enabled: frozenset[str] | None = None) -> FileResult:
    """Credentials only, by text: for a file whose full analysis crashed or timed out."""
    text = decode_python(data).text
    hits = text_credentials.scan_text(text, note=_TEXT_NOTE)
    hits += _obfuscation_hits(path, text, enabled)
    hits = [h for h in hits if enabled is None or h.rule_id in enabled]
    return FileResult(findings=finalize(path, text, hits))


def _parsed_hits(path: str, text: str, options: Options, detectors: list[Detector],
                 result: FileResult) -> list[Hit]:
    module = parse(text)
    ctx = FileContext(path, options)
    ctx.resolver.evaluate = decoding.evaluate
    hits = []
    placed, evidence = run_detectors(module, detectors, ctx)
    result.evidence = [(capability, Evidence(path, line, call))
                       for capability, line, call in evidence]
    for report, where in placed:
        hits.append(Hit(
            rule_id=report.rule_id,
            line=where.start.line,
            column=where.start.column + 1,
            end_line=where.end.line,
            end_column=where.end.column + 1,
            message=report.message,
            secrets=report.secrets,
            evidence=report.evidence,
            confidence=report.confidence,
        ))
    return hits


def _describe(exc: BaseException) -> str:
    """A one-line reason. libcst's raw positions are often wrong; its message text is not."""
    if isinstance(exc, RecursionError):
        return "nesting too deep for the analyzer"
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if isinstance(exc, cst.ParserSyntaxError):
        located = re.search(r"line (\d+)", str(exc))
        line = f" at line {located.group(1)}" if located else ""
        return f"syntax error{line}"
    return first[:120]
