"""One parse and one traversal per Python file, for every detector at once.

The traversal does two things only: it fills the symbol table (imports, assignments, `self`
attributes, with-items, annotated parameters) and it records the events detectors subscribe to
(calls, assignments, dict literals, parameter defaults, interesting strings and names). Then the
detectors run over the recorded events, when every binding of the module is known. Positions
are computed only when something is reported, because libcst's PositionProvider costs more than
the parse itself.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from botscan.analyzers.python.options import Options
from botscan.analyzers.python.prefilter import ALWAYS, Trigger
from botscan.analyzers.python.symbols import (
    Assigned,
    Defined,
    Parameter,
    Resolver,
    Scope,
    bind_import,
    subscript_key,
)
from botscan.model import Confidence
from botscan.testcode import is_test_path

ANCESTORS_KEPT = 6


@dataclass(frozen=True)
class Event:
    node: cst.CSTNode
    scope: Scope
    parents: tuple[cst.CSTNode, ...]
    """The nearest ancestors, innermost last."""


@dataclass(frozen=True)
class AssignEvent:
    target: cst.BaseExpression
    value: cst.BaseExpression
    scope: Scope


@dataclass(frozen=True)
class ParamEvent:
    param: cst.Param
    scope: Scope


@dataclass
class Report:
    rule_id: str
    node: cst.CSTNode
    message: str
    """May name the lines of `related` nodes as `@line0@`, `@line1@`…"""
    secrets: tuple[str, ...] = ()
    evidence: dict[str, object] = field(default_factory=dict)
    confidence: Confidence | None = None
    related: tuple[tuple[cst.CSTNode, ...], ...] = ()
    """For each `@lineN@`, the nodes it may name: the earliest of them is shown."""


class FileContext:
    """What detectors see: the resolver, the file's options and the report sink."""

    def __init__(self, path: str, options: Options) -> None:
        self.path = path
        self.is_test = is_test_path(path)
        self.options = options
        self.resolver = Resolver()
        self.reports: list[Report] = []
        self.functions: dict[cst.FunctionDef, Scope] = {}
        """Every function of the module, with its scope (filled by the traversal)."""
        self.evidence_nodes: list[tuple[str, cst.CSTNode, str]] = []

    def evidence(self, capability: str, node: cst.CSTNode, call: str) -> None:
        """Record that the module shows `capability` (trade, withdraw…) at `node`."""
        self.evidence_nodes.append((capability, node, call))

    def report(
        self,
        rule_id: str,
        node: cst.CSTNode,
        message: str,
        *,
        secrets: Sequence[str] = (),
        evidence: dict[str, object] | None = None,
        confidence: Confidence | None = None,
        related: Sequence[Sequence[cst.CSTNode]] = (),
    ) -> None:
        self.reports.append(Report(rule_id, node, message, tuple(secrets), dict(evidence or {}),
                                   confidence, tuple(tuple(r) for r in related)))


class Detector:
    """Base class: a detector overrides the hooks it needs and declares its rules.

    `triggers` decide, before parsing, whether the detector could fire on a file at all (see
    `prefilter.py` for what a trigger means); the default, `ALWAYS`, runs it on every file.
    `string_wanted` and `names_wanted` keep the traversal cheap: only strings and names that a
    detector could fire on are recorded as events.
    """

    rules: frozenset[str] = frozenset()
    triggers: ClassVar[tuple[Trigger, ...]] = ALWAYS
    needs: ClassVar[tuple[type[Detector], ...]] = ()
    """Detectors whose results this one reads (the capability evidence they record): they run
    before it, whether or not their own rules are selected."""
    names_wanted: frozenset[str] = frozenset()
    runs_on_tests = True
    """False for detectors whose findings mean nothing in test code (see botscan.testcode)."""

    def string_wanted(self, raw: str) -> bool:
        return False

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        return None

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        return None

    def on_dict(self, ev: Event, ctx: FileContext) -> None:
        return None

    def on_param(self, ev: ParamEvent, ctx: FileContext) -> None:
        return None

    def on_string(self, ev: Event, ctx: FileContext) -> None:
        return None

    def on_name(self, ev: Event, ctx: FileContext) -> None:
        return None

    def on_return(self, ev: Event, ctx: FileContext) -> None:
        return None

    def on_raise(self, ev: Event, ctx: FileContext) -> None:
        return None

    def finish(self, ctx: FileContext) -> None:
        """Called once after every event: for conclusions that need the whole module."""
        return None


