"""BOT3xx in Python: calls that move funds or manage keys, and the capability evidence.

Every call is matched against `checks/knowledge/funds.toml` by what it is, not by its name:
the receiver must resolve to a client of the library (`exchange = ccxt.binance(...)`), so a
backtest `Portfolio.withdraw` defined in the project is not an exchange call. Long implicit
ccxt names (`sapiPostCapitalWithdrawApply`) identify themselves even on a receiver botscan
cannot resolve; generic names (`withdraw`, `transfer`) on an unresolved receiver count only when
the receiver is named like an exchange client, and then with low confidence.

Trade and read calls produce no finding: they are evidence for the capability profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from botscan import catalog, credentials
from botscan.analyzers.python import concepts, prefilter
from botscan.analyzers.python.engine import Detector, Event, FileContext
from botscan.analyzers.python.options import Options
from botscan.analyzers.python.symbols import (
    Assigned,
    Scope,
    call_text,
    dotted_name,
    literal_value,
)
from botscan.model import Confidence

_CLIENT_WORDS = frozenset({"exchange", "exchanges", "ex", "client", "ccxt", "broker", "binance",
                           "funding", "session", "futures", "spot", "margin", "sub", "user",
                           "okx", "bybit", "kucoin", "kraken", "gate", "bitget", "mexc",
                           "coinbase", "huobi", "htx", "bitfinex", "hyperliquid", "alpaca",
                           "api", "account", "wallet", "w3", "web3"})
_RISK_TEXT = {
    "EXT-HIGH": "value leaves the account",
    "INT-MED": "between the master account and sub-accounts",
    "INT-LOW": "between wallets of the same account",
    "KEY": "changes keys, permissions or payout destinations",
}


@dataclass(frozen=True)
class Operation:
    capability: str
    risk: str
    address: dict[str, Any] | None = None
    note: str = ""


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("funds")


@catalog.derived
def _receiver_patterns() -> dict[str, tuple[str, ...]]:
    return {name: tuple(patterns) for name, patterns in _table()["receivers"].items()}


@catalog.derived
def _methods() -> dict[str, list[tuple[tuple[str, ...], Operation, bool]]]:
    """Method name -> [(receiver patterns, operation, distinctive)]."""
    index: dict[str, list[tuple[tuple[str, ...], Operation, bool]]] = {}
    receivers = _receiver_patterns()
    for entry in _table().get("method", []):
        patterns = tuple(p for r in entry["receivers"] for p in receivers[r])
        operation = Operation(entry["capability"], entry["risk"], entry.get("address"),
                              entry.get("note", ""))
        for name in entry["names"]:
            index.setdefault(name, []).append(
                (patterns, operation, bool(entry.get("distinctive", False))))
    return index


def _parse_value(text: str) -> tuple[str, str]:
    capability, _, risk = text.partition(":")
    return capability, risk


def rule_for(operation: Operation) -> str | None:
    """The finding an operation deserves; None for evidence only (reads, trades, off-chain
    signatures such as exchange logins and DEX order signing)."""
    if operation.capability in ("read", "trade") or operation.risk == "SIGN":
        return None
    if operation.capability == "keys":
        return "BOT304"
    if operation.capability == "onchain":
        return "BOT303"
    if operation.capability == "withdraw" and operation.risk == "EXT-HIGH":
        return "BOT301"
    return "BOT302"


def _call_names(options: Options) -> list[str]:
    """The method names a fund, trade or read call is matched by, and the raw-request methods
    whose path argument can name a withdrawal (`_path_operation`)."""
    table = _table()
    names = [n for entry in table.get("method", []) for n in entry["names"]]
    names += [m for entry in table.get("string_arg", []) for m in entry["methods"]]
    return [*names, "request", "fetch", "fetch2"]


class FundsDetector(Detector):
    rules = frozenset({"BOT301", "BOT302", "BOT303", "BOT304", "BOT305"})
    # Capability evidence (reads, trades) comes from the same matches as the findings.
    triggers = (prefilter.TriggerSet("fund, trade and read methods", identifiers=_call_names),
                prefilter.calls_to("fund functions and HTTP clients", lambda: [
                    *(p for entry in _table().get("function", []) for p in entry["patterns"]),
                    *concepts.http_patterns()]))
    runs_on_tests = False  # tests withdraw from mocks and testnets

    def __init__(self) -> None:
        # On-chain sends take several calls (build, sign, send): one finding per function.
        self._onchain: dict[int, list[tuple[cst.Call, str, Confidence]]] = {}

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        found = self._match(call, ev.scope, ctx)
        if found is None:
            return
        operation, shown, confidence = found
        ctx.evidence(operation.capability, call, shown)
        rule_id = rule_for(operation)
        if rule_id is None:
            return
        destination = _literal_destination(call, operation, ev.scope, ctx)
        if destination is not None and operation.capability in ("withdraw", "onchain",
                                                                 "transfer"):
            ctx.report("BOT305", call,
                       f"`{shown}` sends funds to a destination written in the code "
                       f"(`{destination[:10]}…`): whoever wrote it receives the money. Do not "
                       "run this bot with a key that can withdraw.",
                       evidence={"call": shown, "destination": destination,
                                 "capability": operation.capability}, confidence=confidence)
            return
        if rule_id == "BOT303":
            self._onchain.setdefault(id(ev.scope), []).append((call, shown, confidence))
            return
        what = {"BOT301": "withdraws funds out of the account",
                "BOT302": "transfers funds",
                "BOT303": "signs or sends a blockchain transaction",
                "BOT304": "manages API keys or permissions"}[rule_id]
        needs = {"BOT301": "it needs a key with withdrawal permission",
                 "BOT302": "it needs a key with transfer permission",
                 "BOT303": "whoever runs it holds a wallet's signing key",
                 "BOT304": "it needs a key that can manage keys"}[rule_id]
        risk = _RISK_TEXT.get(operation.risk, "")
        ctx.report(rule_id, call,
                   f"`{shown}` {what}" + (f" ({risk})" if risk else "") + f": {needs}.",
                   evidence={"call": shown, "capability": operation.capability,
                             "risk": operation.risk}, confidence=confidence)

    def finish(self, ctx: FileContext) -> None:
        for calls in self._onchain.values():
            call, shown, confidence = calls[0]
            others = list(dict.fromkeys(name for _, name, _ in calls[1:] if name != shown))
            also = f" (then {', '.join(f'`{o}`' for o in others[:3])})" if others else ""
            ctx.report("BOT303", call,
                       f"`{shown}`{also} signs or sends a blockchain transaction: whoever runs "
                       "the bot holds a wallet's signing key, and this code moves its assets.",
                       evidence={"calls": [shown, *others], "capability": "onchain"},
                       confidence=confidence)

    # --- matching -------------------------------------------------------------------------------
    def _match(self, call: cst.Call, scope: Scope,
               ctx: FileContext) -> tuple[Operation, str, Confidence] | None:
        target = ctx.resolver.call_target(call, scope)
        shown = call_text(call.func)
        for entry in _table().get("function", []):
            if concepts.matches_any(entry["patterns"], target):
                return Operation(entry["capability"], entry["risk"], entry.get("address")), \
                    shown, Confidence.HIGH
        split = _receiver_and_method(call.func, scope, ctx)
        if split is None:
            return None
        receiver_expr, method = split
        receiver = ctx.resolver.qualname(receiver_expr, scope)
        if receiver is not None and not _known_root(receiver):
            receiver = None  # a project module's factory: as good as unknown
        by_string = self._string_operation(call, method, receiver)
        if by_string is not None:
            return by_string, shown, Confidence.HIGH
        by_path = self._path_operation(call, scope, ctx, target, method, receiver)
        if by_path is not None:
            return by_path, shown, Confidence.HIGH
        for patterns, operation, distinctive in _methods().get(method, []):
            if receiver is not None:
                if concepts.matches_any(patterns, receiver):
                    return operation, shown, Confidence.HIGH
                continue
            if distinctive:
                return operation, shown, Confidence.MEDIUM
            if method in _GENERIC_METHODS:
                continue  # `client.send(...)` on an unknown client could be anything
            words = set(credentials.split_words(_container_name(receiver_expr)))
            if words & _CLIENT_WORDS:
                return operation, shown, Confidence.LOW
        return None

    @staticmethod
    def _string_operation(call: cst.Call, method: str,
                          receiver: str | None) -> Operation | None:
        """`api.query_private("Withdraw", …)`, `{"action": {"type": "withdraw3"}}`: the
        operation is a string argument, or a string under a key of a dict argument."""
        receivers = _receiver_patterns()
        for entry in _table().get("string_arg", []):
            if method not in entry["methods"]:
                continue
            patterns = tuple(p for r in entry["receivers"] for p in receivers[r])
            if receiver is None:
                if method in _GENERIC_METHODS:
                    continue  # `x.request("transfer")` on an unknown x could be anything
            elif not concepts.matches_any(patterns, receiver):
                continue
            for value in _selector_strings(call, entry):
                selected = entry["values"].get(value)
                if selected is not None:
                    capability, risk = _parse_value(selected)
                    return Operation(capability, risk)
        return None

    @staticmethod
    def _path_operation(call: cst.Call, scope: Scope, ctx: FileContext, target: str | None,
                        method: str, receiver: str | None) -> Operation | None:
        """A raw REST path passed to an HTTP client or to ccxt's `request`/`fetch2`."""
        raw_request = method in ("request", "fetch2", "fetch") and (
            receiver is None or concepts.client_instance(receiver) is not None)
        if not (concepts.is_http_call(target) or raw_request):
            return None
        best: Operation | None = None
        for arg in call.args[:2]:
            parts = ctx.resolver.string_parts(arg.value, scope)
            if parts is None:
                continue
            segments = _path_segments(parts)
            for entry in _paths_ending_with(segments[-1] if segments else ""):
                if any(_segments_match(p, segments) for p in entry["patterns"]):
                    found = Operation(entry["capability"], entry["risk"],
                                      note=entry.get("exchange", ""))
                    if best is None or _RISK_ORDER[found.risk] > _RISK_ORDER[best.risk]:
                        best = found
        if best is not None and _http_verb(call, method, scope, ctx) == "GET":
            return Operation("read", "READ")  # a GET of a withdrawal path lists history
        return best


