"""The git history as a source: every line ever committed, read once, with the commit that
introduced it.

A key "removed" in a later commit is still in every clone. Scanning history the naive way
(`git log -p` into a secret scanner) re-reads each file at every commit that touches it and
makes git compute thousands of diffs. botscan instead:

1. lists the blobs (`git rev-list --all --objects`) and learns, from one
   `git log --all --reverse --raw` pass (tree diffs only, no content), the oldest commit and
   path that introduced each blob;
2. reads each unique blob once, raw, through a single `git cat-file --batch` process, oldest
   first, skipping binaries, blobs over `max_blob_bytes` and market data (by shape, not by
   name: `config.json` is where keys leak, `BTC_USDT-5m.json` is where they don't);
3. keeps a set of the lines already seen (their hashes), so each blob contributes only the
   lines it brought into the repository (`new_lines`), and the other hundred versions of the
   same file cost a set lookup per line. A secret is then reported once, with the blob and
   commit that introduced it: the consumer scans the blob (or just `excerpt()`, for line
   detectors) and keeps the findings on new lines. Lines present at HEAD are the ordinary
   scan's business, so a blob not at HEAD never counts them as new: a key still at HEAD is
   reported once, by the ordinary scan;
4. gives the new lines to a cheap prefilter (`credential_prefilter`: the secrets scanner's own
   triggers) so that only blobs that added something a detector could fire on are yielded.

Everything git is asked goes through `botscan.sources.gitcmd`, which makes the repository's own
configuration (fsmonitor, hooks, filters, textconv, transports) inert. Every problem (not a git
repository, a shallow clone, missing or corrupt objects, git absent or too slow) becomes a
`Notice`; this module never raises on a bad repository.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, count
from pathlib import Path
from typing import IO

from botscan import catalog
from botscan.analyzers import text_credentials
from botscan.analyzers.secrets import prefilter as secrets_prefilter
from botscan.model import Notice, NoticeKind
from botscan.sources import gitcmd
from botscan.sources.decode import decode_text

Prefilter = Callable[[str, bytes], bool]
Names = tuple[tuple[str, str], ...]
Progress = Callable[[int, int], None]

_NOTICE_PATH = ""
"""Notices about the history as a whole have no file path."""
_REGULAR_MODES = frozenset({b"100644", b"100755", b"100664"})
"""Regular files. Symlinks (120000) hold a target path and gitlinks (160000) a commit id."""
_BINARY_SNIFF = 8000
"""Git's own rule: a NUL byte in the first 8000 bytes makes a blob binary."""
_DATA_MIN_BYTES = 32 * 1024
_DATA_SAMPLE = 4096
_DATA_MAX_LETTER_SHARE = 0.15
_DATA_SAME_SHAPE_SHARE = 0.8
_DATA_RECORDS = 16
_LETTERS = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_NOT_LETTERS = bytes(b for b in range(256) if b not in _LETTERS)
_DIGIT_RUN = re.compile(rb"[0-9]+")
_PROGRESS_INTERVAL = 0.1
_EXAMPLES_IN_NOTICE = 3
# `str.splitlines` also ends lines at these; inside an excerpt line they become spaces so that
# excerpt line i is exactly the i-th new line.
_LINE_BREAKERS = {ord(c): " " for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


@dataclass(frozen=True)
class HistoryBlob:
    """One unique blob of the history, and the lines it was the first to bring.

    `commit`/`date`/`path` name the oldest commit that introduced the blob (in `--date-order`:
    parents before children), and the path it had there. `commit` and `date` are empty for a
    blob that no commit introduces (reachable only from a tag or ref naming a tree or blob).
    """

    blob: str
    path: str
    data: bytes
    commit: str
    date: str
    """ISO 8601 committer date of `commit`."""
    at_head: bool
    """This exact blob is at HEAD: the ordinary scan reports what it holds."""
    path_exists_at_head: bool
    new_lines: tuple[int, ...] = ()
    """1-based numbers (lines split at "\\n") of the non-empty lines that no blob read before
    holds. For a blob not at HEAD: the lines its commit brought that no older blob and no file
    at HEAD holds, the only ones where a secret this commit introduced and the ordinary scan
    does not report can be. For a blob at HEAD (read first): its lines not in another HEAD
    file."""

    def excerpt(self) -> tuple[str, tuple[int, ...]]:
        """The new lines as text, one per line, and their line numbers in the blob.

        Line i (1-based, as `str.splitlines` counts) of the text is line `numbers[i - 1]` of
        the blob: scanning the excerpt instead of the blob costs what the commit added, not the
        file's size.
        """
        lines = self.data.split(b"\n")
        chunk = b"\n".join(lines[n - 1] for n in self.new_lines)
        return decode_text(chunk).text.translate(_LINE_BREAKERS), self.new_lines


# --- the default prefilter -------------------------------------------------------------------

# A seed phrase as wallets print it: eleven single-space-separated words after the first. The
# secrets scanner searches for exactly this before it looks for a phrase, so it is sound here.
_SEED_TRIGGER = re.compile(" [a-z]{3,8}" * 11)
# Secrets that span lines: a rotated PEM key or keypair array keeps its first line, and its new
# lines (base64, numbers) say nothing by themselves. Searched in the whole blob, as two literals
# and a regex that starts with one (an alternation would try every position: 5x slower); only
# blobs that hold one have their lines walked (`_touched_block_heads`).
_SPANNING_MARKERS = (b"PRIVATE KEY", b"PuTTY-User-Key-File")
_KEYPAIR_ARRAY = re.compile(rb"\[\s*(?:\d{1,3}\s*,\s*){63}\d")
_PEM_LOOKAHEAD_LINES = 80
"""How far below its header a PEM body may end (the secrets scanner looks as far)."""


@catalog.derived
def _triggers(extra_names: Names) -> tuple[tuple[re.Pattern[str], bool], ...]:
    """(pattern, search the lower-cased text) for every trigger of the secrets scanner: the
    detect-secrets plugins', botscan's own formats', and the credential-name stems."""
    every = [  # the most frequent first: a blob with new credential lines stops early
        *secrets_prefilter.name_triggers(text_credentials.stems(extra_names)),
        *(t for group in secrets_prefilter.OWN_TRIGGERS.values() for t in group),
        *(t for group in secrets_prefilter.DETECT_SECRETS_TRIGGERS.values() for t in group),
    ]
    return (*((t.pattern, t.folded) for t in every), (_SEED_TRIGGER, False))


def credential_prefilter(path: str, data: bytes) -> bool:
    """Could a botscan credential detector fire on `data`? False only when none can.

    It asks the secrets scanner's own triggers (`analyzers.secrets.prefilter`: each
    detect-secrets plugin's, the Telegram, Discord webhook and 0x-key formats', every
    credential-name stem of the catalog) and the seed-phrase gate, so what it rejects the
    scanner would not report on these lines. `path` is part of the prefilter protocol (a
    caller's filter may decide by name); this one reads only the bytes.
    """
    return _passes(data, ())


def make_credential_prefilter(extra_names: Names) -> Prefilter:
    """`credential_prefilter` that also knows the user's own (name, kind) credential names
    (`ScanOptions.credential_names`)."""

    def prefilter(path: str, data: bytes) -> bool:
        return _passes(data, extra_names)

    return prefilter


def _passes(data: bytes, extra_names: Names) -> bool:
    text = decode_text(data).text
    if any(ch in text for ch in secrets_prefilter.FOLD_EXCEPTIONS):
        return True  # `re.IGNORECASE` would match them where `lower()` keeps them apart
    folded = text.lower()
    return any(pattern.search(folded if lowered else text) is not None
               for pattern, lowered in _triggers(extra_names))


# --- the source ------------------------------------------------------------------------------

@dataclass
class _Intro:
    """Where a blob first appeared: index into the commit list, and path."""

    commit: int
    path: str


@dataclass
class _Skipped:
    count: int = 0
    size: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, path: str, size: int) -> None:
        self.count += 1
        self.size += size
        if len(self.examples) < _EXAMPLES_IN_NOTICE and path not in self.examples:
            self.examples.append(path)

    def notice(self, kind: NoticeKind, what: str) -> Notice | None:
        if not self.count:
            return None
        shown = ", ".join(self.examples) + (", …" if self.count > len(self.examples) else "")
        size = f" ({self.size / 1e6:.1f} MB)" if self.size else ""
        return Notice(_NOTICE_PATH, kind,
                      f"git history: {self.count} {what}{size} not scanned, e.g. {shown}")


