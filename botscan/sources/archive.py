"""Downloaded archives (`.zip`, `.whl`, `.tar`, `.tar.gz`, `.tar.bz2`, `.tar.xz`), read in memory.

A bot is often vetted as the zip GitHub hands out or a wheel from an index, before anyone
unpacks it. Unpacking is where archives attack: members named `../../.bashrc` or `/etc/cron.d/x`,
links to the user's files, a few kilobytes that expand to gigabytes, a million empty members.
So nothing here ever extracts or writes: each member is decompressed into memory, through a
reader that stops at the per-file cap, and

- a member name is normalised lexically; one that climbs out (`../`), is absolute or has a drive
  letter is reported and scanned under its cleaned name, never resolved on any file system;
- symbolic and hard links, devices and FIFOs are reported and not read (there is no file system
  to resolve them against, and following one is what an extractor must not do);
- the expanded bytes of the whole archive and the number of members are capped: past a cap,
  the rest is reported as not read, and the scan goes on with what was read;
- nested archives are not opened (the committed-binary rules see them as files).

Members come out as the walker's `SourceFile`s with their bytes attached, classified by the
same function, so every analyzer treats them exactly like files on disk.
"""

from __future__ import annotations

import lzma
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from botscan.model import Notice, NoticeKind
from botscan.sources.walker import SNIFF_BYTES, Item, SourceFile, classify, is_excluded

ARCHIVE_SUFFIXES = (".zip", ".whl", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz",
                    ".txz")


@dataclass(frozen=True)
class ArchiveLimits:
    max_file_bytes: int = 2_000_000
    """A member larger than this is not read (the walker's cap for files on disk)."""
    max_total_bytes: int = 100_000_000
    """Expanded bytes read from the whole archive, all members together."""
    max_members: int = 20_000


def is_archive(path: Path) -> bool:
    """Is `path` a regular file named like an archive botscan reads? (Not a link: a named
    archive that is a link is read only by the walker's rules, which refuse links out.)"""
    name = path.name.lower()
    return name.endswith(ARCHIVE_SUFFIXES) and path.is_file() and not path.is_symlink()


def read_archive(path: Path, *, exclude: tuple[str, ...] = (), use_default_excludes: bool = True,
                 limits: ArchiveLimits | None = None) -> Iterator[Item]:
    """Every member of the archive at `path` as a `SourceFile` holding its bytes, and a notice
    for everything not read. Raises `ValueError` when the file is not a readable archive."""
    limits = limits or ArchiveLimits()
    if zipfile.is_zipfile(path):
        members: Iterator[_Member] = _zip_members(path)
    elif tarfile.is_tarfile(path):
        members = _tar_members(path)
    else:
        raise ValueError(f"{path}: not a zip or tar archive botscan can read")
    yield from _Reader(path, limits, exclude, use_default_excludes).run(members)


@dataclass
class _Member:
    """One archive entry as the reader needs it, whatever the archive format."""

    name: str
    declared_size: int
    kind: str
    """"file", "dir", "link" (with `target`), "special", "encrypted"."""
    target: str = ""
    opener: object = None
    """A callable returning a binary stream, for files."""
    skipping_costs: bool = False
    """Passing over the member means decompressing it (a compressed tar stream), so a member
    left unread still spends the archive's expansion budget."""

    def open(self) -> IO[bytes]:
        assert callable(self.opener)
        stream: IO[bytes] = self.opener()
        return stream


def _zip_members(path: Path) -> Iterator[_Member]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if info.is_dir():
                yield _Member(info.filename, 0, "dir")
            elif info.flag_bits & 0x1:
                yield _Member(info.filename, info.file_size, "encrypted")
            elif stat.S_ISLNK(mode):
                # A zip link's target is its content: short, read within a small bound.
                with archive.open(info) as stream:
                    target = stream.read(4096).decode("utf-8", "replace")
                yield _Member(info.filename, info.file_size, "link", target=target)
            else:
                yield _Member(info.filename, info.file_size, "file",
                              opener=lambda info=info: archive.open(info))


def _tar_members(path: Path) -> Iterator[_Member]:
    with tarfile.open(path, mode="r:*") as archive:
        # Iterating instead of `getmembers()` keeps a million-member archive from being listed
        # in memory before the member cap can stop it.
        for info in archive:
            if info.isdir():
                yield _Member(info.name, 0, "dir")
            elif info.issym() or info.islnk():
                yield _Member(info.name, 0, "link", target=info.linkname)
            elif info.isfile():
                yield _Member(info.name, info.size, "file",
                              opener=lambda info=info: archive.extractfile(info),
                              skipping_costs=True)
            else:
                yield _Member(info.name, 0, "special")