# Method names too common to identify a library on an unknown receiver.
_GENERIC_METHODS = frozenset({"request", "fetch", "fetch2", "post", "get", "put", "send", "call",
                              "sign", "submit", "execute", "run"})
_RISK_ORDER = {"READ": 0, "TRADE": 1, "INT-LOW": 2, "INT-MED": 3, "KEY": 4, "EXT-HIGH": 5}
_UNKNOWN = "\x00"


def _selector_strings(call: cst.Call, entry: dict[str, Any]) -> list[str]:
    """The strings that select the operation: a positional or keyword argument, or every
    string found under `key` in dict arguments."""
    if "key" in entry:
        found: list[str] = []
        for arg in call.args:
            _strings_under(arg.value, str(entry["key"]), found)
        return found
    chosen: cst.BaseExpression | None = None
    position = int(entry.get("position", 0))
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if position < len(positional):
        chosen = positional[position].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == entry.get("keyword"):
            chosen = arg.value
    if isinstance(chosen, cst.SimpleString):
        value = literal_value(chosen)
        return [value] if value is not None else []
    return []


def _strings_under(node: cst.BaseExpression, key: str, found: list[str]) -> None:
    if not isinstance(node, cst.Dict):
        return
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            continue
        if isinstance(element.key, cst.SimpleString) and literal_value(element.key) == key \
                and isinstance(element.value, cst.SimpleString):
            value = literal_value(element.value)
            if value is not None:
                found.append(value)
        _strings_under(element.value, key, found)


