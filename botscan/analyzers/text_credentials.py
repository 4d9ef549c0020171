"""BOT1xx by text: credentials in source that cannot be parsed (Python 2, broken files).

When libcst cannot parse a file, botscan still looks for `name = "value"`, `"key": "value"` and
`keyword="value"` shapes line by line, and for the self-identifying formats (seed phrases,
Telegram tokens, Discord webhooks, PEM keys) in every quoted string. Names and values are
judged by the same credential concept as the Python analyzer, so the two agree.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit, finalize
from botscan.model import Finding, Notice, NoticeKind
from botscan.sources.decode import decode_text

_BINDING = re.compile(
    r"""(?P<name>[A-Za-z_][\w.\-]{0,80}|"[^"\n]{1,80}"|'[^'\n]{1,80}')\s*(?:=|:)\s*"""
    r"""[rRbBuU]{0,2}(?P<q>["'])(?P<value>[^"'\n]{0,4096})(?P=q)"""
)
_QUOTED = re.compile(r"""(?P<q>["'])(?P<value>[^"'\n]{8,4096})(?P=q)""")
# `KEY=value` (.env, shell), `key: value` (YAML), `key = value` (INI): a whole line.
_UNQUOTED = re.compile(
    r"""^\s*(?:export\s+|-\s+)?(?P<name>[A-Za-z_][\w.\-]{0,80})\s*(?:=|:)[ \t]*"""
    r"""(?P<value>[^\s"'#\[{|>&][^\s#]{0,4095})\s*(?:\s#.*)?$"""
)
_MAX_LINE = 20_000


def scan_text(text: str, *, unquoted: bool = False, note: str = "") -> list[Hit]:
    """Credential hits in source or config text. `unquoted` also reads `NAME=value` lines;
    `note` is added to each message (e.g. that a Python file was only scanned as text)."""
    hits: dict[tuple[str, int, int], Hit] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > _MAX_LINE or line.lstrip().startswith(("#", ";", "//")):
            continue
        for match in _BINDING.finditer(line):
            _named(hits, number, match, note)
        whole_line = _UNQUOTED.match(line) if unquoted else None
        if whole_line is not None:
            _named(hits, number, whole_line, note)
        for match in _QUOTED.finditer(line):
            _self_identifying(hits, number, match.start("value") + 1, match.group("value"))
    return list(hits.values())


def _named(hits: dict[tuple[str, int, int], Hit], number: int, match: re.Match[str],
           note: str) -> None:
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
        Hit(rule_id, number, column, cred.message(rule_id, info.kind, raw_name, value, note),
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


@catalog.derived
def _files() -> dict[str, Any]:
    return catalog.knowledge("files")


def config_syntax(path: str) -> str | None:
    """"quoted" or "unquoted" for the config-like files botscan reads, else None.

    Example files (`config.example.json`, `.env.sample`) document a shape, not a secret, and
    are not read.
    """
    name = PurePosixPath(path).name.lower()
    table = _files()
    parts = set(name.replace("-", ".").replace("_", ".").split("."))
    if parts.intersection(table["examples"]["markers"]):
        return None
    config = table["config"]
    suffix = PurePosixPath(name).suffix
    if name in config["names"] or name.startswith(tuple(config["name_prefixes"])):
        return "unquoted"
    if suffix in config["suffixes"]:
        return "unquoted" if suffix in config["unquoted_suffixes"] else "quoted"
    return None


def analyze_config(path: str, data: bytes, enabled: frozenset[str] | None = None,
                   ) -> tuple[list[Finding], list[Notice]]:
    decoded = decode_text(data)
    notices = []
    if decoded.had_errors:
        notices.append(Notice(path, NoticeKind.DECODING,
                              f"not cleanly decodable: read as {decoded.encoding} with "
                              "replacement characters"))
    hits = scan_text(decoded.text, unquoted=config_syntax(path) == "unquoted")
    hits = [h for h in hits if enabled is None or h.rule_id in enabled]
    return finalize(path, decoded.text, hits), notices
