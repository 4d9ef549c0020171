"""The directory walker: which files on disk a scan reads, in what order, and what it refuses.

The tree being walked may have been written by an attacker (a downloaded bot), so the walker
treats every entry as hostile:

- a symbolic link is resolved before anything is read through it, and a link that leaves the
  scan root (towards `~/.ssh`, `/etc`, the user's wallet) is reported, never followed;
- directory links met during a walk are never descended, so `a -> .` cannot loop and nothing
  is scanned twice;
- only regular files are ever opened, and they are opened non-blocking and re-checked with
  `fstat`, so a FIFO cannot hang the scan even if it replaces a file between listing and opening;
- file names are kept as the OS gives them (undecodable bytes as surrogate escapes); reports
  escape them when they render.

Everything that is not scanned, other than by an exclude, becomes a `Notice`: a security scan
must never look complete when it skipped something.
"""

from __future__ import annotations

import codecs
import enum
import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from botscan.model import Notice, NoticeKind


class FileKind(str, enum.Enum):
    PYTHON = "python"
    TEXT = "text"
    BINARY = "binary"


@dataclass(frozen=True)
class SourceFile:
    path: str
    """Relative to its scan root, with forward slashes ("src/bot.py"). For a file named on the
    command line: relative to the working directory when inside it, else the normalised given
    path. May hold surrogate escapes for undecodable bytes in file names."""
    abspath: Path
    """The resolved real path on disk: always inside the scan root. For a member of an
    archive: the archive's path."""
    size: int
    kind: FileKind
    data: bytes | None = field(default=None, repr=False, compare=False)
    """The content, for a file that exists only in memory (an archive member); None for a file
    on disk, which is read where it is analysed."""

    def read(self) -> bytes:
        """The file's bytes: from memory, or from disk."""
        if self.data is not None:
            return self.data
        return self.abspath.read_bytes()


@dataclass(frozen=True)
class OutsideLink(Notice):
    """A symbolic link that leads out of the scan root: never followed, and a finding of its
    own (BOT509) besides this notice. A dangling link counts by where it would lead: the
    `~/.ssh/id_ed25519` it names is absent here but not on the machine the bot runs on."""

    target: str = ""
    """The absolute path the link resolves to (as far as it resolves, for a dangling one)."""
    exists: bool = True


DEFAULT_EXCLUDED_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".eggs",
        "build",
        "dist",
        "site-packages",
        ".botscan_cache",
    }
)
"""Directory names pruned at any depth. Any directory holding `pyvenv.cfg` (a virtualenv, such
as `env/`) and any `*.egg-info` directory are pruned too. `__pycache__` is walked: a committed
`.pyc` there can be the only copy of a deleted key file (BOT508; the scan drops the ones a
`.gitignore` covers)."""

PYTHON_SUFFIXES: frozenset[str] = frozenset({".py", ".pyw", ".pyi"})

BINARY_SUFFIXES: frozenset[str] = frozenset(
    {
        # native code and bytecode
        ".so", ".pyd", ".dll", ".dylib", ".exe", ".o", ".obj", ".a", ".lib", ".bin",
        ".pyc", ".pyo", ".class", ".wasm",
        # packages and archives
        ".whl", ".egg", ".pyz", ".jar", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst",
        ".lzma", ".7z", ".rar", ".tar", ".deb", ".rpm", ".apk", ".msi", ".dmg", ".iso",
        # images, media, fonts, documents
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd",
        ".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm",
        ".woff", ".woff2", ".ttf", ".otf", ".eot",
        ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods",
        # market data, models and databases
        ".sqlite", ".sqlite3", ".db", ".db3", ".parquet", ".feather", ".arrow", ".orc",
        ".avro", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".hdf5", ".hdf",
        ".onnx", ".pt", ".pth", ".ckpt", ".safetensors", ".tflite", ".pb", ".keras",
    }
)  # fmt: skip
"""Recognised by name alone: these are never read to classify them."""

