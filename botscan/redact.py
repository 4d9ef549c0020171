"""Redaction: no report, log or error message of botscan ever holds a whole secret.

A secret is shown as its first four characters, its length and a short hash, e.g.
`SYDS…(64 chars, #1a2b3c)`: enough to tell two findings apart and to match a key in the
exchange's key list, never enough to use it.

Snippets go through two passes: the secrets an analyzer knows about are replaced exactly, and
then any remaining long random-looking run is masked too, because a line that holds one secret
often holds its partner (the key beside the secret) that no detector fired on.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable

_SHOWN = 4
# A run of characters that could be a token: base64/base64url/hex alphabets plus separators.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_\-.~]{20,}")
# Wrapped or PEM bodies: long base64 lines.
_MIN_MASK_ENTROPY = 3.5
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def short_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def redact(secret: str) -> str:
    """`SYDS…(64 chars, #1a2b3c)`. Short secrets show fewer characters so half is never shown."""
    shown = min(_SHOWN, len(secret) // 4)
    return f"{secret[:shown]}…({len(secret)} chars, #{short_hash(secret)})"


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def looks_random(token: str) -> bool:
    """Mixed character classes and high entropy: the shape of a generated key.

    URLs, paths and dotted names are made of short words; a key has at least one long piece
    between separators, and that piece is random.
    """
    if len(token) < 16:
        return False
    if _UUID.fullmatch(token):
        return True
    longest = max(re.split(r"[/._\-]", token), key=len)
    if len(longest) < 16 or shannon_entropy(longest) < _MIN_MASK_ENTROPY:
        return False
    classes = sum(bool(re.search(p, longest)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace the known `secrets` in `text`, then mask any other random-looking run."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, redact(secret))

    def mask(match: re.Match[str]) -> str:
        token = match.group(0)
        return redact(token) if looks_random(token) else token

    return _TOKEN_RUN.sub(mask, text)
