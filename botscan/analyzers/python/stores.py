"""The credential-store concept: paths outside a bot's own folder that hold keys, and the
calls that read them or the clipboard (`checks/knowledge/stores.toml`).

A path is evaluated statically from how code builds it (`os.path.expanduser("~/.ssh/id_rsa")`,
`Path.home() / ".config" / "solana" / "id.json"`, `os.path.join(os.environ["HOME"], ".aws",
"credentials")`, `glob.glob(".../UTC--*")`), normalised (lower case, `/`, the home folder as
`~`), then matched against the table. BOT504 reports such reads; the content flows
(`taint.py`) mark what they return, so BOT503 sees a wallet file sent over the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from botscan import catalog
from botscan.analyzers.python import concepts
from botscan.analyzers.python.symbols import Assigned, Resolver, Scope, subscript_key

UNKNOWN = "\x00"
_MAX_DEPTH = 8
_ENV_READS = ("os.getenv", "os.environ.get")
_HOME_SPELLINGS = re.compile(r"^(\$\{?home\}?|%userprofile%|%homepath%)(?=/|$)")
_ENV_SPELLINGS = re.compile(r"^(\$\{?|%)(?P<name>[a-z_]+)(\}|%)?(?=/|$)")


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("stores")


@dataclass(frozen=True)
class _Store:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    outside_only: bool


@catalog.derived
def _stores() -> tuple[_Store, ...]:
    return tuple(_Store(str(raw["name"]), tuple(re.compile(p) for p in raw["patterns"]),
                        bool(raw.get("outside_only", False)))
                 for raw in _table()["store"])


def normalise(path: str) -> str:
    """Lower case, forward slashes, and `~` for the home folder however it is spelled."""
    text = path.replace("\\", "/").lower()
    text = re.sub(r"/{2,}", "/", text)
    text = _HOME_SPELLINGS.sub("~", text)
    match = _ENV_SPELLINGS.match(text)
    if match is not None:
        folder = _environment_folders().get(match.group("name").upper())
        if folder is not None:
            text = folder + text[match.end():]
    return text


@catalog.derived
def _environment_folders() -> dict[str, str]:
    return {k.upper(): str(v).lower() for k, v in _table()["paths"]["environment"].items()}


def _leaves_project(path: str) -> bool:
    return path.startswith(("~", "/")) or bool(re.match(r"^[a-z]:/", path)) or "../" in path


def credential_store(path: str) -> str | None:
    """The kind of credential store a (normalised) path is in, e.g. "SSH keys"; None for
    anything else, a bot's own files included."""
    for store in _stores():
        if store.outside_only and not _leaves_project(path):
            continue
        if any(p.search(path) for p in store.patterns):
            return store.name
    return None


# --- how code builds paths ----------------------------------------------------------------------

def path_text(node: cst.BaseExpression, scope: Scope, resolver: Resolver, depth: int = 0) -> str:
    """The normalised path an expression builds, `\\0` for parts that are not known."""
    return normalise(_path(node, scope, resolver, depth))


def _path(node: cst.BaseExpression, scope: Scope, resolver: Resolver, depth: int) -> str:
    if depth > _MAX_DEPTH:
        return UNKNOWN
    paths = _table()["paths"]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return _join([_path(node.left, scope, resolver, depth + 1),
                      _path(node.right, scope, resolver, depth + 1)])
    if isinstance(node, cst.Name):
        for binding in scope.lookup(node.value):
            if isinstance(binding, Assigned) and not binding.instance:
                return _path(binding.value, binding.scope, resolver, depth + 1)
    if isinstance(node, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else
                       _path(p.expression, scope, resolver, depth + 1)
                       if isinstance(p, cst.FormattedStringExpression) else UNKNOWN
                       for p in node.parts)
    if isinstance(node, cst.Subscript):
        environment = _environment_read(node, scope, resolver)
        if environment is not None:
            return environment
    if isinstance(node, cst.Call):
        built = _call_path(node, scope, resolver, depth, paths)
        if built is not None:
            return built
    parts = resolver.string_parts(node, scope)
    if parts is None:
        return UNKNOWN
    return "".join(p if p is not None else UNKNOWN for p in parts)


