"""BOT503 and BOT510 in Python: secrets sent to a third party, and calls to places no trading
bot needs.

Every network call (the NetworkCall concept, `network.py`) has a destination. What its payload
and URL carry is asked of the credential flows (`taint.py`), directly or through the module's
own functions (`taint.Relay`). It is exfiltration (BOT503) when a credential, the whole
environment or a wallet file's contents go somewhere that is not the exchange:

- a messenger, paste site, request bin, tunnel, shortener, IP-lookup or serverless host, a raw
  IP, a throwaway domain, a raw socket, or an address decoded at run time: any of them;
- another known host: a secret, private key or seed phrase in the body or URL (an API key in a
  header is how a data provider is paid for), the environment or a wallet file;
- an address botscan cannot read: the environment or a wallet file only (REST bots build
  exchange URLs from configuration, and sign with their keys).

A service's own credential is no leak: a Telegram bot token in the URL of the Telegram API is
how Telegram works; an API secret in the text of the message is not. Calls to the suspicious
hosts that carry nothing secret are BOT510 (not in tests, which talk to mock servers).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from botscan import credentials as cred
from botscan.analyzers.python import network, prefilter
from botscan.analyzers.python.engine import CallCollector, FileContext
from botscan.analyzers.python.network import Destination
from botscan.analyzers.python.symbols import Scope
from botscan.analyzers.python.taint import (
    DECODED,
    ENVIRONMENT,
    KEY_FILE,
    Origin,
    Relay,
    Source,
    Taint,
    TaintAnalysis,
)

_SENT_OUT_KINDS = frozenset({cred.SECRET, cred.PRIVATE_KEY, cred.MNEMONIC})
"""Credentials that never leave the machine on their way to any API: they sign, they are not
sent. Key ids and tokens travel in headers to the services they belong to."""
_HEADER_PARTS = frozenset({"headers", "auth", "cookies", "header", "extra_headers",
                           "additional_headers"})
_ANYWHERE = frozenset({"messenger", "socket", "cheap_tld"})


@dataclass(frozen=True)
class _Sending:
    call: cst.Call
    shown: str
    part: str
    """`url`, or the payload keyword (`json`, `headers`…)."""
    destination: Destination
    hidden: tuple[str, ...]
    """The decodings that hid the address, if it was decoded at run time."""


@dataclass
class _Leak:
    sending: _Sending
    labels: list[Source | Origin]
    via: cst.FunctionDef | None


class ExfiltrationDetector(CallCollector):
    rules = frozenset({"BOT503", "BOT510"})
    triggers = (prefilter.calls_to("network calls", network.call_patterns),)



    def finish(self, ctx: FileContext) -> None:
        taint = TaintAnalysis(ctx)
        leaks: dict[cst.CSTNode, _Leak] = {}

        def found(sending: _Sending, value: cst.BaseExpression, scope: Scope, labels: Taint,
                  via: cst.FunctionDef | None) -> None:
            leaked = _leaked(labels, sending)
            if not leaked:
                return
            node = value if via is not None else sending.call
            leak = leaks.setdefault(node, _Leak(sending, [], via))
            leak.labels += [label for label in leaked if label not in leak.labels]

        relay: Relay[_Sending] = Relay(taint, self.calls, found)
        calls: list[tuple[cst.Call, network.NetworkCall, Destination, tuple[str, ...]]] = []
        for ev in self.calls:
            call = ev.node
            assert isinstance(call, cst.Call)
            net = network.network_call(call, ev.scope, ctx.resolver)
            if net is None:
                continue
            hidden: tuple[str, ...] = ()
            if net.where is not None:
                hidden = tuple(sorted({o.detail for o in taint.of(net.where, net.scope)
                                       if isinstance(o, Origin) and o.kind == DECODED}))
            where = network.destination(net, ctx.resolver)
            calls.append((call, net, where, hidden))
            if where.category in ("exchange", "local"):
                continue
            if net.where is not None and net.where_kind == "url":
                relay.check(_Sending(call, net.shown, "url", where, hidden), net.where, net.scope)
            for part, value in net.payload:
                relay.check(_Sending(call, net.shown, part, where, hidden), value, net.scope)
        relay.run()
        for node, leak in leaks.items():
            _report_leak(ctx, node, leak)
        if ctx.is_test:
            return  # tests talk to request bins and raw IPs of mock servers
        sent = {leak.sending.call for leak in leaks.values()}
        for call, net, where, hidden in calls:
            if call not in sent:
                _report_endpoint(ctx, call, net, where, hidden)


def _leaked(labels: Taint, sending: _Sending) -> list[Source | Origin]:
    """The labels that must not go where `sending` sends them."""
    where = sending.destination
    category = "hidden" if sending.hidden else where.category
    found: list[Source | Origin] = []
    for label in labels:
        key_file = isinstance(label, Origin) and label.kind == KEY_FILE
        secret = isinstance(label, Source) and (
            label.kind == ENVIRONMENT or _credential_leaks(label, sending, category))
        if (key_file or secret) and isinstance(label, (Source, Origin)):
            found.append(label)
    return found


def _credential_leaks(source: Source, sending: _Sending, category: str) -> bool:
    where = sending.destination
    if set(cred.split_words(source.name)) & where.own_words:
        return False  # the service's own token or key
    if sending.part == "url" and source.kind == cred.TOKEN and where.category == "messenger":
        return False  # `api.telegram.org/bot{TOKEN}/sendMessage`
    if category == "hidden" or category in _ANYWHERE or \
            category in network.suspicious_categories():
        return True
    if category == "public":
        return source.kind in _SENT_OUT_KINDS and sending.part not in _HEADER_PARTS
    return False


def _what(label: Source | Origin) -> str:
    if isinstance(label, Origin):
        return f"The contents of {label.detail}"
    assert isinstance(label, Source)
    if label.kind == ENVIRONMENT:
        return "The whole environment (every key and token in it)"
    return f"{label.label} `{label.name}`"


def _report_leak(ctx: FileContext, node: cst.CSTNode, leak: _Leak) -> None:
    labels = sorted(leak.labels, key=lambda label: (not isinstance(label, Origin),
                                                    getattr(label, "kind", ""),
                                                    getattr(label, "name", "")))
    first = labels[0]
    others = len({_what(label) for label in labels}) - 1
    more = f", with {others} other secret{'s' if others > 1 else ''}" if others else ""
    sending = leak.sending
    hidden = f", an address hidden with {' and '.join(sending.hidden)}" \
        if sending.hidden else ""
    through = f" through `{leak.via.name.value}()` (line @line1@)" if leak.via else ""
    ctx.report(
        "BOT503", node,
        f"{_what(first)} (line @line0@{more}) is sent by `{sending.shown}`{through} to "
        f"{sending.destination.label}{hidden}: that is how stolen keys leave. Do not give this "
        "bot a key; if it had one, delete the key on the exchange now.",
        evidence={"call": sending.shown, "destination": sending.destination.category,
                  "host": sending.destination.host, "hidden": list(sending.hidden),
                  "sent": sorted({getattr(label, "name", getattr(label, "detail", ""))
                                  for label in labels})},
        related=[[first.node], [sending.call]],
    )


_CATEGORY_TEXT = {
    "paste": "paste sites serve and collect text anonymously",
    "file_drop": "anonymous file drops collect uploads",
    "request_bin": "request bins record whatever is sent to them",
    "tunnel": "a tunnel hides the server behind it",
    "shortener": "a short link hides where it leads",
    "ip_lookup": "IP lookups tell a stealer where the machine is",
    "serverless": "a serverless host can stand in front of anyone's server",
    "raw_ip": "a raw IP address stands for a server with no name to vet",
}


def _report_endpoint(ctx: FileContext, call: cst.Call, net: network.NetworkCall,
                     where: Destination, hidden: tuple[str, ...]) -> None:
    suspicious = where.category in network.suspicious_categories()
    if where.category in ("exchange", "local") or not (suspicious or hidden):
        return
    why = _CATEGORY_TEXT.get(where.category, "code that hides where it connects deserves a look")
    how = f", an address hidden with {' and '.join(hidden)}" if hidden else ""
    ctx.report("BOT510", call,
               f"`{net.shown}` talks to {where.label}{how}: {why}. Find out what the bot sends "
               "or fetches there.",
               evidence={"call": net.shown, "destination": where.category, "host": where.host,
                         "hidden": list(hidden)})
