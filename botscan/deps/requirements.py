"""pip requirements files (`requirements*.txt`, `*.in`), read the way pip reads them.

pip's format is line-based with a few traps: `\\` continues a line, `#` starts a comment only at
the start or after whitespace (so `…#egg=name` survives), options may follow a requirement on
its line (`--hash`), and `-r`/`-c` pull in other files. Included files are returned, not read
here: the caller resolves them inside the scanned root, once each.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement

from botscan.deps.declared import (
    Declared,
    Role,
    Source,
    located,
    looks_like_url,
    parse_pip_target,
)

_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_INDEX = {"-i": "--index-url", "--index-url": "--index-url",
          "--extra-index-url": "--extra-index-url", "-f": "--find-links",
          "--find-links": "--find-links"}
_EDITABLE = ("-e", "--editable")
# Options that take a value we do not need; the value must still be skipped.
_VALUED = {"--trusted-host", "--no-binary", "--only-binary", "--use-feature", "--hash",
           "--global-option", "--install-option", "--config-settings", "--progress-bar"}


@dataclass(frozen=True)
class Include:
    """`-r FILE` or `-c FILE` as written in `manifest`, to resolve relative to it."""

    manifest: str
    line: int
    target: str
    constraint: bool


@dataclass
class Parsed:
    declared: list[Declared] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Lines that are not requirements: reported in a notice, never silently dropped."""


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line, joined text without comments), as pip joins `\\` continuations."""
    start: int | None = None
    parts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if start is None:
            start = number
        comment_line = raw.lstrip().startswith("#")
        if raw.endswith("\\") and not comment_line:
            parts.append(raw[:-1])
            continue
        if not comment_line:
            parts.append(raw)
        joined = _COMMENT.sub("", " ".join(parts)).strip()
        if joined:
            yield start, joined
        start, parts = None, []
    if parts:
        joined = _COMMENT.sub("", " ".join(parts)).strip()
        if joined and start is not None:
            yield start, joined


def _split_option(token: str, tokens: list[str], names: Iterable[str]
                  ) -> tuple[str, str | None] | None:
    """(`-r`, value) for `-r X`, `-rX`, `--requirement=X`, `--requirement X`; else None."""
    for name in names:
        if token == name:
            return name, tokens.pop(0) if tokens else None
        if name.startswith("--") and token.startswith(name + "="):
            return name, token[len(name) + 1:]
        if not name.startswith("--") and token.startswith(name) and len(token) > len(name):
            return name, token[len(name):]
    return None


def _options(manifest: str, line: int, text: str, role: Role, out: Parsed) -> None:
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    while tokens:
        token = tokens.pop(0)
        if (found := _split_option(token, tokens, _INCLUDE)) is not None:
            name, target = found
            if not target:
                out.problems.append(f"line {line}: {name} without a file")
            elif looks_like_url(target):
                out.declared.append(located(manifest, line, target, Source.URL, role=Role.SOURCE,
                                            option=name))
            else:
                out.includes.append(Include(manifest, line, target, _INCLUDE[name]))
        elif (found := _split_option(token, tokens, _INDEX)) is not None:
            name, target = found
            if target:
                source = Source.URL if looks_like_url(target) else Source.PATH
                out.declared.append(located(manifest, line, target, source, role=Role.SOURCE,
                                            option=_INDEX[name]))
        elif (found := _split_option(token, tokens, _EDITABLE)) is not None:
            if found[1]:
                _requirement(manifest, line, found[1], role, out, editable=True)
            tokens.clear()
        else:
            # `--hash X`, `--trusted-host X`: consume the value; flags such as `--pre` pass.
            _split_option(token, tokens, _VALUED)


def _requirement(manifest: str, line: int, text: str, role: Role, out: Parsed, *,
                 editable: bool = False) -> None:
    try:
        out.declared.append(parse_pip_target(text, manifest, line, editable=editable, role=role))
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else "invalid requirement"
        out.problems.append(f"line {line}: not a requirement ({reason})")


def parse_line(manifest: str, line: int, text: str, role: Role, out: Parsed) -> None:
    """One logical line: options (`-r`, `-e`, `--index-url`, …) or a requirement."""
    if text.startswith("-"):
        _options(manifest, line, text, role, out)
        return
    # pip's own split: the requirement runs up to the first token that starts an option.
    words: list[str] = []
    for token in text.split(" "):
        if token.startswith("-"):
            break
        words.append(token)
    requirement = " ".join(words).strip()
    if requirement:
        _requirement(manifest, line, requirement, role, out)


def parse_requirements(manifest: str, text: str, role: Role = Role.DEPENDENCY) -> Parsed:
    out = Parsed()
    for line, logical in logical_lines(text):
        parse_line(manifest, line, logical, role, out)
    return out
