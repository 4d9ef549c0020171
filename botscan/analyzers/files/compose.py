"""Compose files: ports published on every interface (BOT706), containers given the host
(BOT707), and credentials written into `environment` or `build.args` (BOT708).

Compose files are read with PyYAML's composer, which builds the node tree with positions and
never constructs objects: anchors and aliases stay shared nodes (a "billion laughs" file is
not expanded), and merge keys (`<<: *defaults`, how compose files share settings) are
followed a few levels deep. A finding inherited through a merge is reported once, on the line
of the anchor that holds it.

BOT706 reports every port published on all interfaces, not only those that look like a bot's
API: a database, cache or dashboard port is as bad on the internet, and Docker's own iptables
rules open it past the host firewall. Services whose image is a TLS-terminating reverse proxy
(`checks/knowledge/deploy.toml`, `public_images`) are the one exception: being public is their
job. A port bound to a specific address other than loopback was chosen by the operator and is
left alone.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit
from botscan.redact import redact

MAX_COMPOSE_BYTES = 1_000_000
"""PyYAML reads about a megabyte a second; compose files are a few kilobytes."""
_MERGE_DEPTH = 8
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+]([^}]*))?\}|\$([A-Za-z_]\w*)")
_UNKNOWN = "\x00"
_NOT_VALUES = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "~"})


@catalog.derived
def _table() -> dict[str, Any]:
    return dict(catalog.knowledge("deploy")["compose"])


class NotCompose(Exception):
    """The file is not YAML botscan can read (the message says why)."""


@dataclass(frozen=True)
class _Service:
    name: str
    node: yaml.MappingNode

    def get(self, key: str) -> yaml.Node | None:
        return next((v for k, v in pairs(self.node) if k == key), None)


def pairs(node: yaml.Node | None, depth: int = 0) -> list[tuple[str, yaml.Node]]:
    """A mapping's (key, value) pairs with merge keys resolved: its own keys win over merged
    ones, and earlier merge sources over later ones, as YAML specifies."""
    if not isinstance(node, yaml.MappingNode):
        return []
    own: list[tuple[str, yaml.Node]] = []
    merged: list[tuple[str, yaml.Node]] = []
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.tag == _MERGE_TAG or key.value == "<<":
            if depth < _MERGE_DEPTH:
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for source in sources:
                    merged += pairs(source, depth + 1)
        else:
            own.append((str(key.value), value))
    taken = {k for k, _ in own}
    for key, value in merged:
        if key not in taken:
            taken.add(key)
            own.append((key, value))
    return own


def _services(text: str) -> Iterator[_Service]:
    if len(text) > MAX_COMPOSE_BYTES:
        raise NotCompose(f"over {MAX_COMPOSE_BYTES:,} characters")
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise NotCompose(f"not valid YAML{where}") from None
    except RecursionError:
        raise NotCompose("nesting too deep") from None
    for document in documents:
        services = next((v for k, v in pairs(document) if k == "services"), None)
        for name, node in pairs(services):
            if isinstance(node, yaml.MappingNode):
                yield _Service(name, node)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _interpolate(text: str) -> str:
    """Compose's `${VAR:-default}` becomes its default; a variable without one is unknown."""
    text = text.replace("$$", "")
    return _INTERPOLATION.sub(lambda m: m.group(2) if m.group(2) else _UNKNOWN, text)


# --- BOT706 -------------------------------------------------------------------------------------

def _host_of_short(spec: str) -> tuple[str, str]:
    """(host IP, published port) of `[IP:][HOST:]CONTAINER[/proto]`; IP "" means every
    interface, as for `"8080:8080"` and a lone `"8080"` (a random host port)."""
    spec = _interpolate(spec.strip()).split("/", 1)[0]
    if spec.startswith("["):
        address, _, rest = spec[1:].partition("]")
        return address, rest.lstrip(":").split(":")[0]
    parts = spec.split(":")
    if len(parts) == 1:
        return "", ""
    if len(parts) == 2:
        return "", parts[0]
    return ":".join(parts[:-2]), parts[-2]


def _all_interfaces(address: str) -> bool | None:
    """True for every interface, False for loopback or one chosen address, None if unknown."""
    address = address.strip().strip("[]")
    if _UNKNOWN in address:
        return None
    if not address:
        return True
    if address.lower() in _table()["loopback_names"]:
        return False
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False  # a host name: the operator chose an interface


