"""The content-hash cache of analysis results: a file already analysed is not analysed again.

An entry holds what analysing one file gave (findings, notices, capability evidence), under a
key that is a hash of everything the result depends on:

- the file's bytes (SHA-256) and its path (findings carry it, and fingerprints depend on it);
- how it is analysed: the task's fields (rules enabled, the user's credential names, the
  `.gitignore` verdict for BOT110, …) in a canonical form;
- what analyses it: botscan's version and a hash of its own source, the catalog with the
  knowledge packs in force, the Python and library versions that parse and detect.

So the cache never needs invalidating: anything that could change a result changes the key.

Entries are JSON (never pickle: the directory may be shared or tampered with), written to a
temporary file and renamed into place, so concurrent scans never see half an entry; an entry
that does not parse, has another key, or does not decode into findings is ignored. Findings
are redacted before they exist (`hits.finalize`), so an entry holds no more of a secret than a
JSON report does. The cache is bounded: entries are spread over 256 shard directories by key,
and each shard touched by a scan is trimmed, oldest first, to its share of `max_bytes`.
Reading an entry refreshes its time, so what a pre-commit hook keeps using stays.

Content is read and hashed where the file is analysed (the worker), so the key always matches
the bytes that gave the result, even if the file changes during the scan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import botscan
from botscan import catalog, pool
from botscan.model import (
    Confidence,
    Evidence,
    Finding,
    Location,
    Notice,
    NoticeKind,
    Severity,
)

FORMAT = 1
MAX_BYTES = 512 * 1024 * 1024
"""The default bound on the cache's size on disk."""
_SHARDS = 256
_TRIM_TO = 0.8
"""A shard over its share is trimmed to this fraction of it, so trimming is not constant."""
_REFRESH_AFTER = 24 * 3600.0
"""Reading an entry older than this marks it as used (one `utime`, not one per read)."""
_LIBRARIES = ("libcst", "detect-secrets", "mnemonic", "packaging")

Outcome = tuple[list[Finding], list[Notice], list[tuple[str, Evidence]]]


class Task(Protocol):
    """What the cache needs of a scan task: a dataclass whose bytes it can read, and that
    takes them as its `data` field (then the worker does not read the file again)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def read(self, limit: int = -1) -> bytes: ...


T = TypeVar("T", bound=Task)


@dataclass(frozen=True)
class _Keyed(Generic[T]):
    """The worker side: read the task's bytes once, hash them, analyse exactly those bytes."""

    func: Callable[[T], Outcome]

    def __call__(self, task: T) -> tuple[str | None, Outcome]:
        try:
            data = task.read()
        except OSError:
            return None, self.func(task)  # the analyzer reports it as unreadable
        digest = hashlib.sha256(data).hexdigest()
        return digest, self.func(dataclasses.replace(task, data=data))


