"""BOT504 in Python: reads of credential stores outside the project, and of the clipboard.

The credential-store concept (`stores.py`) evaluates the path each file read, copy or listing
is given, however the code builds it (`expanduser`, `Path.home() / …`, `os.environ["HOME"]`,
`glob`), and says whether it is an SSH key, cloud credentials, a browser profile, a wallet or
another bot's keys. A bot's own configuration, read from its own folder, is none of these.
"""

from __future__ import annotations

import libcst as cst

from botscan.analyzers.python import prefilter, stores
from botscan.analyzers.python.engine import Detector, Event, FileContext
from botscan.analyzers.python.symbols import call_text

_SHOWN_PATH = 80


class CredentialStoreDetector(Detector):
    rules = frozenset({"BOT504"})
    triggers = (prefilter.calls_to("file reads and the clipboard", stores.trigger_words),)

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        shown = call_text(call.func)
        if stores.reads_clipboard(call, ev.scope, ctx.resolver):
            ctx.report("BOT504", call,
                       f"`{shown}` reads the clipboard: clipper malware watches it to swap a "
                       "copied wallet address for the attacker's. A trading bot has no use "
                       "for it.", evidence={"call": shown, "store": "clipboard"})
            return
        accessed = stores.accessed_path(call, ev.scope, ctx.resolver)
        if accessed is None:
            return
        store = stores.credential_store(accessed[1])
        if store is None:
            return
        path = accessed[1].replace(stores.UNKNOWN, "…")
        if len(path) > _SHOWN_PATH:
            path = path[: _SHOWN_PATH - 1] + "…"
        ctx.report("BOT504", call,
                   f"`{shown}` reads {store} (`{path}`): no trading bot needs it, and it is "
                   "where a stealer looks first.",
                   evidence={"call": shown, "store": store, "path": path})
