"""Committed binaries and bytecode (BOT508), and the credentials inside bytecode.

Compiled code is recognised by name (`.so`, `.pyc`, `.whl`…) or, whatever the name, by the
first bytes of an executable format (ELF, PE, Mach-O, WebAssembly). Data and media (images,
fonts, parquet and feather market data, models) are binary by nature and never BOT508; they are
not even read. A `.pyc` is read whole (under the walker's size cap), its string constants are
recovered without unmarshalling (`bytecode`), and the credential text detectors run over them,
so a key whose source file was deleted but whose bytecode was committed is still reported, as
a BOT1xx finding located at the `.pyc`.

The message says what the binary shadows: Python imports an extension module (`x.so`, `x.pyd`)
ahead of `x.py` in the same folder, runs a `keys.pyc` that has no `keys.py` beside it, and runs
an unchecked hash-based `.pyc` without comparing it with its source. Whether that source is in
the repository is decided by the caller, who knows the tree (`source_present`).
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath
from typing import Any

from botscan import catalog
from botscan.analyzers import text_credentials
from botscan.analyzers.files import bytecode
from botscan.analyzers.hits import Hit, finalize
from botscan.model import Confidence, Finding

HEAD_BYTES = 64
"""Enough to recognise an executable format; only bytecode is read further."""
MAX_BYTECODE_BYTES = 2_000_000
"""Bytecode is read whole up to this (the walker's cap for text); the rest is not searched."""
_NOTE = " (a string constant of this compiled file)"
_DESCRIPTIONS = {
    ".whl": "a Python wheel: a package whose code gets installed without being reviewed",
    ".egg": "a Python egg: a package whose code gets installed without being reviewed",
    ".jar": "a Java archive", ".class": "Java bytecode",
    ".exe": "a Windows executable", ".dll": "a Windows library", ".msi": "a Windows installer",
    ".so": "a shared library", ".dylib": "a macOS library", ".pyd": "a Python extension module",
    ".o": "an object file", ".obj": "an object file", ".a": "a static library",
    ".lib": "a static library", ".wasm": "a WebAssembly module",
}


@catalog.derived
def _table() -> dict[str, Any]:
    return dict(catalog.knowledge("deploy")["binaries"])


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def is_candidate(path: str) -> bool:
    """Could the binary file at `path` be compiled code? False for data and media names,
    which are not read at all."""
    return _suffix(path) not in _table()["data_suffixes"]


def read_limit(path: str) -> int:
    """How many bytes of the binary at `path` the analyzer needs."""
    return MAX_BYTECODE_BYTES if _suffix(path) in _table()["bytecode_suffixes"] else HEAD_BYTES


def shadowed_source(path: str) -> str | None:
    """The Python source a compiled file stands in for, to be looked up in the tree: the
    source of a `.pyc`, or the `x.py` an extension module `x.so`/`x.pyd` is imported before."""
    suffix = _suffix(path)
    if suffix in _table()["bytecode_suffixes"]:
        return bytecode.source_of(path)[0]
    if suffix in (".so", ".pyd"):
        pure = PurePosixPath(path)
        return str(pure.parent / f"{pure.name.split('.', 1)[0]}.py")
    return None


def _format(path: str, head: bytes) -> str | None:
    """What compiled code the file is, or None when neither its name nor its bytes say so."""
    for magic, description in _table()["magic"].items():
        if head.startswith(bytes.fromhex(magic)):
            return str(description)
    suffix = _suffix(path)
    if suffix in _table()["compiled_suffixes"]:
        return _DESCRIPTIONS.get(suffix, "compiled code")
    return None


def binary_findings(path: str, data: bytes, *, source_present: bool,
                    enabled: frozenset[str] | None = None) -> list[Finding]:
    """BOT508 for a committed binary, and BOT1xx for credentials inside bytecode. `data` is
    the file's first bytes (at least `HEAD_BYTES`; the whole file for bytecode)."""
    suffix = _suffix(path)
    if suffix in _table()["bytecode_suffixes"]:
        hit = _bytecode_hit(path, data, source_present)
    else:
        described = _format(path, data[:HEAD_BYTES])
        if described is None:
            return []
        hit = _compiled_hit(path, described, source_present)
    findings = finalize(path, "", [hit])
    if suffix in _table()["bytecode_suffixes"]:
        findings += _credentials(path, data)
    return [f for f in findings if enabled is None or f.rule_id in enabled]


def _bytecode_hit(path: str, data: bytes, source_present: bool) -> Hit:
    source, cached = bytecode.source_of(path)
    flags = bytecode.header(data)
    evidence: dict[str, object] = {"format": "Python bytecode", "source": source,
                                   "source_present": source_present}
    if source_present and flags is not None and flags.unchecked:
        message = (f"Unchecked hash-based bytecode of `{source}`: Python runs this file without "
                   "comparing it with the source, so what runs is not the code you can read. "
                   "Delete it.")
        confidence = Confidence.HIGH
        evidence["verdict"] = "dangerous"  # it runs instead of the source a reviewer reads
    elif source_present:
        message = (f"Bytecode of `{source}` is committed beside its source: Python recompiles "
                   "when they differ, but nobody can check that they match, and it may still "
                   "hold what the source no longer does. Delete it and ignore `*.pyc`.")
        confidence = Confidence.MEDIUM
    elif cached:
        message = (f"Bytecode of `{source}`, which is not in the repository: this file is the "
                   "only copy of what that module held (code, keys), readable by anyone who "
                   "has the repository. Find out what it was, then delete it.")
        confidence = Confidence.HIGH
    else:
        module = PurePosixPath(source).stem
        message = (f"Bytecode with no source beside it: `import {module}` runs this file "
                   f"directly, and nobody can review what it does. Delete it.")
        confidence = Confidence.HIGH
        evidence["verdict"] = "dangerous"  # code that runs and that nobody can read
    return Hit("BOT508", 1, 1, message, evidence=evidence, confidence=confidence)


def _compiled_hit(path: str, described: str, source_present: bool) -> Hit:
    message = f"Committed compiled code ({described}): nobody can review what it does."
    shadowed = shadowed_source(path)
    evidence: dict[str, object] = {"format": described, "source": shadowed,
                                   "source_present": source_present}
    if shadowed is not None and source_present:
        message += f" Python imports it instead of `{shadowed}` beside it."
        evidence["verdict"] = "dangerous"  # the reviewed source is not what runs
    message += " Build it from source, or fetch it from an official release checked by hash."
    return Hit("BOT508", 1, 1, message, evidence=evidence)


def _credentials(path: str, data: bytes) -> list[Finding]:
    """BOT1xx for credentials among the bytecode's string constants, each reported once, at
    line 1 of the `.pyc`, with no snippet (there is no source line to quote)."""
    hits = text_credentials.scan_text(bytecode.pseudo_source(bytecode.strings(data)),
                                      note=_NOTE)
    unique: dict[str, Hit] = {}
    for hit in hits:
        key = hit.secrets[0] if hit.secrets else hit.message
        unique.setdefault(key, dataclasses.replace(hit, line=1, column=1, end_line=None,
                                                   end_column=None))
    return finalize(path, "", list(unique.values()))
