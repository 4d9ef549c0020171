"""Decoding source bytes: Python as CPython reads it, other text by BOM and best guess."""

from __future__ import annotations

import codecs
import importlib.util
import random

import pytest

from botscan.sources.decode import DecodedSource, decode_python, decode_text

# -- Python -----------------------------------------------------------------------------------


def test_plain_utf8() -> None:
    assert decode_python("π = 3.14\n".encode()) == DecodedSource(
        "π = 3.14\n", "utf-8", False, False
    )


def test_bom_is_stripped_and_reported() -> None:
    result = decode_python(codecs.BOM_UTF8 + "x = 'é'\n".encode())
    assert result == DecodedSource("x = 'é'\n", "utf-8", False, True)


def test_latin1_emacs_cookie() -> None:
    result = decode_python(b"# -*- coding: latin-1 -*-\nname = 'Jos\xe9'\n")
    assert result.text.endswith("name = 'José'\n")
    assert (result.encoding, result.had_errors) == ("iso8859-1", False)


def test_cp1252_vim_cookie_on_line_two_after_a_shebang() -> None:
    data = b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nprice = '\x8025'\n"
    result = decode_python(data)
    assert result.text.endswith("price = '€25'\n")
    assert (result.encoding, result.had_errors) == ("cp1252", False)


def test_cookie_on_line_two_counts_only_after_a_comment_or_blank_line() -> None:
    result = decode_python(b"x = 1\n# coding: latin-1\ny = '\xe9'\n")
    assert (result.encoding, result.had_errors) == ("utf-8", True)
    assert "\ufffd" in result.text


def test_cookie_on_line_three_is_ignored() -> None:
    result = decode_python(b"#!/usr/bin/python\n\n# coding: latin-1\n")
    assert (result.encoding, result.had_errors) == ("utf-8", False)


def test_invalid_utf8_is_replaced_and_flagged() -> None:
    result = decode_python(b"key = 'ab\xff\xfecd'\nprint(key)\n")
    assert result.text == "key = 'ab\ufffd\ufffdcd'\nprint(key)\n"
    assert (result.encoding, result.had_errors, result.had_bom) == ("utf-8", True, False)


@pytest.mark.parametrize(
    "cookie",
    [
        b"bogus-codec",  # unknown
        b"rot13",  # a codec, but not a text encoding
        b"base64",
        b"undefined",  # always fails
        b"punycode",  # cannot decode ASCII punctuation
        b"utf-16",  # cannot decode its own declaration
        b"utf-32",
        b"cp037",  # EBCDIC: decodes, but into noise
    ],
)
def test_cookie_cpython_refuses_falls_back_to_flagged_utf8(cookie: bytes) -> None:
    data = b"# -*- coding: " + cookie + b" -*-\nAPI_KEY = 'abc'\n"
    result = decode_python(data)
    assert result == DecodedSource(data.decode(), "utf-8", True, False)


def test_utf16_cookie_with_invalid_utf8_body() -> None:
    result = decode_python(b"# coding: utf-16\nx = '\xff'\n")
    assert (result.encoding, result.had_errors) == ("utf-8", True)
    assert result.text == "# coding: utf-16\nx = '\ufffd'\n"


def test_bom_with_a_different_cookie_is_an_error() -> None:
    result = decode_python(codecs.BOM_UTF8 + b"# coding: latin-1\nx = 1\n")
    assert result == DecodedSource("# coding: latin-1\nx = 1\n", "utf-8", True, True)


def test_bom_with_a_utf8_cookie_is_fine() -> None:
    result = decode_python(codecs.BOM_UTF8 + b"# -*- coding: utf-8 -*-\nx = 1\n")
    assert (result.encoding, result.had_errors, result.had_bom) == ("utf-8", False, True)


