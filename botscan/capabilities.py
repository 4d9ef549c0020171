"""The capability profile: what the bot does with an exchange account or a wallet, and the
least-privilege key that follows from it.

This is what a person vetting a bot acts on: the permissions to tick when creating the key.
It is derived from evidence (file:line of each call), never from what a README claims.
"""

from __future__ import annotations

from collections.abc import Iterable

from botscan.model import Capability, Evidence

ORDER = ("read", "trade", "transfer", "withdraw", "keys", "onchain")
LABELS = {
    "read": "read account data",
    "trade": "trade",
    "transfer": "transfer between accounts",
    "withdraw": "withdraw",
    "keys": "manage API keys",
    "onchain": "sign on-chain transactions",
}


def capability_profile(evidence: Iterable[tuple[str, Evidence]]) -> list[Capability]:
    by_name: dict[str, list[Evidence]] = {}
    for name, where in evidence:
        if where not in by_name.setdefault(name, []):
            by_name[name].append(where)
    return [
        Capability(name, sorted(by_name[name], key=lambda e: (e.path, e.line)))
        for name in ORDER if name in by_name
    ]


def recommendation(capabilities: Iterable[Capability]) -> str:
    """The least-privilege key, in one or two sentences a trader can act on."""
    names = {c.name for c in capabilities}
    exchange = names & {"read", "trade", "transfer", "withdraw", "keys"}
    parts: list[str] = []
    if not names:
        return ("No exchange or wallet call was recognised, so botscan cannot tell which "
                "permissions the bot needs: start with a read-only key.")
    if exchange:
        needed = [LABELS[n] for n in ORDER if n in exchange and n != "keys"]
        if "withdraw" in names:
            parts.append(
                f"Key needs: {' + '.join(needed)}. The bot withdraws: whitelist the withdrawal "
                "addresses on the exchange, restrict the key to your server's IP, or remove the "
                "withdrawal code and create the key without withdrawal permission.")
        else:
            never = "never withdraws" + ("" if "transfer" in names else " or transfers")
            no = "withdrawal" + ("" if "transfer" in names else " or transfer")
            parts.append(
                f"Key needs: {' + '.join(needed) or 'read'}; {never}: create the key without "
                f"{no} permission and restrict it to your server's IP.")
        if "keys" in names:
            parts.append("It manages API keys: never give it a master key that can create or "
                         "change other keys.")
    if "onchain" in names:
        parts.append("It signs blockchain transactions: run it with a dedicated hot wallet that "
                     "holds only what it trades.")
    return " ".join(parts)
