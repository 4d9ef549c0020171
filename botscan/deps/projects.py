"""Project manifests in TOML: `pyproject.toml` (PEP 621, PEP 735, Poetry, uv) and `Pipfile`.

These declare what a project wants, usually as ranges; the lock files next to them say what
gets installed (see `lockfiles.py`). Poetry and Pipenv have their own constraint syntax, so
their values are read here rather than as PEP 508.
"""

from __future__ import annotations

from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from botscan.deps.declared import (
    Declared,
    Role,
    Source,
    exact_version,
    located,
    parse_pep508,
    scrub_urls,
)
from botscan.deps.lines import TomlLines
from botscan.deps.requirements import Include, Parsed
from botscan.deps.tomlread import load_toml, strings, table

_PIPFILE_NOT_PACKAGES = {"source", "requires", "scripts", "pipenv"}


class _Reader:
    """Shared state for one file: its line index and the lines already given to a value."""

    def __init__(self, manifest: str, text: str) -> None:
        self.manifest = manifest
        self.index = TomlLines(text)
        self.used: set[tuple[int, str]] = set()
        self.out = Parsed()
        self.own: str | None = None
        """The project's own name: `bot[plot,dev]` in its extras installs nothing new."""

    def span(self, *names: str) -> tuple[int, int]:
        for name in names:
            found = self.index.table(name)
            if found is not None:
                return found
        return 1, len(self.index.lines) + 1

    def pep508_list(self, values: Any, span: tuple[int, int], role: Role) -> None:
        for text in strings(values):
            line = self.index.value(span, text, self.used) or span[0]
            try:
                declared = parse_pep508(text, self.manifest, line, role)
            except InvalidRequirement:
                self.out.problems.append(f"line {line}: not a PEP 508 requirement: {text[:80]!r}")
                continue
            if declared.name is None or declared.name != self.own:
                self.out.declared.append(declared)

    def keyed_line(self, table_name: str, key: str) -> int:
        """The line of `key = …` in `[table_name]`, or of its own `[table_name.key]` table."""
        span = self.span(table_name)
        return (self.index.key(span, key) or self.index.subtable(f"{table_name}.{key}")
                or span[0])


def poetry_constraint(spec: str) -> tuple[str, str | None]:
    """(constraint as written, exact version or None) for a Poetry version string.

    A bare version is an exact pin in Poetry (`requests = "2.19.0"`); `^`, `~`, `*`, `||` and
    comparison lists are ranges.
    """
    text = spec.strip()
    if not text or text == "*" or (text[0] in "^~" and not text.startswith("~=")):
        return text, None
    try:
        return text, str(Version(text))
    except InvalidVersion:
        return text, exact_version(text)


def _table_dependency(reader: _Reader, table_name: str, name: str, value: Any,
                      role: Role, poetry: bool) -> None:
    line = reader.keyed_line(table_name, name)
    canonical = canonicalize_name(name)
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if isinstance(entry, str):
            entry = {"version": entry}
        if not isinstance(entry, dict):
            continue
        declared = _from_table(reader.manifest, line, canonical, name, entry, role, poetry)
        if declared is not None:
            reader.out.declared.append(declared)


def _from_table(manifest: str, line: int, canonical: str, name: str, entry: dict[str, Any],
                role: Role, poetry: bool) -> Declared | None:
    """One Poetry or Pipenv dependency table (`{version = …}`, `{git = …}`, `{path = …}`)."""
    editable = bool(entry.get("develop") or entry.get("editable"))
    if isinstance(entry.get("git"), str):
        ref = next((entry[k] for k in ("rev", "ref", "tag", "branch")
                    if isinstance(entry.get(k), str)), None)
        url = entry["git"] if entry["git"].startswith("git+") else "git+" + entry["git"]
        return located(manifest, line, f"{url}@{ref}" if ref else url, Source.VCS,
                       name=canonical, editable=editable, role=role)
    for key in ("url", "file"):
        if isinstance(entry.get(key), str):
            where = entry[key]
            source = Source.URL if "://" in where and not where.startswith("file:") else \
                Source.PATH
            return located(manifest, line, where, source, name=canonical, role=role)
    if isinstance(entry.get("path"), str):
        return located(manifest, line, entry["path"], Source.PATH, name=canonical,
                       editable=editable, role=role)
    spec = entry.get("version", "*")
    if not isinstance(spec, str):
        return None
    written, version = poetry_constraint(spec) if poetry else (spec, exact_version(spec))
    written, secrets = scrub_urls(written)
    return Declared(manifest=manifest, line=line, name=canonical, written=name,
                    specifier=written, version=version, role=role, secrets=secrets)


