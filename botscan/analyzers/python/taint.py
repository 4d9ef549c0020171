"""The credential-flow concept: which expressions carry a credential, and from where.

Sources: names, parameters, attributes and dict keys named like credentials (strong
spellings only: `api_secret`, not an asset's `token`), environment reads of such names
(`os.getenv("BINANCE_SECRET")`), config lookups (`config["exchange"]["secret"]`,
`cfg.get("api_key")`), exchange-client credential attributes (`exchange.apiKey`), and the
whole `os.environ`.

Propagation: assignments (flow-insensitive, like the symbol table), f-strings, `+` and `%`,
`.format`/`join` and other string methods, containers, `self` attributes, and calls to
functions of the same module through their return values. A parameter is a label of its own
(`FromParam`), so a helper that logs its argument becomes a sink for every caller that passes
it a credential.

Sanitizers: short slices (`key[:4]`), `len`/`bool`, hashing and signing (`hmac.new(...)`),
anything named like mask/redact, comparisons and boolean tests. A signature computed from the
secret is not the secret.

The same flows carry content marked by where it came from rather than by its name (`Origin`):
decoded (base64, zlib, rot13, a reversed literal…), downloaded (the response of a network call),
or read from a wallet or key file outside the project. Such content also flows through
attributes and methods of what holds it (`resp.text`, `f.read()`, `resp.json()["code"]`) and
through parsing and compiling calls (`json.load`, `compile`), which credential names do not.

`Relay` makes a function of the module a sink for its callers when one of its parameters
reaches a sink inside it, so every detector of flows reports `send(secret)` where
`def send(msg): requests.post(HOOK, data=msg)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import libcst as cst

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.python import concepts, decoding, network, stores
from botscan.analyzers.python.engine import Event, FileContext
from botscan.analyzers.python.symbols import (
    Assigned,
    Parameter,
    Scope,
    dotted_name,
    literal_value,
)

_ENV_READS = ("os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.pop",
              "os.getenvb")
_SOURCE_KINDS = frozenset({cred.KEY_ID, cred.SECRET, cred.PASSPHRASE, cred.PASSWORD,
                           cred.TOKEN, cred.PRIVATE_KEY, cred.MNEMONIC})
ENVIRONMENT = "environment"
DECODED = "decoded"
DOWNLOADED = "downloaded"
KEY_FILE = "key file"


@dataclass(frozen=True)
class Source:
    kind: str
    """A credential kind (credentials.SECRET…) or ENVIRONMENT for the whole of `os.environ`."""
    name: str
    node: cst.CSTNode
    """Where the credential comes from: its read, or the assignment that gives it a value."""

    @property
    def label(self) -> str:
        if self.kind == ENVIRONMENT:
            return "The whole environment"
        label = cred.KIND_LABELS.get(self.kind, "credential")
        return label[0].upper() + label[1:]


@dataclass(frozen=True)
class FromParam:
    function: cst.FunctionDef
    param: str


@dataclass(frozen=True)
class Origin:
    """Content marked by where it came from: DECODED, DOWNLOADED or KEY_FILE."""

    kind: str
    detail: str
    """The decoding ("base64"), the call that downloaded it, or the kind of key store."""
    node: cst.CSTNode


Label = Source | FromParam | Origin
Taint = frozenset[Label]
_CLEAN: Taint = frozenset()


@catalog.derived
def _sinks() -> dict[str, Any]:
    return catalog.knowledge("sinks")


def source_for_name(name: str, node: cst.CSTNode, context: str = "") -> Source | None:
    """A Source when `name` is, unambiguously, the name of a credential."""
    info = cred.classify_name(name, context)
    if info is None or not info.strong or info.kind not in _SOURCE_KINDS:
        return None
    return Source(info.kind, name, node)


def origins(taint: Taint) -> Taint:
    """Only the Origin labels of a taint."""
    return frozenset(label for label in taint if isinstance(label, Origin))


@catalog.derived
def _is_carrier(target: str | None) -> bool:
    """Does the result of a call to `target` hold what its arguments hold?"""
    patterns = (*catalog.knowledge("code")["carriers"]["patterns"],
                *_sinks()["propagators"]["patterns"])
    return concepts.matches_any(patterns, target)


def is_sanitizer(target: str | None, func: cst.BaseExpression) -> bool:
    table = _sinks()["sanitizers"]
    if concepts.matches_any(table["patterns"], target):
        return True
    name = func.attr.value if isinstance(func, cst.Attribute) else (
        func.value if isinstance(func, cst.Name) else "")
    return bool(set(cred.split_words(name)).intersection(table["name_words"]))


class TaintAnalysis:
    """Taint queries over one module, memoised; built on the analyzer's resolver."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.resolver = ctx.resolver
        self._memo: dict[tuple[int, int], Taint] = {}
        self._return_memo: dict[cst.FunctionDef, Taint] = {}

    # --- the query ----------------------------------------------------------------------------
    def of(self, node: cst.BaseExpression, scope: Scope) -> Taint:
        key = (id(node), id(scope))
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = _CLEAN  # a cycle carries nothing new
        result = self._of(node, scope)
        self._memo[key] = result
        return result

    def _of(self, node: cst.BaseExpression, scope: Scope) -> Taint:
        if isinstance(node, cst.Name):
            return self._name(node, scope)
        if isinstance(node, cst.Attribute):
            return self._attribute(node, scope)
        if isinstance(node, cst.Subscript):
            return self._subscript(node, scope)
        if isinstance(node, cst.Call):
            return self._call(node, scope)
        if isinstance(node, cst.FormattedString):
            return self._union([p.expression for p in node.parts
                                if isinstance(p, cst.FormattedStringExpression)], scope)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, (cst.Add, cst.Modulo)):
                return self.of(node.left, scope) | self.of(node.right, scope)
            return _CLEAN
        if isinstance(node, cst.BooleanOperation):  # `key = api_key or ""` keeps the key
            return self.of(node.left, scope) | self.of(node.right, scope)
        if isinstance(node, cst.IfExp):
            return self.of(node.body, scope) | self.of(node.orelse, scope)
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return self._union([e.value for e in node.elements], scope)
        if isinstance(node, cst.Dict):
            return self._dict(node, scope)
        if isinstance(node, cst.Await):
            return self.of(node.expression, scope)
        if isinstance(node, cst.NamedExpr):
            return self.of(node.value, scope)
        return _CLEAN

    def _union(self, nodes: list[cst.BaseExpression], scope: Scope) -> Taint:
        result: Taint = _CLEAN
        for item in nodes:
            result |= self.of(item, scope)
        return result

    # --- names and attributes -----------------------------------------------------------------
    def _name(self, node: cst.Name, scope: Scope) -> Taint:
        bindings = scope.lookup(node.value)
        result: Taint = _CLEAN
        opaque = not bindings
        own = source_for_name(node.value, node)
        for binding in bindings:
            if isinstance(binding, Parameter):
                result |= {FromParam(binding.function.node, binding.name)} \
                    if binding.function.node is not None else _CLEAN
                opaque = True
            elif isinstance(binding, Assigned) and binding.instance:
                # `with open(path) as f`, `async with session.get(url) as resp`
                result |= origins(self.of(binding.value, binding.scope))
            elif isinstance(binding, Assigned):
                carried = self.of(binding.value, binding.scope)
                if own is not None:
                    # `api_secret = os.getenv("BINANCE_API_SECRET")`: name the variable.
                    carried = frozenset(
                        Source(s.kind, node.value, binding.value) if isinstance(s, Source)
                        and s.kind != ENVIRONMENT else s for s in carried)
                result |= carried
                opaque = opaque or not _clean_value(binding.value, self, binding.scope)
        if opaque and own is not None:
            origin = next((b.value for b in bindings if isinstance(b, Assigned)), node)
            result |= {Source(own.kind, own.name, origin)}
        return result

    def _attribute(self, node: cst.Attribute, scope: Scope) -> Taint:
        qualname = self.resolver.qualname(node, scope)
        if qualname == "os.environ":
            return frozenset({Source(ENVIRONMENT, "os.environ", node)})
        if concepts.key_loader_secret_attribute(self.resolver.qualname(node.value, scope),
                                                node.attr.value):
            return frozenset({Source(cred.PRIVATE_KEY, dotted_name(node) or node.attr.value,
                                     node)})
        result: Taint = _CLEAN
        owner = scope.owner
        values: list[Assigned] = []
        if isinstance(node.value, cst.Name) and owner is not None \
                and node.value.value == scope.self_name:
            values = list(owner.self_attrs.get(node.attr.value, []))
            values += [b for b in owner.bindings.get(node.attr.value, [])
                       if isinstance(b, Assigned)]
        else:  # `resp.text`: what the response holds
            result |= origins(self.of(node.value, scope))
        for binding in values:
            result |= self.of(binding.value, binding.scope)
        if not values or any(not _clean_value(b.value, self, b.scope) for b in values):
            source = source_for_name(node.attr.value, values[0].value if values else node,
                                     dotted_name(node.value) or "")
            if source is not None:
                result |= {source}
        return result

    def _subscript(self, node: cst.Subscript, scope: Scope) -> Taint:
        if len(node.slice) != 1:
            return _CLEAN
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            if decoding.is_reversal(node) and \
                    self.resolver.constant_string(node.value, scope) is not None:
                return frozenset({Origin(DECODED, "reversal", node)})
            return _CLEAN if _short_slice(element) else self.of(node.value, scope)
        if not isinstance(element, cst.Index):
            return _CLEAN
        key = _string(element.value)
        if key is not None:
            source = source_for_name(key, node, dotted_name(node.value) or "")
            held = origins(self.of(node.value, scope))  # `resp.json()["data"]`
            return held | {source} if source is not None else held
        return self.of(node.value, scope)

    def _dict(self, node: cst.Dict, scope: Scope) -> Taint:
        result: Taint = _CLEAN
        for element in node.elements:  # values, and `**os.environ` spreads
            result |= self.of(element.value, scope)
        return result

    # --- calls --------------------------------------------------------------------------------
    def _call(self, node: cst.Call, scope: Scope) -> Taint:
        target = self.resolver.call_target(node, scope)
        if is_sanitizer(target, node.func):
            return _CLEAN
        found = self._origin(node, scope)
        if found is not None:
            return found
        result = self._call_labels(node, scope, target)
        if isinstance(node.func, cst.Attribute):  # `resp.json()`, `fh.read()`
            result |= origins(self.of(node.func.value, scope))
        if _is_carrier(target):  # `json.load(fh)`, `compile(src, …)`
            result |= origins(self._union([a.value for a in node.args], scope))
        return result

    def _origin(self, node: cst.Call, scope: Scope) -> Taint | None:
        """What a decoding, downloading or key-file-opening call returns."""
        decoded = decoding.decoding_of(node, scope, self.resolver)
        if decoded is not None:
            kind, argument = decoded
            carried = self.of(argument, scope) if argument is not None else _CLEAN
            return carried | {Origin(DECODED, kind, node)}
        net = network.network_call(node, scope, self.resolver)
        if net is not None and net.fetch:
            return frozenset({Origin(DOWNLOADED, net.shown, node)})
        accessed = stores.accessed_path(node, scope, self.resolver)
        if accessed is not None:
            store = stores.credential_store(accessed[1])
            if store is not None:
                return frozenset({Origin(KEY_FILE, store, node)})
        return None

    def _call_labels(self, node: cst.Call, scope: Scope, target: str | None) -> Taint:
        args = [a.value for a in node.args]
        if target in _ENV_READS and args:
            name = _string(args[0])
            source = source_for_name(name, node) if name else None
            return frozenset({source}) if source is not None else _CLEAN
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        if method in ("get", "pop", "setdefault", "get_secret_value") and isinstance(
                node.func, cst.Attribute):
            if method == "get_secret_value":  # pydantic SecretStr hands out the raw value
                return self.of(node.func.value, scope) | self._named_source(node.func.value,
                                                                            node)
            name = _string(args[0]) if args else None
            if name is not None:
                source = source_for_name(name, node, dotted_name(node.func.value) or "")
                return frozenset({source}) if source is not None else _CLEAN
        if target == "os.environ.copy":
            return frozenset({Source(ENVIRONMENT, "os.environ", node)})
        loaded = concepts.key_loader_kind(target)
        if loaded is not None and target is not None:  # a wallet object holds its secret
            return frozenset({Source(loaded, target.rsplit(".", 2)[-2] + "()", node)})
        local = self.local_function(node, scope)
        if local is not None:
            return self._through_function(local, node, scope)
        propagators = _sinks()["propagators"]
        if concepts.matches_any(propagators["patterns"], target):
            return self._union(args, scope)
        if method in propagators["methods"] and isinstance(node.func, cst.Attribute):
            return self.of(node.func.value, scope) | self._union(args, scope)
        return _CLEAN

    def _named_source(self, node: cst.BaseExpression, origin: cst.CSTNode) -> Taint:
        name = dotted_name(node)
        if name is None:
            return _CLEAN
        source = source_for_name(name.rsplit(".", 1)[-1], origin)
        return frozenset({source}) if source is not None else _CLEAN

    def local_function(self, call: cst.Call, scope: Scope) -> cst.FunctionDef | None:
        """The function of this module a call calls, if botscan can tell."""
        return self.resolver.defined_function(call.func, scope)

    def arguments(self, function: cst.FunctionDef,
                  call: cst.Call) -> dict[str, cst.BaseExpression]:
        """Which argument expression each parameter of `function` receives at `call`."""
        params = [*function.params.posonly_params, *function.params.params]
        if isinstance(call.func, cst.Attribute) and params:
            params = params[1:]  # self / cls
        mapping: dict[str, cst.BaseExpression] = {}
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for param, arg in zip(params, positional, strict=False):
            mapping[param.name.value] = arg.value
        for arg in call.args:
            if arg.keyword is not None:
                mapping[arg.keyword.value] = arg.value
        return mapping

    def _through_function(self, function: cst.FunctionDef, call: cst.Call,
                          scope: Scope) -> Taint:
        returned = self.returns(function)
        result: Taint = frozenset(label for label in returned
                                  if not isinstance(label, FromParam))
        args = self.arguments(function, call)
        for label in returned:
            if isinstance(label, FromParam) and label.function is function \
                    and label.param in args:
                result |= self.of(args[label.param], scope)
        return result

    def returns(self, function: cst.FunctionDef) -> Taint:
        if function in self._return_memo:
            return self._return_memo[function]
        self._return_memo[function] = _CLEAN
        result: Taint = _CLEAN
        for node, scope in self.resolver.returns.get(function, []):
            if node.value is not None:
                result |= self.of(node.value, scope)
        self._return_memo[function] = result
        return result


