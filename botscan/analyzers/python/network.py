"""The NetworkCall concept: calls that talk to the network, where they go, and what they carry.

A call is recognised by its resolved target against `checks/knowledge/network.toml`
(`requests.post`, `aiohttp.ClientSession().post`, `socket.socket().sendall`, a Telegram bot
client's `send_message`…), which also says where its URL, host or address is and which
arguments are the payload. Where it goes is a `Destination`: an exchange API, a local address,
a messenger, a paste site, a request bin, a tunnel, a shortener, an IP-lookup service, a
serverless host, a raw public IP, or unknown. Hosts are classified here for every detector (the
transport rules ask `classify_host` too).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import libcst as cst

from botscan import catalog
from botscan.analyzers.python import concepts
from botscan.analyzers.python.symbols import (
    Assigned,
    Resolver,
    Scope,
    StringParts,
    call_text,
    dotted_name,
)
from botscan.credentials import split_words

UNKNOWN = "\x00"
_SCHEMES = ("http://", "ws://")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# RFC 5737 / 3849 documentation ranges: addresses in examples, never real servers.
_DOC_NETS = tuple(ipaddress.ip_network(n) for n in
                  ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
_ENV_READS = ("os.getenv", "os.environ.get", "os.environ.__getitem__")


# --- hosts --------------------------------------------------------------------------------------

def classify_host(host: str) -> str | None:
    """"exchange", "public", "private", or None for loopback, documentation and namespaces."""
    table = concepts.hosts()
    host = host.lower().strip("[]").rstrip(".")
    if not host or UNKNOWN in host:
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_loopback or ip.is_unspecified or any(ip in net for net in _DOC_NETS):
            return None
        return "private" if (ip.is_private or ip.is_link_local) else "public"
    labels = host.split(".")
    if host in table["loopback_names"] or labels[-1] in table["loopback_tlds"]:
        return None
    if labels[-1] in table["documentation_tlds"] or \
            host.startswith(tuple(table["documentation_host_prefixes"])):
        return None
    if in_domains(host, table["documentation_domains"]) or \
            in_domains(host, table["namespace_domains"]):
        return None
    if in_domains(host, table["exchange_domains"]):
        return "exchange"
    if len(labels) == 1 or labels[-1] in table["private_tlds"] or \
            ".".join(labels[-2:]) in table["private_tlds"]:
        return "private"
    return "public"


def in_domains(host: str, domains: list[str] | tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def url_host(parts: StringParts) -> tuple[str, str] | None:
    """(scheme, host) of a statically built plain-text URL (`http://`, `ws://`), when the host
    is fully known."""
    text = "".join(p if p is not None else UNKNOWN for p in parts)
    if not text.lower().startswith(_SCHEMES):
        return None
    host = _host_of_url(text)
    return (text.split(":", 1)[0].lower(), host) if host and UNKNOWN not in host else None


def _host_of_url(text: str) -> str | None:
    """The host of a URL (`\\0` where it is not known), or None for text that is no URL."""
    if not _SCHEME.match(text):
        return None
    try:
        split = urlsplit(text)
    except ValueError:
        return None
    netloc = split.netloc.rsplit("@", 1)[-1]
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0].lower()
    return netloc.split(":", 1)[0].lower()


# --- services and destinations ------------------------------------------------------------------

@dataclass(frozen=True)
class Service:
    name: str
    category: str
    domains: tuple[str, ...]
    own_words: frozenset[str]


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("network")


@catalog.derived
def services() -> dict[str, Service]:
    return {str(raw["name"]): Service(str(raw["name"]), str(raw["category"]),
                                      tuple(raw["domains"]), frozenset(raw["own_words"]))
            for raw in _table()["service"]}


def suspicious_categories() -> frozenset[str]:
    """Categories no trading bot needs (BOT510): paste sites, request bins, tunnels…"""
    return frozenset(_table()["categories"]["suspicious"])


@dataclass(frozen=True)
class Destination:
    category: str
    """"exchange", "local", "public", "unknown", "raw_ip", "cheap_tld", or a service's
    category ("messenger", "paste", "tunnel"…)."""
    host: str = ""
    service: Service | None = None

    @property
    def label(self) -> str:
        """How the destination reads in a message."""
        if self.service is not None:
            where = f" (`{self.host}`)" if self.host else ""
            return f"{self.service.name}{where}"
        if self.category == "raw_ip":
            return f"the raw IP address `{self.host}`"
        if self.category == "cheap_tld":
            return f"`{self.host}` (a throwaway top-level domain)"
        if self.host:
            return f"`{self.host}`"
        return "an address botscan cannot read"

    @property
    def own_words(self) -> frozenset[str]:
        return self.service.own_words if self.service is not None else frozenset()


def classify_destination(host: str) -> Destination:
    """Where a host (`\\0` for unknown parts) is, in the categories that matter to BOT5xx."""
    host = host.lower().strip("[]").rstrip(".")
    if not host:
        return Destination("unknown")
    if UNKNOWN in host:
        known = host.rsplit(UNKNOWN, 1)[1]  # `{sub}.ngrok-free.app`: the suffix is enough
        service = _service_by_suffix(known) if known.startswith(".") else None
        if service is not None:
            return Destination(service.category, known.lstrip("."), service)
        return Destination("unknown")
    where = classify_host(host)
    if where is None or where == "private":
        return Destination("local", host)
    if where == "exchange":
        return Destination("exchange", host)
    service = next((s for s in services().values() if in_domains(host, s.domains)), None)
    if service is not None:
        return Destination(service.category, host, service)
    try:
        ipaddress.ip_address(host)
        return Destination("raw_ip", host)
    except ValueError:
        pass
    if host.rsplit(".", 1)[-1] in _table()["categories"]["cheap_tlds"]:
        return Destination("cheap_tld", host)
    return Destination("public", host)


def _service_by_suffix(suffix: str) -> Service | None:
    for service in services().values():
        if any(suffix == "." + d or suffix.endswith("." + d) for d in service.domains):
            return service
    return None


def named_service(name: str) -> Service | None:
    """The messenger a name says it is (`DISCORD_WEBHOOK_URL`, `tg_hook`), or None."""
    words = set(split_words(name))
    for raw in _table()["named_destination"]:
        if words.intersection(raw["words"]):
            return services().get(str(raw["service"]))
    return None


# --- calls --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    receivers: tuple[str, ...]
    methods: frozenset[str]
    patterns: tuple[str, ...]
    raw: dict[str, Any]


@catalog.derived
def _shapes() -> tuple[_Shape, ...]:
    return tuple(_Shape(tuple(raw.get("receivers", ())), frozenset(raw.get("methods", ())),
                        tuple(raw.get("patterns", ())), raw) for raw in _table()["call"])


@catalog.derived
def _shape_for(target: str) -> _Shape | None:
    receiver, _, method = target.rpartition(".")
    for shape in _shapes():
        if concepts.matches_any(shape.patterns, target):
            return shape
        if method in shape.methods and concepts.matches_any(shape.receivers, receiver):
            return shape
    return None


def call_patterns() -> list[str]:
    """Every call target this concept recognises (for the prefilter)."""
    found: list[str] = []
    for shape in _shapes():
        found += shape.patterns
        found += [f"{r}.{m}" for r in shape.receivers for m in shape.methods]
    return found


@dataclass(frozen=True)
class NetworkCall:
    call: cst.Call
    shown: str
    """The callee as written, for messages."""
    where: cst.BaseExpression | None
    """The URL, host or (host, port) expression, when the call takes one."""
    where_kind: str
    """"url", "host" or "address"."""
    payload: tuple[tuple[str, cst.BaseExpression], ...]
    """What is sent, by keyword (or `argument N`)."""
    service: Service | None
    """The destination the library implies (a Telegram bot client), if any."""
    fetch: bool
    """The result is what the server sent back."""
    scope: Scope
    """Where `where` and `payload` are written (a prepared request's own scope)."""


def network_call(call: cst.Call, scope: Scope, resolver: Resolver) -> NetworkCall | None:
    """The network call `call` makes; None for other calls, and for calls that only build a
    request (`urllib.request.Request`): the call that sends it reads it."""
    found = _network_call(call, scope, resolver)
    if found is None or found[1].raw.get("prepares"):
        return None
    net, _ = found
    if net.where is not None and net.where_kind == "url":
        prepared = _prepared(net.where, scope, resolver)
        if prepared is not None:  # `urlopen(req)` sends what `Request(url, data)` built
            return NetworkCall(call, net.shown, prepared.where, prepared.where_kind,
                               net.payload + prepared.payload, net.service, net.fetch,
                               prepared.scope)
    return net


def _prepared(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> NetworkCall | None:
    if isinstance(node, cst.Name):
        bound = [b for b in scope.lookup(node.value) if isinstance(b, Assigned)]
        if not bound:
            return None
        node, scope = bound[0].value, bound[0].scope
    if not isinstance(node, cst.Call):
        return None
    found = _network_call(node, scope, resolver)
    return found[0] if found is not None and found[1].raw.get("prepares") else None


def _network_call(call: cst.Call, scope: Scope,
                  resolver: Resolver) -> tuple[NetworkCall, _Shape] | None:
    target = resolver.call_target(call, scope)
    if target is None:
        return None
    shape = _shape_for(target)
    if shape is None:
        return None
    raw = shape.raw
    where: cst.BaseExpression | None = None
    where_kind = ""
    for kind in ("url", "host", "address"):
        if kind in raw:
            where = _argument(call, int(raw[kind]), raw.get(f"{kind}_keyword"))
            where_kind = kind
            break
    payload: list[tuple[str, cst.BaseExpression]] = []
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for position in raw.get("payload", ()):
        if position < len(positional):
            payload.append((f"argument {position + 1}", positional[position].value))
    keywords = set(raw.get("payload_keywords", ()))
    payload += [(a.keyword.value, a.value) for a in call.args
                if a.keyword is not None and a.keyword.value in keywords]
    payload += [("**kwargs", a.value) for a in call.args if a.star == "**"]
    service = services().get(str(raw["service"])) if "service" in raw else None
    return NetworkCall(call, call_text(call.func), where, where_kind, tuple(payload), service,
                       bool(raw.get("fetch", False)), scope), shape


def _argument(call: cst.Call, position: int, keyword: str | None) -> cst.BaseExpression | None:
    for arg in call.args:
        if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position].value if position < len(positional) else None


def destination(net: NetworkCall, resolver: Resolver) -> Destination:
    """Where a network call goes, as far as the code says."""
    scope = net.scope
    found = Destination("unknown")
    if net.where is not None:
        found = _where(net.where, net.where_kind, scope, resolver)
    if found.category == "unknown" and net.service is not None:
        return Destination(net.service.category, "", net.service)
    if found.category == "unknown" and net.where is not None:
        named = named_service(_name_of(net.where, scope, resolver))
        if named is not None:
            return Destination(named.category, "", named)
    return found


def _where(node: cst.BaseExpression, kind: str, scope: Scope,
           resolver: Resolver) -> Destination:
    if kind == "address":
        if not isinstance(node, cst.Tuple) or not node.elements:
            return Destination("unknown")
        node = node.elements[0].value
    parts = resolver.string_parts(node, scope)
    if parts is None:
        return Destination("unknown")
    text = "".join(p if p is not None else UNKNOWN for p in parts)
    if kind == "url":
        host = _host_of_url(text)
        return classify_destination(host) if host is not None else Destination("unknown")
    return classify_destination(text.split("/", 1)[0].rsplit(":", 1)[0]
                                if text.count(":") == 1 else text)


def _name_of(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> str:
    """The name a destination goes by: `WEBHOOK_URL`, `self.discord_hook`, or the variable of
    an environment read (`os.getenv("TG_WEBHOOK")`)."""
    if isinstance(node, cst.Call) and node.args and \
            resolver.call_target(node, scope) in _ENV_READS:
        return resolver.constant_string(node.args[0].value, scope) or ""
    if isinstance(node, cst.Subscript) and resolver.qualname(node.value, scope) == "os.environ":
        key = node.slice[0].slice if len(node.slice) == 1 else None
        if isinstance(key, cst.Index):
            return resolver.constant_string(key.value, scope) or ""
    return dotted_name(node) or ""
