"""Which text files the secrets scanner reads, and how: the parser, the strictness, BOT110.

Every text file is read (keys leak in configs, `.env` files, notebooks and READMEs), so this is
not a filter but a description of each file, decided from its name alone (checks/knowledge/
files.toml): the history scanner sees blob paths, not files on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from botscan import catalog
from botscan.sources.walker import BINARY_SUFFIXES
from botscan.testcode import is_test_path

JSON = "json"
YAML = "yaml"
TOML = "toml"
INI = "ini"
ENV = "env"
NOTEBOOK = "notebook"
TEXT = "text"


@dataclass(frozen=True)
class TextKind:
    format: str
    """json, yaml, toml, ini, env, notebook, or text (read line by line)."""
    strict: bool
    """Documentation or an example file: only self-identifying secrets are reported."""
    unquoted: bool
    """`NAME=value` lines without quotes are bindings (shell, `.txt`, INI-like files)."""
    credential_file: bool
    """A file meant to hold credentials: BOT110 applies when it holds one and is not ignored."""
    test: bool
    """Test data: human-chosen passwords there are dummies, and it is meant to be committed."""


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("files")


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix


def is_example(path: str) -> bool:
    """`config.example.json`, `.env.sample`, `settings.template.yml`: a documented shape."""
    name = PurePosixPath(path).name.lower()
    parts = set(name.replace("-", ".").replace("_", ".").split("."))
    return bool(parts.intersection(_table()["examples"]["markers"]))


def _format(name: str) -> str:
    formats = _table()["formats"]
    if name in formats["env_names"] or name.startswith(tuple(formats["env_name_prefixes"])):
        return ENV
    suffix = _suffix(name)
    for fmt in (JSON, YAML, TOML, INI, ENV, NOTEBOOK):
        if suffix in formats[fmt]:
            return fmt
    return TEXT


def _unquoted(name: str) -> bool:
    config = _table()["config"]
    if name in config["names"] or name.startswith(tuple(config["name_prefixes"])):
        return True
    return _suffix(name) in config["unquoted_suffixes"]


def _credential_file(path: str, name: str) -> bool:
    table = _table()["credential_files"]
    folders = [part.lower() for part in PurePosixPath(path).parts[:-1]]
    if set(folders).intersection(table["excluded_dirs"]):
        return False
    if (name in table["names"] or name.startswith(tuple(table["name_prefixes"]))
            or _suffix(name) in table["suffixes"]):
        return True
    if _suffix(name) not in table["config_suffixes"]:
        return False
    words = {w for part in (PurePosixPath(name).stem, *folders)
             for w in re.split(r"[^a-z0-9]+", part) if w}
    return bool(words.intersection(table["config_words"]))


@catalog.derived
def text_kind(path: str) -> TextKind | None:
    """How the text file at `path` is read, or None for a name that says binary (`.png`)."""
    name = PurePosixPath(path).name.lower()
    if _suffix(name) in BINARY_SUFFIXES:
        return None
    example = is_example(path)
    test = is_test_path(path)
    return TextKind(
        format=_format(name),
        strict=example or _suffix(name) in _table()["docs"]["suffixes"],
        unquoted=_unquoted(name),
        credential_file=_credential_file(path, name) and not example and not test,
        test=test,
    )