@catalog.derived
def _path_index() -> dict[str, list[dict[str, Any]]]:
    """[[path]] entries by their last segment (`*` under its own key), patterns pre-split."""
    index: dict[str, list[dict[str, Any]]] = {}
    for entry in _table().get("path", []):
        for path in entry["paths"]:
            segments = [s for s in path.split("/") if s]
            if not segments:
                continue
            compiled = dict(entry, patterns=[segments])
            index.setdefault(segments[-1], []).append(compiled)
    return index


def _paths_ending_with(last: str) -> list[dict[str, Any]]:
    index = _path_index()
    return index.get(last, []) + (index.get("*", []) if last else [])


def _path_segments(parts: list[str | None]) -> list[str]:
    """The path segments of a statically built URL or path: host, query and fragment go."""
    text = "".join(p if p is not None else _UNKNOWN for p in parts)
    if "://" in text:
        text = text.split("://", 1)[1]
        text = text[text.find("/"):] if "/" in text else ""
    for mark in ("?", "#"):
        text = text.split(mark, 1)[0]
    return [s for s in text.split("/") if s]


def _segments_match(pattern: list[str], segments: list[str]) -> bool:
    """Whole segments at the end of the path; `*` is one segment, and matches an unknown
    part of an f-string."""
    if len(segments) < len(pattern):
        return False
    tail = segments[len(segments) - len(pattern):]
    for want, have in zip(pattern, tail, strict=True):
        if want == "*":
            continue
        if want != have:
            return False
    return True


