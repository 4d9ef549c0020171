"""A dependency as a manifest declares it, before anything is looked up.

Every manifest format is reduced to `Declared` records, so the rules (pinning, source,
typosquats) and the audit see one shape whatever the file was. A record keeps the manifest and
the line that declared it: findings point there, because that is the line a person edits.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


class Source(str, enum.Enum):
    """Where the package comes from: only INDEX packages can be looked up by name and version."""

    INDEX = "index"
    URL = "url"
    VCS = "vcs"
    PATH = "path"


class Role(str, enum.Enum):
    """What the declaration does, which decides the rules that apply to it."""

    DEPENDENCY = "dependency"
    """Installed with the bot: pinned or not, audited, a row of the dependency table."""
    CONSTRAINT = "constraint"
    """`-c`: fixes a version if something else pulls the package in; audited when pinned."""
    BUILD = "build"
    """`[build-system] requires`, `setup_requires`: installed and run to build; names only."""
    SOURCE = "source"
    """Where packages come from (`--extra-index-url`, `-r URL`, `[tool.uv.sources]`)."""


_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_VCS = re.compile(r"^(?:git|hg|svn|bzr)(?:\+|://)", re.IGNORECASE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Declared:
    manifest: str
    line: int
    name: str | None
    """Canonical (PEP 503) name; None for an unnamed URL, path or index option."""
    written: str
    """The name, location or option as the manifest writes it, for messages."""
    specifier: str = ""
    """The version constraint as written (PEP 440, Poetry or Pipenv syntax)."""
    version: str | None = None
    """The exact version when the declaration pins one (`==2.19.0`, a lock entry)."""
    source: Source = Source.INDEX
    location: str | None = None
    """URL or path for non-index sources, with any credentials removed."""
    editable: bool = False
    role: Role = Role.DEPENDENCY
    locked: bool = False
    """From a lock file: the version the tool resolved, transitive dependencies included."""
    option: str | None = None
    """For SOURCE declarations: the option or table that names the location (`-r`, ...)."""
    secrets: tuple[str, ...] = ()
    """Credentials embedded in a URL, so that snippets and messages can redact them."""

    @property
    def label(self) -> str:
        return self.name or self.written


def exact_version(specifier: SpecifierSet | str) -> str | None:
    """The version a specifier pins exactly (`==2.19.0`, `===2.19.0`), normalised; else None.

    `==2.*` and anything combined with another clause is a range: there is no single release
    to audit.
    """
    try:
        spec = specifier if isinstance(specifier, SpecifierSet) else SpecifierSet(specifier)
    except ValueError:
        return None
    clauses = list(spec)
    if len(clauses) != 1 or clauses[0].operator not in ("==", "===") or "*" in clauses[0].version:
        return None
    try:
        return str(Version(clauses[0].version))
    except InvalidVersion:
        return None


_USERINFO = re.compile(r"(?<=://)[^/?#\s]+(?=@)")


def scrub_urls(text: str) -> tuple[str, tuple[str, ...]]:
    """`text` with the user information of every URL in it hidden (`https://***@host/…`),
    and that information as secrets to redact.

    Private VCS dependencies often carry a token (`https://ghp_…@github.com/…`); messages must
    not repeat it. Every URL of the text, not only a leading one: continuation lines join a
    URL requirement to the next (`https://a/x.whl \\` then `pkg @ https://user:token@…`), and
    a Pipenv or Poetry version may be a URL written in the wrong field.
    """
    secrets: list[str] = []

    def hide(match: re.Match[str]) -> str:
        userinfo = match.group(0)
        secrets.extend(p for p in (userinfo, *userinfo.split(":")) if len(p) >= 4)
        return "***"

    return _USERINFO.sub(hide, text), tuple(dict.fromkeys(secrets))


def url_source(url: str) -> Source:
    if _VCS.match(url):
        return Source.VCS
    if url.lower().startswith("file:"):
        return Source.PATH
    return Source.URL


def looks_like_url(text: str) -> bool:
    return bool(_URL.match(text)) or text.startswith(_VCS_PREFIXES)


def looks_like_path(text: str) -> bool:
    """pip's own test: a path separator, a leading dot, or an archive file name."""
    return (text.startswith((".", "/", "~")) or "/" in text or "\\" in text
            or text.lower().endswith(_ARCHIVE))


def egg_name(url: str) -> str | None:
    match = _EGG.search(url)
    return canonicalize_name(match.group(1)) if match else None


def located(manifest: str, line: int, where: str, source: Source, *, name: str | None = None,
            editable: bool = False, role: Role = Role.DEPENDENCY,
            option: str | None = None) -> Declared:
    """A declaration of a package by location (URL, VCS or path) instead of by version."""
    # Paths too: a "path" may be a URL pip would not take (`pkg @ https://u:token@… ccxt`).
    clean, secrets = scrub_urls(where)
    return Declared(manifest=manifest, line=line, name=name, written=clean, source=source,
                    location=clean, editable=editable, role=role, option=option,
                    secrets=secrets)


def from_requirement(req: Requirement, manifest: str, line: int,
                     role: Role = Role.DEPENDENCY) -> Declared:
    name = canonicalize_name(req.name)
    if req.url:
        return located(manifest, line, req.url, url_source(req.url), name=name, role=role)
    return Declared(manifest=manifest, line=line, name=name, written=req.name,
                    specifier=str(req.specifier), version=exact_version(req.specifier),
                    role=role)


def parse_pep508(text: str, manifest: str, line: int,
                 role: Role = Role.DEPENDENCY) -> Declared:
    """A PEP 508 string (`requests[socks]>=2; python_version<'4'`, `x @ https://…`).

    Raises InvalidRequirement.
    """
    return from_requirement(Requirement(text), manifest, line, role)


def parse_pip_target(text: str, manifest: str, line: int, *, editable: bool = False,
                     role: Role = Role.DEPENDENCY) -> Declared:
    """What pip accepts where a requirement goes: PEP 508, a bare URL or VCS link, or a path.

    `-e` takes a path or a VCS link only. Raises InvalidRequirement for anything else.
    """
    if looks_like_url(text):
        return located(manifest, line, text, url_source(text), name=egg_name(text),
                       editable=editable, role=role)
    if not editable:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            if not looks_like_path(text):
                raise
        else:
            # `pkg-1.0.whl` parses as a name, but pip installs it as a file.
            if req.url or not text.lower().endswith(_ARCHIVE):
                return from_requirement(req, manifest, line, role)
    return located(manifest, line, text, Source.PATH, editable=editable, role=role)