def _poetry(reader: _Reader, data: dict[str, Any]) -> None:
    poetry = table(data, "tool", "poetry")
    tables = [("tool.poetry.dependencies", poetry.get("dependencies")),
              ("tool.poetry.dev-dependencies", poetry.get("dev-dependencies"))]
    for group, content in table(poetry, "group").items():
        tables.append((f"tool.poetry.group.{group}.dependencies", table(content, "dependencies")))
    for table_name, deps in tables:
        if not isinstance(deps, dict):
            continue
        for name, value in deps.items():
            if canonicalize_name(name) != "python":
                _table_dependency(reader, table_name, name, value, Role.DEPENDENCY, poetry=True)


def _uv_sources(reader: _Reader, data: dict[str, Any]) -> None:
    """`[tool.uv.sources]` replaces where a named dependency is installed from."""
    for name, value in table(data, "tool", "uv", "sources").items():
        line = reader.keyed_line("tool.uv.sources", name)
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict) or entry.get("workspace") or "index" in entry:
                continue
            declared = _from_table(reader.manifest, line, canonicalize_name(name), name, entry,
                                   Role.SOURCE, poetry=False)
            if declared is not None and declared.source is not Source.INDEX:
                reader.out.declared.append(declared)


def _dynamic_files(reader: _Reader, data: dict[str, Any]) -> None:
    """`[tool.setuptools.dynamic] dependencies = {file = [...]}`: requirements files to read."""
    dynamic = table(data, "tool", "setuptools", "dynamic")
    span = reader.span("tool.setuptools.dynamic")
    specs = [dynamic.get("dependencies"), *table(dynamic, "optional-dependencies").values()]
    for spec in specs:
        files = spec.get("file") if isinstance(spec, dict) else None
        for target in [files] if isinstance(files, str) else strings(files):
            line = reader.index.value(span, target, reader.used) or span[0]
            reader.out.includes.append(Include(reader.manifest, line, target, constraint=False))


def parse_pyproject(manifest: str, text: str) -> Parsed:
    """Raises ManifestError when the file is not TOML."""
    data = load_toml(text)
    reader = _Reader(manifest, text)
    project = table(data, "project")
    if isinstance(project.get("name"), str):
        reader.own = canonicalize_name(project["name"])
    reader.pep508_list(project.get("dependencies"), reader.span("project"), Role.DEPENDENCY)
    optional_span = reader.span("project.optional-dependencies", "project")
    for values in table(project, "optional-dependencies").values():
        reader.pep508_list(values, optional_span, Role.DEPENDENCY)
    groups_span = reader.span("dependency-groups")
    for values in table(data, "dependency-groups").values():
        reader.pep508_list(values, groups_span, Role.DEPENDENCY)
    reader.pep508_list(table(data, "tool", "uv").get("dev-dependencies"),
                       reader.span("tool.uv"), Role.DEPENDENCY)
    reader.pep508_list(table(data, "build-system").get("requires"),
                       reader.span("build-system"), Role.BUILD)
    _poetry(reader, data)
    _uv_sources(reader, data)
    _dynamic_files(reader, data)
    return reader.out


def parse_pipfile(manifest: str, text: str) -> Parsed:
    """Raises ManifestError when the file is not TOML."""
    data = load_toml(text)
    reader = _Reader(manifest, text)
    for category, deps in data.items():
        if category in _PIPFILE_NOT_PACKAGES or not isinstance(deps, dict):
            continue
        for name, value in deps.items():
            _table_dependency(reader, category, name, value, Role.DEPENDENCY, poetry=False)
    return reader.out