def _canonical(value: Any) -> Any:
    """A JSON-able form of task fields that is the same in every process (set order and
    string hashes are not)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v))
    if isinstance(value, (tuple, list)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot key a cache on {type(value).__name__}")


def _code_fingerprint() -> str:
    """A hash of botscan's own source: a result depends on the code that produced it, and a
    development checkout changes that without changing the version."""
    digest = hashlib.sha256(botscan.__version__.encode())
    package = Path(botscan.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _versions() -> str:
    # importlib.metadata costs more to import than the look-ups: only scans with a cache pay.
    from importlib import metadata

    found = [sys.version]
    for name in _LIBRARIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return "\n".join(found)


class ResultCache:
    """Analysis results on disk, keyed by content. Every failure to read or write costs only
    the cache (one notice), never the scan."""

    def __init__(self, directory: Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.salt = "\n".join((str(FORMAT), _code_fingerprint(), catalog.fingerprint(),
                               _versions()))
        self.hits = 0
        self.stored = 0
        self.problem: str | None = None
        """Why the cache could not be written, once; the scan reports it as a notice."""
        self._touched: set[Path] = set()

    def key(self, identity: Any, digest: str) -> str:
        text = json.dumps([self.salt, _canonical(identity), digest], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Outcome | None:
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
                used = os.fstat(handle.fileno()).st_mtime
        except OSError:
            return None
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or record.get("format") != FORMAT \
                    or record.get("key") != key:
                return None
            outcome = decode(record["outcome"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # corrupt or foreign: analysed again, and overwritten
        if time.time() - used > _REFRESH_AFTER:
            with contextlib.suppress(OSError):
                os.utime(path)
        self.hits += 1
        return outcome

    def put(self, key: str, outcome: Outcome) -> None:
        encoded = encode(outcome)
        try:
            if decode(encoded) != outcome:
                return  # something in it does not survive JSON: better not cached
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        path = self._path(key)
        # ASCII escapes: a path with undecodable bytes (kept as lone surrogates) is then
        # written and read back exactly, where encoding it as UTF-8 would fail.
        data = json.dumps({"format": FORMAT, "key": key, "outcome": encoded},
                          separators=(",", ":")).encode()
        temp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except OSError as exc:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            self.problem = self.problem or f"{exc.strerror or exc}"
            return
        self.stored += 1
        self._touched.add(path.parent)

    def trim(self) -> None:
        """Keep each shard this scan wrote to within its share of `max_bytes`."""
        share = self.max_bytes / _SHARDS
        for shard in self._touched:
            entries: list[tuple[float, int, Path]] = []
            try:
                with os.scandir(shard) as listing:
                    for entry in listing:
                        with contextlib.suppress(OSError):
                            stat = entry.stat()
                            entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
            except OSError:
                continue
            total = sum(size for _, size, _ in entries)
            if total <= share:
                continue
            for _, size, path in sorted(entries):
                if total <= share * _TRIM_TO:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()  # a concurrent scan may have removed it already
                total -= size
        self._touched.clear()

    def run(self, func: Callable[[T], Outcome], tasks: Sequence[T],
            identity: Callable[[T], Any], *, jobs: int, timeout: float,
            memory_limit: int | None) -> Iterator[tuple[int, Outcome | pool.Failure]]:
        """`pool.run(func, tasks, …)`, answering from the cache where it can and storing what
        the workers compute. Failures (crashes, timeouts) are never stored."""
        identities = [identity(t) for t in tasks]
        missed: list[int] = []
        for index, task in enumerate(tasks):
            try:
                content = hashlib.sha256(task.read()).hexdigest()
            except OSError:
                missed.append(index)
                continue
            found = self.get(self.key(identities[index], content))
            if found is None:
                missed.append(index)
            else:
                yield index, found
        keyed = _Keyed(func)
        for position, result in pool.run(keyed, [tasks[i] for i in missed], jobs=jobs,
                                         timeout=timeout, memory_limit=memory_limit):
            index = missed[position]
            if isinstance(result, pool.Failure):
                yield index, result
                continue
            digest, outcome = result
            if digest is not None:
                self.put(self.key(identities[index], digest), outcome)
            yield index, outcome
        self.trim()


# --- the entry format: plain JSON of the model's dataclasses --------------------------------

def encode(outcome: Outcome) -> dict[str, Any]:
    findings, notices, evidence = outcome
    return {
        "findings": [_finding(f) for f in findings],
        "notices": [[n.path, n.kind.value, n.message] for n in notices],
        "evidence": [[capability, e.path, e.line, e.call] for capability, e in evidence],
    }


def _finding(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {"rule": f.rule_id, "severity": f.severity.name, "confidence": f.confidence.name,
            "message": f.message,
            "location": [loc.path, loc.line, loc.column, loc.end_line, loc.end_column,
                         loc.origin],
            "snippet": f.snippet, "fingerprint": f.fingerprint, "evidence": f.evidence,
            "suppression": f.suppression}


def decode(raw: dict[str, Any]) -> Outcome:
    """The outcome an entry holds; raises ValueError, KeyError or TypeError if it is not one."""
    findings = [_decode_finding(f) for f in raw["findings"]]
    notices = [Notice(_text(path), NoticeKind(kind), _text(message))
               for path, kind, message in raw["notices"]]
    evidence = [(_text(capability), Evidence(_text(path), _number(line), _text(call)))
                for capability, path, line, call in raw["evidence"]]
    return findings, notices, evidence


def _decode_finding(raw: dict[str, Any]) -> Finding:
    path, line, column, end_line, end_column, origin = raw["location"]
    if raw["rule"] not in catalog.rules() or not isinstance(raw["evidence"], dict):
        raise ValueError("not a finding of this catalog")
    return Finding(
        rule_id=raw["rule"],
        severity=Severity[raw["severity"]],
        confidence=Confidence[raw["confidence"]],
        message=_text(raw["message"]),
        location=Location(_text(path), _number(line), _number(column),
                          None if end_line is None else _number(end_line),
                          None if end_column is None else _number(end_column), _text(origin)),
        snippet=_text(raw["snippet"]),
        fingerprint=_text(raw["fingerprint"]),
        evidence=raw["evidence"],
        suppression=None if raw["suppression"] is None else _text(raw["suppression"]),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected a number")
    return value

