"""Lock files: `poetry.lock`, `uv.lock`, `Pipfile.lock`, `pylock.toml` (PEP 751).

A lock file says exactly what gets installed, transitive dependencies included, so its entries
are the pins worth auditing. pip-audit reads none of these safely (libraries.md): they are
parsed here and their `name==version` pairs handed to it.
"""

from __future__ import annotations

from typing import Any

from packaging.utils import canonicalize_name

from botscan.deps.declared import Declared, Role, Source, exact_version, located
from botscan.deps.lines import TomlLines, json_key_line
from botscan.deps.requirements import Parsed
from botscan.deps.tomlread import load_json, load_toml


def _pinned(manifest: str, line: int, name: str, version: str) -> Declared:
    return Declared(manifest=manifest, line=line, name=canonicalize_name(name), written=name,
                    specifier=f"=={version}", version=exact_version(f"=={version}"),
                    locked=True)


def _entries(index: TomlLines, data: dict[str, Any], key: str
             ) -> list[tuple[int, dict[str, Any]]]:
    """(line of `name = …`, table) for each `[[key]]` entry that has a string name."""
    spans = index.array_tables(key)
    found: list[tuple[int, dict[str, Any]]] = []
    for position, entry in enumerate(data.get(key, [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        span = spans[position] if position < len(spans) else (1, len(index.lines) + 1)
        found.append((index.key(span, "name") or span[0], entry))
    return found


def _str(table: Any, key: str) -> str | None:
    value = table.get(key) if isinstance(table, dict) else None
    return value if isinstance(value, str) else None


def parse_poetry_lock(manifest: str, text: str) -> Parsed:
    data = load_toml(text)
    out = Parsed()
    for line, entry in _entries(TomlLines(text), data, "package"):
        name, version = entry["name"], _str(entry, "version")
        source = entry.get("source")
        kind, url = _str(source, "type"), _str(source, "url")
        if kind == "git" and url:
            ref = _str(source, "resolved_reference") or _str(source, "reference")
            url = url if url.startswith("git+") else "git+" + url
            out.declared.append(located(manifest, line, f"{url}@{ref}" if ref else url,
                                        Source.VCS, name=canonicalize_name(name)))
        elif kind in ("url", "directory", "file") and url:
            out.declared.append(located(manifest, line, url,
                                        Source.URL if kind == "url" else Source.PATH,
                                        name=canonicalize_name(name)))
        elif version:
            out.declared.append(_pinned(manifest, line, name, version))
    return out


def parse_uv_lock(manifest: str, text: str) -> Parsed:
    data = load_toml(text)
    out = Parsed()
    for line, entry in _entries(TomlLines(text), data, "package"):
        name, version = entry["name"], _str(entry, "version")
        raw_source = entry.get("source")
        source: dict[str, Any] = raw_source if isinstance(raw_source, dict) else {}
        if "editable" in source or "virtual" in source:
            continue  # the project itself and its workspace members: the code being scanned
        for key, kind in (("git", Source.VCS), ("url", Source.URL), ("path", Source.PATH),
                          ("directory", Source.PATH)):
            where = _str(source, key)
            if where:
                where = where if kind is not Source.VCS or where.startswith("git+") else \
                    "git+" + where
                out.declared.append(located(manifest, line, where, kind,
                                            name=canonicalize_name(name)))
                break
        else:
            if version:
                out.declared.append(_pinned(manifest, line, name, version))
    return out


def parse_pylock(manifest: str, text: str) -> Parsed:
    data = load_toml(text)
    out = Parsed()
    for line, entry in _entries(TomlLines(text), data, "packages"):
        name, version = entry["name"], _str(entry, "version")
        vcs, directory, archive = entry.get("vcs"), entry.get("directory"), entry.get("archive")
        if isinstance(vcs, dict):
            where = _str(vcs, "url") or _str(vcs, "path") or ""
            commit = _str(vcs, "commit-id")
            out.declared.append(located(manifest, line, f"{where}@{commit}" if commit else where,
                                        Source.VCS, name=canonicalize_name(name)))
        elif isinstance(directory, dict):
            out.declared.append(located(manifest, line, _str(directory, "path") or "",
                                        Source.PATH, name=canonicalize_name(name),
                                        editable=bool(directory.get("editable"))))
        elif isinstance(archive, dict):
            url = _str(archive, "url")
            out.declared.append(located(manifest, line, url or _str(archive, "path") or "",
                                        Source.URL if url else Source.PATH,
                                        name=canonicalize_name(name)))
        elif version:
            out.declared.append(_pinned(manifest, line, name, version))
    return out


def parse_pipfile_lock(manifest: str, text: str) -> Parsed:
    data = load_json(text)
    lines = text.splitlines()
    out = Parsed()
    for section, entries in data.items():
        if section == "_meta" or not isinstance(entries, dict):
            continue
        start = json_key_line(lines, section) or 1
        cursor = start
        for name, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            line = json_key_line(lines, name, cursor + 1) or start
            cursor = max(cursor, line)
            canonical = canonicalize_name(name)
            editable = bool(entry.get("editable"))
            if _str(entry, "git"):
                ref = _str(entry, "ref")
                url = str(entry["git"])
                url = url if url.startswith("git+") else "git+" + url
                out.declared.append(located(manifest, line, f"{url}@{ref}" if ref else url,
                                            Source.VCS, name=canonical, editable=editable))
            elif _str(entry, "file") or _str(entry, "path"):
                where = _str(entry, "file") or _str(entry, "path") or ""
                source = Source.URL if "://" in where and not where.startswith("file:") else \
                    Source.PATH
                out.declared.append(located(manifest, line, where, source, name=canonical,
                                            editable=editable))
            else:
                spec = _str(entry, "version") or ""
                out.declared.append(Declared(manifest=manifest, line=line, name=canonical,
                                             written=name, specifier=spec,
                                             version=exact_version(spec), locked=True,
                                             role=Role.DEPENDENCY))
    return out
