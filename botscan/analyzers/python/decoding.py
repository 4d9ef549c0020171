"""The Decoded concept: calls that turn data into something that hides what it is.

base64 and its siblings, hex, zlib/bz2/lzma, `marshal`, rot13, a reversed literal
(`checks/knowledge/code.toml`). Two questions are asked of it:

- does this call decode, and what? (`decoding_of`) The credential and content flows
  (`taint.py`) mark decoded content, so BOT501 can ask whether `exec` runs it and BOT503
  whether a destination URL was hidden;
- what text does `base64.b64decode("aHR0cHM6…").decode()` build? (`evaluate`, installed as the
  resolver's hook) Then `getattr(ex, b64decode("d2l0aGRyYXc=").decode())` is `ex.withdraw` for
  every detector, and an encoded webhook URL has a host.

Static decoding runs pure data transformations only (never `marshal.loads`, which builds code
objects), on literals, with input and output capped: a decompression bomb in a literal must not
cost the scanner its memory.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from botscan import catalog
from botscan.analyzers.python import concepts
from botscan.analyzers.python.symbols import Resolver, Scope, StringParts

MAX_INPUT = 1 << 20
MAX_OUTPUT = 1 << 18


@dataclass(frozen=True)
class DecoderSpec:
    kind: str
    patterns: tuple[str, ...]
    static: bool
    literal_only: bool
    """Only a literal input counts (`reversed("…")`; reversing a list is ordinary code)."""


@catalog.derived
def _decoders() -> tuple[DecoderSpec, ...]:
    return tuple(DecoderSpec(str(raw["kind"]), tuple(raw["patterns"]), bool(raw["static"]),
                             bool(raw.get("literal_only", False)))
                 for raw in catalog.knowledge("code")["decoder"])


@catalog.derived
def decoder_for(qualname: str | None) -> DecoderSpec | None:
    if qualname is None:
        return None
    return next((d for d in _decoders() if concepts.matches_any(d.patterns, qualname)), None)


@catalog.derived
def _codec_kinds() -> dict[str, str]:
    """Codec name (lower case) -> decoder kind, for `codecs.decode(data, "rot13")`."""
    return {name.lower(): kind for kind, names in catalog.knowledge("code")["codecs"].items()
            for name in names}


def _first_argument(call: cst.Call) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[0].value if positional else None


@catalog.derived
def _is_codec_call(target: str | None) -> bool:
    return concepts.matches_any(catalog.knowledge("code")["codec_call"]["patterns"], target)


def _codec_kind(call: cst.Call, target: str | None, scope: Scope,
                resolver: Resolver) -> str | None:
    table = catalog.knowledge("code")["codec_call"]
    if not _is_codec_call(target):
        return None
    position = int(table["position"])
    positional = [a for a in call.args if a.keyword is None and not a.star]
    chosen = positional[position].value if position < len(positional) else None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == table["keyword"]:
            chosen = arg.value
    if chosen is None:
        return None
    codec = resolver.constant_string(chosen, scope)
    return _codec_kinds().get(codec.lower().replace("-", "_")) if codec else None


def decoding_of(call: cst.Call, scope: Scope,
                resolver: Resolver) -> tuple[str, cst.BaseExpression | None] | None:
    """(kind, input) when `call` decodes its input (`base64.b64decode(x)`: ("base64", x))."""
    target = resolver.call_target(call, scope)
    argument = _first_argument(call)
    spec = decoder_for(target)
    if spec is not None:
        if spec.literal_only and (argument is None or
                                  resolver.constant_string(argument, scope) is None):
            return None
        return spec.kind, argument
    kind = _codec_kind(call, target, scope, resolver)
    return (kind, argument) if kind is not None else None


def is_reversal(node: cst.Subscript) -> bool:
    """`x[::-1]`."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return False
    part = node.slice[0].slice
    step = part.step
    return part.lower is None and part.upper is None and isinstance(step, cst.UnaryOperation) \
        and isinstance(step.operator, cst.Minus) and isinstance(step.expression, cst.Integer) \
        and step.expression.value == "1"


# --- static evaluation --------------------------------------------------------------------------

