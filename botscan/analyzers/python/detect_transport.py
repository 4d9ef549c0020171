"""BOT4xx in Python: plain-text URLs and TLS verification switched off.

A URL counts when it is written as a URL in code: a string (literal, f-string, concatenation)
that *starts* with `http://` or `ws://`, whose host botscan can read, and that is not prose (a
docstring, a log or help message, a comparison, an XML namespace). The host decides the rule:
an exchange API host is BOT403, another public host BOT401, a private-network host BOT402, and
loopback or documentation hosts are silent.
"""

from __future__ import annotations

import libcst as cst

from botscan.analyzers.python import concepts, prefilter
from botscan.analyzers.python.engine import AssignEvent, Detector, Event, FileContext
from botscan.analyzers.python.network import classify_host, url_host
from botscan.analyzers.python.symbols import dotted_name, literal_value

_STRING_BUILDERS = (cst.ConcatenatedString, cst.FormattedString, cst.FormattedStringExpression,
                    cst.BinaryOperation)


def _outermost(ev: Event) -> tuple[cst.CSTNode, list[cst.CSTNode]]:
    """The whole string expression a literal belongs to, and that expression's ancestors."""
    node: cst.CSTNode = ev.node
    parents = list(ev.parents)
    while parents and isinstance(parents[-1], _STRING_BUILDERS):
        parent = parents.pop()
        if isinstance(parent, cst.BinaryOperation) and not isinstance(parent.operator, cst.Add):
            parents.append(parent)
            break
        node = parent
    if isinstance(node, cst.FormattedStringExpression):  # a literal inside {…} of an f-string
        return ev.node, list(ev.parents)
    return node, parents


def _is_prose(node: cst.CSTNode, parents: list[cst.CSTNode], ctx: FileContext,
              ev: Event) -> bool:
    """Docstrings, messages, comparisons and dict keys hold URLs that nothing connects to."""
    parent = parents[-1] if parents else None
    if isinstance(parent, cst.Expr):
        return True  # a docstring or a bare string statement
    if isinstance(parent, (cst.Assign, cst.AnnAssign)):
        targets = parent.targets if isinstance(parent, cst.Assign) else [parent]
        names = " ".join(dotted_name(t.target) or "" for t in targets)
        if concepts.is_link_name(names):
            return True
    for ancestor in reversed(parents):
        if isinstance(ancestor, (cst.Comparison, cst.ComparisonTarget, cst.Raise,
                                 cst.Subscript, cst.Assert)):
            return True
        if isinstance(ancestor, cst.DictElement) and ancestor.key is node:
            return True
        if isinstance(ancestor, cst.Arg) and ancestor.keyword is not None and \
                concepts.is_message_keyword(ancestor.keyword.value):
            return True
        if isinstance(ancestor, cst.Call):
            target = ctx.resolver.call_target(ancestor, ev.scope)
            if concepts.is_http_call(target):
                return False
            method = ancestor.func.attr.value if isinstance(ancestor.func, cst.Attribute) \
                else None
            return bool(concepts.is_message_call(target, method))
        if isinstance(ancestor, (cst.SimpleStatementLine, cst.IndentedBlock)):
            break
    return False