def test_emacs_style_variants_are_normalised() -> None:
    result = decode_python(b"# coding: utf-8-unix\nx = '\xc3\xa9'\n")
    assert (result.text[-4:], result.encoding, result.had_errors) == ("'é'\n", "utf-8", False)
    result = decode_python(b"# coding: Latin_1-dos\nx = '\xe9'\n")
    assert (result.text[-4:], result.encoding) == ("'é'\n", "iso8859-1")


def test_utf7_cookie_reveals_what_cpython_runs() -> None:
    """`+AAo-` is a newline in UTF-7: CPython runs the call an editor shows inside a comment."""
    result = decode_python(b"# coding: utf-7\nx = 1  # +AAo-import os; os.system('id')\n")
    assert (result.encoding, result.had_errors) == ("utf-7", False)
    assert "\nimport os; os.system('id')\n" in result.text


def test_invalid_bytes_in_the_declared_encoding_are_flagged() -> None:
    result = decode_python(b"# coding: cp1252\nx = '\x81'\n")  # 0x81 is undefined in cp1252
    assert (result.encoding, result.had_errors) == ("cp1252", True)
    assert result.text.endswith("x = '\ufffd'\n")


@pytest.mark.parametrize(
    "data",
    [
        b"x = 1\r\ny = 2\r\n",
        codecs.BOM_UTF8 + "s = '€'\n".encode(),
        b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
        b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\ns = '\x80'\n",
        b"# coding: utf-7\ns = 1  # +AAo-t = 2\n",
        "# coding: shift_jis\ns = 'テスト'\n".encode("shift_jis"),
        b"# coding=unicode_escape\ns = '\\u0041'\n",
    ],
)
def test_agrees_with_the_import_system(data: bytes) -> None:
    """`importlib` decodes a module exactly as a bot's `import` will."""
    expected = importlib.util.decode_source(data)
    result = decode_python(data)
    assert result.text.replace("\r\n", "\n") == expected
    assert not result.had_errors


def test_hostile_bytes_never_raise() -> None:
    rng = random.Random(20240601)
    prefixes = [b"", codecs.BOM_UTF8, b"# coding: utf-7\n", b"# coding: utf-16\n", b"#\n# coding=x"]
    for _ in range(400):
        body = rng.randbytes(rng.randrange(0, 200))
        result = decode_python(rng.choice(prefixes) + body)
        assert isinstance(result.text, str)


def test_a_megabyte_first_line_is_handled() -> None:
    data = b"#" + b"a" * 1_000_000 + b" coding: latin-1\nx = '\xe9'\n"
    result = decode_python(data)
    assert result.encoding == "iso8859-1"
    assert result.text.endswith("x = 'é'\n")


# -- other text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
def test_text_with_bom(encoding: str, bom: bytes) -> None:
    text = "API_KEY=clé\r\n"
    result = decode_text(bom + text.encode(encoding))
    assert result == DecodedSource(text, encoding, False, True)


def test_text_utf8() -> None:
    assert decode_text("naïve=1\n".encode()) == DecodedSource("naïve=1\n", "utf-8", False, False)


def test_text_legacy_8bit_is_cp1252() -> None:
    result = decode_text(b"PASSWORD=gr\xfc\xdfe \x80\n")
    assert result == DecodedSource("PASSWORD=grüße €\n", "cp1252", False, False)


def test_text_bytes_undefined_in_cp1252_fall_back_to_latin1() -> None:
    result = decode_text(b"x=\x81\xe9\n")
    assert result == DecodedSource("x=\x81é\n", "iso8859-1", False, False)


def test_text_mostly_utf8_keeps_utf8_and_flags_the_stray_byte() -> None:
    result = decode_text("prix=10€".encode() + b"\xff\n")
    assert result == DecodedSource("prix=10€\ufffd\n", "utf-8", True, False)


def test_text_truncated_utf16_is_flagged() -> None:
    result = decode_text(codecs.BOM_UTF16_LE + "ab".encode("utf-16-le") + b"c")
    assert (result.encoding, result.had_errors, result.had_bom) == ("utf-16-le", True, True)
    assert result.text.startswith("ab")