SinkT = TypeVar("SinkT")
Found = Callable[[SinkT, cst.BaseExpression, Scope, Taint, "cst.FunctionDef | None"], None]
_ROUNDS = 4


class Relay(Generic[SinkT]):
    """Sinks reached directly, and through the module's own functions.

    `check(sink, value, scope)` hands the labels of `value` to `found`, and remembers the
    parameters among them: a call of that function then checks its argument against the same
    sink (`via` is the function), for a few rounds, until nothing new is learnt. A sink is any
    hashable value the detector uses to describe it.
    """

    def __init__(self, taint: TaintAnalysis, calls: Sequence[Event],
                 found: Found[SinkT]) -> None:
        self.taint = taint
        self.calls = calls
        self.found = found
        self._through: dict[tuple[cst.FunctionDef, str], list[SinkT]] = {}

    def check(self, sink: SinkT, value: cst.BaseExpression, scope: Scope,
              via: cst.FunctionDef | None = None) -> bool:
        """Report what reaches `sink` through `value`; True when a new parameter-to-sink fact
        was learnt."""
        labels = self.taint.of(value, scope)
        self.found(sink, value, scope, labels, via)
        learnt = False
        for label in labels:
            if isinstance(label, FromParam):
                known = self._through.setdefault((label.function, label.param), [])
                if sink not in known:
                    known.append(sink)
                    learnt = True
        return learnt

    def run(self) -> None:
        """Follow parameters that reach sinks out to the calls that pass them."""
        for _ in range(_ROUNDS):
            learnt = False
            for ev in self.calls:
                call = ev.node
                assert isinstance(call, cst.Call)
                function = self.taint.local_function(call, ev.scope)
                if function is None:
                    continue
                for param, value in self.taint.arguments(function, call).items():
                    for sink in list(self._through.get((function, param), [])):
                        learnt |= self.check(sink, value, ev.scope, via=function)
            if not learnt:
                return


