"""Does a repository's `.gitignore` cover a file? Decided by reading the files, without git.

BOT110 asks whether the next `git add .` in any clone would commit a credential file. That is
decided by the `.gitignore` files committed in the repository (nested ones included), with
git's semantics (gitignore(5)):

- a pattern without a slash (other than a trailing one) matches a name at any depth below its
  `.gitignore`; with one it is anchored to that directory; `**` spans directories;
- a trailing `/` matches directories only; `!` re-includes;
- the last matching pattern decides, and a deeper `.gitignore` overrides a shallower one;
- nothing can be re-included below an excluded directory (git never looks inside it).

Deliberately not read: `.git/info/exclude` and the user's `core.excludesFile`. They protect one
clone, not the collaborators and forks that receive the file, and a downloaded bot has none.
Matching is case-sensitive (git's default outside macOS and Windows). No git process is run:
the repository may be hostile (see the git runner for history).

Globs are matched with the two-pointer wildcard algorithm (linear backtracking on the last
star only), both within a name and over path components for `**`, so a hostile `.gitignore`
full of stars cannot stall the scan the way a backtracking regex would.

`IgnoreRules` is built once per scan in the parent process; it reads each directory's
`.gitignore` at most once, lazily, and only for directories that hold a file asked about.
"""

from __future__ import annotations

import enum
import functools
import os
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_GITIGNORE_BYTES = 1_000_000


class Tracking(str, enum.Enum):
    """What the repository does with a file, as far as botscan can tell without git."""

    UNKNOWN = "unknown"
    """No repository context (a history blob, a file given alone): BOT110 is not decided."""
    IGNORED = "ignored"
    """A `.gitignore` rule covers the file and it is not known to be committed."""
    NOT_IGNORED = "not-ignored"
    """No rule covers it: `git add .` commits it."""
    TRACKED = "tracked"
    """Known to be committed (from the index, supplied by the caller), ignored or not."""


_STAR = ("*",)
_ANY = ("?",)


def _compile_glob(glob: str) -> tuple[tuple[str, ...], ...]:
    """One path component's glob as tokens: ("*",), ("?",), ("=", char) or
    ("[", negate, members...) where members are single characters or "a-z" ranges."""
    tokens: list[tuple[str, ...]] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            if not tokens or tokens[-1] != _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == "?":
            tokens.append(_ANY)
            i += 1
        elif c == "[":
            start = i + 2 if glob[i + 1: i + 2] in ("!", "^") else i + 1
            end = glob.find("]", start + 1)
            if end < 0:
                tokens.append(("=", c))
                i += 1
                continue
            body = glob[start:end]
            members: list[str] = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    members.append(body[j] + "-" + body[j + 2])
                    j += 3
                else:
                    members.append(body[j])
                    j += 1
            tokens.append(("[", "!" if start == i + 2 else "", *members))
            i = end + 1
        elif c == "\\" and i + 1 < len(glob):
            tokens.append(("=", glob[i + 1]))
            i += 2
        else:
            tokens.append(("=", c))
            i += 1
    return tuple(tokens)


def _one(token: tuple[str, ...], char: str) -> bool:
    kind = token[0]
    if kind == "?":
        return True
    if kind == "=":
        return token[1] == char
    hit = any(char == m if len(m) == 1 else m[0] <= char <= m[2] for m in token[2:])
    return hit != bool(token[1])


def _glob_match(tokens: Sequence[tuple[str, ...]], name: str) -> bool:
    fast = _fast_forms(tuple(tokens))
    if fast is not None:
        literal, where = fast
        return (name == literal if where == "exact" else name.endswith(literal)
                if where == "suffix" else name.startswith(literal))
    ti = si = 0
    star_ti, star_si = -1, 0
    while si < len(name):
        if ti < len(tokens) and tokens[ti] == _STAR:
            star_ti, star_si = ti, si
            ti += 1
        elif ti < len(tokens) and _one(tokens[ti], name[si]):
            ti += 1
            si += 1
        elif star_ti >= 0:
            ti, star_si = star_ti + 1, star_si + 1
            si = star_si
        else:
            return False
    while ti < len(tokens) and tokens[ti] == _STAR:
        ti += 1
    return ti == len(tokens)


@functools.lru_cache(maxsize=4096)
def _fast_forms(tokens: tuple[tuple[str, ...], ...]) -> tuple[str, str] | None:
    """Most `.gitignore` lines are a name, `*.ext` or `name*`: answered by a string method."""
    body, where = tokens, "exact"
    if body and body[0] == _STAR:
        body, where = body[1:], "suffix"
    elif body and body[-1] == _STAR:
        body, where = body[:-1], "prefix"
    if all(t[0] == "=" for t in body):
        return "".join(t[1] for t in body), where
    return None


_GLOBSTAR = "**"
_ONE_COMPONENT: tuple[tuple[str, ...], ...] = (_STAR,)
_Segment = str | tuple[tuple[str, ...], ...]


