"""The scan pipeline: sources -> analyzers (in isolated worker processes) -> findings -> filters.

Workers read and analyse one file at a time and return plain data, so a file that crashes or
hangs the parser costs that file (reported as a notice), never the scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from botscan import cache_dir, catalog, pool
from botscan.analyzers.files import binary_candidate, link_finding, shadowed_source
from botscan.analyzers.python.options import Options
from botscan.analyzers.secrets import IgnoreRules, Tracking, reads, wants_tracking
from botscan.capabilities import capability_profile
from botscan.deps import AuditSettings, DependencyResult, analyze_dependencies, is_manifest
from botscan.model import Dependency, Evidence, Finding, Notice, NoticeKind, ScanResult
from botscan.result_cache import ResultCache
from botscan.sources.archive import is_archive, read_archive
from botscan.sources.history import HistoryBlob, history_blobs, make_credential_prefilter
from botscan.sources.walker import FileKind, Item, OutsideLink, SourceFile, is_excluded, walk

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
    dependencies: bool = True
    """Parse manifests and run the dependency rules (BOT6xx)."""
    history: bool = False
    """Also scan the git history of scanned directories for credentials (BOT104)."""
    since: str | None = None
    """Only the history not reachable from this revision."""
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)
    """Called with (blobs read, blobs in all) during the history scan."""
    audit: AuditSettings = field(default_factory=AuditSettings)
    cache_dir: Path | None = None
    """botscan's cache directory (`cache_dir.py`); results are cached under `results/` in it.
    None: nothing is cached."""
    memory_limit: int = WORKER_MEMORY_BYTES
    """The address space the analysis of one file may use (`--max-file-memory`)."""

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
    """Python source (the libcst analyzer) or another text file (the secrets scanner)."""
    tracking: Tracking = Tracking.UNKNOWN
    """Whether git would commit this file (for credential files: BOT110)."""
    data: bytes | None = None
    """The content of a file that exists only in memory (an archive member)."""
    binary: bool = False
    """A binary file (the files analyzer: BOT508, and credentials inside bytecode)."""
    source_present: bool = False
    """For a binary: whether the Python source it compiles or shadows is in the tree."""

    def read(self, limit: int = -1) -> bytes:
        if self.data is not None:
            return self.data if limit < 0 else self.data[:limit]
        with open(self.abspath, "rb") as handle:
            return handle.read(limit)


_Outcome = tuple[list[Finding], list[Notice], list[tuple[str, Evidence]]]


def _analyze(task: _Task) -> _Outcome:
    from botscan.analyzers import files
    from botscan.analyzers.secrets import known_service_findings, scan_text_file

    catalog.use_packs(task.options.packs)
    try:
        # A binary is read only as far as needed: its header, or the whole of bytecode.
        data = task.read(files.read_limit(task.path) if task.binary else -1)
    except OSError as exc:
        return [], [Notice(task.path, NoticeKind.UNREADABLE,
                           f"cannot read: {exc.strerror}")], []
    if task.binary:
        return files.binary_findings(task.path, data, source_present=task.source_present,
                                     enabled=task.enabled), [], []
    if not task.python:
        findings, notices = scan_text_file(task.path, data, tracking=task.tracking,
                                           enabled=task.enabled,
                                           extra_names=task.options.extra_credential_names)
        if files.reads(task.path):
            deployment, more = files.deployment_findings(task.path, data, task.enabled)
            findings += deployment
            notices += more
        return findings, notices, []
    # Here, not above: a worker that only reads text files never loads libcst.
    from botscan.analyzers.python.analyzer import analyze_python
    from botscan.sources.decode import decode_python

    result = analyze_python(task.path, data, task.options, task.enabled)
    # detect-secrets' known services (AWS, GitHub, Stripe…) the Python detectors do not know.
    result.findings += known_service_findings(task.path, decode_python(data).text,
                                              result.findings, task.enabled)
    return result.findings, result.notices, result.evidence


def _analyze_as_text(task: _Task) -> _Outcome:
    from botscan.analyzers.python.analyzer import analyze_as_text

    if task.binary:
        return [], [], []  # there is no text to fall back to
    return analyze_as_text(task.path, task.read(), task.enabled).findings, [], []


def _identity(task: _Task) -> _Task:
    """What a task's cached result depends on besides its bytes: everything but where the
    bytes are read from."""
    return dataclasses.replace(task, abspath="", data=None)


def _caches_outside(options: ScanOptions, paths: list[Path],
                    notices: list[Notice]) -> ScanOptions:
    """The options without caches if one would sit inside a scanned tree: the tree could plant
    entries there that hide its own findings or clear its dependencies."""
    for directory in (options.cache_dir, options.audit.cache_dir):
        tree = cache_dir.inside(directory, paths) if directory is not None else None
        if tree is not None:
            notices.append(Notice(str(directory), NoticeKind.CACHE,
                                  f"not used: the cache directory is inside the scanned {tree}; "
                                  "choose another with --cache-dir"))
            return dataclasses.replace(options, cache_dir=None,
                                       audit=dataclasses.replace(options.audit, cache_dir=None))
    return options


def _failure_notice(path: str, failure: pool.Failure, memory_limit: int,
                    fallback: str) -> Notice:
    if failure.reason == "timeout":
        return Notice(path, NoticeKind.TIMEOUT, f"not analysed: {failure.detail}{fallback}")
    if failure.out_of_memory:
        return Notice(path, NoticeKind.MEMORY,
                      f"not analysed: it needed more than the {memory_limit / 1024**2:,.0f} MiB "
                      f"one file may use (--max-file-memory){fallback}")
    return Notice(path, NoticeKind.CRASH, f"not analysed: {failure.detail}{fallback}")


def _analysable(path: str) -> bool:
    return path.endswith((".py", ".pyw", ".pyi")) or reads(path)


def _sources(paths: list[Path], options: ScanOptions) -> Iterator[Item]:
    """Files on disk from the walker, and the members of archives named as scan paths (read
    in memory, never extracted: botscan.sources.archive)."""
    on_disk: list[Path] = []
    for path in paths:
        if is_archive(path):
            yield from walk(on_disk, exclude=options.exclude,
                            use_default_excludes=options.use_default_excludes)
            on_disk = []
            yield from read_archive(path, exclude=options.exclude,
                                    use_default_excludes=options.use_default_excludes)
        else:
            on_disk.append(path)
    if on_disk:
        yield from walk(on_disk, exclude=options.exclude,
                        use_default_excludes=options.use_default_excludes)


def scan(paths: list[Path], options: ScanOptions | None = None) -> ScanResult:
    """Scan files and directories; raises FileNotFoundError for a path that does not exist."""
    options = options or ScanOptions()
    previous = catalog.active_packs()
    catalog.use_packs(options.packs)
    try:
        return _scan(paths, options)
    finally:
        catalog.use_packs(previous)  # packs belong to this scan, not to the process


def _scan(paths: list[Path], options: ScanOptions) -> ScanResult:
    started = time.monotonic()
    enabled = options.enabled_rules()
    notices: list[Notice] = []
    files: list[SourceFile] = []
    manifests: list[SourceFile] = []
    binaries: list[SourceFile] = []
    seen: set[str] = set()
    findings: list[Finding] = []
    for item in _sources(paths, options):
        if isinstance(item, SourceFile):
            seen.add(item.path)
            if is_manifest(item.path):
                manifests.append(item)
        if isinstance(item, OutsideLink) and "BOT509" in enabled:
            findings.append(link_finding(item.path, item.target, exists=item.exists))
        if isinstance(item, Notice):
            # A size notice matters only for a file botscan would have read (not a wheel).
            if item.kind is not NoticeKind.TOO_LARGE or _analysable(item.path):
                notices.append(item)
        elif item.kind is FileKind.PYTHON or (
                item.kind is FileKind.TEXT and reads(item.path)):
            files.append(item)
        elif item.kind is FileKind.BINARY and binary_candidate(item.path):
            binaries.append(item)
    ignore = IgnoreRules([Path(p) for p in paths])
    analyzer_options = Options(extra_credential_names=options.credential_names,
                               packs=options.packs)
    # Largest first: the workers then finish together, on small files, instead of one of them
    # starting the biggest module last while the others idle. Results are sorted at the end.
    files.sort(key=lambda f: f.size, reverse=True)
    tasks = [_Task(f.path, str(f.abspath), analyzer_options, enabled, f.kind is FileKind.PYTHON,
                   ignore.tracking(f.abspath) if f.kind is FileKind.TEXT and f.data is None
                   and wants_tracking(f.path) else Tracking.UNKNOWN, data=f.data)
             for f in files]
    if enabled & _BINARY_RULES:
        # Compiled files a `.gitignore` keeps out (a local `__pycache__`) are not committed.
        tasks += [_Task(f.path, str(f.abspath), analyzer_options, enabled, False, data=f.data,
                        binary=True, source_present=shadowed_source(f.path) in seen)
                  for f in binaries
                  if f.data is not None or ignore.tracking(f.abspath) is not Tracking.IGNORED]
    evidence: list[tuple[str, Evidence]] = []
    failed: dict[int, pool.Failure] = {}
    options = _caches_outside(options, paths, notices)
    cache = ResultCache(options.cache_dir / "results") if options.cache_dir else None
    outcomes = pool.run(_analyze, tasks, jobs=options.jobs, timeout=options.file_timeout,
                        memory_limit=options.memory_limit) if cache is None else cache.run(
        _analyze, tasks, _identity, jobs=options.jobs, timeout=options.file_timeout,
        memory_limit=options.memory_limit)
    for index, outcome in outcomes:
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
                                   memory_limit=options.memory_limit):
        if not isinstance(outcome, pool.Failure) and not retry[index].binary:
            findings.extend(outcome[0])
            text_done.add(index)
    for position, index in enumerate(sorted(failed)):
        fallback = "; scanned as text for credentials only" if position in text_done else ""
        notices.append(_failure_notice(tasks[index].path, failed[index], options.memory_limit,
                                       fallback))
    if cache is not None and cache.problem is not None:
        notices.append(Notice(str(cache.directory), NoticeKind.CACHE,
                              f"results could not be cached: {cache.problem}"))
    dependencies: list[Dependency] = []
    if options.dependencies and manifests and enabled & _DEPENDENCY_RULES:
        deps = _dependencies(manifests, options, enabled)
        findings.extend(deps.findings)
        notices.extend(deps.notices)
        dependencies = deps.dependencies
    if options.history and enabled & {"BOT104"}:
        head_secrets = {str(f.evidence.get("secret_hash")) for f in findings
                        if f.rule_id.startswith("BOT1") and "secret_hash" in f.evidence}
        for root in (Path(p) for p in paths):
            if root.is_dir():
                found, more = _history(root, options, analyzer_options, head_secrets)
                findings.extend(found)
                notices.extend(more)
    findings.sort(key=Finding.sort_key)
    notices.sort(key=lambda n: (n.path, n.kind.value))
    return ScanResult(
        findings=findings,
        notices=notices,
        files_scanned=len(tasks),
        duration_seconds=time.monotonic() - started,
        roots=[str(p) for p in paths],
        capabilities=capability_profile(evidence),
        dependencies=dependencies,
    )


@dataclass(frozen=True)
class _HistoryTask:
    blob: HistoryBlob
    options: Options
    enabled: frozenset[str]


def _analyze_history(task: _HistoryTask) -> list[Finding]:
    """The credentials a history blob brought, kept on the lines its commit added and
    reported as BOT104 at the path and commit of that time.

    Every blob, Python included, goes to the text secrets scanner: parsing each historical
    version of each module with libcst would cost minutes on a bot with thousands of commits
    (benchmarks/README.md), and a committed key is a `name = "value"` line either way.
    """
    from botscan.analyzers.secrets import scan_text_file

    catalog.use_packs(task.options.packs)
    blob = task.blob
    # Every credential rule finds history secrets, whichever of them the user selected: BOT104
    # is what they become (`--select BOT104` must still find them).
    wanted = frozenset(r for r in catalog.rules() if r.startswith("BOT1")
                       and r not in ("BOT104", "BOT110"))
    found = scan_text_file(blob.path, blob.data, enabled=wanted,
                           extra_names=task.options.extra_credential_names)[0]
    new = set(blob.new_lines)
    return [_as_history(f, blob) for f in found if f.location.line in new and not f.suppressed]


def _as_history(finding: Finding, blob: HistoryBlob) -> Finding:
    where = "a file that still exists" if blob.path_exists_at_head else "a file deleted since"
    when = f"commit {blob.commit[:12]} ({blob.date})" if blob.commit else "an unreferenced object"
    message = finding.message.split(". ")[0]
    return dataclasses.replace(
        finding,
        rule_id="BOT104",
        severity=catalog.rules()["BOT104"].severity,
        message=(f"{message}. Only in git history now: added in {when} at `{blob.path}`, "
                 f"{where}. Rotate the key, then purge it from history."),
        location=dataclasses.replace(finding.location,
                                     origin=f"commit:{blob.commit}" if blob.commit else "history"),
        fingerprint=hashlib.sha256(f"BOT104\0{finding.fingerprint}".encode()).hexdigest()[:32],
        evidence={**finding.evidence, "original_rule": finding.rule_id, "commit": blob.commit,
                  "date": blob.date, "path_exists_at_head": blob.path_exists_at_head},
    )


def _history(root: Path, options: ScanOptions, analyzer_options: Options,
             head_secrets: set[str]) -> tuple[list[Finding], list[Notice]]:
    """BOT104 for credentials that are in `root`'s git history but no longer at HEAD.

    Each unique blob is read once (botscan.sources.history); the ones at HEAD are the ordinary
    scan's, and a secret the ordinary scan reports is not reported again from an old blob.
    """
    if not (root / ".git").exists():
        return [], []
    notices: list[Notice] = []
    tasks: list[_HistoryTask] = []
    prefilter = make_credential_prefilter(options.credential_names)
    for item in history_blobs(root, since=options.since, prefilter=prefilter,
                              progress=options.progress):
        if isinstance(item, Notice):
            notices.append(item)
        elif not item.at_head and not is_excluded(item.path, options.exclude,
                                                  options.use_default_excludes):
            tasks.append(_HistoryTask(item, analyzer_options, options.enabled_rules()))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    outcomes: dict[int, list[Finding]] = {}
    for index, outcome in pool.run(_analyze_history, tasks, jobs=options.jobs,
                                   timeout=options.file_timeout,
                                   memory_limit=options.memory_limit):
        if isinstance(outcome, pool.Failure):
            notices.append(Notice(tasks[index].blob.path, NoticeKind.CRASH,
                                  f"history blob {tasks[index].blob.blob[:12]} not analysed: "
                                  f"{outcome.detail}"))
        else:
            outcomes[index] = outcome
    for index in sorted(outcomes):  # oldest first: the commit that introduced a secret wins
        for finding in outcomes[index]:
            secret = str(finding.evidence.get("secret_hash", finding.fingerprint))
            key = (finding.evidence.get("original_rule", ""), secret)
            if secret in head_secrets or key in seen:
                continue
            seen.add(key)
            findings.append(finding)
    return findings, notices


_BINARY_RULES = frozenset({"BOT508", "BOT101", "BOT102", "BOT103", "BOT105", "BOT106",
                           "BOT107", "BOT108"})
"""A committed binary, and the credentials recovered from bytecode."""

_DEPENDENCY_RULES = frozenset({"BOT601", "BOT602", "BOT603", "BOT604", "BOT605"})


def _dependencies(manifests: list[SourceFile], options: ScanOptions,
                  enabled: frozenset[str]) -> DependencyResult:
    """The dependency analyzer, once per scan root, on the manifests the walker found.

    With the vulnerability rule switched off, nothing is sent to the audit service.
    """
    by_root: dict[Path, list[tuple[str, bytes]]] = {}
    for manifest in manifests:
        depth = len(PurePosixPath(manifest.path).parts)
        if manifest.data is not None:
            root = manifest.abspath  # an archive member: the archive is its root
        else:
            root = manifest.abspath.parents[depth - 1] if depth else manifest.abspath.parent
        try:
            by_root.setdefault(root, []).append((manifest.path, manifest.read()))
        except OSError:
            continue  # the walker already reported it as unreadable
    audit = options.audit
    if "BOT601" not in enabled:
        audit = dataclasses.replace(audit, offline=True)
    total = DependencyResult()
    for root, files in sorted(by_root.items()):
        result = analyze_dependencies(root, files, audit)
        total.findings += [f for f in result.findings if f.rule_id in enabled]
        total.notices += [n for n in result.notices
                          if "BOT601" in enabled or n.kind is not NoticeKind.AUDIT]
        total.dependencies += result.dependencies
    return total