_DRIVE = re.compile(r"^[A-Za-z]:")
_DAMAGE = (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, ValueError, zlib.error,
           lzma.LZMAError)


def clean_name(name: str) -> tuple[str, bool]:
    """A member name as a relative path inside the archive, and whether the original tried to
    leave it (`..` climbing out, an absolute path, a drive letter). Purely lexical."""
    raw = name.replace("\\", "/")
    escapes = raw.startswith("/") or bool(_DRIVE.match(raw))
    raw = _DRIVE.sub("", raw).lstrip("/")
    parts: list[str] = []
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            else:
                escapes = True
            continue
        parts.append(part)
    return "/".join(parts), escapes


class _Reader:
    def __init__(self, archive: Path, limits: ArchiveLimits, exclude: tuple[str, ...],
                 defaults: bool) -> None:
        self.archive = archive
        self.limits = limits
        self.exclude = exclude
        self.defaults = defaults
        self.expanded = 0
        self.seen: set[str] = set()

    def run(self, members: Iterator[_Member]) -> Iterator[Item]:
        label = self.archive.name
        count = 0
        try:
            for member in members:
                count += 1
                if count > self.limits.max_members:
                    yield Notice(label, NoticeKind.ARCHIVE,
                                 f"more than {self.limits.max_members:,} members: the rest "
                                 "were not read")
                    return
                if self.expanded >= self.limits.max_total_bytes:
                    yield Notice(label, NoticeKind.ARCHIVE,
                                 f"expanded size cap of {self.limits.max_total_bytes:,} bytes "
                                 "reached: the remaining members were not read")
                    return
                yield from self._member(member)
        except _DAMAGE as exc:
            yield Notice(label, NoticeKind.ARCHIVE,
                         f"archive damaged after {count:,} members ({type(exc).__name__}): "
                         "the rest were not read")

    def _member(self, member: _Member) -> Iterator[Item]:
        rel, escapes = clean_name(member.name)
        shown = rel or "(unnamed member)"
        if escapes:
            yield Notice(shown, NoticeKind.ARCHIVE,
                         f"member name {member.name!r} points outside the archive (an "
                         "extracting tool could write it anywhere); read in memory under "
                         f"{shown!r}")
        if member.kind == "dir" or not rel:
            return
        if is_excluded(rel, self.exclude, self.defaults):
            return
        if member.kind == "link":
            yield Notice(rel, NoticeKind.SYMLINK,
                         f"archive link to {member.target!r}: not followed")
            return
        if member.kind == "special":
            yield Notice(rel, NoticeKind.ARCHIVE, "device or FIFO member: not read")
            return
        if member.kind == "encrypted":
            yield Notice(rel, NoticeKind.ARCHIVE, "encrypted member: cannot be read")
            return
        if member.declared_size > self.limits.max_file_bytes:
            if member.skipping_costs:
                self.expanded += member.declared_size
            yield Notice(rel, NoticeKind.TOO_LARGE,
                         f"{member.declared_size:,} bytes expanded, over the "
                         f"{self.limits.max_file_bytes:,}-byte cap; not read")
            return
        try:
            data = self._read(member)
        except _DAMAGE as exc:
            yield Notice(rel, NoticeKind.ARCHIVE,
                         f"member damaged ({type(exc).__name__}: a checksum or size that does "
                         "not match its header); not read")
            return
        if isinstance(data, str):
            yield Notice(rel, NoticeKind.TOO_LARGE, data)
            return
        if rel in self.seen:
            yield Notice(rel, NoticeKind.ARCHIVE,
                         "the archive holds this name more than once (an extractor keeps the "
                         "last copy); every copy is scanned")
        self.seen.add(rel)
        kind, notice = classify(rel, data[:SNIFF_BYTES])
        yield SourceFile(rel, self.archive, len(data), kind, data=data)
        if notice is not None:
            yield notice

    def _read(self, member: _Member) -> bytes | str:
        """The member's bytes, or why they were not kept. Reads at most one byte past the
        smaller of the per-file cap and what is left of the archive's budget, whatever the
        header claims, so a lying header or a decompression bomb costs nothing."""
        cap = self.limits.max_file_bytes
        budget = self.limits.max_total_bytes - self.expanded
        with member.open() as stream:
            data = stream.read(min(cap, budget) + 1)
        self.expanded += len(data)
        if len(data) > budget:
            return (f"reading it crossed the archive's expanded size cap of "
                    f"{self.limits.max_total_bytes:,} bytes; not kept")
        if len(data) > cap:
            return (f"expands past the {cap:,}-byte cap (its header understates its size); "
                    "not read")
        return data
