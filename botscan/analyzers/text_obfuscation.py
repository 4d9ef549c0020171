"""BOT507 by text: Python source built so that nobody reads it.

These signs live in the text, not in the syntax tree, and the least readable files are the
likeliest not to parse at all, so the Python analyzer runs this on the decoded text of every
file, parsed or not, as it runs the text credential scan on files it cannot parse: PyArmor
runtime markers, long encoded blobs in string literals, long runs of `\\x` or octal escapes,
code pushed past the right edge of the screen, and bidirectional-control characters that make
the code display differently from what runs. Thresholds are in `checks/knowledge/code.toml`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

from botscan import catalog
from botscan.analyzers.hits import Hit
from botscan.testcode import is_test_path

_ESCAPE = r"\\(?:x[0-9a-fA-F]{2}|[0-7]{3}|u[0-9a-fA-F]{4})"
_QUOTED = re.compile(r"""(?P<q>["'])(?P<body>[A-Za-z0-9+/=_-]{16,})(?P=q)""")
_JOINERS = re.compile(r"""^[\s()+\\,]*(#.*)?$""")
_STARTS = re.compile(r"""^\s*(?:[\w.\[\]"']+\s*[:=]\s*|return\s+|\w+\()?[\s(]*$""")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@catalog.derived
def _settings() -> dict[str, Any]:
    return dict(catalog.knowledge("code")["obfuscation"])


@catalog.derived
def _pyarmor() -> re.Pattern[str]:
    return re.compile(_settings()["pyarmor"], re.MULTILINE)


@catalog.derived
def _bidi() -> re.Pattern[str]:
    return re.compile(_settings()["bidi"])


def scan_obfuscation(text: str, path: str) -> list[Hit]:
    """BOT507 hits in the text of one Python file: at most one per line, and one for PyArmor.

    Each sign is searched over the whole text at once (most files have none), and only what
    it finds is looked at line by line."""
    lines = _Lines(text)
    found: dict[int, Hit] = {}
    for hits in (_pyarmor_hits(text, lines), _escape_hits(text, lines),
                 _hidden_hits(text, lines), _bidi_hits(text, lines),
                 [] if is_test_path(path) else _blob_hits(text, lines)):
        for hit in hits:
            found.setdefault(hit.line, hit)
    return sorted(found.values(), key=lambda hit: hit.line)


class _Lines:
    """Line numbers and columns of offsets in a text (computed when first asked for)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.text)]
        return self._starts

    def at(self, offset: int) -> tuple[int, int]:
        """(line, column), both from 1."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line(self, number: int) -> str:
        starts = self.starts
        end = starts[number] if number < len(starts) else len(self.text)
        return self.text[starts[number - 1]:end].rstrip("\r\n")


def _pyarmor_hits(text: str, lines: _Lines) -> list[Hit]:
    if not any(word in text for word in _settings()["pyarmor_words"]):
        return []
    match = _pyarmor().search(text)
    if match is None:
        return []
    line, column = lines.at(match.start())
    marker = match.group(0).strip()
    return [Hit("BOT507", line, column,
                f"PyArmor-protected code (`{marker}`): the real source is encrypted and runs "
                "through a native runtime, so nobody can review what it does.",
                evidence={"kind": "pyarmor", "marker": marker})]


@catalog.derived
def _escape_runs() -> re.Pattern[str]:
    return re.compile(f"(?:{_ESCAPE}){{{int(_settings()['escape_run'])},}}")


def _escape_hits(text: str, lines: _Lines) -> list[Hit]:
    if "\\" not in text:
        return []
    hits = []
    for match in _escape_runs().finditer(text):
        escapes = re.findall(_ESCAPE, match.group(0))
        if len(set(escapes)) < _settings()["escape_distinct"]:
            continue
        line, column = lines.at(match.start())
        hits.append(Hit("BOT507", line, column,
                        f"{len(escapes)} escapes in a row (`{escapes[0]}{escapes[1]}…`): text "
                        "written so that nobody can read it, usually code or an address.",
                        evidence={"kind": "escapes", "count": len(escapes)}))
    return hits


@catalog.derived
def _gaps() -> re.Pattern[str]:
    """Runs of blanks that may be `hidden_gap` columns wide: that many characters, or a tab
    every 8 at most."""
    gap = int(_settings()["hidden_gap"])
    return re.compile(f"(?:[ \t]{{{gap},}}|(?: {{0,7}}\t){{{-(-gap // 8)},}}[ \t]*)(?=[^\\s#])")


def _hidden_hits(text: str, lines: _Lines) -> list[Hit]:
    if " " * int(_settings()["hidden_gap"]) not in text and "\t" not in text:
        return []
    hits = []
    for match in _gaps().finditer(text):
        if len(match.group(0).expandtabs(8)) < _settings()["hidden_gap"]:
            continue
        line, column = lines.at(match.start())
        lead = lines.line(line)[: column - 1]
        if _inside_string(lead):
            continue
        start = len((lead + match.group(0)).expandtabs(8)) + 1
        if start <= _settings()["hidden_column"]:
            continue
        hits.append(Hit("BOT507", line, column + len(match.group(0)),
                        f"Code starts at column {start}, pushed there by "
                        f"{len(match.group(0).expandtabs(8))} blanks: it is off the screen in "
                        "an editor and in a review.",
                        evidence={"kind": "hidden code", "column": start}))
    return hits


def _inside_string(lead: str) -> bool:
    """Is the end of `lead` inside a string literal of the line? (quotes counted, escapes
    aside; good enough for blanks that pad a literal)"""
    plain = re.sub(r"\\.", "", lead)
    return plain.count('"') % 2 == 1 or plain.count("'") % 2 == 1


def _bidi_hits(text: str, lines: _Lines) -> list[Hit]:
    hits = []
    for match in _bidi().finditer(text):
        line, column = lines.at(match.start())
        code = f"U+{ord(match.group(0)):04X}"
        hits.append(Hit("BOT507", line, column,
                        f"A bidirectional-control character ({code}): the code displays "
                        "differently from what runs (Trojan Source).",
                        evidence={"kind": "bidi", "character": code}))
    return hits


@dataclass
class _Run:
    line: int
    column: int
    body: list[str]


def _blob_hits(text: str, lines: _Lines) -> list[Hit]:
    """Encoded blobs in string literals: one literal, or adjacent ones on consecutive lines
    (base64 is usually wrapped at 76 characters)."""
    by_line: dict[int, list[re.Match[str]]] = {}
    for match in _QUOTED.finditer(text):
        by_line.setdefault(lines.at(match.start())[0], []).append(match)
    hits: list[Hit] = []
    run: _Run | None = None
    previous = 0
    for number in sorted(by_line):
        matches = by_line[number]
        line = lines.line(number)
        start = lines.starts[number - 1]
        rest = _QUOTED.sub("", line)
        if run is not None and number == previous + 1 and _JOINERS.match(rest):
            run.body += [m.group("body") for m in matches]
            previous = number
            continue
        if run is not None:
            hits += _judge(run)
        run = _Run(number, matches[0].start("body") - start + 1,
                   [m.group("body") for m in matches])
        previous = number
        if not (_JOINERS.match(rest) or _STARTS.match(rest)):
            hits += _judge(run)  # other code follows on the line: nothing continues it
            run = None
    if run is not None:
        hits += _judge(run)
    return hits


def _judge(run: _Run) -> list[Hit]:
    settings = _settings()
    body = "".join(run.body)
    if len(body) < settings["blob_min_chars"] or body.lower().startswith("0x") \
            or body.startswith("MII"):
        return []
    if _HEX.match(body):
        kind = "hex"
    elif len(set(body)) >= settings["blob_min_distinct"] and re.search(r"[a-z]", body) \
            and re.search(r"[A-Z]", body) and re.search(r"[0-9]", body):
        kind = "base64"
    else:
        return []
    return [Hit("BOT507", run.line, run.column,
                f"A {len(body):,}-character {kind} blob in a string literal: data hidden from "
                "the reader, usually a payload decoded and run elsewhere.",
                evidence={"kind": f"{kind} blob", "length": len(body)})]