def _is_false(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "False"
    return isinstance(node, cst.Integer) and node.value == "0"


class TransportDetector(Detector):
    rules = frozenset({"BOT401", "BOT402", "BOT403", "BOT404", "BOT405"})
    # Test code talks to mock servers and fixtures, and never runs in production.
    runs_on_tests = False
    names_wanted = frozenset({"CERT_NONE", "_create_unverified_context"})
    triggers = (b"http://", b"ws://", b"cert_none", b"_create_unverified_context",
                prefilter.TriggerSet("TLS switches",
                                     identifiers=lambda options: concepts.tls_switch_names()))

    def string_wanted(self, raw: str) -> bool:
        lowered = raw.lower()
        return "http://" in lowered or "ws://" in lowered

    # --- plain-text URLs ----------------------------------------------------------------------
    def on_string(self, ev: Event, ctx: FileContext) -> None:
        node, parents = _outermost(ev)
        if node is not ev.node and not self._first_literal(node, ev.node):
            return  # reported once, for the literal that starts the expression
        if not isinstance(node, cst.BaseExpression):
            return
        parts = ctx.resolver.string_parts(node, ev.scope)
        if parts is None:
            return
        found = url_host(parts)
        if found is None or _is_prose(node, parents, ctx, ev):
            return
        scheme, host = found
        where = classify_host(host)
        if where is None:
            return
        rule_id = {"exchange": "BOT403", "public": "BOT401", "private": "BOT402"}[where]
        secure = "https" if scheme == "http" else "wss"
        what = {"exchange": "the exchange API host", "public": "the public host",
                "private": "the private-network host"}[where]
        ctx.report(
            rule_id, node,
            f"Plain-text {scheme}:// to {what} `{host}`: traffic can be read and changed on the "
            f"way. Use {secure}:// instead.",
            evidence={"host": host, "scheme": scheme, "network": where},
        )

    @staticmethod
    def _first_literal(outer: cst.CSTNode, literal: cst.CSTNode) -> bool:
        """Is `literal` the first string literal of `outer` (left-most leaf)?"""
        node = outer
        while True:
            if node is literal:
                return True
            if isinstance(node, (cst.ConcatenatedString, cst.BinaryOperation)):
                node = node.left
            elif isinstance(node, cst.FormattedString):
                if not node.parts:
                    return False
                node = node.parts[0]
            else:
                return False

    # --- TLS switches ---------------------------------------------------------------------------
    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        target = ctx.resolver.call_target(call, ev.scope)
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else (
            call.func.value if isinstance(call.func, cst.Name) else None)
        cert_keywords, _ = concepts.cert_reqs_names()
        hostname = concepts.hostname_check_names()
        for arg in call.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if _is_false(arg.value) and \
                    concepts.tls_keyword_disables(keyword, target, method):
                ctx.report("BOT404", arg, f"`{keyword}=False` switches TLS certificate "
                           f"verification off for `{target or method}`: anyone on the path can "
                           "impersonate the server. Remove it, or pass a CA bundle.",
                           evidence={"call": target or method, "keyword": keyword})
            elif keyword in cert_keywords and self._cert_none_string(arg.value):
                ctx.report("BOT404", arg, "`cert_reqs='CERT_NONE'` switches TLS certificate "
                           "verification off. Remove it.", evidence={"keyword": keyword})
            elif keyword in hostname["keywords"] and _is_false(arg.value):
                ctx.report("BOT405", arg, f"`{keyword}=False` accepts a certificate for any "
                           "host. Remove it.", evidence={"keyword": keyword})

    def on_dict(self, ev: Event, ctx: FileContext) -> None:
        node = ev.node
        assert isinstance(node, cst.Dict)
        _, cert_keys = concepts.cert_reqs_names()
        hostname_keys = concepts.hostname_check_names()["dict_keys"]
        exchange_keys = concepts.exchange_verify_names()["config_keys"]
        option_dicts = concepts.tls_option_dicts()
        is_exchange_config = self._exchange_config(ev, ctx)
        if self._passed_as(ev, option_dicts["keywords"]):
            exchange_keys = exchange_keys + option_dicts["keys"]
            is_exchange_config = True
        for element in node.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key,
                                                                          cst.SimpleString):
                continue
            key = literal_value(element.key)
            if key in cert_keys and self._cert_none_string(element.value):
                ctx.report("BOT404", element, f"`{key}: 'CERT_NONE'` switches TLS certificate "
                           "verification off. Remove it.", evidence={"key": key})
            elif key in hostname_keys and _is_false(element.value):
                ctx.report("BOT405", element, f"`{key}: False` accepts a certificate for any "
                           "host. Remove it.", evidence={"key": key})
            elif key in exchange_keys and is_exchange_config and \
                    _is_false(element.value):
                ctx.report("BOT404", element, f"`'{key}': False` in the client's options: TLS "
                           "certificate verification is off for every request it sends. "
                           "Remove it.", evidence={"key": key})

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        target = ev.target
        if not isinstance(target, cst.Attribute) or not _is_false(ev.value):
            return
        attr = target.attr.value
        if attr in concepts.hostname_check_names()["attributes"]:
            ctx.report("BOT405", target, f"`{dotted_name(target) or attr} = False` accepts a "
                       "certificate for any host. Remove it.", evidence={"attribute": attr})
            return
        receiver = ctx.resolver.qualname(target.value, ev.scope)
        client = concepts.client_instance(receiver)
        http_session = receiver is not None and receiver.endswith("()") and \
            concepts.tls_keyword_disables(attr, receiver[:-2], None)
        if attr in concepts.exchange_verify_names()["attributes"] and (
                (client is not None and client.exchange) or http_session):
            ctx.report("BOT404", target, f"`{dotted_name(target) or attr} = False` switches TLS "
                       "certificate verification off for every request of this client. "
                       "Remove it.", evidence={"attribute": attr, "receiver": receiver})

    def on_name(self, ev: Event, ctx: FileContext) -> None:
        node = ev.node
        assert isinstance(node, (cst.Name, cst.Attribute))
        if any(isinstance(p, (cst.Comparison, cst.ComparisonTarget)) for p in ev.parents):
            return
        qualname = ctx.resolver.qualname(node, ev.scope)
        if qualname == "ssl.CERT_NONE":
            ctx.report("BOT404", node, "`ssl.CERT_NONE` switches TLS certificate verification "
                       "off: anyone on the path can impersonate the server. Use "
                       "`ssl.CERT_REQUIRED` (the default of `ssl.create_default_context()`).",
                       evidence={"name": qualname})
        elif qualname == "ssl._create_unverified_context":
            ctx.report("BOT404", node, "`ssl._create_unverified_context` builds a context that "
                       "verifies nothing. Use `ssl.create_default_context()`.",
                       evidence={"name": qualname})

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _cert_none_string(node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.SimpleString) and literal_value(node) == "CERT_NONE"

    @staticmethod
    def _passed_as(ev: Event, keywords: list[str]) -> bool:
        """Is this dict literal the value of one of these keyword arguments?"""
        parent = ev.parents[-1] if ev.parents else None
        return isinstance(parent, cst.Arg) and parent.keyword is not None and \
            parent.keyword.value in keywords

    @staticmethod
    def _exchange_config(ev: Event, ctx: FileContext) -> bool:
        if len(ev.parents) < 2 or not isinstance(ev.parents[-1], cst.Arg):
            return False
        call = ev.parents[-2]
        if not isinstance(call, cst.Call):
            return False
        spec = concepts.client_for(ctx.resolver.call_target(call, ev.scope))
        return spec is not None and spec.exchange and spec.config_arg is not None