SNIFF_BYTES = 8192
# Control bytes no text editor writes; tab, newlines, form feed, backspace, vertical tab and
# escape (ANSI colours in logs) are text.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\f\b\v\x1b") + b"\x7f"
_MAX_CONTROL_SHARE = 0.10
_WIDE_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# `#!/usr/bin/env python3`, `#!/usr/bin/python3.11 -u`, `#!/usr/bin/env -S pypy3`, and PEP 723
# scripts run by `#!/usr/bin/env -S uv run --script`.
_PYTHON_INTERPRETER = re.compile(r"(?:python|pypy)[0-9.]*")

_OPEN_FLAGS: int = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)

Item = SourceFile | Notice


def walk(
    paths: Sequence[Path],
    *,
    exclude: Sequence[str] = (),
    use_default_excludes: bool = True,
    max_file_bytes: int = 2_000_000,
) -> Iterator[SourceFile | Notice]:
    """Yield every file to scan under `paths`, and a notice for everything not scanned.

    Directories are walked depth first with each directory's entries sorted by name, so the
    output is sorted by path component and identical from run to run; arguments are taken in
    the order given. Files named explicitly are scanned even inside a default-excluded
    directory (pre-commit passes staged files one by one), but `exclude` patterns still apply.
    A named path that is itself a link is followed only when it resolves inside the directory
    holding it.

    Arguments are checked before the first item is produced: a missing path raises
    `FileNotFoundError` and a malformed pattern `ValueError`, both here rather than midway
    through the iteration, so the CLI can turn them into a usage error.
    """
    patterns = [_Pattern.compile(p) for p in exclude]
    for path in paths:
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(f"{os.fspath(path)}: no such file or directory") from None
        except OSError:
            pass  # it exists but cannot be inspected: reported as unreadable by the walk
    walker = _Walker(patterns, use_default_excludes, max_file_bytes)
    return walker.run([os.fspath(p) for p in paths])


