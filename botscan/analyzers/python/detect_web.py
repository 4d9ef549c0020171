"""BOT701 and BOT702 in Python: a bot's web app served to the network unprotected, and web
framework debug modes.

BOT702 is precise by construction: a debug switch written as `True` on an object the WebApp
concept recognises (`app.run(debug=True)`, `FastAPI(debug=True)`, `app.config["DEBUG"] = True`,
Werkzeug's `use_debugger=True`), or `DEBUG = True` in a module that is Django's settings.

BOT701 needs more than "listens on 0.0.0.0", which half of all dashboards do behind a proxy.
It fires where all of this is in one module: a server started on every interface
(`uvicorn.run(app, host="0.0.0.0")`, `app.run(host="0.0.0.0")`), a route of the module's app
that moves funds (a trade, withdrawal or transfer the fund concept recognises, in the route or
in a function of the module it calls), and no authentication anywhere in sight (no FastAPI
dependency or security scheme, no login decorator, no middleware or request hook). The fund
evidence is the capability evidence the fund-movement detector records, so that detector runs
first (`needs`).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import ClassVar

import libcst as cst

from botscan.analyzers.python import prefilter, webapps
from botscan.analyzers.python.detect_funds import FundsDetector
from botscan.analyzers.python.engine import AssignEvent, Detector, Event, FileContext
from botscan.analyzers.python.prefilter import Trigger
from botscan.analyzers.python.symbols import Scope, call_text, dotted_name, subscript_key

_MOVES_FUNDS = frozenset({"trade", "withdraw", "transfer", "keys", "onchain"})
_CONFIG_METHODS = frozenset({"update", "from_mapping"})


class WebDetector(Detector):
    rules = frozenset({"BOT701", "BOT702"})
    triggers: ClassVar[tuple[Trigger, ...]] = (
        b"debug", prefilter.calls_to("web apps and servers", webapps.patterns))
    needs: ClassVar[tuple[type[Detector], ...]] = (FundsDetector,)
    runs_on_tests = False  # test apps run debug servers on purpose

    def __init__(self) -> None:
        self.names_wanted = webapps.auth_names()
        self._authenticated = False
        self._served: list[tuple[webapps.Serving, Scope]] = []
        self._django_debug: cst.CSTNode | None = None
        self._module_names: set[str] = set()

    def on_name(self, ev: Event, ctx: FileContext) -> None:
        self._authenticated = True

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        target = ctx.resolver.call_target(call, ev.scope)
        for arg, effect in webapps.debug_keywords(call, target):
            assert arg.keyword is not None
            _report_debug(ctx, arg, f"{arg.keyword.value}=True", effect)
        if target is not None and target.rsplit(".", 1)[-1] in _CONFIG_METHODS:
            self._config_update(call, target, ctx)
        serving = webapps.serving(call, target, ev.scope, ctx.resolver)
        if serving is not None and serving.host is not None and webapps.everywhere(serving.host):
            self._served.append((serving, ev.scope))

    def _config_update(self, call: cst.Call, target: str, ctx: FileContext) -> None:
        """`app.config.update(DEBUG=True)`, `app.config.from_mapping(DEBUG=True)`."""
        owner, _, _ = target.rpartition(".")
        if not owner.endswith(".config"):
            return
        spec = webapps.app_instance(owner.removesuffix(".config"))
        if spec is None:
            return
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in spec.get(
                    "debug_config_keys", ()) and webapps.is_true(arg.value):
                _report_debug(ctx, arg, f"{arg.keyword.value}=True", spec["debug_effect"])

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        target, value = ev.target, ev.value
        if ev.scope.kind == "module" and isinstance(target, cst.Name):
            self._module_names.add(target.value)
            if target.value in webapps.django()["debug_names"] and webapps.is_true(value):
                self._django_debug = target
            return
        if not webapps.is_true(value):
            return
        if isinstance(target, cst.Attribute):
            spec = webapps.app_instance(ctx.resolver.qualname(target.value, ev.scope))
            if spec is not None and target.attr.value in spec.get("debug_attributes", ()):
                _report_debug(ctx, target, f"{dotted_name(target)} = True", spec["debug_effect"])
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute) \
                and target.value.attr.value == "config":
            spec = webapps.app_instance(ctx.resolver.qualname(target.value.value, ev.scope))
            key = subscript_key(target)
            if spec is not None and key in spec.get("debug_config_keys", ()):
                _report_debug(ctx, target, f'config["{key}"] = True', spec["debug_effect"])

    def finish(self, ctx: FileContext) -> None:
        self._django(ctx)
        if not self._served or self._authenticated:
            return
        route = _fund_moving_route(ctx)
        if route is None:
            return
        function, moving = route
        for serving, scope in self._served:
            app = webapps.app_instance(ctx.resolver.qualname(serving.app, scope)
                                       if serving.app is not None else None)
            framework = (app or serving.spec).get("framework", "web")
            ctx.report(
                "BOT701", serving.call,
                f"`{call_text(serving.call.func)}` serves the {framework} app on every "
                f"interface (`{serving.host}`), its route `{function.name.value}` (line "
                f"@line0@) moves funds (`{moving}`), and nothing in this module "
                "authenticates a request: whoever reaches the port trades with your keys. "
                "Listen on 127.0.0.1, or require authentication on every route.",
                evidence={"host": serving.host, "route": function.name.value},
                related=[[function]])

    def _django(self, ctx: FileContext) -> None:
        table = webapps.django()
        if self._django_debug is None or not self._module_names & set(table["markers"]):
            return
        words = set(re.split(r"[^a-z0-9]+", PurePosixPath(ctx.path).stem.lower()))
        if words & set(table["dev_words"]):
            return
        _report_debug(ctx, self._django_debug, "DEBUG = True", table["debug_effect"])


def _report_debug(ctx: FileContext, node: cst.CSTNode, written: str, effect: str) -> None:
    ctx.report("BOT702", node,
               f"`{written}` turns debug mode on: {effect}. Read it from configuration that "
               "defaults to off.", evidence={"switch": written})


def _fund_moving_route(ctx: FileContext) -> tuple[cst.FunctionDef, str] | None:
    """The first route of the module that moves funds, with the call that does it: in the
    route's body, or in a function of the module the route calls."""
    moving = {id(node): call for capability, node, call in ctx.evidence_nodes
              if capability in _MOVES_FUNDS}
    if not moving:
        return None
    for function, scope in ctx.functions.items():
        parent = scope.parent or scope
        if not any(webapps.route_decorator(d, parent, ctx.resolver)
                   for d in function.decorators):
            continue
        found = _moving_call(function.body, moving)
        for node in _nodes(function.body):
            if found is not None:
                break
            if isinstance(node, cst.Call):
                helper = ctx.resolver.defined_function(node.func, scope)
                if helper is not None and helper is not function:
                    found = _moving_call(helper.body, moving)
        if found is not None:
            return function, found
    return None


def _moving_call(body: cst.CSTNode, moving: dict[int, str]) -> str | None:
    return next((moving[id(n)] for n in _nodes(body) if id(n) in moving), None)


def _nodes(root: cst.CSTNode) -> list[cst.CSTNode]:
    """Every node under `root`, without recursion (bodies can nest deeply)."""
    found: list[cst.CSTNode] = []
    todo = [root]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(node.children)
    return found
