"""Concepts: what resolved names *are*, in trading-bot terms, read from the catalog.

Detectors never test library names themselves; they ask here. "Is `binance.client.Client` an
exchange client, and which of its parameters are credentials?", "is this call an HTTP request?",
"is this keyword a TLS switch for this call?". Supporting a new SDK, HTTP client or logger is a
change to `checks/knowledge/*.toml`, not to a detector.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from botscan import catalog
from botscan.credentials import split_words

_EXCHANGE_ID = re.compile(r"^([a-z][a-z0-9_]*|\*)$")


def _segment_matches(pattern: str, segment: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("()") or segment.endswith("()"):
        # An instance segment (`binance()`) only matches an instance pattern (`{exchange}()`).
        return pattern.endswith("()") and segment.endswith("()") and _segment_matches(
            pattern[:-2], segment[:-2])
    if pattern == "{exchange}":
        return bool(_EXCHANGE_ID.match(segment))
    if "*" in pattern or "?" in pattern or "[" in pattern:
        return fnmatch.fnmatchcase(segment, pattern)
    return pattern == segment


def name_matches(pattern: str, qualname: str) -> bool:
    """Dotted-name matching: each segment of the pattern matches one segment of the name."""
    pattern_parts = pattern.split(".")
    name_parts = qualname.split(".")
    if len(pattern_parts) != len(name_parts):
        return False
    return all(_segment_matches(p, n) for p, n in zip(pattern_parts, name_parts, strict=False))


def matches_any(patterns: Iterable[str], qualname: str | None) -> bool:
    return qualname is not None and any(name_matches(p, qualname) for p in patterns)


T = TypeVar("T")
_WILD = frozenset("*?[{")


class PatternIndex(Generic[T]):
    """Patterns of a table, indexed by their last segment, with the entry each belongs to.

    A detector asks for the entry of every call of a file; most calls match no pattern, and
    comparing each against every pattern was most of the cost of the tables that list many.
    """

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self._by_last: dict[str, list[tuple[int, str, T]]] = {}
        self._wild: list[tuple[int, str, T]] = []
        for order, (pattern, value) in enumerate(items):
            last = pattern.rsplit(".", 1)[-1].removesuffix("()")
            if _WILD.intersection(last):
                self._wild.append((order, pattern, value))
            else:
                self._by_last.setdefault(last, []).append((order, pattern, value))

    def first(self, qualname: str | None) -> T | None:
        """The entry of the first pattern (in table order) that `qualname` matches."""
        if qualname is None:
            return None
        last = qualname.rsplit(".", 1)[-1].removesuffix("()")
        best: tuple[int, T] | None = None
        for order, pattern, value in (*self._by_last.get(last, ()), *self._wild):
            if (best is None or order < best[0]) and name_matches(pattern, qualname):
                best = (order, value)
        return best[1] if best is not None else None


@dataclass(frozen=True)
class ClientSpec:
    """A client constructor that takes credentials (one `[[client]]` of clients.toml)."""

    library: str
    patterns: tuple[str, ...]
    positional: tuple[str, ...] = ()
    keywords: dict[str, str] = field(default_factory=dict)
    config_arg: int | None = None
    config_keys: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    exchange: bool = False
    protected: tuple[str, ...] = ()
    """Members through which every signed request passes (`sign`): replacing one is BOT505."""


@catalog.derived
def _clients() -> tuple[ClientSpec, ...]:
    specs = []
    for raw in catalog.knowledge("clients")["client"]:
        specs.append(
            ClientSpec(
                library=str(raw["library"]),
                patterns=tuple(raw["patterns"]),
                positional=tuple(raw.get("positional", ())),
                keywords=dict(raw.get("keywords", {})),
                config_arg=raw.get("config_arg"),
                config_keys=dict(raw.get("config_keys", {})),
                attributes=dict(raw.get("attributes", {})),
                exchange=bool(raw.get("exchange", False)),
                protected=tuple(raw.get("protected", ())),
            )
        )
    return tuple(specs)


@catalog.derived
def client_for(qualname: str | None) -> ClientSpec | None:
    """The client a constructor call builds (`ccxt.binance`), or None."""
    if qualname is None:
        return None
    return next((s for s in _clients() if matches_any(s.patterns, qualname)), None)


def client_instance(qualname: str | None) -> ClientSpec | None:
    """The client an *instance* expression holds (`ccxt.binance()`), or None."""
    if qualname is None or not qualname.endswith("()"):
        return None
    return client_for(qualname[:-2])


@catalog.derived
def key_loader_kind(qualname: str | None) -> str | None:
    """For calls that load a wallet key or seed (`Account.from_key`), the kind they take."""
    if qualname is None:
        return None
    for raw in catalog.knowledge("clients")["key_loader"]:
        if matches_any(raw["patterns"], qualname):
            return str(raw["kind"])
    return None


def key_loader_secret_attribute(receiver: str | None, attribute: str) -> bool:
    """Is `receiver.attribute` the secret of a loaded wallet (`account.key`)?"""
    if receiver is None or not receiver.endswith("()"):
        return False
    for raw in catalog.knowledge("clients")["key_loader"]:
        if attribute in raw.get("secret_attributes", ()) and matches_any(raw["patterns"],
                                                                          receiver[:-2]):
            return True
    return False


@catalog.derived
def protected_member(owner: str | None, member: str) -> str | None:
    """The library whose signing or key handling `owner.member = …` would replace: a protected
    member of a client class or instance (`ccxt.Exchange.sign`, `exchange.sign` on a ccxt
    instance), a client class itself (`ccxt.binance = Evil`), a wallet key loader
    (`eth_account.Account.from_key`) or a member of the `[protected]` table."""
    if owner is None:
        return None
    spec = client_for(owner.removesuffix("()"))
    if spec is not None and any(fnmatch.fnmatchcase(member, p) for p in spec.protected):
        return spec.library
    full = f"{owner}.{member}"
    replaced = client_for(full)
    if replaced is not None and not owner.endswith("()"):
        return replaced.library
    if key_loader_kind(full) is not None or matches_any(
            catalog.knowledge("clients")["protected"]["patterns"], full):
        return full.split(".")[0]
    return None


def patchable_patterns() -> list[str]:
    """Every class or member `protected_member` can name (for the prefilter)."""
    table = catalog.knowledge("clients")
    return [*(p for entry in (*table["client"], *table["key_loader"]) for p in entry["patterns"]),
            *table["protected"]["patterns"]]


@catalog.derived
def _transport() -> dict[str, Any]:
    return catalog.knowledge("transport")


@catalog.derived
def is_http_call(qualname: str | None) -> bool:
    """A call that opens a connection to a URL (requests, aiohttp, websockets, ccxt...)."""
    return matches_any(_transport()["http"]["patterns"], qualname)


def method_name(qualname: str | None, fallback: str | None) -> str | None:
    """The last segment of a call target, e.g. `get` of `requests.Session().get`."""
    if qualname is not None:
        return qualname.rsplit(".", 1)[-1]
    return fallback


def tls_keyword_disables(keyword: str, qualname: str | None, method: str | None) -> bool:
    """Does `keyword=False` on this call switch certificate verification off?

    A resolved target must match the keyword's patterns (`jwt.decode(verify=False)` is not
    TLS). An unresolved receiver (a session passed in as a parameter) counts when the method is
    an HTTP verb for that keyword: staying quiet on `self.session.get(url, verify=False)` would
    miss the most common way this is written.
    """
    for entry in _transport()["tls_keyword"]:
        if entry["keyword"] != keyword:
            continue
        if matches_any(entry["patterns"], qualname):
            return True
        if qualname is None and method in entry.get("unresolved_methods", ()):
            return True
    return False


def cert_reqs_names() -> tuple[list[str], list[str]]:
    table = _transport()["cert_reqs"]
    return list(table["keywords"]), list(table["dict_keys"])


def hostname_check_names() -> dict[str, list[str]]:
    return dict(_transport()["hostname_check"])


def tls_option_dicts() -> dict[str, list[str]]:
    return dict(_transport()["tls_option_dicts"])


def exchange_verify_names() -> dict[str, list[str]]:
    return dict(_transport()["exchange_verify"])


def is_message_call(qualname: str | None, method: str | None) -> bool:
    """A call whose string arguments are text for a person (logs, prints, help), or string
    manipulation (`startswith`, `replace`): a URL there is not a connection."""
    table = _transport()["message"]
    if matches_any(table["patterns"], qualname):
        return True
    return method is not None and method in table["methods"]


def is_link_name(name: str) -> bool:
    """A name that holds a link for people to read (`DOCS_URL`, `homepage`)."""
    return bool(set(split_words(name)).intersection(_transport()["message"]["target_words"]))


def is_message_keyword(keyword: str) -> bool:
    return keyword in _transport()["message"]["keywords"]


def hosts() -> dict[str, Any]:
    return dict(_transport()["hosts"])


# --- what the prefilter needs spelled (see prefilter.py) -----------------------------------

def credential_call_patterns() -> list[str]:
    """The calls that take credentials whatever names hold them: client constructors and
    wallet key loaders."""
    table = catalog.knowledge("clients")
    return [p for entry in (*table["client"], *table["key_loader"]) for p in entry["patterns"]]


def key_loader_patterns() -> list[str]:
    return [p for entry in catalog.knowledge("clients")["key_loader"] for p in entry["patterns"]]


def http_patterns() -> list[str]:
    return list(_transport()["http"]["patterns"])


def tls_switch_names() -> set[str]:
    """Every keyword, dict key and attribute that can switch TLS verification off."""
    table = _transport()
    names = {entry["keyword"] for entry in table["tls_keyword"]}
    names |= set(table["tls_option_dicts"]["keys"])
    for section in ("cert_reqs", "hostname_check", "exchange_verify"):
        names |= {n for values in table[section].values() for n in values}
    return names