def _path_match(segments: Sequence[_Segment], parts: Sequence[str]) -> bool:
    """The same algorithm over path components, `**` being the star."""
    ti = si = 0
    star_ti, star_si = -1, 0
    while si < len(parts):
        segment = segments[ti] if ti < len(segments) else None
        if segment == _GLOBSTAR:
            star_ti, star_si = ti, si
            ti += 1
        elif segment is not None and not isinstance(segment, str) and _glob_match(
                segment, parts[si]):
            ti += 1
            si += 1
        elif star_ti >= 0:
            ti, star_si = star_ti + 1, star_si + 1
            si = star_si
        else:
            return False
    while ti < len(segments) and segments[ti] == _GLOBSTAR:
        ti += 1
    return ti == len(segments)


@dataclass(frozen=True)
class Rule:
    negate: bool
    dir_only: bool
    anchored: bool
    segments: tuple[_Segment, ...]

    def matches(self, parts: Sequence[str], is_dir: bool) -> bool:
        """`parts`: the path relative to the directory of the rule's `.gitignore`."""
        if self.dir_only and not is_dir:
            return False
        if not self.anchored:
            segment = self.segments[0]
            return not isinstance(segment, str) and _glob_match(segment, parts[-1])
        return _path_match(self.segments, parts)


def parse_rule(line: str) -> Rule | None:
    """One `.gitignore` line as a rule, or None for a blank line or a comment."""
    text = line.rstrip("\n\r")
    # Trailing spaces are dropped unless escaped with a backslash.
    while text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1]
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    if negate or text.startswith(("\\!", "\\#")):
        text = text[1:]  # the `!`, or the backslash that makes `!`/`#` literal
    dir_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    components = [c for c in text.lstrip("/").split("/") if c]
    if not components:
        return None
    segments: list[_Segment] = [_GLOBSTAR if c == _GLOBSTAR else _compile_glob(c)
                                for c in components]
    if anchored and segments[-1] == _GLOBSTAR:
        # `dir/**` matches everything inside `dir`, not `dir` itself.
        segments[-1:] = [_ONE_COMPONENT, _GLOBSTAR]
    return Rule(negate, dir_only, anchored, tuple(segments))


def parse_gitignore(text: str) -> tuple[Rule, ...]:
    return tuple(r for r in map(parse_rule, text.splitlines()) if r is not None)


def _read_small(path: str) -> str | None:
    """A regular file's text, without following a link and without blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_GITIGNORE_BYTES:
            return None
        return os.read(fd, MAX_GITIGNORE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


class IgnoreRules:
    """The `.gitignore` rules of the repositories under the scan roots, read on demand.

    The repository of a file is the nearest directory above it holding `.git` (a directory,
    or a file for worktrees and submodules); with none up to the file system root, the scan
    root that holds the file stands for it (a downloaded archive's `.gitignore` files still say
    what its author meant to keep out). `tracked`, when the caller knows it (from the git
    index), lists the absolute paths of committed files.
    """

    def __init__(self, roots: Sequence[Path], tracked: Collection[Path] | None = None) -> None:
        self._roots = [Path(os.path.realpath(r)) for r in roots]
        self._tracked = ({Path(os.path.realpath(p)) for p in tracked}
                         if tracked is not None else None)
        self._tops: dict[Path, Path | None] = {}
        self._rules: dict[Path, tuple[Rule, ...]] = {}

    def tracking(self, abspath: Path) -> Tracking:
        """What the repository does with the file at `abspath` (a resolved path)."""
        real = Path(os.path.realpath(abspath))
        if self._tracked is not None and real in self._tracked:
            return Tracking.TRACKED
        top = self._top(real.parent)
        if top is None:
            return Tracking.UNKNOWN
        try:
            parts = real.relative_to(top).parts
        except ValueError:
            return Tracking.UNKNOWN
        return Tracking.IGNORED if self.ignored(top, parts) else Tracking.NOT_IGNORED

    def ignored(self, top: Path, parts: Sequence[str]) -> bool:
        """Whether `parts` (a file's path relative to the repository `top`) is ignored."""
        for depth in range(1, len(parts)):
            if self._decide(top, parts[:depth], is_dir=True):
                return True  # git does not look inside an ignored directory
        return self._decide(top, parts, is_dir=False)

    def _decide(self, top: Path, parts: Sequence[str], is_dir: bool) -> bool:
        for depth in range(len(parts) - 1, -1, -1):
            directory = top.joinpath(*parts[:depth])
            relative = parts[depth:]
            for rule in reversed(self._rules_of(directory)):
                if rule.matches(relative, is_dir):
                    return not rule.negate
        return False

    def _rules_of(self, directory: Path) -> tuple[Rule, ...]:
        rules = self._rules.get(directory)
        if rules is None:
            text = _read_small(str(directory / ".gitignore"))
            rules = parse_gitignore(text) if text is not None else ()
            self._rules[directory] = rules
        return rules

    def _top(self, directory: Path) -> Path | None:
        if directory in self._tops:
            return self._tops[directory]
        found: Path | None = None
        for candidate in (directory, *directory.parents):
            if os.path.lexists(candidate / ".git"):
                found = candidate
                break
        if found is None:
            roots = [r for r in self._roots if directory == r or r in directory.parents]
            found = max(roots, key=lambda r: len(r.parts)) if roots else None
        self._tops[directory] = found
        return found
