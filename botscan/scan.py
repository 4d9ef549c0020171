"""The scan pipeline: sources -> analyzers (in isolated worker processes) -> findings -> filters.

Workers read and analyse one file at a time and return plain data, so a file that crashes or
hangs the parser costs that file (reported as a notice), never the scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from botscan import catalog, pool
from botscan.analyzers.python.engine import Options
from botscan.analyzers.text_credentials import config_syntax
from botscan.capabilities import capability_profile
from botscan.model import Evidence, Finding, Notice, NoticeKind, ScanResult
from botscan.sources.walker import FileKind, SourceFile, walk

FILE_TIMEOUT_SECONDS = 30.0
WORKER_MEMORY_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class ScanOptions:
    select: tuple[str, ...] = ()
    """Rule ids or families; empty means every rule."""
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    use_default_excludes: bool = True
    credential_names: tuple[tuple[str, str], ...] = ()
    packs: tuple[tuple[str, str], ...] = ()
    """Knowledge packs: (name, TOML text) pairs extending checks/knowledge."""
    jobs: int = field(default_factory=pool.default_jobs)
    file_timeout: float = FILE_TIMEOUT_SECONDS

    def enabled_rules(self) -> frozenset[str]:
        chosen = catalog.expand_selectors(list(self.select)) if self.select else set(
            catalog.rules())
        return frozenset(chosen - catalog.expand_selectors(list(self.ignore)))


@dataclass(frozen=True)
class _Task:
    path: str
    abspath: str
    options: Options
    enabled: frozenset[str]
    python: bool
    """Python source (the libcst analyzer) or a config file (the text credential scan)."""


_Outcome = tuple[list[Finding], list[Notice], list[tuple[str, Evidence]]]


def _analyze(task: _Task) -> _Outcome:
    from botscan.analyzers.python.analyzer import analyze_python
    from botscan.analyzers.text_credentials import analyze_config

    catalog.use_packs(task.options.packs)
    try:
        with open(task.abspath, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return [], [Notice(task.path, NoticeKind.UNREADABLE,
                           f"cannot read: {exc.strerror}")], []
    if not task.python:
        return (*analyze_config(task.path, data, task.enabled), [])
    result = analyze_python(task.path, data, task.options, task.enabled)
    return result.findings, result.notices, result.evidence


def _analyze_as_text(task: _Task) -> _Outcome:
    from botscan.analyzers.python.analyzer import analyze_as_text

    with open(task.abspath, "rb") as handle:
        data = handle.read()
    return analyze_as_text(task.path, data, task.enabled).findings, [], []


def _analysable(path: str) -> bool:
    return path.endswith((".py", ".pyw", ".pyi")) or config_syntax(path) is not None


def scan(paths: list[Path], options: ScanOptions | None = None) -> ScanResult:
    """Scan files and directories; raises FileNotFoundError for a path that does not exist."""
    options = options or ScanOptions()
    started = time.monotonic()
    catalog.use_packs(options.packs)
    enabled = options.enabled_rules()
    notices: list[Notice] = []
    files: list[SourceFile] = []
    for item in walk(paths, exclude=options.exclude,
                     use_default_excludes=options.use_default_excludes):
        if isinstance(item, Notice):
            # A size notice matters only for a file botscan would have read (not a wheel).
            if item.kind is not NoticeKind.TOO_LARGE or _analysable(item.path):
                notices.append(item)
        elif item.kind is FileKind.PYTHON or (
                item.kind is FileKind.TEXT and config_syntax(item.path) is not None):
            files.append(item)
    analyzer_options = Options(extra_credential_names=options.credential_names,
                               packs=options.packs)
    tasks = [_Task(f.path, str(f.abspath), analyzer_options, enabled,
                   f.kind is FileKind.PYTHON) for f in files]
    findings: list[Finding] = []
    evidence: list[tuple[str, Evidence]] = []
    failed: dict[int, pool.Failure] = {}
    for index, outcome in pool.run(_analyze, tasks, jobs=options.jobs,
                                   timeout=options.file_timeout,
                                   memory_limit=WORKER_MEMORY_BYTES):
        if isinstance(outcome, pool.Failure):
            failed[index] = outcome
            continue
        findings.extend(outcome[0])
        notices.extend(outcome[1])
        evidence.extend(outcome[2])
    # A file that crashed or stalled the analyzer is still searched for credentials as text
    # (in a worker, with its own deadline), so a hostile file cannot hide a key that way.
    retry = [tasks[i] for i in sorted(failed)]
    text_done: set[int] = set()
    for index, outcome in pool.run(_analyze_as_text, retry, jobs=options.jobs,
                                   timeout=options.file_timeout,
                                   memory_limit=WORKER_MEMORY_BYTES):
        if not isinstance(outcome, pool.Failure):
            findings.extend(outcome[0])
            text_done.add(index)
    for position, index in enumerate(sorted(failed)):
        failure = failed[index]
        kind = NoticeKind.TIMEOUT if failure.reason == "timeout" else NoticeKind.CRASH
        fallback = "; scanned as text for credentials only" if position in text_done else ""
        notices.append(Notice(tasks[index].path, kind,
                              f"not analysed: {failure.detail}{fallback}"))
    findings.sort(key=Finding.sort_key)
    notices.sort(key=lambda n: (n.path, n.kind.value))
    return ScanResult(
        findings=findings,
        notices=notices,
        files_scanned=len(tasks),
        duration_seconds=time.monotonic() - started,
        roots=[str(p) for p in paths],
        capabilities=capability_profile(evidence),
    )
