"""Light name resolution for one module: imports, aliases and simple assignments.

libcst's QualifiedNameProvider and ScopeProvider cost several times the parse itself, so the
analyzer keeps its own small symbol table, filled during its single traversal and queried
afterwards, when every binding of the module is known (so a function may use a client that is
assigned further down). It answers two questions detectors need:

- what is this expression? `qualname()` gives a dotted name such as `ccxt.binance`, and
  `requests.Session().get` for a method of an instance, whatever the local aliases were;
- what string does this expression build? `string_parts()` evaluates literals, f-strings,
  concatenation and module constants, with `None` for the parts it cannot know.

Resolution is flow-insensitive and deliberately simple: the first binding that resolves wins.
Dynamic spellings that code uses to hide a name resolve like the plain one: `__builtins__`,
`__import__("os")`, `importlib.import_module("os")`, `vars(builtins)["exec"]`, and (through the
`evaluate` hook, which the analyzer fills from the Decoded concept) strings built by decoding.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

_BUILTINS = frozenset(dir(builtins))
_MAX_DEPTH = 12

StringParts = list[str | None]
"""A statically evaluated string: known text, and None for each part that is not known."""
_IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module"})


@dataclass(frozen=True)
class Imported:
    """A name bound by an import statement to a dotted module path."""

    qualname: str


@dataclass(frozen=True)
class Assigned:
    """A name bound by an assignment, a `with … as`, or an annotated parameter."""

    value: cst.BaseExpression
    scope: Scope
    instance: bool = False
    """True when the name holds an instance of `value` (with-items, type annotations)."""


@dataclass(frozen=True)
class Defined:
    """A name bound by `def` or `class` in the scanned module itself."""

    node: cst.FunctionDef | cst.ClassDef
    scope: Scope
    """The scope the definition stands in."""


@dataclass(frozen=True)
class Parameter:
    """A function parameter: unknown, unless annotated with a type botscan can resolve."""

    name: str
    function: Scope
    annotation: cst.BaseExpression | None = None


Binding = Imported | Assigned | Defined | Parameter


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class" or "function"
    parent: Scope | None
    name: str = ""
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    self_attrs: dict[str, list[Assigned]] = field(default_factory=dict)
    """For a class: attributes assigned as `self.<name> = …` in its methods."""
    owner: Scope | None = None
    """For a method: its class scope, so `self.x` resolves."""
    self_name: str = ""
    """For a method: the name of its first parameter (usually `self` or `cls`)."""
    node: cst.FunctionDef | None = None
    """For a function scope: its definition."""

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def lookup(self, name: str) -> list[Binding]:
        """Bindings of `name` as Python resolves it: class scopes are skipped from inside."""
        scope: Scope | None = self
        first = True
        while scope is not None:
            if (first or scope.kind != "class") and name in scope.bindings:
                return scope.bindings[name]
            first = False
            scope = scope.parent
        return []


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as text, for plain attribute chains only."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def bind_import(scope: Scope, node: cst.Import | cst.ImportFrom) -> None:
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                scope.bind(alias.asname.name.value, Imported(full))
            else:
                # `import a.b` binds `a`; `a.b.x` then resolves through attribute access.
                top = full.split(".")[0]
                scope.bind(top, Imported(top))
        return
    module = dotted_name(node.module) if node.module is not None else ""
    dots = "." * len(node.relative)
    base = f"{dots}{module or ''}"
    if isinstance(node.names, cst.ImportStar):
        return
    for alias in node.names:
        name = dotted_name(alias.name)
        if name is None:
            continue
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        scope.bind(local, Imported(f"{base}.{name}" if base else name))


class Resolver:
    """Answers `qualname` and `string_parts` queries against the module's scopes.

    Answers are memoised per (expression, scope), and an expression being resolved counts as
    unknown to itself: without that, a name rebound many times (generated code does this)
    makes resolution exponential, and a file could stall the analyzer to hide what else it
    holds.
    """

    def __init__(self) -> None:
        self._qualnames: dict[tuple[int, int], str | None] = {}
        self._strings: dict[tuple[int, int], StringParts | None] = {}
        self.returns: dict[cst.FunctionDef, list[tuple[cst.Return, Scope]]] = {}
        """The return statements of each function of the module (filled by the traversal):
        a call to a local factory is what the factory returns."""
        self.evaluate: Callable[[Resolver, cst.BaseExpression, Scope, int],
                                StringParts | None] | None = None
        """Evaluates the string value of calls and subscripts the resolver itself does not
        know (`base64.b64decode("…").decode()`, `"…"[::-1]`); None when not a string. Kept as a
        hook so that this module knows no library."""

    def defined_function(self, func: cst.BaseExpression, scope: Scope) -> cst.FunctionDef | None:
        """The function of this module that `func` names (`helper`, `self._make_client`)."""
        bindings: list[Binding] = []
        if isinstance(func, cst.Name):
            bindings = scope.lookup(func.value)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and scope.owner is not None and func.value.value == scope.self_name:
            bindings = scope.owner.bindings.get(func.attr.value, [])
        for binding in bindings:
            if isinstance(binding, Defined) and isinstance(binding.node, cst.FunctionDef):
                return binding.node
        return None

    def qualname(self, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
        if depth > _MAX_DEPTH:
            return None
        key = (id(node), id(scope))
        if key in self._qualnames:
            return self._qualnames[key]
        self._qualnames[key] = None  # in progress: a cycle resolves to "unknown"
        result = self._qualname(node, scope, depth)
        self._qualnames[key] = result
        return result

    def _qualname(self, node: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        if isinstance(node, cst.Name):
            return self._name(node.value, scope, depth)
        if isinstance(node, cst.Attribute):
            self_attr = self._self_attribute(node, scope, depth)
            if self_attr is not None:
                return self_attr
            base = self.qualname(node.value, scope, depth + 1)
            return f"{base}.{node.attr.value}" if base else None
        if isinstance(node, cst.Call):
            getattr_target = self._getattr(node, scope, depth)
            if getattr_target is not None:
                return getattr_target
            imported = self._import_call(node, scope, depth)
            if imported is not None:
                return imported
            factory = self.defined_function(node.func, scope)
            if factory is not None:
                for ret, ret_scope in self.returns.get(factory, []):
                    made = self.qualname(ret.value, ret_scope, depth + 1) if ret.value else None
                    if made is not None:
                        return made
            func = self.qualname(node.func, scope, depth + 1)
            return f"{func}()" if func else None
        if isinstance(node, cst.Await):
            return self.qualname(node.expression, scope, depth + 1)
        if isinstance(node, cst.Subscript):
            return self._subscript(node, scope, depth)
        return None

    def _import_call(self, call: cst.Call, scope: Scope, depth: int) -> str | None:
        """`__import__("os")` is the module `os`; `importlib.import_module("os.path")` is
        `os.path` (`__import__` returns the top package unless asked for a submodule)."""
        importer = self.qualname(call.func, scope, depth + 1)
        if not call.args or importer not in _IMPORTERS:
            return None
        name = self.constant_string(call.args[0].value, scope, depth + 1)
        if not name or not all(part.isidentifier() for part in name.split(".")):
            return None
        fromlist = len(call.args) >= 4 or any(
            a.keyword is not None and a.keyword.value == "fromlist" for a in call.args)
        if importer == "builtins.__import__" and not fromlist:
            return name.split(".")[0]
        return name

    def _namespace(self, node: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        """The module whose namespace a mapping expression is: `vars(builtins)`,
        `builtins.__dict__`, `__builtins__` (a dict outside `__main__`), `globals()` ("")."""
        if isinstance(node, cst.Attribute) and node.attr.value == "__dict__":
            return self.qualname(node.value, scope, depth + 1)
        if isinstance(node, cst.Call):
            func = self.qualname(node.func, scope, depth + 1)
            if func == "builtins.vars" and len(node.args) == 1:
                return self.qualname(node.args[0].value, scope, depth + 1)
            if func == "builtins.globals" and not node.args:
                return ""
            return None
        qualname = self.qualname(node, scope, depth + 1)
        return qualname if qualname == "builtins" else None

    def _subscript(self, node: cst.Subscript, scope: Scope, depth: int) -> str | None:
        """`exchanges["spot"]`: what was stored under that key, by subscript assignment or in
        the dict literal the name holds. `vars(builtins)["exec"]` is `builtins.exec`."""
        key = subscript_key(node)
        if key is None:
            return None
        namespace = self._namespace(node.value, scope, depth)
        if namespace == "":
            return self._name(key, _module_scope(scope), depth + 1)
        if namespace is not None and key.isidentifier():
            return f"{namespace}.{key}"
        if not isinstance(node.value, cst.Name):
            return None
        for binding in scope.lookup(f'{node.value.value}["{key}"]'):
            resolved = self._binding(binding, depth + 1)
            if resolved is not None:
                return resolved
        for binding in scope.lookup(node.value.value):
            if isinstance(binding, Assigned) and isinstance(binding.value, cst.Dict):
                for element in binding.value.elements:
                    if isinstance(element, cst.DictElement) and isinstance(
                            element.key, cst.SimpleString) and literal_value(element.key) == key:
                        return self.qualname(element.value, binding.scope, depth + 1)
        return None

    def call_target(self, call: cst.Call, scope: Scope) -> str | None:
        """The qualified name of what a call calls (`requests.Session().get`)."""
        return self.qualname(call.func, scope)

    def _name(self, name: str, scope: Scope, depth: int) -> str | None:
        bindings = scope.lookup(name)
        if not bindings:
            if name == "__builtins__":  # the builtins module (or its dict) in every module
                return "builtins"
            return f"builtins.{name}" if name in _BUILTINS else None
        for binding in bindings:
            resolved = self._binding(binding, depth)
            if resolved is not None:
                return resolved
        return None

    def _binding(self, binding: Binding, depth: int) -> str | None:
        if isinstance(binding, Imported):
            return binding.qualname
        if isinstance(binding, Defined):
            # Local definitions get a leading dot: `.Portfolio` is the project's own class,
            # never a library's (a backtest `Portfolio.withdraw` is not an exchange call).
            return f".{binding.node.name.value}"
        if isinstance(binding, Parameter):
            if binding.annotation is None or binding.function.parent is None:
                return None
            annotated = self.qualname(binding.annotation, binding.function.parent, depth + 1)
            return f"{annotated}()" if annotated else None
        value = binding.value
        if isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Await)):
            resolved = self.qualname(value, binding.scope, depth + 1)
            if resolved is not None and binding.instance and not resolved.endswith("()"):
                return f"{resolved}()"
            return resolved
        return None

    def _self_attribute(self, node: cst.Attribute, scope: Scope, depth: int) -> str | None:
        """`self.exchange` inside a method: what the class assigned to `self.exchange`."""
        if not (isinstance(node.value, cst.Name) and scope.owner is not None):
            return None
        if node.value.value != scope.self_name or scope.self_name == "":
            return None
        owner = scope.owner
        candidates: list[Binding] = list(owner.self_attrs.get(node.attr.value, []))
        candidates += owner.bindings.get(node.attr.value, [])
        for binding in candidates:
            resolved = self._binding(binding, depth + 1)
            if resolved is not None:
                return resolved
        return None

    def _getattr(self, call: cst.Call, scope: Scope, depth: int) -> str | None:
        """`getattr(ccxt, name)` is `ccxt.<name>`, or `ccxt.*` when the name is not known."""
        if not (isinstance(call.func, cst.Name) and call.func.value == "getattr"):
            return None
        if scope.lookup("getattr") or len(call.args) < 2:
            return None
        base = self.qualname(call.args[0].value, scope, depth + 1)
        if base is None:
            return None
        attr = self.constant_string(call.args[1].value, scope, depth + 1)
        return f"{base}.{attr}" if attr and attr.isidentifier() else f"{base}.*"

    # --- strings ------------------------------------------------------------------------------

    def constant_string(
        self, node: cst.BaseExpression, scope: Scope, depth: int = 0
    ) -> str | None:
        parts = self.string_parts(node, scope, depth)
        if parts is None or any(p is None for p in parts):
            return None
        return "".join(p for p in parts if p is not None)

    def string_parts(
        self, node: cst.BaseExpression, scope: Scope, depth: int = 0
    ) -> StringParts | None:
        """Evaluate a string expression; None when `node` is not a string expression."""
        if depth > _MAX_DEPTH:
            return [None]
        key = (id(node), id(scope))
        if key in self._strings:
            cached = self._strings[key]
            return list(cached) if cached is not None else None
        self._strings[key] = [None]  # in progress: a cycle is an unknown part
        result = self._string_parts(node, scope, depth)
        self._strings[key] = result
        return list(result) if result is not None else None

    def _string_parts(
        self, node: cst.BaseExpression, scope: Scope, depth: int
    ) -> StringParts | None:
        if isinstance(node, cst.SimpleString):
            value = literal_value(node)
            return [value] if value is not None else [None]
        if isinstance(node, cst.ConcatenatedString):
            left = self.string_parts(node.left, scope, depth + 1)
            right = self.string_parts(node.right, scope, depth + 1)
            return (left or [None]) + (right or [None])
        if isinstance(node, cst.FormattedString):
            parts: StringParts = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None:
                    inner = self.string_parts(part.expression, scope, depth + 1)
                    parts.extend(inner if inner is not None else [None])
                else:
                    parts.append(None)
            return parts
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self.string_parts(node.left, scope, depth + 1)
            right = self.string_parts(node.right, scope, depth + 1)
            if left is None and right is None:
                return None
            return (left or [None]) + (right or [None])
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self._constant_binding(node, scope, depth)
        if self.evaluate is not None and isinstance(node, (cst.Call, cst.Subscript)):
            return self.evaluate(self, node, scope, depth + 1)
        return None

    def _constant_binding(
        self, node: cst.Name | cst.Attribute, scope: Scope, depth: int
    ) -> StringParts | None:
        bindings: list[Binding] = []
        if isinstance(node, cst.Name):
            bindings = scope.lookup(node.value)
        elif isinstance(node.value, cst.Name) and scope.owner is not None \
                and node.value.value == scope.self_name:
            bindings = list(scope.owner.bindings.get(node.attr.value, []))
            bindings += scope.owner.self_attrs.get(node.attr.value, [])
        for binding in bindings:
            if isinstance(binding, Parameter):
                return None  # a parameter's value is not known statically
            if isinstance(binding, Assigned) and not binding.instance:
                parts = self.string_parts(binding.value, binding.scope, depth + 1)
                if parts is not None:
                    return parts
        return None


def _module_scope(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


_LINKS_SHOWN = 12
"""Links of a callee's chain (calls, attributes, subscripts) that `call_text` renders."""