def _call_path(call: cst.Call, scope: Scope, resolver: Resolver, depth: int,
               paths: dict[str, Any]) -> str | None:
    target = resolver.call_target(call, scope)
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    if concepts.matches_any(paths["home"], target):
        return "~"
    if concepts.matches_any(paths["join"], target):
        return _join([_path(a, scope, resolver, depth + 1) for a in args]) if args else UNKNOWN
    if concepts.matches_any(paths["same"], target) and args:
        return _path(args[0], scope, resolver, depth + 1)
    environment = _environment_read(call, scope, resolver)
    if environment is not None:
        return environment
    if isinstance(call.func, cst.Attribute):
        method = call.func.attr.value
        if method in paths["same_methods"]:
            return _path(call.func.value, scope, resolver, depth + 1)
        if method in paths["join_methods"]:
            return _join([_path(call.func.value, scope, resolver, depth + 1),
                          *(_path(a, scope, resolver, depth + 1) for a in args)])
    return None


def _environment_read(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> str | None:
    """`os.environ["HOME"]`, `os.getenv("APPDATA")`: the folder the variable names."""
    name: str | None = None
    if isinstance(node, cst.Subscript) and resolver.qualname(node.value, scope) == "os.environ":
        name = subscript_key(node)
    elif isinstance(node, cst.Call) and node.args and \
            resolver.call_target(node, scope) in _ENV_READS:
        name = resolver.constant_string(node.args[0].value, scope)
    if name is None:
        return None
    return _environment_folders().get(name.upper())


def _join(parts: list[str]) -> str:
    joined = ""
    for part in parts:
        if part.startswith(("/", "~")) or re.match(r"^[a-zA-Z]:[\\/]", part):
            joined = part  # an absolute part restarts the path, as os.path.join does
        elif joined:
            joined = joined.rstrip("/\\") + "/" + part
        else:
            joined = part
    return joined


# --- reads --------------------------------------------------------------------------------------

@catalog.derived
def _access_index() -> concepts.PatternIndex[dict[str, Any]]:
    return concepts.PatternIndex((p, e) for e in _table()["access"]["calls"]
                                 for p in e["patterns"])


@catalog.derived
def _clipboard_index() -> concepts.PatternIndex[bool]:
    return concepts.PatternIndex((p, True) for p in _table()["clipboard"]["patterns"])


def _access_entry(target: str | None) -> dict[str, Any] | None:
    return _access_index().first(target)


def accessed_path(call: cst.Call, scope: Scope,
                  resolver: Resolver) -> tuple[cst.BaseExpression, str] | None:
    """(path expression, normalised path) of a call that opens, reads, copies or lists a path;
    for `Path(...).glob(pattern)` the path is the receiver's joined with the pattern."""
    access = _table()["access"]
    entry = _access_entry(resolver.call_target(call, scope))
    if entry is not None:
        chosen: cst.BaseExpression | None = None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in entry["keywords"]:
                chosen = arg.value
        positional = [a for a in call.args if a.keyword is None and not a.star]
        position = int(entry["position"])
        if chosen is None and position < len(positional):
            chosen = positional[position].value
        return (chosen, path_text(chosen, scope, resolver)) if chosen is not None else None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in access["path_methods"]:
        receiver = func.value
        if not _is_path_expression(receiver, scope, resolver):
            return None
        text = path_text(receiver, scope, resolver)
        if func.attr.value in ("glob", "rglob") and call.args:
            text = normalise(_join([text, _path(call.args[0].value, scope, resolver, 0)]))
        return receiver, text
    return None


def _is_path_expression(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> bool:
    """A receiver that is a path object (`Path(...)`, `Path.home() / ...`), not a file or
    an archive: `zip.open(name)` is not a read of `name` on disk."""
    while isinstance(node, cst.Name):
        bound = [b for b in scope.lookup(node.value) if isinstance(b, Assigned)]
        if not bound:
            return False
        node, scope = bound[0].value, bound[0].scope
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return True
    if isinstance(node, cst.Call):
        target = resolver.call_target(node, scope)
        paths = _table()["paths"]
        if concepts.matches_any(paths["join"], target) or \
                concepts.matches_any(paths["home"], target):
            return True
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in (
                *paths["same_methods"], *paths["join_methods"]):
            return _is_path_expression(node.func.value, scope, resolver)
    return False


def _is_clipboard(target: str | None) -> bool:
    return bool(_clipboard_index().first(target))


def reads_clipboard(call: cst.Call, scope: Scope, resolver: Resolver) -> bool:
    if isinstance(call.func, cst.Attribute) and \
            call.func.attr.value in _table()["clipboard"]["methods"]:
        return True
    return _is_clipboard(resolver.call_target(call, scope))


def trigger_words() -> list[str]:
    """What a read of a store or of the clipboard must spell (for the prefilter): the calls,
    and the path and clipboard methods."""
    table = _table()
    calls = [p for entry in table["access"]["calls"] for p in entry["patterns"]]
    return [*calls, *table["clipboard"]["patterns"], *table["access"]["path_methods"],
            *table["clipboard"]["methods"]]
