"""Which files are dependency manifests, and reading all of them into `Declared` records.

Nothing here runs anything: every format is parsed as data (`setup.py` as a syntax tree).
Requirements files may include others (`-r`, `-c`, `file:` in setup.cfg); an included file is
read once, only from inside the scanned root, and a cycle of includes ends where it started.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from botscan.deps.conda import parse_environment_yml
from botscan.deps.declared import Declared, Role, scrub_urls
from botscan.deps.lockfiles import (
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_pylock,
    parse_uv_lock,
)
from botscan.deps.projects import parse_pipfile, parse_pyproject
from botscan.deps.requirements import Include, Parsed, parse_requirements
from botscan.deps.tomlread import ManifestError
from botscan.model import Notice, NoticeKind
from botscan.redact import redact_text
from botscan.sources.decode import decode_python, decode_text

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_PROBLEMS_SHOWN = 3

Parser = Callable[[str, str], Parsed]


def _setup_file(name: str) -> Parser:
    """The parser of setup.py or setup.cfg, imported when one is read: its module loads
    libcst, which a scan without either (a pre-commit run on one file) should not pay for."""
    def parse(path: str, text: str) -> Parsed:
        from botscan.deps import setup_files

        parser: Parser = setup_files.parse_setup_py if name == "setup.py" \
            else setup_files.parse_setup_cfg
        return parser(path, text)

    return parse


_BY_NAME: dict[str, Parser] = {
    "pyproject.toml": parse_pyproject,
    "Pipfile": parse_pipfile,
    "poetry.lock": parse_poetry_lock,
    "uv.lock": parse_uv_lock,
    "Pipfile.lock": parse_pipfile_lock,
    "pylock.toml": parse_pylock,
    "setup.cfg": _setup_file("setup.cfg"),
    "setup.py": _setup_file("setup.py"),
}
_LOCKS = {"poetry.lock", "uv.lock", "Pipfile.lock", "pylock.toml"}
_PYLOCK = re.compile(r"^pylock\.[^/.]+\.toml$")
_CONDA = re.compile(r"^environment[^/]*\.ya?ml$")


def _is_requirements(path: str) -> bool:
    """`requirements*.txt`/`.in` anywhere (`dev-requirements.txt` too), or any `.txt`/`.in`
    inside a `requirements/` directory (`requirements/base.txt`)."""
    name = posixpath.basename(path).lower()
    if not name.endswith((".txt", ".in")):
        return False
    parent = posixpath.basename(posixpath.dirname(path)).lower()
    return "requirements" in name or parent == "requirements"


def _parser(path: str) -> Parser | None:
    name = posixpath.basename(path)
    if name in _BY_NAME:
        return _BY_NAME[name]
    if _PYLOCK.match(name):
        return parse_pylock
    if _CONDA.match(name):
        return parse_environment_yml
    if _is_requirements(path):
        return _requirements
    return None


def _requirements(manifest: str, text: str) -> Parsed:
    return parse_requirements(manifest, text)


def is_manifest(path: str) -> bool:
    """True for every file this package reads dependencies from (path relative, `/`-separated)."""
    return _parser(path) is not None


def is_lock(path: str) -> bool:
    name = posixpath.basename(path)
    return name in _LOCKS or bool(_PYLOCK.match(name))


@dataclass
class Manifests:
    declared: list[Declared] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    """Every manifest read, by path: findings take their snippets from these."""
    notices: list[Notice] = field(default_factory=list)


def _decode(path: str, data: bytes) -> str:
    decoded = decode_python(data) if path.endswith(".py") else decode_text(data)
    return decoded.text


def _resolve(include: Include) -> str | None:
    """The included file's path relative to the root, or None when it would leave the root."""
    target = include.target.replace("\\", "/")
    if target.startswith("/") or re.match(r"^[A-Za-z]:", target):
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(include.manifest), target))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return resolved