def _as_bytes(text: str) -> bytes:
    """Strings stand for bytes as latin-1 text (see symbols.literal_value)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _b64(data: bytes) -> bytes:
    data = b"".join(data.split()).translate(bytes.maketrans(b"-_", b"+/"))
    return base64.b64decode(data + b"=" * (-len(data) % 4))


def _b32(data: bytes) -> bytes:
    data = b"".join(data.split()).upper()
    return base64.b32decode(data + b"=" * (-len(data) % 8))


def _inflate(data: bytes) -> bytes:
    return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(data, MAX_OUTPUT)


_STATIC: dict[str, Callable[[bytes], bytes]] = {
    "base64": _b64,
    "base32": _b32,
    "base85": base64.b85decode,
    "ascii85": base64.a85decode,
    "hex": lambda data: bytes.fromhex(data.decode("ascii")),
    "zlib": _inflate,
    "bz2": lambda data: bz2.BZ2Decompressor().decompress(data, MAX_OUTPUT),
    "lzma": lambda data: lzma.LZMADecompressor().decompress(data, MAX_OUTPUT),
    "rot13": lambda data: codecs.decode(data.decode("latin-1"), "rot13").encode("latin-1"),
    "reversal": lambda data: data[::-1],
}


def decode_text(kind: str, text: str) -> str | None:
    """`text` decoded as `kind`, as latin-1 text; None when it does not decode."""
    if len(text) > MAX_INPUT or kind not in _STATIC:
        return None
    try:
        result = _STATIC[kind](_as_bytes(text))
    except (ValueError, TypeError, binascii.Error, zlib.error, lzma.LZMAError, OSError,
            EOFError, UnicodeError):
        return None
    return result[:MAX_OUTPUT].decode("latin-1")


def _text_method(method: str, text: str, args: list[str | None]) -> str | None:
    """`.decode(enc)` and `.encode(enc)` of a known text."""
    encoding = (args[0] if args else None) or "utf-8"
    try:
        if method == "decode":
            try:
                raw = text.encode("latin-1")
            except UnicodeEncodeError:
                return text  # already text
            return raw.decode(encoding)
        return text.encode(encoding).decode("latin-1")
    except (LookupError, UnicodeError):
        return None


def evaluate(resolver: Resolver, node: cst.BaseExpression, scope: Scope,
             depth: int) -> StringParts | None:
    """The resolver's hook: the string a decoding call or a reversal builds."""
    if isinstance(node, cst.Subscript):
        if not is_reversal(node):
            return None
        parts = resolver.string_parts(node.value, scope, depth)
        return _apply(parts, lambda text: text[::-1])
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("decode", "encode"):
        parts = resolver.string_parts(func.value, scope, depth)
        args = [resolver.constant_string(a.value, scope, depth) for a in node.args[:1]]
        method = func.attr.value
        return _apply(parts, lambda text: _text_method(method, text, args))
    if isinstance(func, cst.Attribute) and func.attr.value == "join" and len(node.args) == 1:
        return _join(resolver, node, scope, depth)
    found = decoding_of(node, scope, resolver)
    if found is None:
        return None
    kind, argument = found
    if argument is None:
        return [None]
    parts = resolver.string_parts(argument, scope, depth)
    return _apply(parts, lambda text: decode_text(kind, text))


def _apply(parts: StringParts | None, transform: Callable[[str], str | None]) -> StringParts | None:
    if parts is None:
        return None
    if any(p is None for p in parts):
        return [None]
    return [transform("".join(p for p in parts if p is not None))]


def _join(resolver: Resolver, call: cst.Call, scope: Scope, depth: int) -> StringParts | None:
    """`"".join(reversed("…"))` and `"".join(["ab", "cd"])`."""
    assert isinstance(call.func, cst.Attribute)
    separator = resolver.constant_string(call.func.value, scope, depth)
    if separator is None:
        return None
    items = call.args[0].value
    if isinstance(items, (cst.List, cst.Tuple)):
        pieces = [resolver.constant_string(e.value, scope, depth) for e in items.elements]
        if any(p is None for p in pieces):
            return [None]
        return [separator.join(p for p in pieces if p is not None)]
    if isinstance(items, cst.Call):
        inner = evaluate(resolver, items, scope, depth + 1)
        if inner is not None and separator == "":
            return inner
    return None