class _Pattern:
    """One gitignore-style exclude pattern, matched against a root-relative path.

    `*` and `?` stay within one path component, `**` spans components, a trailing `/` matches
    directories only, and a pattern with no inner `/` matches a name at any depth. Negation
    (`!`) is refused rather than silently read as a literal name: pruned directories could not
    be re-included anyway.
    """

    def __init__(self, regex: re.Pattern[str], dir_only: bool, anchored: bool) -> None:
        self.regex = regex
        self.dir_only = dir_only
        self.anchored = anchored

    @classmethod
    def compile(cls, pattern: str) -> _Pattern:
        if pattern.startswith("!"):
            raise ValueError(f"exclude pattern {pattern!r}: negation ('!') is not supported")
        body = pattern.strip()
        dir_only = body.endswith("/")
        body = body.rstrip("/")
        anchored = "/" in body
        body = body.lstrip("/")
        if not body:
            raise ValueError(f"exclude pattern {pattern!r} matches nothing")
        return cls(re.compile(_glob_to_regex(body), re.DOTALL), dir_only, anchored)

    def matches(self, rel: str, name: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.fullmatch(rel if self.anchored else name) is not None


def _glob_to_regex(glob: str) -> str:
    parts: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**", i):
            before_ok = i == 0 or glob[i - 1] == "/"
            after = glob[i + 2 : i + 3]
            if before_ok and after == "/":
                parts.append("(?:.*/)?")  # `**/`: zero or more whole directories
                i += 3
                continue
            if before_ok and after == "":
                parts.append(".*")  # trailing `/**`: everything inside
                i += 2
                continue
            parts.append("[^/]*")  # `a**b` is just a star
            i += 2
        elif c == "*":
            parts.append("[^/]*")
            i += 1
        elif c == "?":
            parts.append("[^/]")
            i += 1
        elif c == "[":
            # `[!...]` negates; a `]` right after the opening (or the `!`) is a literal.
            start = i + 2 if glob[i + 1 : i + 2] in ("!", "^") else i + 1
            end = glob.find("]", start + 1)
            if end < 0:
                parts.append(re.escape(c))
                i += 1
                continue
            members = "".join("\\" + m if m in "\\[]^&~|" else m for m in glob[start:end])
            negate = "^" if start == i + 2 else ""
            parts.append(f"(?!/)[{negate}{members}]")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            parts.append(re.escape(glob[i + 1]))
            i += 2
        else:
            parts.append(re.escape(c))
            i += 1
    return "".join(parts)


def _within(path: str, root: str) -> bool:
    path, root = os.path.normcase(path), os.path.normcase(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _slashes(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "neither a regular file nor a directory"


def _is_python_shebang(head: bytes) -> bool:
    if not head.startswith(b"#!"):
        return False
    line = head[2 : head.find(b"\n") if b"\n" in head else len(head)]
    words = [w.rsplit("/", 1)[-1] for w in line.decode("latin-1").split()]
    if any(_PYTHON_INTERPRETER.fullmatch(w) for w in words):
        return True
    return any(a == "uv" and b == "run" for a, b in pairwise(words))


def _looks_binary(head: bytes, *, python: bool) -> bool:
    """Sniff the first bytes of a file.

    A NUL byte means binary: CPython refuses source holding one, so a `.py` with NUL cannot be
    run and is not analysed as Python. Other control bytes only count for files not named like
    Python: CPython runs a script full of them, and it must not escape analysis that way. Text in
    UTF-16 or UTF-32 with a BOM (Windows editors write `.env` files so) holds NULs but is text.
    """
    if not head:
        return False
    if not python:
        for bom, encoding in _WIDE_BOMS:
            if head.startswith(bom):
                try:
                    codecs.getincrementaldecoder(encoding)().decode(head[len(bom) :])
                except UnicodeDecodeError:
                    return True
                return False
    if b"\x00" in head:
        return True
    if python:
        return False
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control > _MAX_CONTROL_SHARE * len(head)


def classify(rel: str, head: bytes) -> tuple[FileKind, Notice | None]:
    """What a file is, from its name and its first bytes (`SNIFF_BYTES` of them; unread for
    names in `BINARY_SUFFIXES`), and a notice when it is binary but named like Python.

    Shared by the directory walker and the archive reader, so a file is the same kind wherever
    it comes from.
    """
    suffix = os.path.splitext(rel.rsplit("/", 1)[-1])[1].lower()
    if suffix in BINARY_SUFFIXES:
        return FileKind.BINARY, None
    python = suffix in PYTHON_SUFFIXES or (not suffix and _is_python_shebang(head))
    if not _looks_binary(head, python=python):
        return (FileKind.PYTHON if python else FileKind.TEXT), None
    if not python:
        return FileKind.BINARY, None
    what = "named like Python" if suffix else "starts like a Python script"
    return FileKind.BINARY, Notice(rel, NoticeKind.BINARY,
                                   f"{what} but holds binary data; not analysed")


def _identity(item: Item) -> tuple[str, str, str]:
    """What makes two items the same, as strings: hashing the `Path` of every item would cost
    a sizeable share of the walk."""
    if isinstance(item, SourceFile):
        return ("file", item.path, os.fspath(item.abspath))
    return (item.kind.value, item.path, item.message)


class _Walker:
    def __init__(self, patterns: list[_Pattern], defaults: bool, max_file_bytes: int) -> None:
        self.patterns = patterns
        self.defaults = defaults
        self.max_file_bytes = max_file_bytes

    def run(self, paths: list[str]) -> Iterator[Item]:
        """Overlapping or repeated arguments yield each item once."""
        cwd = os.getcwd()
        seen: set[tuple[str, str, str]] = set()
        for given in paths:
            for item in self._argument(given, cwd):
                key = _identity(item)
                if key not in seen:
                    seen.add(key)
                    yield item

    # -- arguments -------------------------------------------------------------------------

    def _argument(self, given: str, cwd: str) -> Iterator[Item]:
        """One command-line path: a directory to walk, or a file named explicitly.

        The root of a named path is the directory that holds it. If the path itself is a link,
        it must resolve inside that directory: a CI job passing a pull request's changed files
        must not read `creds.py -> /proc/self/environ`, nor a user scanning
        `Downloads/bot/creds.py` from their home directory read `~/.aws/credentials`. The
        directories leading to the path were chosen by whoever typed it and are trusted.
        """
        lexical = os.path.abspath(given)
        inside_cwd = _within(lexical, cwd)
        display = _slashes(os.path.relpath(lexical, cwd) if inside_cwd else os.path.normpath(given))
        if not os.path.isdir(lexical) and self._explicitly_excluded(display):
            return
        try:
            real = os.path.realpath(lexical, strict=True)
        except OSError as err:
            if os.path.islink(lexical):
                yield self._broken_link(display, lexical, err,
                                        os.path.realpath(os.path.dirname(lexical)))
            else:
                yield self._unreadable(display, err)
            return
        if not _within(real, os.path.realpath(os.path.dirname(lexical))):
            yield self._outside(display, real)
            return
        try:
            st = os.stat(real)
        except OSError as err:
            yield self._unreadable(display, err)
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._walk_root(real)
        elif stat.S_ISREG(st.st_mode):
            yield from self._file(real, display, st)
        else:
            yield self._special(display, st.st_mode)

    def _explicitly_excluded(self, display: str) -> bool:
        """User patterns against a named file and each directory above it."""
        parts = [p for p in display.split("/") if p not in ("", ".")]
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            is_dir = depth < len(parts)
            if any(p.matches(rel, parts[depth - 1], is_dir) for p in self.patterns):
                return True
        return False

    # -- directories -----------------------------------------------------------------------

    def _walk_root(self, root: str) -> Iterator[Item]:
        """Depth first with an explicit stack: a hostile tree nested thousands deep must not
        exhaust Python's recursion limit."""
        listed = self._list(root, ".", is_root=True)
        if isinstance(listed, Notice):
            yield listed
            return
        stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = [("", iter(listed))]
        while stack:
            prefix, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            rel = prefix + entry.name
            try:
                lst = entry.stat(follow_symlinks=False)
            except OSError as err:
                yield self._unreadable(rel, err)
                continue
            is_link = stat.S_ISLNK(lst.st_mode)
            is_dir = stat.S_ISDIR(lst.st_mode) or (is_link and os.path.isdir(entry.path))
            if self._excluded(rel, entry.name, is_dir):
                continue
            if is_link:
                yield from self._link(entry.path, rel, root)
            elif is_dir:
                listed = self._list(entry.path, rel, is_root=False)
                if isinstance(listed, Notice):
                    yield listed
                elif listed:
                    stack.append((rel + "/", iter(listed)))
            elif stat.S_ISREG(lst.st_mode):
                yield from self._file(entry.path, rel, lst)
            else:
                yield self._special(rel, lst.st_mode)

    def _list(self, path: str, rel: str, *, is_root: bool) -> list[os.DirEntry[str]] | Notice:
        """A directory's entries sorted by name; empty when it is a virtualenv to prune."""
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            return self._unreadable(rel, err)
        if self.defaults and not is_root and any(e.name == "pyvenv.cfg" for e in entries):
            return []
        return entries

    def _excluded(self, rel: str, name: str, is_dir: bool) -> bool:
        if (
            self.defaults
            and is_dir
            and (name in DEFAULT_EXCLUDED_DIRS or name.endswith(".egg-info"))
        ):
            return True
        return any(p.matches(rel, name, is_dir) for p in self.patterns)

    # -- links -----------------------------------------------------------------------------

    def _link(self, link: str, rel: str, root: str) -> Iterator[Item]:
        """Follow a link to a regular file inside the root; report every other link."""
        try:
            real = os.path.realpath(link, strict=True)
        except OSError as err:
            yield self._broken_link(rel, link, err, root)
            return
        if not _within(real, root):
            yield self._outside(rel, real)
            return
        try:
            st = os.stat(real)
        except OSError as err:
            yield self._unreadable(rel, err)
            return
        if stat.S_ISDIR(st.st_mode):
            target = _slashes(os.path.relpath(real, root))
            yield Notice(
                rel,
                NoticeKind.SYMLINK,
                f"symbolic link to directory {target!r} inside the scanned root: not"
                " descended (the directory is scanned under its own path unless excluded)",
            )
        elif stat.S_ISREG(st.st_mode):
            yield from self._file(real, rel, st)
        else:
            yield self._special(rel, st.st_mode)

    @staticmethod
    def _broken_link(rel: str, link: str, err: OSError, root: str) -> Notice:
        try:
            target = os.readlink(link)
        except OSError:
            target = "?"
        if err.errno == errno.ELOOP:
            why = "is part of a symbolic link loop"
        elif err.errno in (errno.ENOENT, errno.ENOTDIR):
            why = "does not exist"
        else:
            why = f"cannot be resolved ({err.strerror or err})"
        message = f"symbolic link to {target!r} not followed: the target {why}"
        if err.errno != errno.ELOOP:
            lexical = os.path.realpath(link)  # as far as it resolves: nothing is read
            if not _within(lexical, root):
                return OutsideLink(rel, NoticeKind.SYMLINK, message, lexical, exists=False)
        return Notice(rel, NoticeKind.SYMLINK, message)

    @staticmethod
    def _outside(rel: str, real: str) -> Notice:
        return OutsideLink(
            rel,
            NoticeKind.SYMLINK,
            f"symbolic link resolves to {real!r}, outside the scanned root; not"
            " followed (scan that path directly if you mean to)",
            real,
        )

    # -- files -----------------------------------------------------------------------------

    def _file(self, path: str, rel: str, st: os.stat_result) -> Iterator[Item]:
        """Classify one regular file; `path` is its real path, `st` what listing it found.
        A file named like a binary is never read here, so the size cap does not apply to it
        (a committed 50 MB `.so` is still a committed binary)."""
        suffix = os.path.splitext(os.path.basename(rel))[1].lower()
        capped = suffix not in BINARY_SUFFIXES
        if capped and st.st_size > self.max_file_bytes:
            yield self._too_large(rel, st.st_size)
            return
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as err:
            yield self._unreadable(rel, err)
            return
        try:
            # What was opened, not what was listed: the entry may have been swapped since.
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode):
                yield self._special(rel, fst.st_mode)
                return
            if capped and fst.st_size > self.max_file_bytes:
                yield self._too_large(rel, fst.st_size)
                return
            head = os.read(fd, SNIFF_BYTES) if capped else b""
        except OSError as err:
            yield self._unreadable(rel, err)
            return
        finally:
            os.close(fd)
        kind, notice = classify(rel, head)
        yield SourceFile(rel, Path(path), fst.st_size, kind)
        if notice is not None:
            yield notice

    def _too_large(self, rel: str, size: int) -> Notice:
        return Notice(
            rel,
            NoticeKind.TOO_LARGE,
            f"{size:,} bytes, over the {self.max_file_bytes:,}-byte cap; not analysed",
        )

    @staticmethod
    def _special(rel: str, mode: int) -> Notice:
        return Notice(rel, NoticeKind.UNREADABLE, f"{_special_kind(mode)}; not read")

    @staticmethod
    def _unreadable(rel: str, err: OSError) -> Notice:
        return Notice(rel, NoticeKind.UNREADABLE, f"cannot be read: {err.strerror or err}")


def is_excluded(path: str, exclude: Sequence[str], use_default_excludes: bool = True) -> bool:
    """Would `walk` skip this root-relative path? For paths that are not on disk, such as the
    paths of files in the git history, so excluded folders stay excluded there too."""
    patterns = [_Pattern.compile(p) for p in exclude]
    parts = path.split("/")
    for index, name in enumerate(parts):
        rel = "/".join(parts[: index + 1])
        is_dir = index < len(parts) - 1
        if is_dir and use_default_excludes and (name in DEFAULT_EXCLUDED_DIRS
                                                or name.endswith(".egg-info")):
            return True
        if any(p.matches(rel, name, is_dir) for p in patterns):
            return True
    return False
