"""BOT506 in Python: code that runs when a project is installed, in `setup.py`.

`pip install` (and `pip download` of a source distribution) runs `setup.py`. There, a network
call, a process that is not a build probe (`uname`, `git describe`, the compilers), `exec` or
`eval` of anything but one of the project's own files, or collecting the host name, user or
environment, runs before anyone reads the bot. A `cmdclass` that hooks an install command to a
class whose `run()` does any of that is reported too, where the hook is set.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import libcst as cst

from botscan.analyzers.python import execution, network, prefilter, stores
from botscan.analyzers.python.engine import Detector, Event, FileContext
from botscan.analyzers.python.symbols import Assigned, Defined, Scope, call_text, literal_value

_SETUP_CALLS = ("setuptools.setup", "distutils.core.setup")
_OWN_FILE_READS = ("builtins.open", "io.open", "codecs.open")


@dataclass(frozen=True)
class _Action:
    call: cst.Call
    what: str
    function: cst.FunctionDef | None


def _setup_patterns() -> list[str]:
    return [*network.call_patterns(), *execution.call_patterns(),
            *execution.host_info_patterns(), *_SETUP_CALLS]


class InstallTimeDetector(Detector):
    rules = frozenset({"BOT506"})
    triggers = (prefilter.calls_to("install-time actions", _setup_patterns),)

    def __init__(self) -> None:
        self._actions: list[_Action] = []
        self._setups: list[Event] = []
        self._calls: list[Event] = []

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        if posixpath.basename(ctx.path.replace("\\", "/")) != "setup.py":
            return
        call = ev.node
        assert isinstance(call, cst.Call)
        self._calls.append(ev)
        what = _install_action(call, ev.scope, ctx)
        if what is not None:
            self._actions.append(_Action(call, what, ev.scope.node))
            ctx.report("BOT506", call,
                       f"`{call_text(call.func)}` {what} when the package is installed: it "
                       "runs before anyone reads the code. A build script needs none of that.",
                       evidence={"call": call_text(call.func), "action": what})
        if ctx.resolver.call_target(call, ev.scope) in _SETUP_CALLS:
            self._setups.append(ev)

    def finish(self, ctx: FileContext) -> None:
        for ev in self._setups:
            call = ev.node
            assert isinstance(call, cst.Call)
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "cmdclass":
                    self._hooks(ctx, arg.value, ev.scope)

    def _hooks(self, ctx: FileContext, value: cst.BaseExpression, scope: Scope) -> None:
        """`cmdclass={"install": PostInstall}` where PostInstall.run does something above."""
        if isinstance(value, cst.Name):
            bound = [b for b in scope.lookup(value.value) if isinstance(b, Assigned)]
            if not bound:
                return
            value, scope = bound[0].value, bound[0].scope
        if not isinstance(value, cst.Dict):
            return
        for element in value.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(
                    element.key, cst.SimpleString) or not isinstance(element.value, cst.Name):
                continue
            command = literal_value(element.key)
            if command not in execution.install_commands():
                continue
            action = self._class_action(element.value, scope, ctx)
            if action is None:
                continue
            name = element.value.value
            ctx.report("BOT506", element,
                       f"`cmdclass` runs `{name}` for `{command}`, and its `run()` "
                       f"{action.what} (line @line0@): that happens on `pip install`.",
                       evidence={"command": command, "class": name, "action": action.what},
                       related=[[action.call]])

    def _class_action(self, name: cst.Name, scope: Scope, ctx: FileContext) -> _Action | None:
        """What the `run()` of a class of this module does at install time, directly or
        through a function of the module it calls."""
        classes = [b.node for b in scope.lookup(name.value)
                   if isinstance(b, Defined) and isinstance(b.node, cst.ClassDef)]
        if not classes:
            return None
        runs = {node for node in ctx.functions if node.name.value == "run"
                and _defined_in(node, classes[0], ctx)}
        for action in self._actions:
            if action.function in runs:
                return action
        helpers = {ctx.resolver.defined_function(ev.node.func, ev.scope)
                   for ev in self._calls if ev.scope.node in runs
                   and isinstance(ev.node, cst.Call)}
        return next((a for a in self._actions if a.function in helpers), None)


def _defined_in(function: cst.FunctionDef, cls: cst.ClassDef, ctx: FileContext) -> bool:
    owner = ctx.functions[function].parent
    return owner is not None and owner.kind == "class" and owner.name == cls.name.value


def _install_action(call: cst.Call, scope: Scope, ctx: FileContext) -> str | None:
    """What a call of setup.py does that a build script has no reason to, or None."""
    resolver = ctx.resolver
    net = network.network_call(call, scope, resolver)
    if net is not None:
        where = network.destination(net, resolver)
        return f"connects to {where.label}"
    run = execution.process_run(call, scope, resolver)
    if run is not None and not execution.is_build_probe(run):
        return "starts a process"
    sink = execution.exec_sink(call, scope, resolver)
    if sink is not None and not _reads_own_file(sink.payload, scope, ctx):
        return f"runs code with `{sink.name}`"
    target = resolver.call_target(call, scope)
    if execution.collects_host_info(target):
        return f"collects who and where the machine is (`{target}`)"
    return None


def _reads_own_file(payload: cst.BaseExpression, scope: Scope, ctx: FileContext) -> bool:
    """`exec(open("pkg/version.py").read())`, also through `compile`: the project's own file,
    read to learn its version, is scanned like any other."""
    node = payload
    if isinstance(node, cst.Call) and ctx.resolver.call_target(node, scope) == "builtins.compile" \
            and node.args:
        node = node.args[0].value
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "read" and isinstance(node.func.value, cst.Call)):
        return False
    opened = node.func.value
    if ctx.resolver.call_target(opened, scope) not in _OWN_FILE_READS or not opened.args:
        return False
    path = stores.path_text(opened.args[0].value, scope, ctx.resolver)
    return bool(path) and stores.UNKNOWN not in path and not path.startswith(("/", "~")) \
        and ".." not in path
