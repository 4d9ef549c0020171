"""BOT2xx in Python: credentials that reach logs, exception messages, `__repr__` and files, and
library switches that log request headers.

Sinks are checked once the whole module is known (`finish`), because a sink inside a helper
only matters through the calls that pass it a credential: `notify(f"key={api_key}")` leaks
through `def notify(msg): logger.info(msg)`. Such parameter-to-sink facts are propagated to
callers until nothing changes (a few rounds at most, by `taint.Relay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from botscan import catalog, credentials
from botscan.analyzers.python import concepts, prefilter
from botscan.analyzers.python.engine import AssignEvent, CallCollector, Detector, Event, FileContext
from botscan.analyzers.python.symbols import Scope, call_text, dotted_name, literal_value
from botscan.analyzers.python.taint import Relay, Source, Taint, TaintAnalysis

_REPR_METHODS = frozenset({"__repr__", "__str__", "__format__"})
_NOT_MESSAGE_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel", "file", "sep", "end",
                                   "flush", "level", "category"})


@catalog.derived
def _sinks() -> dict[str, Any]:
    return catalog.knowledge("sinks")


@dataclass(frozen=True)
class Sink:
    rule_id: str
    name: str
    """How the sink reads in a message: `logger.info`, `open().write`, `raise ValueError`."""
    node: cst.CSTNode
    values: tuple[cst.BaseExpression, ...]
    """The expressions that reach the sink."""


_VERBS = {
    "BOT201": "is written to the log by",
    "BOT202": "is put in the exception message of",
    "BOT203": "is returned by",
    "BOT204": "is written in clear to a file by",
}


class ExposureDetector(CallCollector):
    rules = frozenset({"BOT201", "BOT202", "BOT203", "BOT204"})
    # Nothing is reported without a taint source: a credential name, the environment, a wallet.
    triggers = (prefilter.STRONG_CREDENTIAL_NAMES,
                prefilter.calls_to("the environment and wallet keys",
                                   lambda: ["os.environ", *concepts.key_loader_patterns()]))
    runs_on_tests = False  # tests log their own dummy keys

    def __init__(self) -> None:
        super().__init__()
        self._raises: list[Event] = []
        self._returns: list[Event] = []


    def on_raise(self, ev: Event, ctx: FileContext) -> None:
        self._raises.append(ev)

    def on_return(self, ev: Event, ctx: FileContext) -> None:
        self._returns.append(ev)

    def finish(self, ctx: FileContext) -> None:
        taint = TaintAnalysis(ctx)

        def found(sink: Sink, value: cst.BaseExpression, scope: Scope, labels: Taint,
                  via: cst.FunctionDef | None) -> None:
            sources = [label for label in sorted(labels, key=_label_order)
                       if isinstance(label, Source)]
            if sources:
                _report(ctx, sink, value, sources, (via, sink.node) if via else None)

        relay: Relay[Sink] = Relay(taint, self.calls, found)
        sinks: list[tuple[Sink | None, Scope]] = []
        for ev in self.calls:
            assert isinstance(ev.node, cst.Call)
            sinks.append((_call_sink(ev.node, ev.scope, ctx), ev.scope))
        sinks += [(_raise_sink(ev.node), ev.scope) for ev in self._raises]
        sinks += [(_repr_sink(ev.node, ev.scope), ev.scope) for ev in self._returns]
        for sink, scope in sinks:
            if sink is not None:
                for value in sink.values:
                    relay.check(sink, value, scope)
        relay.run()


def _label_order(label: object) -> tuple[str, str]:
    return (getattr(label, "kind", ""), getattr(label, "name", "") or getattr(label, "param", ""))


def _report(ctx: FileContext, sink: Sink, value: cst.BaseExpression, sources: list[Source],
            via: tuple[cst.FunctionDef, cst.CSTNode] | None) -> None:
    """One finding per value reaching the sink. It names the credential the code itself
    writes there when it can (`self.api_config_key`, not the response field it came from),
    and counts the others."""
    written = _written_names(value)
    source = next((s for s in sources if s.name in written), sources[0])
    others = {s.name for s in sources} - {source.name}
    what = source.label if source.kind == "environment" else f"{source.label} `{source.name}`"
    origins = [s.node for s in sources if s.name == source.name]
    more = f", with {len(others)} other credential{'s' if len(others) > 1 else ''}" \
        if others else ""
    through = ""
    related: list[list[cst.CSTNode]] = [origins]
    if via is not None:
        through = f" in `{via[0].name.value}()` (line @line1@)"
        related.append([via[1]])
    fix = {
        "BOT201": "Log that it is set (or its last 4 characters), never its value.",
        "BOT202": "Name the credential in the message, not its value.",
        "BOT203": "Leave it out of the representation, or show a mask.",
        "BOT204": "Do not persist it; the bot can read it from its environment.",
    }[sink.rule_id]
    ctx.report(
        sink.rule_id, value,
        f"{what} (from line @line0@{more}) {_VERBS[sink.rule_id]} `{sink.name}`{through}. "
        f"{fix}",
        evidence={"credentials": sorted({s.name for s in sources}), "sink": sink.name},
        related=related,
    )


def _written_names(value: cst.BaseExpression) -> set[str]:
    """The last name segment of each plain name or attribute written in the value."""
    parts: list[cst.BaseExpression] = [value]
    if isinstance(value, cst.FormattedString):
        parts = [p.expression for p in value.parts
                 if isinstance(p, cst.FormattedStringExpression)]
    names = set()
    for part in parts:
        text = dotted_name(part)
        if text:
            names.add(text.rsplit(".", 1)[-1])
    return names


# --- sinks ------------------------------------------------------------------------------------

def _call_sink(call: cst.Call, scope: Scope, ctx: FileContext) -> Sink | None:
    target = ctx.resolver.call_target(call, scope)
    func = call.func
    method = func.attr.value if isinstance(func, cst.Attribute) else None
    shown = call_text(func)
    table = _sinks()
    if _is_log_call(target, func, method, table["log"]):
        values = tuple(a.value for a in call.args if a.keyword is None
                       or a.keyword.value not in _NOT_MESSAGE_KEYWORDS)
        return Sink("BOT201", shown, call, values)
    files = table["file"]
    if method in files["write_methods"] and isinstance(func, cst.Attribute):
        receiver = ctx.resolver.qualname(func.value, scope)
        if receiver in files["write_receivers"] and call.args:
            return Sink("BOT204", shown, call, (call.args[0].value,))
    for entry in files["calls"]:
        position = int(entry["position"])
        if concepts.matches_any(entry["patterns"], target) and len(call.args) > position:
            return Sink("BOT204", shown, call, (call.args[position].value,))
    return None


_LOGGING_ROOTS = frozenset({"logging", "loguru", "structlog", "builtins", "sys", "pprint",
                            "warnings", "click", "typer", "rich", "tqdm"})


def _is_log_call(target: str | None, func: cst.BaseExpression, method: str | None,
                 table: dict[str, Any]) -> bool:
    """A known log call, or a log-level method on something named like a logger: the
    project's own logger classes (`self.logger().info`, hummingbot's HummingbotLogger)
    count, a resolved `logging` call that is not a log method does not."""
    if concepts.matches_any(table["patterns"], target):
        return True
    if target is not None and target.split(".")[0] in _LOGGING_ROOTS:
        return False
    if method not in table["methods"] or not isinstance(func, cst.Attribute):
        return False
    names = f"{_receiver_text(func.value)} {target or ''}"
    return bool(set(credentials.split_words(names)).intersection(table["receiver_words"]))


def _receiver_text(node: cst.BaseExpression) -> str:
    """`self.logger()` -> `self.logger`: a logger is often returned by a getter."""
    while isinstance(node, cst.Call) and not node.args:
        node = node.func
    return dotted_name(node) or ""


def _raise_sink(node: cst.CSTNode) -> Sink | None:
    assert isinstance(node, cst.Raise)
    exc = node.exc
    if exc is None:
        return None
    if isinstance(exc, cst.Call):
        name = dotted_name(exc.func) or "exception"
        return Sink("BOT202", f"raise {name}", node, tuple(a.value for a in exc.args))
    return Sink("BOT202", "raise", node, (exc,))


def _repr_sink(node: cst.CSTNode, scope: Scope) -> Sink | None:
    assert isinstance(node, cst.Return)
    function = scope.node
    if function is None or function.name.value not in _REPR_METHODS or node.value is None:
        return None
    return Sink("BOT203", function.name.value, node, (node.value,))


# --- library debug switches (BOT205) --------------------------------------------------------

class DebugSwitchDetector(Detector):
    rules = frozenset({"BOT205"})
    triggers = (prefilter.calls_to("clients with request logging", lambda: [
        p for switch in _sinks()["debug_switch"] for p in switch["patterns"]]),)
    runs_on_tests = False

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        switch = _switch_for(ctx.resolver.call_target(call, ev.scope))
        if switch is None:
            return
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in switch.get("keywords", ()) \
                    and _is_true(arg.value):
                _report_switch(ctx, arg, f"{arg.keyword.value}=True", switch)

    def on_dict(self, ev: Event, ctx: FileContext) -> None:
        if len(ev.parents) < 2 or not isinstance(ev.parents[-1], cst.Arg) or not isinstance(
                ev.parents[-2], cst.Call):
            return
        switch = _switch_for(ctx.resolver.call_target(ev.parents[-2], ev.scope))
        node = ev.node
        if switch is None or not isinstance(node, cst.Dict):
            return
        for element in node.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                key = literal_value(element.key)
                if key in switch.get("config_keys", ()) and _is_true(element.value):
                    _report_switch(ctx, element, f"'{key}': True", switch)

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        target = ev.target
        if not isinstance(target, cst.Attribute) or not _is_true(ev.value):
            return
        receiver = ctx.resolver.qualname(target.value, ev.scope)
        if receiver is None or not receiver.endswith("()"):
            return
        switch = _switch_for(receiver[:-2])
        if switch is not None and target.attr.value in switch.get("attributes", ()):
            _report_switch(ctx, target, f"{dotted_name(target)} = True", switch)


def _switch_for(target: str | None) -> dict[str, Any] | None:
    for switch in _sinks()["debug_switch"]:
        if concepts.matches_any(switch["patterns"], target):
            return dict(switch)
    return None


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _report_switch(ctx: FileContext, node: cst.CSTNode, written: str,
                   switch: dict[str, Any]) -> None:
    ctx.report("BOT205", node,
               f"`{written}` turns on {switch['library']} request logging: {switch['leaks']}. "
               "Switch it off outside debugging.",
               evidence={"library": switch["library"], "switch": written})