def _http_verb(call: cst.Call, method: str, scope: Scope, ctx: FileContext) -> str | None:
    """GET/POST…: from the method name (`requests.get`) or a method argument."""
    if method.lower() in ("get", "post", "put", "delete", "patch", "head"):
        return method.upper()
    for arg in call.args:
        name = arg.keyword.value if arg.keyword is not None else None
        if name in ("method", "verb") or (name is None and arg is call.args[0]
                                           and method == "request"):
            value = ctx.resolver.constant_string(arg.value, scope)
            if value and value.upper() in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                return value.upper()
    positional = [a for a in call.args if a.keyword is None]
    if method in ("request", "fetch2", "fetch") and len(positional) > 2:
        value = ctx.resolver.constant_string(positional[2].value, scope)
        if value and value.upper() in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            return value.upper()
    return None


def _receiver_and_method(func: cst.BaseExpression, scope: Scope,
                         ctx: FileContext) -> tuple[cst.BaseExpression, str] | None:
    """`exchange.withdraw` -> (exchange, "withdraw"); also through `getattr(exchange,
    "withdraw")`, called directly or bound to a name first."""
    if isinstance(func, cst.Attribute):
        return func.value, func.attr.value
    if isinstance(func, cst.Name):
        # `w = client.withdraw; w(...)` or `w = getattr(client, "withdraw")`: a bound method
        # must not hide the call.
        for binding in scope.lookup(func.value):
            if not isinstance(binding, Assigned):
                continue
            if isinstance(binding.value, cst.Attribute):
                return binding.value.value, binding.value.attr.value
            if isinstance(binding.value, cst.Call):
                parts = _getattr_parts(binding.value, binding.scope, ctx)
                if parts is not None:
                    return parts
        return None
    if isinstance(func, cst.Call):
        return _getattr_parts(func, scope, ctx)
    return None


def _getattr_parts(call: cst.Call, scope: Scope,
                   ctx: FileContext) -> tuple[cst.BaseExpression, str] | None:
    """`getattr(client, "withdraw")`, also when the name is built (`"with" + "draw"`), held by
    a variable, or decoded (`b64decode("d2l0aGRyYXc=").decode()`): a hidden method name is
    still the method."""
    if isinstance(call.func, cst.Name) and call.func.value == "getattr" and len(call.args) >= 2:
        name = ctx.resolver.constant_string(call.args[1].value, scope)
        if name and name.isidentifier():
            return call.args[0].value, name
    return None


@catalog.derived
def _library_roots() -> frozenset[str]:
    """First segments of every library botscan knows clients of (ccxt, binance, web3…)."""
    roots = {p.split(".")[0] for patterns in _receiver_patterns().values() for p in patterns}
    for entry in catalog.knowledge("clients")["client"]:
        roots |= {p.split(".")[0] for p in entry["patterns"]}
    return frozenset(r for r in roots if r and not r.startswith(("*", "{")))


def _known_root(qualname: str) -> bool:
    return qualname.startswith(".") or qualname.split(".")[0] in _library_roots()


def _container_name(node: cst.BaseExpression) -> str:
    """The name a receiver goes by: `exchange` for `exchange["spot"]`, `self.logger` for
    `self.logger()`."""
    while isinstance(node, (cst.Subscript, cst.Call)):
        node = node.value if isinstance(node, cst.Subscript) else node.func
    return dotted_name(node) or ""


def _literal_destination(call: cst.Call, operation: Operation, scope: Scope,
                         ctx: FileContext) -> str | None:
    """The destination of a withdrawal when it is a constant of the code, not configuration."""
    spec = operation.address
    if not spec:
        return None
    candidates: list[cst.BaseExpression] = []
    position = spec.get("position")
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if position is not None and int(position) < len(positional):
        candidates.append(positional[int(position)].value)
    keywords = set(spec.get("keywords", ()))
    candidates += [a.value for a in call.args if a.keyword and a.keyword.value in keywords]
    for candidate in candidates:
        value = ctx.resolver.constant_string(candidate, scope)
        if value and len(value) >= 8 and not credentials.is_placeholder(value):
            return value
    return None