class CallCollector(Detector):
    """A detector that judges calls only once the whole module is known (a credential flow
    needs every assignment first): it keeps the call events, in source order, in `calls`."""

    def __init__(self) -> None:
        self.calls: list[Event] = []

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        self.calls.append(ev)


@dataclass
class Events:
    assigns: list[AssignEvent] = field(default_factory=list)
    calls: list[Event] = field(default_factory=list)
    dicts: list[Event] = field(default_factory=list)
    params: list[ParamEvent] = field(default_factory=list)
    strings: list[Event] = field(default_factory=list)
    names: list[Event] = field(default_factory=list)
    returns: list[Event] = field(default_factory=list)
    raises: list[Event] = field(default_factory=list)


# Fields that only hold formatting (whitespace, commas, parentheses, operators' tokens): the
# traversal never needs to enter them.
_FORMATTING_FIELDS = frozenset({
    "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators", "header",
    "footer", "newline", "equal", "colon", "dot", "star", "operator", "asynchronous",
    "whitespace", "trailing_whitespace", "first_line", "empty_lines", "indent",
})


@functools.cache
def _child_fields(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(node_type)
        if f.name not in _FORMATTING_FIELDS and not f.name.startswith("whitespace")
    )


class _Walker:
    """The single traversal: scopes and bindings, plus the events detectors asked for.

    It walks the tree itself, with an explicit stack, instead of `module.visit()`: libcst's
    visitor machinery rebuilds every node as it goes and costs several times the parse, and
    recursion would stop at Python's recursion limit on deep but legal code.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.module_scope = Scope("module", None)
        self.scope = self.module_scope
        self.stack: list[cst.CSTNode] = []
        self.events = Events()
        self.detectors = detectors
        self.names_wanted = frozenset().union(*(d.names_wanted for d in detectors))
        self._scope_nodes: dict[cst.CSTNode, Scope] = {}
        self.functions: dict[cst.FunctionDef, Scope] = {}
        """Every function of the module and its scope (detectors build summaries on it)."""
        self.returns: dict[cst.FunctionDef, list[tuple[cst.Return, Scope]]] = {}

    def walk(self, module: cst.Module) -> None:
        todo: list[tuple[cst.CSTNode, bool]] = [(module, False)]
        while todo:
            node, leaving = todo.pop()
            if leaving:
                self._leave(node)
                continue
            self.stack.append(node)
            handler = _HANDLERS.get(type(node))
            if handler is not None:
                handler(self, node)
            todo.append((node, True))
            children: list[cst.CSTNode] = []
            for name in _child_fields(type(node)):
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    children.append(value)
                elif isinstance(value, (tuple, list)):
                    children.extend(v for v in value if isinstance(v, cst.CSTNode))
            todo.extend((child, False) for child in reversed(children))

    def _leave(self, node: cst.CSTNode) -> None:
        self.stack.pop()
        scope = self._scope_nodes.pop(node, None)
        if scope is not None and scope.parent is not None:
            self.scope = scope.parent

    def _event(self, node: cst.CSTNode) -> Event:
        return Event(node, self.scope, tuple(self.stack[-ANCESTORS_KEPT - 1 : -1]))

    # --- scopes -------------------------------------------------------------------------------
    def _class(self, node: cst.ClassDef) -> None:
        self.scope.bind(node.name.value, Defined(node, self.scope))
        scope = Scope("class", self.scope, name=node.name.value)
        self._scope_nodes[node] = scope
        self.scope = scope

    def _function(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        parent.bind(node.name.value, Defined(node, parent))
        scope = Scope("function", parent, name=node.name.value, node=node)
        self.functions[node] = scope
        if parent.kind == "class":
            decorators = {_decorator_name(d) for d in node.decorators}
            params = node.params.params
            if "staticmethod" not in decorators and params:
                scope.owner = parent
                scope.self_name = params[0].name.value
        for param in _all_params(node.params):
            annotation = param.annotation.annotation if param.annotation is not None else None
            scope.bind(param.name.value, Parameter(param.name.value, scope, annotation))
            if param.default is not None:
                self.events.params.append(ParamEvent(param, parent))
        self._scope_nodes[node] = scope
        self.scope = scope

    # --- bindings -----------------------------------------------------------------------------
    def _import(self, node: cst.Import | cst.ImportFrom) -> None:
        bind_import(self.scope, node)

    def _assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value)

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            if len(target.elements) == len(value.elements):
                for t, v in zip(target.elements, value.elements, strict=False):
                    self._bind_target(t.value, v.value)
            return
        self.events.assigns.append(AssignEvent(target, value, self.scope))
        if isinstance(target, cst.Name):
            self.scope.bind(target.value, Assigned(value, self.scope))
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            key = subscript_key(target)
            if key is not None:  # `exchanges["spot"] = ccxt.binance(...)`
                self.scope.bind(f'{target.value.value}["{key}"]', Assigned(value, self.scope))
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            owner = self.scope.owner
            if owner is not None and target.value.value == self.scope.self_name:
                owner.self_attrs.setdefault(target.attr.value, []).append(
                    Assigned(value, self.scope))

    def _with(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                self.scope.bind(item.asname.name.value,
                                Assigned(item.item, self.scope, instance=True))

    # --- events -------------------------------------------------------------------------------
    def _call(self, node: cst.Call) -> None:
        self.events.calls.append(self._event(node))

    def _return(self, node: cst.Return) -> None:
        self.events.returns.append(self._event(node))
        if self.scope.node is not None:
            self.returns.setdefault(self.scope.node, []).append((node, self.scope))

    def _raise(self, node: cst.Raise) -> None:
        self.events.raises.append(self._event(node))

    def _dict(self, node: cst.Dict) -> None:
        self.events.dicts.append(self._event(node))

    def _string(self, node: cst.SimpleString | cst.FormattedStringText) -> None:
        raw = node.value
        if any(d.string_wanted(raw) for d in self.detectors):
            self.events.strings.append(self._event(node))

    def _name(self, node: cst.Name) -> None:
        if node.value in self.names_wanted:
            parent = self.stack[-2] if len(self.stack) > 1 else None
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                return  # reported through the Attribute
            if isinstance(parent, (cst.ImportAlias, cst.FunctionDef, cst.ClassDef, cst.Param)):
                return
            self.events.names.append(self._event(node))

    def _attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in self.names_wanted:
            self.events.names.append(self._event(node))


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    extra = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [*params.posonly_params, *params.params, *params.kwonly_params, *extra]


def _decorator_name(decorator: cst.Decorator) -> str:
    expr = decorator.decorator
    return expr.value if isinstance(expr, cst.Name) else ""


_HANDLERS: dict[type[cst.CSTNode], Callable[[_Walker, Any], None]] = {
    cst.ClassDef: _Walker._class,
    cst.FunctionDef: _Walker._function,
    cst.Import: _Walker._import,
    cst.ImportFrom: _Walker._import,
    cst.Assign: _Walker._assign,
    cst.AnnAssign: _Walker._ann_assign,
    cst.With: _Walker._with,
    cst.Call: _Walker._call,
    cst.Return: _Walker._return,
    cst.Raise: _Walker._raise,
    cst.Dict: _Walker._dict,
    cst.SimpleString: _Walker._string,
    cst.FormattedStringText: _Walker._string,
    cst.Name: _Walker._name,
    cst.Attribute: _Walker._attribute,
}


class Pathological(Exception):
    """The source would exhaust the parser (deep nesting, huge expressions)."""


def check_pathological(text: str) -> None:
    """Refuse sources that crash or stall libcst's native parser, using CPython's own parser.

    libcst's Rust parser overflows its stack on ~2,000 nested brackets and spends seconds and
    gigabytes on a few thousand; CPython refuses more than 200 nested brackets and guards its
    recursion. Sources it rejects for those reasons are not valid Python anyway, so they are
    scanned as text. Ordinary syntax errors (Python 2, newer syntax) pass through to libcst.
    """
    previous = sys.getrecursionlimit()
    # At Python's default limit, ast.parse refuses trees more than ~2,000 levels deep, where
    # libcst's time, quadratic in an operator chain's length, is still about a second.
    # Workers raise the limit for other work, so it is pinned here.
    sys.setrecursionlimit(AST_RECURSION_LIMIT)
    try:
        ast.parse(text)
    except SyntaxError as exc:
        message = str(exc.msg) if exc.msg else ""
        if "too many nested" in message or "too complex" in message:
            raise Pathological(message) from None
    except RecursionError as exc:
        raise Pathological(type(exc).__name__) from None
    # A MemoryError is left to the worker pool: it is the per-file memory cap, reported as such.
    except ValueError:  # null bytes: not Python source
        raise Pathological("source contains null bytes") from None
    finally:
        sys.setrecursionlimit(previous)


AST_RECURSION_LIMIT = 1000


def parse(text: str) -> cst.Module:
    """Parse with libcst after the pathology check. Raises Pathological or a parse error."""
    check_pathological(text)
    return cst.parse_module(text)


def run_detectors(
    module: cst.Module, detectors: Sequence[Detector], ctx: FileContext
) -> tuple[list[tuple[Report, CodeRange]], list[tuple[str, int, str]]]:
    """Traverse once, let every detector look at the events, and place what they reported
    and the capability evidence they recorded (capability, line, call)."""
    if ctx.is_test:
        detectors = [d for d in detectors if d.runs_on_tests]
    walker = _Walker(detectors)
    walker.walk(module)
    ctx.resolver.returns = walker.returns
    ev = walker.events
    streams: dict[str, Sequence[Any]] = {
        "on_assign": ev.assigns, "on_call": ev.calls, "on_dict": ev.dicts,
        "on_param": ev.params, "on_string": ev.strings, "on_name": ev.names,
        "on_return": ev.returns, "on_raise": ev.raises,
    }
    ctx.functions = walker.functions
    for detector in detectors:
        for hook_name, events in streams.items():
            # Skip the base class's no-op hooks: most detectors use two or three of them.
            if getattr(type(detector), hook_name) is getattr(Detector, hook_name):
                continue
            hook = getattr(detector, hook_name)
            for event in events:
                hook(event, ctx)
        detector.finish(ctx)
    if not ctx.reports and not ctx.evidence_nodes:
        return [], []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    evidence = [(capability, positions[node].start.line, call)
                for capability, node, call in ctx.evidence_nodes if node in positions]
    placed: dict[tuple[str, int, int], tuple[Report, CodeRange]] = {}
    for report in ctx.reports:
        where = positions.get(report.node)
        if where is None:
            continue
        for index, alternatives in enumerate(report.related):
            lines = [positions[n].start.line for n in alternatives if n in positions]
            line = str(min(lines)) if lines else "?"
            report.message = report.message.replace(f"@line{index}@", line)
        key = (report.rule_id, where.start.line, where.start.column)
        placed.setdefault(key, (report, where))
    return list(placed.values()), evidence

