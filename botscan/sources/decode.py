"""Turning scanned bytes into text, the way the file's own consumer would.

For Python the consumer is CPython: what matters is the text the interpreter would run, not what
an editor shows. A hostile file can declare `# coding: utf-7` and hide `+AAo-import os` in a
comment that CPython decodes into a new line of code, so the PEP 263 cookie is honoured whenever
CPython would honour it. Cookies CPython refuses (unknown names, non-text codecs, encodings that
cannot even spell their own declaration such as UTF-16) make the file unrunnable; such a file is
decoded as UTF-8 so that analyzers still see its readable text, and flagged.

Decoding never raises: every input yields text, and `had_errors` says when that text is not a
faithful rendering of the bytes. It runs on every file, so the common case (valid UTF-8, no
cookie) costs one C-level decode and two `find` calls.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# PEP 263, exactly as `tokenize` spells it; ASCII so that `\w` cannot match exotic bytes.
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_COOKIE_TEXT = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
# A line that lets the cookie live on line 2: blank or a comment (the shebang, usually).
_BLANK = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)", re.ASCII)

# UTF-32 first: its little-endian BOM begins with the UTF-16 little-endian one.
_TEXT_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str
    """The codec actually used, as `codecs.lookup` names it ("utf-8", "iso8859-1", "utf-7")."""
    had_errors: bool
    """Invalid bytes were replaced, or the declared encoding was refused and UTF-8 used instead:
    the text is not exactly what the bytes mean, and the caller should say so."""
    had_bom: bool


def decode_python(data: bytes) -> DecodedSource:
    """Decode Python source as CPython would: UTF-8 BOM, else a PEP 263 cookie, else UTF-8."""
    had_bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if had_bom else data
    declared = _find_cookie(body)
    if declared is None:
        return _decode(body, "utf-8", had_bom)
    encoding = _resolve_cookie(declared, _head(body))
    # CPython rejects a BOM with any other encoding: the file cannot run, read it as UTF-8.
    if encoding is None or (had_bom and encoding != "utf-8"):
        return _decode(body, "utf-8", had_bom, refused=True)
    return _decode(body, encoding, had_bom)


def decode_text(data: bytes) -> DecodedSource:
    """Decode a non-Python text file (config, `.env`, notes) without any declaration to go by.

    A BOM (UTF-8, UTF-16 or UTF-32) decides. Otherwise UTF-8; a file that is UTF-8 apart from a
    few stray bytes stays UTF-8 with those bytes replaced (`had_errors`). A file with no valid
    multi-byte sequence at all is a legacy 8-bit file: cp1252, or latin-1 for the few bytes cp1252
    leaves undefined. That decoding maps every byte to one character, so nothing is lost and
    `had_errors` stays false; `encoding` tells the guess.
    """
    for bom, encoding in _TEXT_BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], encoding, had_bom=True)
    try:
        return DecodedSource(data.decode("utf-8"), "utf-8", False, False)
    except UnicodeDecodeError:
        pass
    mostly_utf8 = data.decode("utf-8", "replace")
    if not mostly_utf8.replace("\ufffd", "").isascii():
        return DecodedSource(mostly_utf8, "utf-8", True, False)
    try:
        return DecodedSource(data.decode("cp1252"), "cp1252", False, False)
    except UnicodeDecodeError:
        return DecodedSource(data.decode("latin-1"), "iso8859-1", False, False)


def _head(data: bytes) -> bytes:
    """Lines 1 and 2 (with their newlines): the only place PEP 263 looks."""
    first = data.find(b"\n")
    if first < 0:
        return data
    second = data.find(b"\n", first + 1)
    return data if second < 0 else data[: second + 1]


def _find_cookie(data: bytes) -> bytes | None:
    """The codec name declared on line 1, or on line 2 when line 1 is blank or a comment."""
    head = _head(data)
    if b"coding" not in head:
        return None
    first_end = head.find(b"\n") + 1 or len(head)
    first = head[:first_end]
    match = _COOKIE.match(first)
    if match:
        return match.group(1)
    if not _BLANK.match(first):
        return None
    match = _COOKIE.match(head[first_end:])
    return match.group(1) if match else None


def _normal_name(name: str) -> str:
    """Emacs-style variants CPython accepts (`utf-8-unix`, `latin-1-dos`) mapped to the codec."""
    short = name[:12].lower().replace("_", "-")
    if short == "utf-8" or short.startswith("utf-8-"):
        return "utf-8"
    if short in ("latin-1", "iso-8859-1", "iso-latin-1") or short.startswith(
        ("latin-1-", "iso-8859-1-", "iso-latin-1-")
    ):
        return "iso-8859-1"
    return name


def _resolve_cookie(declared: bytes, head: bytes) -> str | None:
    """The codec CPython would decode with, or None when it would refuse the declaration.

    Besides existing and being a text encoding, the codec must decode the declaration back into
    itself: UTF-16 or EBCDIC applied to the ASCII bytes of `# coding: utf-16` yields noise, and
    CPython rejects (or, for EBCDIC, runs nothing of) such files.
    """
    name = _normal_name(declared.decode("ascii"))
    try:
        encoding = codecs.lookup(name).name
    except LookupError:
        return None
    if encoding in ("utf-8", "iso8859-1"):
        return encoding
    try:
        try:
            head_text = head.decode(encoding)
        except UnicodeDecodeError:
            head_text = head.decode(encoding, "replace")
    except (UnicodeError, LookupError, ValueError):
        return None
    lines = head_text.split("\n", 1)
    for line in lines:
        match = _COOKIE_TEXT.match(line)
        if match:
            return encoding if match.group(1) == declared.decode("ascii") else None
    return None


def _decode(data: bytes, encoding: str, had_bom: bool, refused: bool = False) -> DecodedSource:
    """Strict first, so that clean files pay one decode; then with replacement characters.

    `refused` marks a declaration that was overridden: the result is flagged even when the
    bytes happen to be valid UTF-8. A few exotic codecs (idna) support no error handler but
    strict; their failures fall back to UTF-8 with replacement rather than escape as exceptions.
    """
    try:
        return DecodedSource(data.decode(encoding), encoding, refused, had_bom)
    except UnicodeDecodeError:
        pass
    except (UnicodeError, ValueError):
        return DecodedSource(data.decode("utf-8", "replace"), "utf-8", True, had_bom)
    try:
        return DecodedSource(data.decode(encoding, "replace"), encoding, True, had_bom)
    except (UnicodeError, ValueError):
        return DecodedSource(data.decode("utf-8", "replace"), "utf-8", True, had_bom)
