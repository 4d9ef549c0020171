"""The prefilter: which Python detectors could fire in a file, decided by a scan of its bytes.

Parsing with libcst is most of the cost of analysing a file, and most detectors can only fire
where the source spells something particular: a credential name, the module of an exchange SDK,
`http://`. Each detector declares those *triggers* (`Detector.triggers`); a detector none of
whose triggers is in a file is not run on it, and a file in which no detector could fire is
never parsed (the text-level checks of the file still run).

What a trigger means (the contract every detector's `triggers` must keep):

- a `bytes` trigger is lower-case ASCII; the detector can fire on a source only if the source
  holds the trigger, ASCII case aside (`b"http://"` is found in `HTTP://`);
- a `TriggerSet` stands for triggers computed from the catalog and the configuration (they
  change with knowledge packs and the user's credential names); its *spellings* are also found
  with any non-alphanumeric bytes between their characters, which is how names are written
  (`apikey` is in `api_key`, `apiKey`, `"API-KEY"` and `"api" "key"`), and its *patterns* are
  regular expressions over the lower-cased source;
- `ALWAYS` (the empty trigger, held by every file) is for a detector that could fire on any
  source. It is the default, so a detector that declares nothing costs time, never findings.

Triggers are what the detector needs *written* in the source: identifiers (names, attributes,
keywords, imported modules) and the raw text of literals. The values the analyzer evaluates can
be spelled otherwise, so a source that could spell anything in a way a byte search misses
counts every trigger as present: one holding an escape that can produce any character (`\\x`,
`\\u`, `\\U`, `\\N{`, octal), a backslash line continuation (which joins text inside a
literal), or a character whose lower-casing or case-insensitive matching is an ASCII letter
(Turkish dotted and dotless i, long s, Kelvin sign). Names the resolver computes from strings
(`getattr(ccxt, name)`, `__import__("ccxt")`) are covered by `calls_to`, which adds the
identifiers through which it does so (`DYNAMIC_NAMES`).

Soundness is checked by tests/test_prefilter.py: on every fixture file, the findings and the
capability evidence with the prefilter equal those without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botscan import catalog, credentials
from botscan.analyzers.python.options import Options

if TYPE_CHECKING:
    from botscan.analyzers.python.engine import Detector

ALWAYS: tuple[bytes, ...] = (b"",)
"""The triggers of a detector that could fire on any source."""

DYNAMIC_NAMES: tuple[bytes, ...] = (b"getattr", b"__import__", b"import_module", b"vars",
                                    b"__dict__", b"globals")
"""The identifiers through which the resolver (`symbols.Resolver`) turns a string into part of
a qualified name. Where none of them is written, every segment of every name the resolver
gives is an identifier written in the source (or `builtins`, for a builtin used by its name)."""

_ANY_SPELLING = re.compile(rb"\\(?:[xuUN0-7]|\r?\n)")
_FOLDS_TO_ASCII = tuple(c.encode() for c in "\u0130\u0131\u017f\u212a")
"""Non-ASCII characters that `str.lower()` or `re.IGNORECASE` turn into (or match as) an
ASCII letter; tests/test_prefilter.py derives the set from all of Unicode."""
_NOT_ALNUM = bytes(b for b in range(256) if not (0x30 <= b <= 0x39 or 0x61 <= b <= 0x7A))
_IDENTIFIER = re.compile(rb"[a-z_][a-z0-9_]*")


class FileView:
    """The views of one source the triggers are searched in, each computed once if needed."""

    def __init__(self, source: bytes) -> None:
        """`source` is the file as UTF-8 (its bytes when it is UTF-8, else its decoded text
        encoded): the text the analyzer parses, not what a stranger encoding hides."""
        self.lowered = source.lower()
        self._words: bytes | None = None
        self._identifiers: frozenset[bytes] | None = None
        self.spells_anything = (b"\\" in source and _ANY_SPELLING.search(source) is not None) \
            or (not source.isascii() and any(c in source for c in _FOLDS_TO_ASCII))

    @property
    def words(self) -> bytes:
        """The letters and digits of the lower-cased source, everything else removed."""
        if self._words is None:
            self._words = self.lowered.translate(None, _NOT_ALNUM)
        return self._words

    @property
    def identifiers(self) -> frozenset[bytes]:
        """Every maximal run of identifier characters of the lower-cased source: each name,
        attribute, keyword and module it writes (and the words of its strings)."""
        if self._identifiers is None:
            self._identifiers = frozenset(_IDENTIFIER.findall(self.lowered))
        return self._identifiers


def _nothing(options: Options) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class TriggerSet:
    """Triggers computed from the catalog and the configuration, named for what they are.

    `literals` are found as `bytes` triggers are; `identifiers` only as a whole identifier
    (`bit` is not found in `orbit`); `spellings` with separators ignored (names); `patterns`
    are searched in the lower-cased source. Each function gets the scan's options and returns
    text; the prefilter lower-cases and encodes it.
    """

    name: str
    literals: Callable[[Options], Iterable[str]] = _nothing
    identifiers: Callable[[Options], Iterable[str]] = _nothing
    spellings: Callable[[Options], Iterable[str]] = _nothing
    patterns: tuple[re.Pattern[bytes], ...] = field(default=())


Trigger = bytes | TriggerSet


def calls_to(name: str, patterns: Callable[[], Iterable[str]]) -> TriggerSet:
    """The triggers of the calls and names a detector matches by qualified-name patterns
    (`ccxt.{exchange}`, `requests.Session().*`, `**.eth.account.from_key`).

    A name the resolver gives begins with a module the source imports (or `builtins`, for a
    builtin used by name): that module is the pattern's trigger, as an identifier. Where the
    first segment is a wildcard, the longest literal piece of the others is. Any segment may
    also come from a string the resolver turned into a name (`__import__("ccxt")`), so the
    dynamic names always come along. A pattern with no literal piece is always present.
    """
    def split(options: Options) -> tuple[set[str], set[str]]:
        modules: set[str] = set()
        pieces: set[str] = set()
        for pattern in patterns():
            first, *rest = pattern.split(".")
            if first == "builtins" and rest:
                first, rest = rest[0], rest[1:]
            if first.isidentifier():
                modules.add(first.lower())
            else:  # a glob (`binance_sdk_*`), else a wildcard: what the rest spells
                pieces.add(_literal_piece(first) or _literal_piece(".".join(rest)))
        if modules or pieces:
            modules.update(n.decode() for n in DYNAMIC_NAMES)
        return modules, pieces

    return TriggerSet(name, literals=lambda options: split(options)[1],
                      identifiers=lambda options: split(options)[0])


CREDENTIAL_NAMES = TriggerSet(
    "credential names",
    spellings=lambda options: credentials.name_spellings(options.extra_credential_names))
"""A name the credential concept would classify, the user's own names included."""

