"""The dependency rules that need no network: BOT602 (not pinned), BOT603 (not from the
index), BOT604 (possible typosquat), BOT605 (known-malicious).

They run on the declarations alone, so `--offline` and a failed audit still report them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from botscan import catalog
from botscan.analyzers.hits import Hit
from botscan.deps.declared import Declared, Role, Source
from botscan.deps.names import lookalike, malicious
from botscan.model import Confidence

_COMMIT = re.compile(r"@[0-9a-f]{40}(?:#|$)")
_HASHED = re.compile(r"#(?:sha256|sha384|sha512)=", re.IGNORECASE)


def covered(declared: Sequence[Declared]) -> set[Declared]:
    """Range declarations whose package is pinned exactly next to them.

    `pyproject.toml` asking for `ccxt>=4` beside a `uv.lock` holding `ccxt 4.4.26`, or beside
    a `requirements.txt` with `ccxt==4.4.26` (freqtrade's layout; a pip-tools `x.in` and its
    compiled `x.txt`), is the normal reproducible setup: the pin is what gets installed and
    audited, and reporting the range too would bury the packages nobody pins.
    """
    pinned = {(posixpath.dirname(d.manifest), d.name) for d in declared
              if d.name and d.version and (d.locked or d.manifest.endswith(".txt"))}
    return {d for d in declared
            if d.name and not d.version and not d.locked and d.source is Source.INDEX
            and (posixpath.dirname(d.manifest), d.name) in pinned}


def _pypi_hosts() -> frozenset[str]:
    hosts = catalog.knowledge("packages").get("indexes", {}).get("pypi_hosts", ())
    return frozenset(str(h).lower() for h in hosts)


def _column(lines: Sequence[str], line: int, needle: str) -> int:
    if not 0 < line <= len(lines):
        return 1
    text = lines[line - 1]
    found = text.find(needle) if needle else -1
    return found + 1 if found >= 0 else len(text) - len(text.lstrip()) + 1


def _unpinned(d: Declared) -> str:
    if not d.specifier or d.specifier == "*":
        what = f"{d.written} is not pinned: any version may be installed"
    else:
        what = f"{d.written} {d.specifier} is a range, not an exact pin: the installed " \
               "version changes over time"
    return f"{what}, and it cannot be audited for known vulnerabilities. Pin it " \
           f"({d.name}==<version>) or commit a lock file"


def _outside_index(d: Declared) -> str | None:
    where = d.location or d.written
    if d.option in ("--index-url", "--extra-index-url", "--find-links"):
        host = (urlsplit(where).hostname or "").lower() if "://" in where else ""
        if host and host in _pypi_hosts():
            return None
        return f"{d.option} {where}: packages may be installed from there instead of PyPI " \
               "(dependency confusion), and they are not audited"
    if d.option in ("-r", "-c"):
        return f"{d.option} {where}: requirements are included from a URL, so whoever " \
               "controls it decides what gets installed"
    subject = d.name or "a package"
    via = " ([tool.uv.sources])" if d.role is Role.SOURCE else ""
    if d.source is Source.VCS:
        fixed = "pinned to a commit" if _COMMIT.search(where) else \
            "on a branch or tag that can change under the same name"
        return f"{subject} is installed from version control{via}, {fixed}: {where}; it " \
               "does not come from PyPI and is not audited"
    if d.source is Source.URL:
        hashed = "" if _HASHED.search(where) else ", without a hash"
        return f"{subject} is downloaded from {where}{via}{hashed}; it does not come from " \
               "PyPI and is not audited"
    mode = " in editable mode" if d.editable else ""
    return f"{'the local path ' + where if d.name is None else subject + ' from ' + where} is " \
           f"installed{mode}{via}: its build code runs at install time and it is not audited"


def rule_hits(declared: Iterable[Declared], skip_pinning: set[Declared],
              texts: dict[str, str]) -> dict[str, list[Hit]]:
    """BOT602-BOT605 hits by manifest path."""
    lines = {path: text.splitlines() for path, text in texts.items()}
    found: dict[str, list[Hit]] = {}

    def add(d: Declared, rule_id: str, message: str, evidence: dict[str, object],
            confidence: Confidence | None = None) -> None:
        column = _column(lines.get(d.manifest, []), d.line, d.written.split("/")[0])
        found.setdefault(d.manifest, []).append(Hit(
            rule_id=rule_id, line=d.line, column=column, message=message,
            secrets=d.secrets, evidence=evidence, confidence=confidence))

    for d in declared:
        base: dict[str, object] = {"package": d.label}
        if d.name and (what := malicious(d.name)) is not None:
            add(d, "BOT605", f"{d.name} is a known-malicious package: {what}. Remove it, and "
                "treat any machine that installed it as compromised", base)
        elif d.name and (near := lookalike(d.name)) is not None:
            add(d, "BOT604", f"{d.name} looks like {near.target} ({near.how}): a possible "
                "typosquat. Look-alike packages of trading libraries have shipped key "
                "stealers; check that this is the package you meant",
                {**base, "target": near.target, "how": near.how, "distance": near.distance},
                Confidence.LOW if near.distance > 1 else None)
        if d.source is not Source.INDEX:
            message = _outside_index(d)
            if message is not None:
                add(d, "BOT603", message,
                    {**base, "source": d.source.value, "location": d.location or ""})
        elif (d.role is Role.DEPENDENCY and not d.version and not d.locked
              and d not in skip_pinning):
            add(d, "BOT602", _unpinned(d), {**base, "specifier": d.specifier})
    return found