def history_blobs(
    repo: Path,
    *,
    since: str | None = None,
    max_blob_bytes: int = 1_000_000,
    prefilter: Prefilter | None = None,
    progress: Progress | None = None,
    timeout: float = gitcmd.DEFAULT_TIMEOUT,
) -> Iterator[HistoryBlob | Notice]:
    """Yield the unique blobs of `repo`'s history (all refs) that bring new lines: the blobs at
    HEAD first, then the others oldest first.

    `repo` is a work tree holding `.git`, or a bare repository. With `since` (a revision, e.g.
    `origin/main`), only commits not reachable from it are read, and lines already present in
    its tree do not count as new. A blob is yielded when it has new lines and, if `prefilter`
    is given, `prefilter(path, excerpt)` accepts the bytes of those new lines joined by
    newlines. A blob with new lines inside a secret that spans lines (a PEM private key, a
    64-number keypair array) is yielded whatever the prefilter says, and the secret's first
    line counts as new: a rotated key keeps that line, scanners report the key on it, and its
    new base64 or numbers say nothing by themselves. Blobs at HEAD are yielded too, with
    `at_head` set; their secrets are the ordinary scan's.
    `progress(done, total)` is called as blobs are read (at most ten times a second, and once
    at the end). `timeout` bounds each git call, and each wait for a streaming one.

    Raises ValueError when `since` does not name a commit of the repository (a usage error);
    anything wrong with the repository itself is a Notice.
    """
    located = _git_dir(repo)
    if isinstance(located, Notice):
        yield located
        return
    reader = _HistoryReader(located, since, max_blob_bytes, prefilter, progress, timeout)
    try:
        yield from reader.run()
    except gitcmd.GitTimeout as exc:
        yield Notice(_NOTICE_PATH, NoticeKind.TIMEOUT, f"git history not fully read: {exc}")
    except gitcmd.GitError as exc:
        yield Notice(_NOTICE_PATH, NoticeKind.UNREADABLE, f"git history not fully read: {exc}")
    yield from reader.summary()


