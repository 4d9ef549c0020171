"""Bot config files read as trees: every scalar value with its key path and position.

A value is judged by where it sits: freqtrade's `"key"` is the exchange API key under
`exchange` and nothing in particular elsewhere, hummingbot's `binance_api_key` is a
top-level YAML key, OctoBot's secrets live under `exchanges.<name>`. Real parsers (json,
tomllib, PyYAML) give the tree without positions and refuse what bots actually commit (JSON
with comments and trailing commas, YAML with Jinja templates, half-edited files), so each
format here is a small tolerant reader that yields `(path, value, line, column)` and never
raises. Lines it cannot place in the tree (inline tables, flow mappings) are returned as loose
lines for the line-based scanner.

Each reader is a single pass; the JSON one is a regex tokenizer, so a file of market data is a
few C-level matches per token. Callers skip files with no credential stem at all before
parsing (see `prefilter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from botscan.analyzers.secrets import filekinds
from botscan.analyzers.secrets.textmap import TextMap

MAX_DEPTH = 256
"""Nesting beyond this is not followed (a hostile file may nest a million brackets)."""


@dataclass(frozen=True)
class Entry:
    path: tuple[str, ...]
    value: str
    line: int
    column: int
    """1-based column of the value's first character (after an opening quote)."""
    end_line: int | None = None
    """Last line of a value that spans lines (a YAML block scalar, a multi-line .env value)."""
    name: str = ""
    """How the file spells the value's name, when not the dotted path (`.env` names)."""

    @property
    def display(self) -> str:
        return self.name or ".".join(self.path)


@dataclass
class Parsed:
    entries: list[Entry] = field(default_factory=list)
    loose: list[int] = field(default_factory=list)
    """Lines the reader could not place in the tree: scanned line by line instead."""
    covered: set[int] = field(default_factory=set)
    """Lines that hold a value the reader placed, kept by `keep` or not (a TOML docstring is
    text, not a list of assignments to read again line by line)."""


def parse(fmt: str, tm: TextMap, keep: Callable[[str], bool] = lambda key: True) -> Parsed:
    """The entries of a config in format `fmt` whose last key passes `keep` (the JSON reader
    skips the others before it computes their positions: data files hold many)."""
    if fmt in (filekinds.JSON, filekinds.NOTEBOOK):
        return _json(tm, keep)
    reader = {
        filekinds.YAML: _yaml,
        filekinds.TOML: _toml,
        filekinds.INI: _ini,
        filekinds.ENV: _env,
    }[fmt]
    parsed = reader(tm)
    for entry in parsed.entries:
        parsed.covered.update(range(entry.line, (entry.end_line or entry.line) + 1))
    parsed.entries = [e for e in parsed.entries if keep(e.path[-1])]
    return parsed


# --- JSON (with comments, trailing commas, single quotes and bare keys) -------------------------

_JSON_TOKEN = re.compile(
    r"""(?P<skip>\s+|//[^\n\r]*|/\*.*?(?:\*/|\Z))"""
    r"""|(?P<string>"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')"""
    r"""|(?P<punct>[{}\[\]:,])"""
    r"""|(?P<bare>[^\s{}\[\]:,"'/]+|/)""",
    re.DOTALL,
)


