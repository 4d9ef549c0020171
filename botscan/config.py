"""Configuration: `[tool.botscan]` in pyproject.toml, or `.botscan.toml`; the CLI wins.

Configuration is read from the directory botscan runs in (your project), or from `--config`,
never from a scanned tree: a downloaded bot must not be able to ship a `.botscan.toml` that
ignores every rule. Unknown keys and wrong types are errors (exit 2), because a typo in a
security tool's config silently weakens it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botscan import catalog, credentials
from botscan.model import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


class ConfigError(Exception):
    """The configuration is broken; the CLI reports it in one line and exits 2."""


@dataclass
class Config:
    exclude: list[str] = field(default_factory=list)
    use_default_excludes: bool = True
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str = "high"
    credential_names: dict[str, str] = field(default_factory=dict)
    """Extra credential names of this project: name -> kind (secret, key_id, password…)."""
    jobs: int | None = None
    packs: list[str] = field(default_factory=list)
    """Knowledge packs (TOML), relative to the configuration file's directory."""
    max_file_memory: int | None = None
    """Bytes of memory the analysis of one file may use (`--max-file-memory`)."""
    source: str = "defaults"


_LIST_KEYS = ("exclude", "select", "ignore", "packs")
_KNOWN = {"exclude", "use-default-excludes", "select", "ignore", "fail-on", "credential-names",
          "jobs", "packs", "max-file-memory"}
_FAIL_ON = ("critical", "high", "medium", "low", "never")


def _kinds() -> set[str]:
    return {credentials.KEY_ID, credentials.SECRET, credentials.PASSPHRASE,
            credentials.PASSWORD, credentials.TOKEN, credentials.PRIVATE_KEY,
            credentials.MNEMONIC}


def _parse(table: dict[str, Any], source: str) -> Config:
    config = Config(source=source)
    normalized = {k.replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(normalized) - _KNOWN)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_KNOWN))})")
    for key in _LIST_KEYS:
        value = normalized.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: '{key}' must be a list of strings")
        setattr(config, key, list(value))
    if "use-default-excludes" in normalized:
        if not isinstance(normalized["use-default-excludes"], bool):
            raise ConfigError(f"{source}: 'use-default-excludes' must be true or false")
        config.use_default_excludes = normalized["use-default-excludes"]
    fail_on = normalized.get("fail-on", "high")
    if fail_on not in _FAIL_ON:
        raise ConfigError(f"{source}: 'fail-on' must be one of {', '.join(_FAIL_ON)}")
    config.fail_on = fail_on
    names = normalized.get("credential-names", {})
    if not isinstance(names, dict) or not all(
            isinstance(k, str) and v in _kinds() for k, v in names.items()):
        raise ConfigError(f"{source}: 'credential-names' maps names to one of "
                          f"{', '.join(sorted(_kinds()))}")
    config.credential_names = dict(names)
    jobs = normalized.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"{source}: 'jobs' must be a whole number of at least 1")
    config.jobs = jobs
    memory = normalized.get("max-file-memory")
    if memory is not None:
        config.max_file_memory = parse_size(memory, f"{source}: 'max-file-memory'")
    try:
        catalog.expand_selectors(config.select + config.ignore)
    except catalog.CatalogError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def load(explicit: Path | None = None, directory: Path | None = None) -> Config:
    """The configuration from `explicit`, else `.botscan.toml` or `pyproject.toml` in `directory`
    (default: the current directory); defaults when there is none."""
    if explicit is not None:
        return _from_file(explicit, required=True)
    base = directory or Path.cwd()
    dedicated = base / ".botscan.toml"
    if dedicated.is_file():
        return _from_file(dedicated, required=True)
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        return _from_file(pyproject, required=False)
    return Config()


def _from_file(path: Path, *, required: bool) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("botscan")
        if table is None:
            if required:
                raise ConfigError(f"{path}: no [tool.botscan] table")
            return Config()
    else:
        table = data.get("tool", {}).get("botscan", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.botscan] must be a table")
    config = _parse(table, str(path))
    config.packs = [str((path.parent / pack).resolve()) for pack in config.packs]
    return config


def read_packs(paths: list[str]) -> tuple[tuple[str, str], ...]:
    """(name, TOML text) of each knowledge pack, validated against the catalog."""
    packs = []
    for pack in paths:
        try:
            packs.append((pack, Path(pack).read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"{pack}: cannot read knowledge pack: {exc.strerror}") from None
    try:
        for name, text in packs:
            catalog.check_pack(name, text)
    except catalog.CatalogError as exc:
        raise ConfigError(str(exc)) from None
    return tuple(packs)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
MIN_FILE_MEMORY = 256 * 1024**2
"""Below this a worker cannot even run: it starts as a copy of the scanning process."""


def parse_size(value: object, what: str) -> int:
    """`4G`, `512M`, `1.5GiB` (binary units) or a number of bytes; raises ConfigError."""
    match = _SIZE.fullmatch(str(value).strip()) if isinstance(value, (str, int)) else None
    if match is None or isinstance(value, bool):
        raise ConfigError(f"{what} must be a size such as 2G or 512M, not {value!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < MIN_FILE_MEMORY:
        raise ConfigError(f"{what} must be at least 256M (got {value!r})")
    return size


def fail_threshold(fail_on: str) -> Severity | None:
    """The lowest severity that fails the run; None for `never`."""
    return None if fail_on == "never" else Severity.parse(fail_on)
