"""The cheap step before the slow ones: which lines could any detector fire on, and which.

detect-secrets dispatches every line to every plugin from Python (about 0.2 MB/s), and most of
a repository's text (docs, data, minified JavaScript) holds nothing any plugin could match. Each
plugin is given *triggers*: patterns that every match of the plugin contains, searched once over
the whole text. A line goes to detect-secrets only with the plugins it triggered. Triggers begin
with a literal wherever the plugin allows it, because Python's `re` then skips ahead at memchr
speed (a few GB/s) instead of trying every position.

Soundness, for the plugins whose hits botscan reports whatever the line says (role service,
pem, password): whatever the plugin can report on a line contains a match of one of its
triggers on that line (see the notes below, and tests/test_secrets_prefilter.py, which checks
it against detect-secrets itself). A trigger searched over the whole text still marks every
line the plugin would fire on: a match the search skips is overlapped by an earlier match on
the same line, which marks that line. The context plugins (keyword, entropy, JWT) are reported
only where a credential name stands before the value (`scanner`), so they need exactly the
lines of the NAMES trigger; every keyword of the keyword plugin holds one of its stems too.

Case: triggers of case-insensitive matches search `text.lower()`. Python's `re.IGNORECASE`
also lets `i` match U+0130/U+0131 and `s` match U+017F, which `lower()` does not map to ASCII;
a text holding one of those (or whose lower-casing changes its length) marks every line for
those triggers instead, so the rule holds without a costlier folding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from botscan.analyzers.secrets.textmap import TextMap

_HEX = r"0-9a-fA-F"
FOLD_EXCEPTIONS = frozenset("\u0130\u0131\u017f")
"""Characters that `re.IGNORECASE` matches to an ASCII letter but `str.lower()` does not turn
into that letter (computed over all of Unicode by the tests)."""


@dataclass(frozen=True)
class Trigger:
    group: str
    """The detect-secrets plugin (class name) or botscan detector the trigger stands for."""
    pattern: re.Pattern[str]
    folded: bool = False
    """Search the lower-cased text: the detector matches case-insensitively."""


def _trigger(group: str, *alternatives: str, folded: bool = False) -> tuple[Trigger, ...]:
    """One trigger per alternative (each keeps its literal prefix fast)."""
    return tuple(Trigger(group, re.compile(a), folded) for a in alternatives)


def _literal(group: str, *literals: str, folded: bool = False) -> tuple[Trigger, ...]:
    return _trigger(group, *(re.escape(lit) for lit in literals), folded=folded)


DETECT_SECRETS_TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    # `(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}`, and `aws.{0,20}?…` (case-insensitive).
    "AWSKeyDetector": (*_trigger("AWSKeyDetector", r"A(?:3T|BIA|CCA|KIA|SIA)"),
                       *_literal("AWSKeyDetector", "aws", folded=True)),
    # `AKC[a-zA-Z0-9]{10,}` and `AP[\dABCDEF][a-zA-Z0-9]{8,}`.
    "ArtifactoryDetector": _trigger("ArtifactoryDetector", r"A(?:KC|P[0-9A-F])"),
    "AzureStorageKeyDetector": _literal("AzureStorageKeyDetector", "AccountKey="),
    "BasicAuthDetector": _literal("BasicAuthDetector", "://"),
    # `[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}`: its second dot onwards,
    # which starts with a literal.
    "DiscordBotTokenDetector": _trigger("DiscordBotTokenDetector",
                                        r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"),
    "GitHubTokenDetector": _trigger("GitHubTokenDetector", r"gh[pousr]_"),
    "GitLabTokenDetector": _trigger("GitLabTokenDetector",
                                    r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-",
                                    r"GR1348941"),
    "MailchimpDetector": _literal("MailchimpDetector", "-us"),
    "NpmDetector": _literal("NpmDetector", "_authToken="),
    "OpenAIDetector": _literal("OpenAIDetector", "T3BlbkFJ"),
    "PrivateKeyDetector": _literal("PrivateKeyDetector", "PRIVATE KEY", "PuTTY-User-Key-File-2"),
    "PypiTokenDetector": _literal("PypiTokenDetector", "pypi-AgE"),
    "SendGridDetector": _literal("SendGridDetector", "SG."),
    "SlackDetector": _literal("SlackDetector", "xox", "hooks.slack.com", folded=True),
    "SquareOAuthDetector": _literal("SquareOAuthDetector", "sq0csp-"),
    "StripeDetector": _literal("StripeDetector", "k_live_"),
    # `AC[a-z0-9]{32}` and `SK[a-z0-9]{32}`.
    "TwilioKeyDetector": _trigger("TwilioKeyDetector", r"AC[a-z0-9]{32}", r"SK[a-z0-9]{32}"),
}

# botscan's own line detectors, and the NAMES group the context plugins ride on.
NAMES = "names"
TELEGRAM = "telegram"
WEBHOOK = "webhook"
EVM_KEY = "evm"

OWN_TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    # `<8-10 digits>:<35 characters>`: the colon is the literal the search starts from.
    TELEGRAM: _trigger(TELEGRAM, r":[A-Za-z0-9_-]{35}"),
    WEBHOOK: _literal(WEBHOOK, "/webhooks/"),
    EVM_KEY: _trigger(EVM_KEY, rf"0x[{_HEX}]{{64}}"),
}


def name_triggers(stems: Iterable[str]) -> tuple[Trigger, ...]:
    """One trigger for the lines that may bind a value to a credential name: any stem,
    case-insensitively (an alternation is one pass, where a search per stem is one each)."""
    alternatives = sorted({re.escape(s.lower()) for s in stems if s}, key=len, reverse=True)
    return _trigger(NAMES, "|".join(alternatives), folded=True) if alternatives else ()


def _folded(text: str) -> str | None:
    """`text.lower()` when it keeps every offset and every case-insensitive match, else None."""
    if text.isascii():
        return text.lower()
    if any(ch in text for ch in FOLD_EXCEPTIONS):
        return None
    low = text.lower()
    return low if len(low) == len(text) else None


def candidates(tm: TextMap, triggers: Sequence[Trigger]) -> dict[int, set[str]]:
    """Line number -> the groups whose triggers fired on that line."""
    text = tm.text
    found: dict[int, set[str]] = {}
    folded: str | None = None
    folded_done = False
    everywhere: set[str] = set()
    starts = tm.starts
    for trigger in triggers:
        haystack = text
        if trigger.folded:
            if not folded_done:
                folded, folded_done = _folded(text), True
            if folded is None:
                everywhere.add(trigger.group)
                continue
            haystack = folded
        search = trigger.pattern.search
        match = search(haystack)
        while match is not None:
            first = tm.line_of(match.start())
            last = tm.line_of(max(match.end() - 1, match.start()))
            for number in range(first, last + 1):
                found.setdefault(number, set()).add(trigger.group)
            # The line is marked: go on from the next one, so a trigger repeated all over a
            # data file costs one search per line at most.
            match = search(haystack, starts[last]) if last < len(starts) else None
    if everywhere:
        for number in range(1, len(tm.lines) + 1):
            found.setdefault(number, set()).update(everywhere)
    return found
