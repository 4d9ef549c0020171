"""Line numbers for values read with a parser that does not keep them (tomllib, json).

The data comes from the real parser, so what counts as a dependency is exact; this index only
answers "on which line is it written", by looking for the key or the quoted value inside the
table that holds it. When it cannot tell, it falls back to the table's header line: a finding
is then one line off, never lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

_HEADER = re.compile(r"^\s*(\[\[?)\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_SEGMENT = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
_DOTTED = re.compile(rf"{_SEGMENT}(?:\s*\.\s*{_SEGMENT})*")
_SEGMENTS = re.compile(_SEGMENT)


def _dotted(name: str) -> str | None:
    if not _DOTTED.fullmatch(name):
        return None
    return ".".join(s.strip("\"'") for s in _SEGMENTS.findall(name))


class TomlLines:
    """The tables of a TOML document and the lines they span (1-based, end exclusive)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._cursor: dict[tuple[int, int], int] = {}
        self._headers: list[tuple[int, str, bool]] = []
        for number, line in enumerate(self.lines, start=1):
            match = _HEADER.match(line)
            if match is None:
                continue
            name = _dotted(match.group("name"))
            if name is not None:
                self._headers.append((number, name, match.group(1) == "[["))

    def _end(self, index: int) -> int:
        if index + 1 < len(self._headers):
            return self._headers[index + 1][0]
        return len(self.lines) + 1

    def table(self, name: str) -> tuple[int, int] | None:
        """The span of `[name]`; `""` is the root table before the first header."""
        if not name:
            return 1, self._headers[0][0] if self._headers else len(self.lines) + 1
        for index, (number, header, array) in enumerate(self._headers):
            if header == name and not array:
                return number, self._end(index)
        return None

    def array_tables(self, name: str) -> list[tuple[int, int]]:
        """The spans of every `[[name]]`, in order (sub-tables such as `[name.x]` included)."""
        spans: list[tuple[int, int]] = []
        for index, (number, header, array) in enumerate(self._headers):
            if header == name and array:
                last = index
                while last + 1 < len(self._headers) and \
                        self._headers[last + 1][1].startswith(name + "."):
                    last += 1
                spans.append((number, self._end(last)))
        return spans

    def _numbered(self, span: tuple[int, int]) -> Iterator[tuple[int, str]]:
        start, end = span
        for number in range(start, min(end, len(self.lines) + 1)):
            yield number, self.lines[number - 1]

    def key(self, span: tuple[int, int], key: str) -> int | None:
        """The line of `key = …` inside the span (the key bare or quoted)."""
        pattern = re.compile(
            rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]""")
        for number, line in self._numbered(span):
            if pattern.match(line):
                return number
        return None

    def value(self, span: tuple[int, int], value: str,
              used: set[tuple[int, str]]) -> int | None:
        """The first line in the span that holds `value` as a quoted string.

        `used` remembers (line, value) pairs already given out, so that the same requirement
        written twice gets two different lines.
        """
        quoted = (f'"{value}"', f"'{value}'", json.dumps(value))
        # Arrays list their values in file order: resume after the previous find, so a
        # manifest with n values costs O(n) lines, not O(n^2).
        resume = self._cursor.get(span, span[0])
        for part in ((resume, span[1]), (span[0], resume)):
            for number, line in self._numbered(part):
                if (number, value) not in used and any(q in line for q in quoted):
                    used.add((number, value))
                    self._cursor[span] = number
                    return number
        return None

    def subtable(self, name: str) -> int | None:
        """The header line of `[name]` itself, for values written as their own table."""
        span = self.table(name)
        return span[0] if span else None


def json_key_line(lines: list[str], key: str, start: int = 1) -> int | None:
    """The first line at or after `start` that opens the JSON member `"key":`.

    Callers pass the line after the previous member found: members come in file order.
    """
    pattern = re.compile(rf"^\s*{re.escape(json.dumps(key))}\s*:")
    for number in range(max(start, 1), len(lines) + 1):
        if pattern.match(lines[number - 1]):
            return number
    return None