def call_text(func: cst.BaseExpression, limit: int = 60) -> str:
    """A callee as written, on one line and short, for messages: `self.logger().info`."""
    text = dotted_name(func) or " ".join(cst.Module([]).code_for_node(_last_links(func)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_links(node: cst.BaseExpression) -> cst.BaseExpression:
    """`node` with its chain cut `_LINKS_SHOWN` links from the end (`...()().x`): rendering
    is linear in the chain, and each call of a chain `f()()()…` thousands long (hostile code)
    would otherwise render all the calls below it, quadratic in all."""
    links: list[cst.Call | cst.Attribute | cst.Subscript] = []
    base: cst.BaseExpression = node
    while isinstance(base, (cst.Call, cst.Attribute, cst.Subscript)):
        if len(links) == _LINKS_SHOWN:
            base = cst.Ellipsis()
            for link in reversed(links):
                base = (link.with_changes(func=base) if isinstance(link, cst.Call)
                        else link.with_changes(value=base))
            return base
        links.append(base)
        base = base.func if isinstance(base, cst.Call) else base.value
    return node


def subscript_key(node: cst.Subscript) -> str | None:
    """The constant string key of `x["key"]`, if that is what the subscript is."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    return literal_value(index) if isinstance(index, cst.SimpleString) else None


def literal_value(node: cst.SimpleString) -> str | None:
    """The value of a string literal; bytes literals decode as latin-1 (never fails).

    Most literals have no escapes: their value is the text between the quotes, which is much
    cheaper than libcst's `evaluated_value` (it compiles each literal with `ast.literal_eval`).
    """
    prefix = node.prefix.lower()
    quote = node.quote
    body = node.value[len(prefix) + len(quote): -len(quote)]
    if "b" not in prefix and ("r" in prefix or "\\" not in body):
        return body
    try:
        value = node.evaluated_value
    except Exception:  # libcst raises plain errors on exotic escapes; the value is unknown
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def argument(call: cst.Call, position: int | None, keyword: str | None,
             ) -> cst.BaseExpression | None:
    """The expression a call passes for a parameter, by keyword or by position (`None` for a
    keyword-only parameter); None when it is not passed, or hidden in `*args`/`**kwargs`."""
    for arg in call.args:
        if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position is None:
        return None
    positional = []
    for arg in call.args:
        if arg.star:
            break  # positions after `*args` are unknown
        if arg.keyword is None:
            positional.append(arg.value)
    return positional[position] if position < len(positional) else None