STRONG_CREDENTIAL_NAMES = TriggerSet(
    "strong credential names",
    spellings=lambda options: credentials.name_spellings(options.extra_credential_names,
                                                         strong=True))
"""A name that is a credential by itself (`api_secret`, not `token`): a taint source."""

# The whitespace `str.split()` splits a seed phrase on, as it may be written inside a literal:
# itself (in UTF-8), or a one-letter escape.
_SPACE = (rb"(?:[\t\n\x0b\x0c\r \x1c-\x1f]|\\[ntrfv]|\xc2[\x85\xa0]|\xe1\x9a\x80"
          rb"|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)+")

SECRET_FORMATS = TriggerSet(
    "self-identifying secrets",
    literals=lambda options: ("private key", "/webhooks/"),
    patterns=(
        re.compile(rb":[a-z0-9_-]{35}"),  # a Telegram token's `:` and the 35 characters after
        re.compile(rb"[a-z]{3,8}(?:" + _SPACE + rb"[a-z]{3,8}){11}"),  # a 12-word run
    ),
)
"""Secrets that say what they are in any string: PEM private keys, Discord webhooks, Telegram
tokens and BIP-39 seed phrases (`credentials.py`)."""


def _literal_piece(pattern: str) -> str:
    """The longest run of a pattern that any matching name spells (lower-cased); "" if none."""
    pieces: list[str] = []
    for segment in pattern.split("."):
        segment = segment.removesuffix("()")
        if segment == "builtins" or segment.startswith("{"):
            continue  # the resolver's own word for a builtin; a placeholder for any name
        pieces += [p for p in re.split(r"[*?\[\]{}]", segment) if p]
    return max(pieces, key=len, default="").lower()


@dataclass(frozen=True)
class _Compiled:
    """One detector's triggers for one scan, ready to search."""

    literals: tuple[bytes, ...]
    identifiers: frozenset[bytes]
    spellings: tuple[bytes, ...]
    patterns: tuple[re.Pattern[bytes], ...]

    def found(self, view: FileView) -> bool:
        lowered = view.lowered
        if any(t in lowered for t in self.literals):
            return True
        if self.identifiers and not self.identifiers.isdisjoint(view.identifiers):
            return True
        if self.spellings:
            words = view.words
            if any(t in words for t in self.spellings):
                return True
        return any(p.search(lowered) for p in self.patterns)


def _minimal(triggers: Iterable[bytes]) -> tuple[bytes, ...]:
    """Without the triggers that contain another one: the shorter is found wherever the longer
    is. Shortest first, so the likeliest to be found is searched first."""
    kept: list[bytes] = []
    for trigger in sorted(set(triggers), key=lambda t: (len(t), t)):
        if not any(k in trigger for k in kept):
            kept.append(trigger)
    return tuple(kept)


@catalog.derived
def _compile(detector: type[Detector], options: Options) -> _Compiled:
    literals: list[bytes] = []
    identifiers: set[bytes] = set()
    spellings: list[bytes] = []
    patterns: list[re.Pattern[bytes]] = []
    for trigger in detector.triggers:
        if isinstance(trigger, bytes):
            literals.append(trigger.lower())
            continue
        literals += [t.lower().encode() for t in trigger.literals(options)]
        identifiers |= {t.lower().encode() for t in trigger.identifiers(options)}
        spellings += [_alnum(t) for t in trigger.spellings(options)]
        patterns += trigger.patterns
    return _Compiled(_minimal(literals), frozenset(identifiers), _minimal(spellings),
                     tuple(patterns))


def _alnum(text: str) -> bytes:
    return text.lower().encode().translate(None, _NOT_ALNUM)


def runnable(detectors: Sequence[type[Detector]], source: bytes,
             options: Options) -> list[type[Detector]]:
    """The detectors that could fire on `source` (the file as UTF-8; see `FileView`)."""
    view = FileView(source)
    if view.spells_anything:
        return list(detectors)
    return [d for d in detectors if _compile(d, options).found(view)]
