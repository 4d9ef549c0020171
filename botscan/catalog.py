"""The catalog: rules and knowledge tables, read from the TOML files of `checks/`.

`checks/` is data, not code, so that supporting a new exchange SDK, logger or HTTP client is an
edit of a table. It is installed as the package `botscan.checks` (see pyproject.toml), so a
plain `pip install .` carries it; in a source checkout the same files are read in place.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

from botscan.model import Confidence, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

# GitHub maps security-severity bands to its own severities; these sit inside each band.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


class CatalogError(Exception):
    """The catalog (ours or a user's pack) is malformed. The CLI turns it into exit 2."""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    title: str
    family: str
    family_name: str
    severity: Severity
    confidence: Confidence
    cwe: int | None
    description: str
    remediation: str
    example: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    verdict: str = ""
    """What a finding means for `botscan vet`: "dangerous" (malice, a backdoor), "review"
    (risky but plausible), or "" (weighed by severity alone)."""

    @property
    def security_severity(self) -> str:
        return _SECURITY_SEVERITY[self.severity]

    @property
    def help_markdown(self) -> str:
        parts = [f"**{self.title}** ({self.id})", "", self.description.strip(), "",
                 "**How to fix**", "", self.remediation.strip()]
        if self.example.strip():
            parts += ["", "**Example**", "", "```python", self.example.strip("\n"), "```"]
        if self.cwe:
            parts += ["", f"CWE-{self.cwe}: https://cwe.mitre.org/data/definitions/{self.cwe}.html"]
        return "\n".join(parts)

    @property
    def help_text(self) -> str:
        text = f"{self.title} ({self.id})\n\n{self.description.strip()}\n\nHow to fix:\n"
        text += self.remediation.strip()
        if self.example.strip():
            text += "\n\nExample:\n" + self.example.strip("\n")
        if self.cwe:
            text += f"\n\nCWE-{self.cwe}"
        return text


def _checks_dir() -> Any:
    return resources.files("botscan.checks")


def _read_toml(name: str, text: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: invalid TOML: {exc}") from None


def _parse_rule(source: str, family: str, family_name: str, raw: dict[str, Any]) -> Rule:
    required = ("id", "name", "title", "severity", "confidence", "description", "remediation")
    missing = [key for key in required if not raw.get(key)]
    if missing:
        raise CatalogError(f"{source}: rule {raw.get('id', '?')} lacks {', '.join(missing)}")
    rule_id = str(raw["id"])
    if not rule_id.startswith(family):
        raise CatalogError(f"{source}: rule {rule_id} is not in family {family}")
    try:
        return Rule(
            id=rule_id,
            name=str(raw["name"]),
            title=str(raw["title"]),
            family=family,
            family_name=family_name,
            severity=Severity.parse(str(raw["severity"])),
            confidence=Confidence.parse(str(raw["confidence"])),
            cwe=int(raw["cwe"]) if raw.get("cwe") else None,
            description=str(raw["description"]),
            remediation=str(raw["remediation"]),
            example=str(raw.get("example", "")),
            tags=tuple(str(t) for t in raw.get("tags", ())),
            verdict=_verdict(str(raw.get("verdict", ""))),
        )
    except ValueError as exc:
        raise CatalogError(f"{source}: rule {rule_id}: {exc}") from None


VERDICTS = ("dangerous", "review", "")


def _verdict(value: str) -> str:
    if value not in VERDICTS:
        raise ValueError(f"verdict must be one of dangerous, review (got {value!r})")
    return value


def parse_rule_file(source: str, text: str) -> list[Rule]:
    data = _read_toml(source, text)
    family = str(data.get("family", ""))
    if not (len(family) == 4 and family.startswith("BOT")):
        raise CatalogError(f"{source}: 'family' must be like BOT1")
    family_name = str(data.get("name", family))
    return [_parse_rule(source, family, family_name, r) for r in data.get("rule", [])]


@functools.cache
def rules() -> dict[str, Rule]:
    """Every rule of the shipped catalog, by id, in id order."""
    found: dict[str, Rule] = {}
    for entry in sorted(_checks_dir().iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for rule in parse_rule_file(entry.name, entry.read_text(encoding="utf-8")):
            if rule.id in found:
                raise CatalogError(f"{entry.name}: duplicate rule id {rule.id}")
            found[rule.id] = rule
    return dict(sorted(found.items()))


_packs: tuple[tuple[str, str], ...] = ()
_derived: list[Any] = []
F = TypeVar("F", bound=Callable[..., Any])


def derived(func: F) -> F:
    """Cache a function computed from the knowledge tables, and forget it when packs change."""
    cached = functools.lru_cache(maxsize=4096)(func)
    _derived.append(cached)
    return cached  # type: ignore[return-value]


def use_packs(packs: Sequence[tuple[str, str]]) -> None:
    """Extend the knowledge tables with user packs: (name, TOML text) pairs.

    A pack's top-level tables are named after the knowledge tables (`[funds]`, `[clients]`…);
    their lists are appended to ours and their tables merged, so a team can teach botscan its
    in-house exchange SDK without a code change. Raises CatalogError for a broken pack.
    """
    global _packs
    new = tuple(packs)
    if new == _packs:
        return
    for name, text in new:
        check_pack(name, text)
    _packs = new
    knowledge.cache_clear()
    fingerprint.cache_clear()
    for cached in _derived:
        cached.cache_clear()


def active_packs() -> tuple[tuple[str, str], ...]:
    return _packs


def check_pack(name: str, text: str) -> None:
    """Raise CatalogError unless `text` is a pack of known knowledge tables."""
    data = _read_toml(name, text)
    unknown = sorted(set(data) - _knowledge_names())
    if unknown:
        raise CatalogError(f"{name}: unknown knowledge table(s) {', '.join(unknown)} "
                           f"(known: {', '.join(sorted(_knowledge_names()))})")


def _knowledge_names() -> set[str]:
    folder = _checks_dir().joinpath("knowledge")
    return {e.name[:-5] for e in folder.iterdir() if e.name.endswith(".toml")}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = base[key] + value
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


@functools.cache
def knowledge(table: str) -> dict[str, Any]:
    """A knowledge table of `checks/knowledge/`, e.g. `knowledge("credentials")`, with the
    entries of any user packs in force."""
    entry = _checks_dir().joinpath("knowledge", f"{table}.toml")
    data = _read_toml(f"knowledge/{table}.toml", entry.read_text(encoding="utf-8"))
    for name, text in _packs:
        _merge(data, _read_toml(name, text).get(table, {}))
    return data


def families() -> dict[str, str]:
    return {r.family: r.family_name for r in rules().values()}


def expand_selectors(selectors: list[str]) -> set[str]:
    """Turn `--select`/`--ignore` values (ids like BOT101 or families like BOT4) into rule ids.

    An unknown id or family is an error, not a silent no-op: a typo in `--ignore` would
    otherwise hide nothing and a typo in `--select` would hide everything.
    """
    known = rules()
    chosen: set[str] = set()
    for raw in selectors:
        sel = raw.strip().upper()
        if not sel:
            continue
        matched = {rid for rid in known if rid == sel or (len(sel) < 6 and rid.startswith(sel))}
        if not matched or not sel.startswith("BOT"):
            raise CatalogError(f"unknown rule id or family: {raw!r} (see 'botscan rules')")
        chosen |= matched
    return chosen


@functools.cache
def fingerprint() -> str:
    """A hash of the whole catalog: part of the cache key, so editing a table invalidates it."""
    digest = hashlib.sha256()
    root = _checks_dir()
    for folder in (root, root.joinpath("knowledge")):
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    for name, text in _packs:
        digest.update(name.encode())
        digest.update(text.encode())
    return digest.hexdigest()[:16]