def _string(node: cst.BaseExpression) -> str | None:
    return literal_value(node) if isinstance(node, cst.SimpleString) else None


def _short_slice(element: cst.Slice) -> bool:
    """`key[:4]`, `key[-4:]`: a few characters are a hint, not the credential."""
    limit = int(_sinks()["sanitizers"]["max_visible_slice"])
    bounds = [element.lower, element.upper]
    values: list[int | None] = []
    for bound in bounds:
        if bound is None:
            values.append(None)
            continue
        text = cst.Module([]).code_for_node(bound).replace(" ", "")
        try:
            values.append(int(text))
        except ValueError:
            return False
    lower, upper = values
    if lower is None and upper is not None:
        return 0 <= upper <= limit  # `key[:4]`; `key[:-4]` keeps almost all of it
    if upper is None and lower is not None:
        return -limit <= lower < 0
    if lower is not None and upper is not None:
        return 0 <= upper - lower <= limit
    return False


def _clean_value(value: cst.BaseExpression, analysis: TaintAnalysis, scope: Scope) -> bool:
    """A value that certainly holds no credential: a constant that is no secret, a sanitizer
    result, a test. A name bound only to such values is not a source, whatever its name
    (`api_key_shown = mask(api_key)`)."""
    if isinstance(value, cst.Name):
        return value.value in ("None", "True", "False")
    if isinstance(value, (cst.Integer, cst.Float, cst.Comparison)):
        return True
    if isinstance(value, cst.UnaryOperation):
        return isinstance(value.operator, cst.Not)
    if isinstance(value, cst.SimpleString):
        text = literal_value(value) or ""
        return not text or cred.is_placeholder(text)
    if isinstance(value, cst.Call):
        return is_sanitizer(analysis.resolver.call_target(value, scope), value.func)
    if isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(
            value.slice[0].slice, cst.Slice):
        return _short_slice(value.slice[0].slice)
    return False