def _read_inside(root: Path, rel: str) -> bytes | str:
    """The bytes of `root/rel`, or why not: never through a symlink that leaves the root."""
    if "\0" in rel:  # the OS refuses such a name (ValueError), which would end the scan
        return "not a file name (it holds a NUL byte); not read"
    base = os.path.realpath(root if root.is_dir() else root.parent)
    real = os.path.realpath(os.path.join(base, rel))
    if real != base and not real.startswith(base + os.sep):
        return "resolves outside the scanned root; not read"
    if not os.path.isfile(real):
        return "no such file in the scanned tree"
    if os.path.getsize(real) > MAX_MANIFEST_BYTES:
        return f"over {MAX_MANIFEST_BYTES:,} bytes; not read"
    try:
        with open(real, "rb") as handle:
            return handle.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"


class _Reader:
    def __init__(self, root: Path, manifests: Sequence[tuple[str, bytes]]) -> None:
        self.root = root
        self.given = {path: data for path, data in manifests}
        self.result = Manifests()
        self.queue: deque[tuple[str, bytes, Parser, Role]] = deque()

    def run(self) -> Manifests:
        for path in sorted(self.given):
            parser = _parser(path)
            if parser is not None:
                self.queue.append((path, self.given[path], parser, Role.DEPENDENCY))
        while self.queue:
            self._read(*self.queue.popleft())
        return self.result

    def _notice(self, path: str, kind: NoticeKind, message: str) -> None:
        """Notices quote the manifest (an entry not understood, an include), and a manifest
        may hold a URL's credentials or a token: those never reach a report whole."""
        self.result.notices.append(Notice(path, kind, redact_text(scrub_urls(message)[0])))

    def _read(self, path: str, data: bytes, parser: Parser, role: Role) -> None:
        if path in self.result.texts:
            return
        text = _decode(path, data)
        self.result.texts[path] = text
        if len(data) > MAX_MANIFEST_BYTES:
            self._notice(path, NoticeKind.TOO_LARGE, f"{len(data):,} bytes is over the "
                         f"{MAX_MANIFEST_BYTES:,}-byte manifest limit: dependencies not read")
            return
        try:
            parsed = parser(path, text)
        except ManifestError as exc:
            self._notice(path, NoticeKind.NOT_PARSED, f"{exc}: its dependencies were not read")
            return
        except Exception as exc:
            # Manifests are parsed in the scanning process (their includes are read from the
            # tree), so a hostile file that trips a parser bug must end as a notice.
            self._notice(path, NoticeKind.CRASH, f"the {type(exc).__name__} of a parser bug: its "
                         "dependencies were not read")
            return
        for declared in parsed.declared:
            if role is Role.CONSTRAINT and declared.role is Role.DEPENDENCY:
                declared = _as_constraint(declared)
            self.result.declared.append(declared)
        if parsed.problems:
            shown = "; ".join(parsed.problems[:_PROBLEMS_SHOWN])
            more = len(parsed.problems) - _PROBLEMS_SHOWN
            self._notice(path, NoticeKind.NOT_PARSED,
                         f"{len(parsed.problems)} dependency entries not read: {shown}"
                         + (f" (and {more} more)" if more > 0 else ""))
        for include in parsed.includes:
            self._include(include, Role.CONSTRAINT if include.constraint else role)

    def _include(self, include: Include, role: Role) -> None:
        where = f"line {include.line}: {'-c' if include.constraint else '-r'} {include.target}"
        rel = _resolve(include)
        if rel is None:
            self._notice(include.manifest, NoticeKind.UNREADABLE,
                         f"{where} points outside the scanned root; not read")
            return
        if rel in self.result.texts or any(item[0] == rel for item in self.queue):
            return
        if rel in self.given and _parser(rel) is not None:
            return  # read as a manifest of its own
        data = self.given.get(rel)
        if data is None:
            found = _read_inside(self.root, rel)
            if isinstance(found, str):
                self._notice(include.manifest, NoticeKind.UNREADABLE, f"{where}: {found}")
                return
            data = found
        self.queue.append((rel, data, _requirements, role))


def _as_constraint(declared: Declared) -> Declared:
    return replace(declared, role=Role.CONSTRAINT)


def read_manifests(root: Path, manifests: Sequence[tuple[str, bytes]]) -> Manifests:
    """Every dependency the manifests declare, with their texts and what could not be read."""
    return _Reader(root, manifests).run()
