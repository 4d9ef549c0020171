"""Which deployment format a file is, from its name alone (`checks/knowledge/deploy.toml`).

Kept apart from the parsers so that deciding costs no import of them (the compose reader needs
PyYAML): most scans hold no Dockerfile or compose file at all.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Any

from botscan import catalog


@catalog.derived
def _table() -> dict[str, Any]:
    return dict(catalog.knowledge("deploy"))


def is_dockerfile(path: str) -> bool:
    """`Dockerfile`, `Dockerfile.prod`, `bot.Dockerfile`, `Containerfile`."""
    name = PurePosixPath(path).name.lower()
    table = _table()["dockerfile"]
    if name.endswith(tuple(table["not_suffixes"])):
        return False
    return (name in table["names"] or name.startswith(tuple(table["prefixes"]))
            or name.endswith(tuple(table["suffixes"])))


def is_compose_file(path: str) -> bool:
    """`docker-compose.yml`, `docker-compose.prod.yaml`, `compose.yaml`…"""
    name = PurePosixPath(path).name.lower()
    return any(fnmatch.fnmatchcase(name, p) for p in _table()["compose"]["names"])