def _git_dir(repo: Path) -> Path | Notice:
    """The repository's git directory, refusing one that lies outside `repo`.

    A `.git` file (`gitdir: …`, worktrees and submodules) or a `.git` link pointing outside the
    scanned tree would make botscan read some other repository on this machine: refused, like a
    symlink leaving the scan root.
    """
    if gitcmd.git_executable() is None:
        return Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                      "git history not scanned: git is not installed")
    root = Path(os.path.realpath(repo))
    dot_git = root / ".git"
    candidate: Path | None = None
    if dot_git.is_file() and not dot_git.is_symlink():
        try:
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        except OSError as exc:
            return Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                          f"git history not scanned: .git cannot be read ({exc.strerror})")
        if text.startswith("gitdir:"):
            candidate = root / text[len("gitdir:"):].strip()
    elif os.path.lexists(dot_git):
        candidate = dot_git
    elif (root / "HEAD").is_file() and (root / "objects").is_dir():
        candidate = root  # a bare repository
    if candidate is None:
        return Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                      "git history not scanned: not a git repository")
    resolved = Path(os.path.realpath(candidate))
    if resolved != root and root not in resolved.parents:
        return Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                      "git history not scanned: the git directory lies outside the scanned "
                      "tree")
    if not (resolved / "HEAD").is_file():
        return Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                      "git history not scanned: the git directory has no HEAD")
    return resolved


