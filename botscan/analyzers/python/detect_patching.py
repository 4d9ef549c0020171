"""BOT505 in Python: exchange and wallet libraries patched at run time.

An assignment (or `setattr`) that replaces a member through which every signed request, order
or loaded key passes: `ccxt.Exchange.sign = f`, `exchange.prepare_request_headers = f`,
`binance.client.Client._request = f`, `eth_account.Account.from_key = f`, or the class itself
(`ccxt.binance = Evil`). Which members count is knowledge (`protected` in clients.toml, and its
key loaders), asked through `concepts.protected_member`. Subclassing an exchange class and
overriding `sign` in the subclass is how freqtrade and hummingbot customise exchanges, and is
not an assignment: it stays silent.
"""

from __future__ import annotations

import libcst as cst

from botscan.analyzers.python import concepts, prefilter
from botscan.analyzers.python.engine import AssignEvent, Detector, Event, FileContext
from botscan.analyzers.python.symbols import Scope, call_text


class MonkeyPatchDetector(Detector):
    rules = frozenset({"BOT505"})
    triggers = (prefilter.calls_to("exchange and wallet libraries", concepts.patchable_patterns),)
    runs_on_tests = False  # tests patch clients with mocks

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        target = ev.target
        if isinstance(target, cst.Attribute):
            _check(ctx, target, target.value, target.attr.value, ev.scope,
                   f"{call_text(target)} = …")

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        if ctx.resolver.call_target(call, ev.scope) != "builtins.setattr" or len(call.args) < 3:
            return
        member = ctx.resolver.constant_string(call.args[1].value, ev.scope)
        if member:
            _check(ctx, call, call.args[0].value, member, ev.scope,
                   f"setattr({call_text(call.args[0].value)}, {member!r}, …)")


def _check(ctx: FileContext, node: cst.CSTNode, owner: cst.BaseExpression, member: str,
           scope: Scope, written: str) -> None:
    resolved = ctx.resolver.qualname(owner, scope)
    library = concepts.protected_member(resolved, member)
    if library is None:
        return
    ctx.report("BOT505", node,
               f"`{written}` replaces `{member}` of {library} (`{resolved}`) at run time: every "
               "signed request, order or key it handles now passes through the replacement, "
               "which can copy the keys or redirect the money.",
               evidence={"library": library, "member": member, "owner": resolved})
