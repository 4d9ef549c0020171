"""Lines of a decoded file, and the way from a character offset back to a line.

The secrets scanner searches the whole text at once (one C-level regex or `str.find` pass is
far cheaper than a Python loop over lines) and then needs the line of each match. Lines are
split exactly as `str.splitlines()` splits them, because that is how `hits.finalize` numbers
the lines it quotes in snippets: the two must agree even for `\\r`, form feeds or U+2028.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field


@dataclass
class TextMap:
    text: str
    lines: list[str] = field(init=False)
    _starts: list[int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.lines = self.text.splitlines()

    @property
    def starts(self) -> list[int]:
        """Offset of the first character of each line; computed on first use only, since
        most files never need an offset turned into a line."""
        if self._starts is None:
            ends = itertools.accumulate(map(len, self.text.splitlines(keepends=True)))
            self._starts = [0, *ends]
        return self._starts

    def line_of(self, offset: int) -> int:
        """1-based line holding the character at `offset`."""
        return bisect.bisect_right(self.starts, offset)

    def column_of(self, offset: int) -> int:
        """1-based column of `offset` within its line."""
        return offset - self.starts[self.line_of(offset) - 1] + 1

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""
