"""The WebApp concept: a bot's dashboard or control API as the code shows it.

What a web application object is (a Flask, FastAPI, Starlette or Dash app, or a router whose
routes an app includes), which of its methods run a server and where that server listens,
which switches turn debug mode on, which functions are its routes, and which servers
(`uvicorn.run`, Werkzeug's `run_simple`) serve it. Everything named here comes from
`checks/knowledge/web.toml`: supporting another framework is a table edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import libcst as cst

from botscan import catalog
from botscan.analyzers.python import concepts
from botscan.analyzers.python.symbols import Resolver, Scope, argument


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("web")


def patterns() -> list[str]:
    """Every constructor and server the concept knows (the detectors' prefilter triggers)."""
    table = _table()
    return [p for section in ("app", "router", "server") for entry in table.get(section, ())
            for p in entry["patterns"]]


def _spec(section: str, qualname: str | None) -> dict[str, Any] | None:
    if qualname is None:
        return None
    return next((dict(e) for e in _table().get(section, ())
                 if concepts.matches_any(e["patterns"], qualname)), None)


def app_constructor(qualname: str | None) -> dict[str, Any] | None:
    """The `[[app]]` entry of a constructor call (`fastapi.FastAPI`), or None."""
    return _spec("app", qualname)


def app_instance(qualname: str | None) -> dict[str, Any] | None:
    """The `[[app]]` entry of an expression holding an app (`flask.Flask()`), or None."""
    if qualname is None or not qualname.endswith("()"):
        return None
    return _spec("app", qualname[:-2])


def route_holder(qualname: str | None) -> dict[str, Any] | None:
    """The entry (app or router) of an expression whose decorators declare routes."""
    if qualname is None or not qualname.endswith("()"):
        return None
    return _spec("app", qualname[:-2]) or _spec("router", qualname[:-2])


def server(qualname: str | None) -> dict[str, Any] | None:
    """The `[[server]]` entry of a function that serves an app (`uvicorn.run`), or None."""
    return _spec("server", qualname)


def everywhere(host: str) -> bool:
    """Does a listen address mean every interface?"""
    return host.strip() in _table()["hosts"]["all_interfaces"]


def auth_names() -> frozenset[str]:
    """Names whose use shows that a module's web app authenticates (see web.toml)."""
    return frozenset(_table()["auth"]["names"])


def django() -> dict[str, Any]:
    return dict(_table()["django"])


@dataclass(frozen=True)
class Serving:
    """A call that starts a server: which app, on which host, with which debug switches."""

    call: cst.Call
    spec: dict[str, Any]
    """The `[[app]]` entry (for `app.run(...)`) or the `[[server]]` entry."""
    app: cst.BaseExpression | None
    """The app expression served (the receiver of `app.run`, the app argument of a server)."""
    host: str | None
    """The listen address, when it is a known string (the default when none is passed)."""


def serving(call: cst.Call, target: str | None, scope: Scope,
            resolver: Resolver) -> Serving | None:
    """What a call serves, if it starts a server: `app.run(host=…)` on an app, or a server
    function (`uvicorn.run(app, host=…)`)."""
    spec = server(target)
    app: cst.BaseExpression | None = None
    if spec is not None:
        app = argument(call, spec.get("app_position"), spec.get("app_keyword"))
    elif isinstance(call.func, cst.Attribute) and target is not None:
        receiver = target.rsplit(".", 1)[0]
        spec = app_instance(receiver)
        if spec is None or call.func.attr.value not in spec.get("run_methods", ()):
            return None
        app = call.func.value
    else:
        return None
    if "host_keyword" not in spec:
        return Serving(call, spec, app, None)
    given = argument(call, spec.get("host_position"), spec["host_keyword"])
    host = (resolver.constant_string(given, scope) if given is not None
            else spec.get("default_host"))
    return Serving(call, spec, app, host)


def debug_keywords(call: cst.Call, target: str | None) -> Iterator[tuple[cst.Arg, str]]:
    """The `debug=True`-like arguments of a constructor or a server start, with the effect of
    the debug mode they switch on."""
    spec = app_constructor(target)
    keywords: list[str] = list(spec.get("constructor_debug", ())) if spec else []
    if spec is None:
        spec = server(target)
        if spec is None and isinstance(call.func, cst.Attribute) and target is not None:
            spec = app_instance(target.rsplit(".", 1)[0])
            if spec is not None and call.func.attr.value not in spec.get("run_methods", ()):
                spec = None
        keywords = list(spec.get("run_debug", ())) if spec else []
    if spec is None:
        return
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords and is_true(arg.value):
            yield arg, str(spec.get("debug_effect", "debug mode"))


def is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def route_decorator(decorator: cst.Decorator, scope: Scope,
                    resolver: Resolver) -> bool:
    """Is this decorator `@app.post(...)`, `@router.get(...)`, `@app.route(...)`?"""
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if not isinstance(expr, cst.Attribute):
        return False
    holder = route_holder(resolver.qualname(expr.value, scope))
    return holder is not None and expr.attr.value in holder.get("route_decorators", ())