def _ports(service: _Service) -> Iterator[Hit]:
    image = (_scalar(service.get("image")) or "").lower().split("@")[0]
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if name and any(fnmatch.fnmatchcase(name, p) for p in _table()["public_images"]):
        return
    for item in _items(service.get("ports")):
        text = _scalar(item)
        if text is not None:
            address, port = _host_of_short(text)
            shown, line = f"`{text}`", _line(item)
        else:
            entries = dict(pairs(item))
            address = _interpolate(_scalar(entries.get("host_ip")) or "")
            published = entries.get("published")
            port = _interpolate(_scalar(published) or "")
            shown = f"target {_scalar(entries.get('target')) or '?'}"
            line = _line(published if published is not None else item)
        if _all_interfaces(address):
            port_text = f"port {port}" if port and _UNKNOWN not in port else "a port"
            yield Hit("BOT706", line, 1,
                      f"Service `{service.name}` publishes {port_text} on every interface of "
                      f"the host ({shown}): Docker opens it past the host firewall (its own "
                      "iptables rules; `ufw` does not apply). Bind it to loopback "
                      "(`127.0.0.1:…`) and reach it through an SSH tunnel or a TLS proxy.",
                      evidence={"service": service.name, "port": port.replace(_UNKNOWN, "?")})


# --- BOT707 -------------------------------------------------------------------------------------

def _privileges(service: _Service) -> Iterator[Hit]:
    for key, setting in _table()["host_privileges"].items():
        node = service.get(key)
        value = _scalar(node)
        if node is not None and value is not None and value.strip().lower() == setting["value"]:
            yield Hit("BOT707", _line(node), 1,
                      f"Service `{service.name}` runs with `{key}: {value}`: code in the "
                      f"container gets {setting['gives']}. A trading bot needs none of it.",
                      evidence={"service": service.name, "setting": key})
    sockets = {s.lower() for s in _table()["docker_sockets"]}
    for item in _items(service.get("volumes")):
        text = _scalar(item)
        source = (text.split(":")[0] if text is not None
                  else _scalar(dict(pairs(item)).get("source")) or "")
        if source.strip().lower() in sockets:
            yield Hit("BOT707", _line(item), 1,
                      f"Service `{service.name}` mounts the Docker socket (`{source}`): code "
                      "in the container can start a privileged container, which is root on "
                      "the host.", evidence={"service": service.name, "setting": "docker.sock"})


# --- BOT708 -------------------------------------------------------------------------------------

def _assignments(node: yaml.Node | None) -> Iterator[tuple[str, str, yaml.Node]]:
    """(name, value, node) of an `environment:` or `args:` block, map or list form; a name
    without a value (passed through from the host) is skipped."""
    for name, value in pairs(node):
        text = _scalar(value)
        if text is not None and value.tag != "tag:yaml.org,2002:null":
            yield name, text, value
    for item in _items(node):
        text = _scalar(item)
        if text is not None and "=" in text:
            name, _, value_text = text.partition("=")
            yield name.strip(), value_text, item


def _literal(value: str) -> bool:
    """A value written in the file, not `${VAR}` interpolation, a path or a switch."""
    v = value.strip()
    if not v or "$" in v.replace("$$", "") or v.lower() in _NOT_VALUES:
        return False
    return not v.startswith(("/", "./", "../", "~/"))


def _credentials(service: _Service) -> Iterator[Hit]:
    blocks = [("environment", service.get("environment"))]
    build = service.get("build")
    blocks.append(("build.args", next((v for k, v in pairs(build) if k == "args"), None)))
    for where, block in blocks:
        for name, value, node in _assignments(block):
            info = cred.credential_variable(name)
            if info is None or not _literal(value):
                continue
            label = cred.KIND_LABELS.get(info.kind, "credential")
            weak = cred.weak_password(value, min_length=0) if info.kind in (
                cred.PASSWORD, cred.PASSPHRASE) else None
            what = f"a guessable {label} ({weak})" if weak else cred.with_article(label)
            yield Hit("BOT708", _line(node), 1,
                      f"`{name}` of service `{service.name}` ({where}) is {what} written in "
                      f"the compose file: {redact(value.strip())}. Reference it from an "
                      "uncommitted `.env` (`${" + name + "}` or `env_file:`) or use compose "
                      "`secrets:`.",
                      secrets=(value.strip(),), evidence={"service": service.name,
                                                           "name": name})


def compose_hits(text: str) -> list[Hit]:
    """BOT706, BOT707 and BOT708 hits of one compose file; raises NotCompose."""
    hits: dict[tuple[str, int], Hit] = {}
    for service in _services(text):
        for hit in (*_ports(service), *_privileges(service), *_credentials(service)):
            hits.setdefault((hit.rule_id, hit.line), hit)  # merged anchors: once per line
    return list(hits.values())