class _HistoryReader:
    """One history read: the git calls, the seen-lines state, and the skip counters."""

    def __init__(self, git_dir: Path, since: str | None, max_blob_bytes: int,
                 prefilter: Prefilter | None, progress: Progress | None,
                 timeout: float) -> None:
        self.git_dir = git_dir
        self.since = since
        self.max_blob_bytes = max_blob_bytes
        self.prefilter = prefilter
        self.progress = progress
        self.timeout = timeout
        self.skipped_large = _Skipped()
        self.skipped_data = _Skipped()
        self.skipped_binary = _Skipped()
        self.missing = _Skipped()
        self.commits: list[tuple[str, str]] = []
        self.intros: dict[str, _Intro] = {}
        self.not_files: set[str] = set()
        """Blob ids met only as symlinks or in other non-file modes: never orphans."""
        self.seen: set[int] = {hash(b"")}
        """Hashes of every line read so far: HEAD's first, then the `since` tree's."""
        self.sizes: dict[str, int] = {}
        self.absent: set[str] = set()
        """Objects `rev-list --missing=print` reported missing: never asked for."""

    def _run(self, *args: str, stdin: bytes | None = None) -> bytes:
        return gitcmd.run(self.git_dir, args, timeout=self.timeout, stdin=stdin)

    def run(self) -> Iterator[HistoryBlob | Notice]:
        try:
            shallow = self._run("rev-parse", "--is-shallow-repository").strip() == b"true"
        except gitcmd.GitError as exc:
            yield Notice(_NOTICE_PATH, NoticeKind.UNREADABLE, f"git history not scanned: {exc}")
            return
        if shallow:
            yield Notice(_NOTICE_PATH, NoticeKind.UNREADABLE,
                         "git history: shallow clone, commits before its cut are not in the "
                         "repository and were not scanned (clone without --depth to scan them)")
        since_commit = self._resolve_since()
        head = self._tree_files("HEAD")
        head_blobs = set(head.values())
        head_paths = set(head)
        revisions = ["--all"] if since_commit is None else ["--all", "--not", since_commit]
        self._introductions(revisions)
        order, orphans = self._plan(revisions)

        # HEAD's blobs come first: their lines are then never new in an older blob, since the
        # ordinary scan reports them. Lines of the `since` tree (and of HEAD blobs outside the
        # range) are old: they are read into `seen` without being yielded.
        order.sort(key=lambda blob: blob not in head_blobs)  # stable: the rest stays oldest first
        known = set(self._tree_files(since_commit).values()) if since_commit else set()
        for _, data in self._contents(self._readable((known | head_blobs) - set(order))):
            if data is not None and _skip_reason(data) is None:
                self.seen.update(map(hash, data.split(b"\n")))

        done, total, last = 0, len(order), 0.0
        for blob, data in self._contents(order):
            done += 1
            now = time.monotonic()
            if self.progress is not None and (now - last >= _PROGRESS_INTERVAL or done == total):
                self.progress(done, total)
                last = now
            intro = self.intros.get(blob)
            path = intro.path if intro is not None else orphans[blob]
            if data is None:
                self.missing.add(path, 0)
                continue
            commit, date = self.commits[intro.commit] if intro is not None else ("", "")
            item = self._blob(blob, path, data, commit, date, blob in head_blobs,
                              path in head_paths)
            if item is not None:
                yield item
        if self.progress is not None and total == 0:
            self.progress(0, 0)

    def summary(self) -> Iterator[Notice]:
        for skipped, kind, what in (
            (self.skipped_large, NoticeKind.TOO_LARGE,
             f"blobs over {self.max_blob_bytes / 1e6:g} MB"),
            (self.skipped_data, NoticeKind.TOO_LARGE,
             "blobs shaped like market data (numbers and repeated records)"),
            (self.skipped_binary, NoticeKind.BINARY, "binary blobs"),
            (self.missing, NoticeKind.UNREADABLE,
             "blobs missing from the object store (partial clone or corrupt repository)"),
        ):
            notice = skipped.notice(kind, what)
            if notice is not None:
                yield notice

    # --- git calls ---------------------------------------------------------------------------
    def _resolve_since(self) -> str | None:
        """`since` as a commit id. Checked here, not passed on: a revision starting with `-`
        would be read by git as an option."""
        if self.since is None:
            return None
        if not self.since or self.since.startswith("-") or any(c in self.since for c in
                                                               "\0\n\r"):
            raise ValueError(f"--since {self.since!r}: not a revision")
        try:
            out = self._run("rev-parse", "--verify", "--quiet", f"{self.since}^{{commit}}")
        except gitcmd.GitError:
            raise ValueError(f"--since {self.since!r}: not a commit of this repository") \
                from None
        return out.decode("ascii").strip()

    def _tree_files(self, revision: str) -> dict[str, str]:
        """Path -> blob id of the regular files in a commit's tree (with their sizes in
        `self.sizes`); empty when the revision does not exist (no commit yet)."""
        try:
            out = self._run("ls-tree", "-r", "-l", "-z", "--full-tree", revision)
        except gitcmd.GitError:
            return {}
        files: dict[str, str] = {}
        for entry in out.split(b"\0"):
            meta, _, raw_path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) == 4 and parts[0] in _REGULAR_MODES and parts[3].isdigit():
                blob = parts[2].decode("ascii")
                files[_path(raw_path)] = blob
                self.sizes[blob] = int(parts[3])
        return files

    def _readable(self, blobs: set[str]) -> list[str]:
        """The blobs worth reading: present (asking cat-file for a missing object would make a
        partial clone fetch it) and within the size limit."""
        return sorted(b for b in blobs if b not in self.absent
                      and self.sizes.get(b, 0) <= self.max_blob_bytes)

    def _introductions(self, revisions: list[str]) -> None:
        """One `git log --raw` pass, oldest commit first: the first commit and path of each
        blob. Only tree diffs are computed (no blob is read); `-m` shows merges against each
        parent, so a blob first made by a merge (a conflict resolution) is found too."""
        args = ["log", *revisions, "--date-order", "--reverse", "--raw", "-m", "--root",
                "--no-abbrev", "--no-renames", "--no-textconv", "--no-ext-diff",
                "--no-show-signature", "--no-color", "-z", "--format=%x01%H %cI"]
        meta: bytes | None = None
        with gitcmd.Stream(self.git_dir, args, idle_timeout=self.timeout) as stream:
            for token in _tokens(stream):
                if meta is not None:
                    self._change(meta, token)
                    meta = None
                    continue
                token = token.lstrip(b"\n")
                if token.startswith(b"\x01"):
                    sha, _, date = token[1:].decode("ascii", "replace").partition(" ")
                    if not self.commits or self.commits[-1][0] != sha:
                        self.commits.append((sha, date))
                elif token.startswith(b":"):
                    meta = token
            stream.finish()

    def _change(self, meta: bytes, raw_path: bytes) -> None:
        parts = meta[1:].split(b" ")
        if len(parts) < 5 or not self.commits:
            return
        mode, blob = parts[1], parts[3].decode("ascii", "replace")
        if blob.strip("0") == "":
            return  # deleted
        if mode not in _REGULAR_MODES:
            self.not_files.add(blob)
        elif blob not in self.intros:
            self.intros[blob] = _Intro(len(self.commits) - 1, _path(raw_path))

    def _plan(self, revisions: list[str]) -> tuple[list[str], dict[str, str]]:
        """The blobs to read, in order, and the orphans among them (blob -> path hint).

        `rev-list --objects` names every reachable object and, with `--missing=print`, the ones
        the object store lacks; objects it names that no commit introduced are checked for
        being blobs (a tag can point at a blob or a tree). Sizes come from
        `cat-file --batch-check`, so a blob over the limit is never read.
        """
        listing = self._run("rev-list", "--objects", "--missing=print", *revisions)
        candidates: dict[str, str] = {}
        for line in listing.split(b"\n"):
            if line.startswith(b"?"):
                self.absent.add(line[1:].decode("ascii", "replace"))
                continue
            sha, sep, name = line.partition(b" ")
            blob = sha.decode("ascii", "replace")
            if sep and blob not in self.intros and blob not in self.not_files:
                candidates[blob] = _path(name)
        for blob in self.absent:
            intro = self.intros.get(blob)
            if intro is not None:
                self.missing.add(intro.path, 0)
        wanted = [b for b in (*self.intros, *candidates) if b not in self.absent]
        out = self._run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                        stdin="".join(f"{b}\n" for b in wanted).encode("ascii"))
        order: list[str] = []
        orphans: dict[str, str] = {}
        for row in out.decode("ascii", "replace").splitlines():
            parts = row.split()
            if len(parts) != 3 or parts[1] != "blob":
                continue
            blob, size = parts[0], int(parts[2])
            intro = self.intros.get(blob)
            path = intro.path if intro is not None else candidates.get(blob, blob) or blob
            if size > self.max_blob_bytes:
                self.skipped_large.add(path, size)
                continue
            order.append(blob)
            if intro is None:
                orphans[blob] = path
        return order, orphans

    def _contents(self, blobs: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """Each blob's raw bytes (None when missing), in the order asked, from one
        `git cat-file --batch` process fed by a thread (so neither pipe can fill up)."""
        if not blobs:
            return
        with gitcmd.Stream(self.git_dir, ["cat-file", "--batch"], idle_timeout=self.timeout,
                           stdin=True) as stream:
            feeder = threading.Thread(target=_feed, args=(stream.stdin, blobs), daemon=True)
            feeder.start()
            for blob in blobs:
                header = stream.readline()
                if not header.endswith(b"\n"):
                    raise gitcmd.GitError("git cat-file stopped before the last object")
                parts = header.split()
                if len(parts) != 3:
                    yield blob, None  # "<id> missing"
                    continue
                size = int(parts[2])
                data = stream.read(size)
                if len(data) != size or stream.read(1) != b"\n":
                    raise gitcmd.GitError("git cat-file output was cut short")
                yield blob, data
            stream.finish()

    # --- one blob ----------------------------------------------------------------------------
    def _blob(self, blob: str, path: str, data: bytes, commit: str, date: str, at_head: bool,
              path_exists_at_head: bool) -> HistoryBlob | None:
        reason = _skip_reason(data)
        if reason is not None:
            (self.skipped_binary if reason == "binary" else self.skipped_data).add(path,
                                                                                   len(data))
            return None
        lines = data.split(b"\n")
        hashes = list(map(hash, lines))
        fresh = set(hashes).difference(self.seen)
        self.seen.update(fresh)  # the other lines are in it already
        if not fresh:
            return None
        numbers = tuple(compress(count(1), map(fresh.__contains__, hashes)))
        heads = _touched_block_heads(data, lines, set(numbers)) if _spans_lines(data) else set()
        if heads:
            # The multi-line detectors need no trigger on the new lines: no prefilter.
            numbers = tuple(sorted(heads.union(numbers)))
        elif self.prefilter is not None and not self.prefilter(
                path, b"\n".join(lines[n - 1] for n in numbers)):
            return None
        return HistoryBlob(blob=blob, path=path, data=data, commit=commit, date=date,
                           at_head=at_head, path_exists_at_head=path_exists_at_head,
                           new_lines=numbers)


def _spans_lines(data: bytes) -> bool:
    """Does the blob hold the start of a secret written over several lines?"""
    return any(marker in data for marker in _SPANNING_MARKERS) or \
        _KEYPAIR_ARRAY.search(data) is not None


def _touched_block_heads(data: bytes, lines: list[bytes], new: set[int]) -> set[int]:
    """First lines of the multi-line secrets (PEM keys, keypair arrays) with a new line in them.

    Scanners report such a secret on its first line, and a rotated key keeps that line
    (`-----BEGIN RSA PRIVATE KEY-----`, `"secretKey": [`): it must count as new, or the new key
    would be filtered out as old.
    """
    heads: set[int] = set()
    for head, line in enumerate(lines, start=1):
        if (b"BEGIN" in line and _SPANNING_MARKERS[0] in line) or _SPANNING_MARKERS[1] in line:
            body = range(head + 1, min(head + _PEM_LOOKAHEAD_LINES, len(lines)) + 1)
            end = next((n for n in body if b"-----END" in lines[n - 1]), body.stop - 1)
            if new.intersection(range(head, end + 1)):
                heads.add(head)
    for match in _KEYPAIR_ARRAY.finditer(data):
        close = data.find(b"]", match.end())
        head = data.count(b"\n", 0, match.start()) + 1
        last = head + data.count(b"\n", match.start(), close if close >= 0 else len(data))
        if new.intersection(range(head, last + 1)):
            heads.add(head)
    return heads


def _skip_reason(data: bytes) -> str | None:
    """"binary", "data" (market data by shape), or None for a blob worth reading.

    Market data is recognised by shape in the first 4 KB of a blob of 32 KB or more: mostly
    digits and separators (candles, price arrays), or records that are all the same once their
    numbers are blanked (CSV rows, JSON objects with the same keys). A config file has words
    and differing lines, so `config.json` is always read; a small numeric file (a Solana
    keypair array) is under the size floor and read too.
    """
    if b"\0" in data[:_BINARY_SNIFF]:
        return "binary"
    if len(data) < _DATA_MIN_BYTES:
        return None
    head = data[:_DATA_SAMPLE]
    letters = len(head.translate(None, _NOT_LETTERS))
    if letters < _DATA_MAX_LETTER_SHARE * len(head):
        return "data"
    # The first records after a possible header line (never the one the sample cuts).
    records = head.split(b"\n")[1:-1][:_DATA_RECORDS]
    if len(records) < _DATA_RECORDS:
        return None
    shapes = Counter(_DIGIT_RUN.sub(b"0", record) for record in records)
    return "data" if shapes.most_common(1)[0][1] >= _DATA_SAME_SHAPE_SHARE * _DATA_RECORDS \
        else None


def _tokens(stream: gitcmd.Stream) -> Iterator[bytes]:
    """NUL-separated tokens of a `-z` output, read incrementally."""
    rest = b""
    while True:
        chunk = stream.read1()
        if not chunk:
            break
        pieces = (rest + chunk).split(b"\0")
        rest = pieces.pop()
        yield from pieces
    if rest:
        yield rest


def _feed(pipe: IO[bytes] | None, blobs: list[str]) -> None:
    """Write the object ids for `cat-file --batch`; git dying early just ends the feed."""
    if pipe is None:
        return
    try:
        for start in range(0, len(blobs), 1024):
            pipe.write("".join(f"{b}\n" for b in blobs[start:start + 1024]).encode("ascii"))
        pipe.close()
    except (OSError, ValueError):
        pass


def _path(raw: bytes) -> str:
    """A git path as text; bytes that are not UTF-8 survive as surrogate escapes."""
    return raw.decode("utf-8", "surrogateescape")
