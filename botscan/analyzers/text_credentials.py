"""BOT1xx by text: `name = "value"` bindings read line by line, for any text.

Two callers. The Python analyzer falls back to `scan_text` when libcst cannot parse a file
(Python 2, broken files). The secrets scanner (`botscan.analyzers.secrets`) calls
`line_bindings` on the lines of non-Python text files that can hold a credential name: shell
scripts, READMEs, `.txt` notes, the loose lines of configs. Names and values are judged by the
same credential concept as the Python analyzer, so the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit

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
_COMMENT_PREFIXES = ("#", ";", "//")


def scan_text(text: str, *, unquoted: bool = False, note: str = "") -> list[Hit]:
    """Credential hits in source or config text. `unquoted` also reads `NAME=value` lines;
    `note` is added to each message (e.g. that a Python file was only scanned as text)."""
    hits: dict[tuple[str, int, int], Hit] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for hit in line_bindings(number, line, unquoted=unquoted, note=note):
            hits.setdefault((hit.rule_id, hit.line, hit.column), hit)
        if len(line) > _MAX_LINE or line.lstrip().startswith(_COMMENT_PREFIXES):
            continue
        for match in _QUOTED.finditer(line):
            _self_identifying(hits, number, match.start("value") + 1, match.group("value"))
    return list(hits.values())


def line_bindings(number: int, line: str, *, unquoted: bool = False, note: str = "",
                  extra_names: tuple[tuple[str, str], ...] = ()) -> Iterator[Hit]:
    """Hits for the credential bindings on one line: `name = "value"`, `"key": "value"`,
    `keyword="value"`, and with `unquoted` a whole-line `NAME=value`. Comment lines and lines
    over 20,000 characters (minified code) hold no binding worth the regex time."""
    if len(line) > _MAX_LINE or line.lstrip().startswith(_COMMENT_PREFIXES):
        return
    for match in _BINDING.finditer(line):
        hit = _named(number, match, note, extra_names)
        if hit is not None:
            yield hit
    whole_line = _UNQUOTED.match(line) if unquoted else None
    if whole_line is not None:
        hit = _named(number, whole_line, note, extra_names)
        if hit is not None:
            yield hit


@catalog.derived
def stems(extra_names: tuple[tuple[str, str], ...] = ()) -> tuple[str, ...]:
    """Lower-case fragments, one of which is in every name `credentials.classify_name` can
    recognise (`[stems]` in credentials.toml; a test checks it), plus the user's own names."""
    table = catalog.knowledge("credentials")["stems"]["names"]
    return (*table, *(n.lower() for n, _ in extra_names))


@catalog.derived
def has_stem(name: str, extra_names: tuple[tuple[str, str], ...] = ()) -> bool:
    """Could `name` be a credential name at all? Asking this first is a cached lookup, where
    classifying costs a word split and two table scans for each of the many names of code."""
    lowered = name.lower()
    return any(s in lowered for s in stems(extra_names))


def _named(number: int, match: re.Match[str], note: str,
           extra_names: tuple[tuple[str, str], ...]) -> Hit | None:
    raw_name = match.group("name").strip("\"'")
    context, _, name = raw_name.rpartition(".")
    if not has_stem(name, extra_names):
        return None
    info = cred.classify_name(name, context, extra_names)
    if info is None:
        return None
    value = match.group("value")
    rule_id = cred.choose_rule(info.kind, info, value)
    if rule_id is None:
        return None
    column = match.start("value") + 1
    return Hit(rule_id, number, column, cred.message(rule_id, info.kind, raw_name, value, note),
               secrets=(value,), evidence={"credential_kind": info.kind, "name": raw_name})


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
