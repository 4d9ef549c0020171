"""Audit results cached per (service, name, version), with a time to live.

pip-audit's own cache does not help: OSV queries are POSTs and are never cached (libraries.md).
Only successful look-ups are stored, so a failure is retried next time instead of being
remembered as "no vulnerabilities". The directory belongs to the person running botscan; it
must never be inside the scanned tree, or a hostile repository could ship a clean verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from botscan.model import Advisory

_FORMAT = 1


def _advisory(raw: Any) -> Advisory | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    return Advisory(id=raw["id"],
                    aliases=tuple(str(a) for a in raw.get("aliases", ())),
                    fix_versions=tuple(str(v) for v in raw.get("fix_versions", ())),
                    description=str(raw.get("description", "")))


class AuditCache:
    def __init__(self, directory: Path | None, ttl_seconds: int, service: str) -> None:
        self.directory = directory / "audit" if directory is not None else None
        self.ttl = ttl_seconds
        self.service = service

    def _path(self, name: str, version: str) -> Path | None:
        if self.directory is None:
            return None
        key = "\0".join((self.service, name, version)).encode()
        return self.directory / f"{hashlib.sha256(key).hexdigest()[:40]}.json"

    def get(self, name: str, version: str) -> list[Advisory] | None:
        """The advisories stored for the pin, or None when absent, expired or unreadable."""
        path = self._path(name, version)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or \
                (data.get("service"), data.get("name"), data.get("version")) != \
                (self.service, name, version):
            return None
        stored = data.get("stored")
        if not isinstance(stored, (int, float)) or not 0 <= time.time() - stored <= self.ttl:
            return None
        raw = data.get("advisories")
        if not isinstance(raw, list):
            return None
        advisories = [_advisory(a) for a in raw]
        return None if any(a is None for a in advisories) else [
            a for a in advisories if a is not None]

    def put(self, name: str, version: str, advisories: list[Advisory]) -> None:
        """Store a successful look-up. A cache that cannot be written only costs a re-query."""
        path = self._path(name, version)
        if path is None:
            return
        record = {"format": _FORMAT, "service": self.service, "name": name,
                  "version": version, "stored": time.time(),
                  "advisories": [{"id": a.id, "aliases": list(a.aliases),
                                  "fix_versions": list(a.fix_versions),
                                  "description": a.description} for a in advisories]}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