def _unquote(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except ValueError:
            return token[1:-1]
        return value if isinstance(value, str) else token[1:-1]
    return token[1:-1].replace("\\'", "'").replace("\\\\", "\\")


@dataclass
class _Frame:
    is_object: bool
    key: str | None
    """The key this container is the value of (None for an array element or the root)."""
    state: str = "key"
    """In an object: "key" (a key is next), "colon", "value" (after the colon)."""
    pending: str = ""


def json_strings(tm: TextMap, *, bare: bool = False,
                 ) -> Iterator[tuple[tuple[str, ...], str, int]]:
    """Every string value of a JSON document: (key path, decoded value, offset of its quote).
    With `bare`, also the unquoted values (`true`, `8080`, `null`), as written.

    Array indexes are not part of the path: `producers[0].ws_token` is `producers.ws_token`.
    """
    frames: list[_Frame] = []
    keys: list[str] = []
    for match in _JSON_TOKEN.finditer(tm.text):
        kind = match.lastgroup
        if kind == "skip":
            continue
        token = match.group()
        top = frames[-1] if frames else None
        if kind == "punct":
            if token in "{[":
                key = top.pending if top is not None and top.is_object else None
                if top is not None and top.is_object:
                    top.state = "after"
                frames.append(_Frame(token == "{", key))
                if key is not None:
                    keys.append(key)
                if len(frames) > MAX_DEPTH:
                    return
            elif token in "}]":
                if frames and frames.pop().key is not None:
                    keys.pop()
            elif token == ":" and top is not None and top.is_object:
                top.state = "value"
            elif token == "," and top is not None and top.is_object:
                top.state = "key"
            continue
        if top is None:
            continue
        if top.is_object and top.state == "key":
            top.pending, top.state = (_unquote(token) if kind == "string" else token), "colon"
        elif (kind == "string" or bare) and (top.state == "value" or not top.is_object):
            name = (top.pending,) if top.is_object else ()
            yield (*keys, *name), _unquote(token) if kind == "string" else token, match.start()
            top.state = "after"
        elif top.is_object:
            top.state = "after"


def _json(tm: TextMap, keep: Callable[[str], bool]) -> Parsed:
    """Every JSON value sits in the tree, so nothing is loose and every line counts as
    covered: a named line without a kept value holds no credential."""
    parsed = Parsed(covered=set(range(1, len(tm.lines) + 1)))
    for path, value, offset in json_strings(tm):
        if path and keep(path[-1]):
            parsed.entries.append(Entry(path, value, tm.line_of(offset), tm.column_of(offset) + 1))
    return parsed


# --- YAML (block mappings by indentation) -------------------------------------------------------

_YAML_KEY = re.compile(
    r"""^(?P<indent>[ ]*)(?P<dash>(?:-[ ]+)*)"""
    r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[\]&*!|>%@`-][^#]*?|-[^\s#][^#]*?)"""
    r"""[ \t]*:(?:[ \t]+|$)(?P<rest>.*)$"""
)
_YAML_ITEM = re.compile(r"^(?P<indent>[ ]*)-[ ]+(?P<rest>.*)$")
_ENV_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*)=(.*)$")
_BLOCK_SCALAR = re.compile(r"^[|>][+-]?[0-9]?[ \t]*(?:#.*)?$")
_PROPERTIES = re.compile(r"^(?:[&!][^\s]*[ \t]+)+")


def _scalar(rest: str, base: int) -> tuple[str, int] | None:
    """The value of a YAML/TOML-ish scalar written at `rest` (which starts at column `base`),
    with the 1-based column of its first character; None for collections and empty values."""
    stripped = rest.lstrip()
    column = base + len(rest) - len(stripped)
    if not stripped or stripped[0] in "#{[*":
        return None
    if stripped[0] in "\"'":
        quote = stripped[0]
        pattern = r'"(?:[^"\\]|\\.)*"' if quote == '"' else r"'(?:[^']|'')*'"
        match = re.match(pattern, stripped)
        if match is None:
            return stripped[1:], column + 1  # unterminated: the rest of the line
        token = match.group()
        value = _unquote(token) if quote == '"' else token[1:-1].replace("''", "'")
        return value, column + 1
    comment = re.search(r"[ \t]#", stripped)
    value = (stripped[: comment.start()] if comment else stripped).rstrip()
    return (value, column) if value else None


def _yaml(tm: TextMap) -> Parsed:
    parsed = Parsed()
    stack: list[tuple[int, str]] = []
    lines = tm.lines
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        content = line.strip()
        if not content or content.startswith("#") or content.startswith("%"):
            continue
        if content in ("---", "...") or content.startswith("--- "):
            stack.clear()
            continue
        match = _YAML_KEY.match(line)
        if match is None:
            item = _YAML_ITEM.match(line)
            if item is not None:
                value = _scalar(item.group("rest"), item.start("rest") + 1)
                parents = tuple(k for _, k in stack)
                assignment = _ENV_ITEM.match(value[0]) if value is not None else None
                if value is not None and assignment is not None:
                    # `environment: [- NAME=value]` of a compose file: the name is the key.
                    parsed.entries.append(Entry(
                        (*parents, assignment.group(1)), assignment.group(2), number,
                        value[1] + assignment.start(2), name=assignment.group(1)))
                elif value is not None and stack:
                    parsed.entries.append(Entry(parents, value[0], number, value[1]))
                elif value is None and item.group("rest").lstrip()[:1] in ("{", "["):
                    parsed.loose.append(number)
            elif "{" in line or "[" in line:
                parsed.loose.append(number)
            continue
        indent = len(match.group("indent")) + len(match.group("dash"))
        key = match.group("key").strip()
        if key[:1] in ("'", '"'):
            unquoted = _scalar(key, 1)
            key = unquoted[0] if unquoted else key.strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if len(stack) >= MAX_DEPTH:
            continue
        rest = _PROPERTIES.sub("", match.group("rest"))
        rest_column = match.start("rest") + 1 + len(match.group("rest")) - len(rest)
        path = (*(k for _, k in stack), key)
        if _BLOCK_SCALAR.match(rest.strip()):
            body, first, last = _block(lines, number, indent)
            if body:
                parsed.entries.append(Entry(path, body, first, _indent_of(lines[first - 1]) + 1,
                                            last))
            number = max(number, last)
            continue
        value = _scalar(rest, rest_column)
        if value is not None:
            parsed.entries.append(Entry(path, value[0], number, value[1]))
        elif rest.lstrip()[:1] in ("{", "["):
            parsed.loose.append(number)
        elif not rest.strip() or rest.lstrip().startswith("#"):
            stack.append((indent, key))
    return parsed


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], after: int, indent: int) -> tuple[str, int, int]:
    """A block scalar's text (`key: |` followed by more-indented lines), its first and last
    line numbers. `after` is the 1-based number of the `key: |` line."""
    body: list[str] = []
    first = last = after
    number = after
    while number < len(lines):
        line = lines[number]
        if line.strip() and _indent_of(line) <= indent:
            break
        number += 1
        if line.strip():
            if not body:
                first = number
            last = number
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return "", after, after
    margin = min(_indent_of(b) for b in body if b.strip())
    return "\n".join(b[margin:] for b in body), first, last


# --- TOML ---------------------------------------------------------------------------------------

_TOML_TABLE = re.compile(r"^\s*\[\[?\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_TOML_PAIR = re.compile(r"""^\s*(?P<key>(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*')"""
                        r"""(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*'))*)\s*=\s*"""
                        r"""(?P<rest>.*)$""")
_TOML_KEY_PART = re.compile(r"""[A-Za-z0-9_\-]+|"[^"\n]*"|'[^'\n]*'""")


def _dotted(key: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in _TOML_KEY_PART.findall(key))


def _toml(tm: TextMap) -> Parsed:
    parsed = Parsed()
    table: tuple[str, ...] = ()
    lines = tm.lines
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header = _TOML_TABLE.match(line)
        if header is not None:
            table = _dotted(header.group("name"))
            continue
        pair = _TOML_PAIR.match(line)
        if pair is None:
            continue
        path = (*table, *_dotted(pair.group("key")))
        rest, rest_column = pair.group("rest"), pair.start("rest") + 1
        opener = rest[:3]
        if opener in ('"""', "'''"):
            value, last = _multiline(lines, number, rest[3:], opener)
            parsed.entries.append(Entry(path, value, number, rest_column + 3, last))
            number = last
            continue
        scalar = _scalar(rest, rest_column)
        if scalar is not None and rest.lstrip()[:1] in ("'", '"'):
            parsed.entries.append(Entry(path, scalar[0], number, scalar[1]))
        elif rest.lstrip()[:1] in ("{", "["):
            parsed.loose.append(number)
    return parsed


def _multiline(lines: list[str], number: int, first: str, closer: str) -> tuple[str, int]:
    """A TOML multi-line string opened on line `number` with `first` after the quotes."""
    parts = [first]
    last = number
    while closer not in parts[-1] and last < len(lines):
        parts.append(lines[last])
        last += 1
    text = "\n".join(parts)
    return text.split(closer, 1)[0].lstrip("\n"), last


# --- INI / properties -----------------------------------------------------------------------------

_INI_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")
_INI_PAIR = re.compile(r"^(?P<key>[^=:\s;#\[][^=:]*?)\s*[=:]\s*(?P<rest>.*)$")


def _ini(tm: TextMap) -> Parsed:
    parsed = Parsed()
    section: tuple[str, ...] = ()
    for number, line in enumerate(tm.lines, start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        header = _INI_SECTION.match(line)
        if header is not None:
            section = (header.group("name").strip(),)
            continue
        pair = _INI_PAIR.match(line)
        if pair is None or line[:1] in " \t":
            continue
        value = _scalar(re.sub(r"[ \t];.*$", "", pair.group("rest")), pair.start("rest") + 1)
        if value is not None:
            parsed.entries.append(Entry((*section, pair.group("key").strip()), value[0],
                                        number, value[1]))
    return parsed


# --- .env -----------------------------------------------------------------------------------------

_ENV_PAIR = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*=[ \t]*"
                       r"(?P<rest>.*)$")


def env_path(name: str) -> tuple[str, ...]:
    """`FREQTRADE__EXCHANGE__SECRET` -> (FREQTRADE, EXCHANGE, SECRET): freqtrade's (and
    pydantic-settings') nesting delimiter, so environment overrides get the config's paths."""
    return tuple(p for p in name.split("__") if p) or (name,)


def _env(tm: TextMap) -> Parsed:
    parsed = Parsed()
    lines = tm.lines
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        pair = _ENV_PAIR.match(line)
        if pair is None:
            continue
        rest, column = pair.group("rest"), pair.start("rest") + 1
        name = pair.group("key")
        path = env_path(name)
        quote = rest[:1]
        if quote in ("'", '"') and not re.match(
                rf"{quote}(?:[^{quote}\\]|\\.)*{quote}" if quote == '"' else "'[^']*'", rest):
            # python-dotenv reads a quoted value across lines (PEM keys are stored so).
            value, last = _multiline(lines, number, rest[1:], quote)
            parsed.entries.append(Entry(path, value, number, column + 1, last, name))
            number = last
            continue
        scalar = _scalar(rest, column)
        if scalar is not None:
            parsed.entries.append(Entry(path, scalar[0], number, scalar[1], name=name))
    return parsed
