"""BOT1xx by text: credentials in source that cannot be parsed (Python 2, broken files).

When libcst cannot parse a file, botscan still looks for `name = "value"`, `"key": "value"` and
`keyword="value"` shapes line by line, and for the self-identifying formats (seed phrases,
Telegram tokens, Discord webhooks, PEM keys) in every quoted string. Names and values are
judged by the same credential concept as the Python analyzer, so the two agree.
"""

from __future__ import annotations

import re

from botscan import credentials as cred
from botscan.analyzers.hits import Hit

_BINDING = re.compile(
    r"""(?P<name>[A-Za-z_][\w.\-]{0,80}|"[^"\n]{1,80}"|'[^'\n]{1,80}')\s*(?:=|:)\s*"""
    r"""[rRbBuU]{0,2}(?P<q>["'])(?P<value>[^"'\n]{0,4096})(?P=q)"""
)
_QUOTED = re.compile(r"""(?P<q>["'])(?P<value>[^"'\n]{8,4096})(?P=q)""")
_MAX_LINE = 20_000


def scan_text(text: str) -> list[Hit]:
    hits: dict[tuple[str, int, int], Hit] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > _MAX_LINE or line.lstrip().startswith("#"):
            continue
        for match in _BINDING.finditer(line):
            _named(hits, number, match)
        for match in _QUOTED.finditer(line):
            _self_identifying(hits, number, match.start("value") + 1, match.group("value"))
    return list(hits.values())


def _named(hits: dict[tuple[str, int, int], Hit], number: int, match: re.Match[str]) -> None:
    raw_name = match.group("name").strip("\"'")
    context, _, name = raw_name.rpartition(".")
    info = cred.classify_name(name, context)
    value = match.group("value")
    if info is None:
        return
    rule_id = cred.choose_rule(info.kind, info, value)
    if rule_id is None:
        return
    column = match.start("value") + 1
    hits.setdefault(
        (rule_id, number, column),
        Hit(rule_id, number, column, cred.message(rule_id, info.kind, raw_name, value,
                                                  " (found by text scan)"),
            secrets=(value,), evidence={"credential_kind": info.kind, "name": raw_name}),
    )


def _self_identifying(hits: dict[tuple[str, int, int], Hit], number: int, column: int,
                      value: str) -> None:
    found: list[tuple[str, str, str]] = [("BOT106", cred.TOKEN, t)
                                         for t in cred.telegram_tokens(value)]
    found += [("BOT107", cred.WEBHOOK, u) for u in cred.discord_webhooks(value)]
    if cred.seed_phrase(value):
        found.append(("BOT105", cred.MNEMONIC, value))
    for rule_id, kind, secret in found:
        hits.setdefault(
            (rule_id, number, column),
            Hit(rule_id, number, column, cred.message(rule_id, kind, "a string", secret, ""),
                secrets=(secret,)),
        )
