"""Python bytecode (`.pyc`), read without ever unmarshalling it.

`marshal.loads` on hostile bytes can crash the interpreter or build arbitrary code objects,
so botscan never calls it. A `.pyc` is a 16-byte header followed by a marshalled code object,
and every string constant, name and docstring in it is stored as a type byte (one of
`s u t a A z Z`, possibly with the 0x80 "reference" flag), a length (4 bytes, or 1 for the
short forms) and the bytes. Walking the file for such records, and keeping those that decode
to printable text, recovers the constants in the order Python wrote them: the values of a
module's assignments, then its names. That is enough to find the key of a deleted `keys.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from botscan import credentials as cred

HEADER_BYTES = 16
MAX_STRINGS = 5_000
MAX_STRING_CHARS = 8_192
_MIN_CHARS = 2
# Marshal type codes of strings, and the width of their length field.
_STRING_TYPES = {ord("s"): 4, ord("u"): 4, ord("t"): 4, ord("a"): 4, ord("A"): 4,
                 ord("z"): 1, ord("Z"): 1}
_CODE_NAMES = frozenset({"<module>", "<lambda>", "<listcomp>", "<dictcomp>", "<setcomp>",
                         "<genexpr>"})
_ALLOWED_CONTROLS = frozenset("\n\t\r")


@dataclass(frozen=True)
class Header:
    hash_based: bool
    """PEP 552: the header holds a hash of the source instead of its timestamp and size."""
    check_source: bool
    """For a hash-based file: whether Python compares the hash with the source before use."""

    @property
    def unchecked(self) -> bool:
        """Python runs this file without looking at the source beside it."""
        return self.hash_based and not self.check_source


def header(data: bytes) -> Header | None:
    """The flags of a `.pyc` header, or None when the bytes do not start like one."""
    if len(data) < HEADER_BYTES or data[2:4] != b"\r\n":
        return None
    flags = int.from_bytes(data[4:8], "little")
    return Header(hash_based=bool(flags & 1), check_source=bool(flags & 2))


def source_of(path: str) -> tuple[str, bool]:
    """The source a bytecode file was compiled from, and whether the file sits in
    `__pycache__`: `pkg/__pycache__/keys.cpython-311.pyc` -> (`pkg/keys.py`, True),
    `pkg/keys.pyc` -> (`pkg/keys.py`, False)."""
    pure = PurePosixPath(path)
    if pure.parent.name == "__pycache__":
        stem = pure.name.split(".", 1)[0]
        return str(pure.parent.parent / f"{stem}.py"), True
    return str(pure.with_suffix(".py")), False


def strings(data: bytes) -> list[str]:
    """The printable string records of a `.pyc`, in file order (see the module docstring).

    Bytes that only look like a record (inside the bytecode itself) are rejected by the
    printable test, and a record that runs past the end is not a record.
    """
    found: list[str] = []
    index, size = HEADER_BYTES, len(data)
    while index < size and len(found) < MAX_STRINGS:
        width = _STRING_TYPES.get(data[index] & 0x7F)
        if width is None or index + 1 + width > size:
            index += 1
            continue
        length = int.from_bytes(data[index + 1:index + 1 + width], "little")
        start = index + 1 + width
        end = start + length
        if not _MIN_CHARS <= length <= MAX_STRING_CHARS or end > size:
            index += 1
            continue
        try:
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            index += 1
            continue
        if all(c.isprintable() or c in _ALLOWED_CONTROLS for c in text):
            found.append(text)
            index = end
        else:
            index += 1
    return found


def pseudo_source(found: list[str]) -> str:
    """Lines the text credential scanner can judge: `NAME = "value"` for the credential names
    of the bytecode paired with its other constants, then each constant alone.

    Python writes a module's constants before its names, each in order of first use (the
    docstring first, bound to `__doc__`), so in a key file (`API_KEY = "…"`, then
    `API_SECRET = "…"`) the n-th value belongs to the n-th name. Other constants break that
    order, so every name is paired with every value, the best-aligned pairs first: the scanner
    reports each secret once, under the first name it fits.
    """
    names = [s for s in found if s.isidentifier() and cred.classify_name(s) is not None]
    taken = set(names)
    values = [s for s in found if s not in taken and s not in _CODE_NAMES
              and not s.startswith("__")]
    if "__doc__" in found and values:
        values = values[1:]
    values = [v for v in values if len(v) >= 8]

    def misalignment(pair: tuple[int, int]) -> float:
        value, name = pair
        return abs(value / max(len(values), 1) - name / max(len(names), 1))

    order = sorted(((v, n) for v in range(len(values)) for n in range(len(names))),
                   key=misalignment)
    lines = [f'{names[n]} = "{_escaped(values[v])}"' for v, n in order]
    lines += [f'"{_escaped(value)}"' for value in values]
    return "\n".join(lines)


def _escaped(value: str) -> str:
    """A constant on one line between double quotes (PEM keys keep `\\n`, as in code)."""
    return value.replace("\\", "\\\\").replace("\r", "").replace("\n", "\\n").replace('"', "'")
