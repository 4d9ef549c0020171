"""The credential concept: which names hold credentials, which values are real secrets, and the
secret formats that identify themselves (seed phrases, Telegram tokens, Discord webhooks, PEM
and wallet keys).

Context is the main signal: a value is judged as a secret only because of the name it is bound
to, the parameter it is passed as, or its own unmistakable format. Entropy and shape are the
evidence that rules out placeholders, env-var names, paths and prose. The Python analyzer and
the text scanners share this module, so a name or placeholder learnt here helps every format.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botscan import catalog
from botscan.redact import redact, shannon_entropy

# Credential kinds, as named in checks/knowledge/credentials.toml.
KEY_ID = "key_id"
SECRET = "secret"
PASSPHRASE = "passphrase"
PASSWORD = "password"
TOKEN = "token"
PRIVATE_KEY = "private_key"
MNEMONIC = "mnemonic"
WEBHOOK = "webhook"

KIND_LABELS = {
    KEY_ID: "API key",
    SECRET: "API secret",
    PASSPHRASE: "API passphrase",
    PASSWORD: "password",
    TOKEN: "access token",
    PRIVATE_KEY: "private key",
    MNEMONIC: "seed phrase",
    WEBHOOK: "webhook URL",
}


def with_article(label: str) -> str:
    """"an API key", "a password": a kind label with its indefinite article, for messages."""
    return ("an " if label[:1].lower() in "aeiou" else "a ") + label


_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_words(name: str) -> list[str]:
    """`BINANCE_API_SECRET` -> [binance, api, secret]; `apiKey` -> [api, key]."""
    return [w.lower() for w in _CAMEL.findall(name)]


@dataclass(frozen=True)
class CredentialName:
    kind: str
    exchange: bool
    """The name (or its context) ties it to an exchange or API account."""
    non_exchange: bool
    """The name says database, dashboard, JWT…: a credential that is not an exchange key."""
    strong: bool = True
    """Matched by an unambiguous spelling (`api_secret`, `access_token`), not only by a short
    word that also has other meanings (`token` of an asset, `seed` of a random generator, `pwd`
    of a directory)."""


@catalog.derived
def _name_tables() -> tuple[list[tuple[str, tuple[str, ...], frozenset[str]]], dict[str, Any]]:
    table = catalog.knowledge("credentials")
    kinds = [
        (str(k["kind"]), tuple(k.get("contains", ())), frozenset(k.get("words", ())))
        for k in table["kind"]
    ]
    return kinds, table


def classify_name(
    name: str,
    context: str = "",
    extra_names: tuple[tuple[str, str], ...] = (),
) -> CredentialName | None:
    """The credential kind a name holds, or None when the name is not a credential.

    `context` is the text around the name that also speaks for it: the object an attribute is
    set on (`app` in `app.secret_key`) or the dict a key is in. `extra_names` are user
    configured (name, kind) pairs, matched case-insensitively on the whole name.
    """
    words = split_words(name)
    if not words:
        return None
    joined = "".join(words)
    kinds, table = _name_tables()
    kind = next((k for n, k in extra_names if n.lower() == name.lower()), None)
    strong = kind is not None
    if kind is None:
        for candidate, contains, kind_words in kinds:
            strong = any(c in joined for c in contains)
            if strong or kind_words.intersection(words):
                kind = candidate
                break
    if kind is None:
        return None
    negative = table["negative"]
    blocked = set(negative["words"]) - set(negative.get("allow", {}).get(kind, ()))
    if blocked.intersection(words):
        return None
    context_words = set(words) | set(split_words(context))
    exchange = bool(context_words.intersection(table["exchange"]["words"]))
    non_exchange = bool(context_words.intersection(negative["non_exchange"]))
    return CredentialName(kind=kind, exchange=exchange, non_exchange=non_exchange, strong=strong)


def name_spellings(extra_names: tuple[tuple[str, str], ...] = (), *,
                   strong: bool = False) -> tuple[str, ...]:
    """What a name needs for `classify_name` to call it a credential (with `strong`: a strong
    one): one of these is in its words, lower-cased and joined without separators. The Python
    prefilter skips the credential detectors where none is spelled."""
    kinds, _ = _name_tables()
    spellings = {c for _, contains, _ in kinds for c in contains}
    if not strong:
        spellings |= {w for _, _, words in kinds for w in words}
    return (*sorted(spellings), *(n.lower() for n, _ in extra_names))


def credential_variable(name: str,
                        extra_names: tuple[tuple[str, str], ...] = ()) -> CredentialName | None:
    """The credential an environment or build variable holds (`BINANCE_API_SECRET`,
    `GITHUB_TOKEN`), judged by its name alone, with no value or code around it to confirm:
    so only an unambiguous spelling counts, or a short word next to an exchange (`PASS` alone,
    as in `PASS_THROUGH`, or `TOKEN` of `TOKEN_SYMBOL`, is not enough)."""
    info = classify_name(name, extra_names=extra_names)
    if info is None or not (info.strong or (info.exchange and not info.non_exchange)):
        return None
    return info


# --- values -----------------------------------------------------------------------------------

@catalog.derived
def _placeholder_tables() -> tuple[frozenset[str], tuple[re.Pattern[str], ...], frozenset[str]]:
    table = catalog.knowledge("credentials")
    exact = frozenset(v.lower() for v in table["placeholder"]["exact"])
    regexes = tuple(re.compile(r, re.IGNORECASE) for r in table["placeholder"]["regex"])
    samples = frozenset(table["public_samples"]["sha256"])
    return exact, regexes, samples


@catalog.derived
def _public_prefixes() -> tuple[str, ...]:
    return tuple(catalog.knowledge("credentials")["public_by_design"]["prefixes"])


def is_placeholder(value: str) -> bool:
    exact, regexes, _ = _placeholder_tables()
    stripped = value.strip()
    if stripped.lower() in exact or _mostly_sequential(stripped):
        return True
    return any(r.search(stripped) for r in regexes)


def _mostly_sequential(value: str) -> bool:
    """`abc123def456ghi789`, `12345678abcdefgh`: typed by a person to look like a key.

    In a random key about one adjacent pair in 60 is consecutive; here most are.
    """
    lowered = value.lower()
    if len(lowered) < 8:
        return False
    steps = sum(1 for a, b in itertools.pairwise(lowered) if ord(b) - ord(a) == 1)
    return steps >= 0.4 * (len(lowered) - 1)


@catalog.derived
def _password_dummies() -> re.Pattern[str]:
    return re.compile(catalog.knowledge("credentials")["placeholder"]["password_dummies"],
                      re.IGNORECASE)


def is_public_sample(value: str) -> bool:
    """A key published in exchange or library docs (kept as SHA-256 in the catalog)."""
    _, _, samples = _placeholder_tables()
    return hashlib.sha256(value.strip().encode("utf-8", "surrogatepass")).hexdigest() in samples


def weak_password(value: str, defaults: Iterable[str] = (), min_length: int = 10) -> str | None:
    """Why a password guarding a bot's API or dashboard is guessable ("empty", "a published
    default", "only 6 characters"), or None when it is not, or cannot be known (a template).

    The opposite question to `is_secret_value`: that one asks whether a value is a real secret
    worth reporting as leaked, and a placeholder is not; this one asks whether the value would
    stop whoever found the port, and a placeholder or a documented default is the first thing
    they try.
    """
    v = value.strip()
    if _TEMPLATE.search(v):
        return None  # filled in at deployment: unknown here
    if not v:
        return "empty"
    if v.lower() in {d.lower() for d in defaults} or is_placeholder(v) or is_public_sample(v) \
            or _password_dummies().search(v):
        return "a published default or placeholder"
    if len(v) < min_length:
        return f"only {len(v)} characters"
    return None


_PATH_LIKE = re.compile(
    r"^(~|\.{1,2})?/|\\|\.(pem|key|json|txt|env|ya?ml|cfg|ini|crt|der|p12|pfx)$"
)
_IDENTIFIER_LIKE = re.compile(r"^[A-Za-z]+([_\-.: ][A-Za-z]+)*$")
_TEMPLATE = re.compile(r"\{[^}]*\}|%[sdr]|%\([a-z_]+\)|\$\{")
# Source code caught between quotes, as minified JavaScript and grammar tables produce them
# (`"API Secret:"),L=x(()=>…`, `token:"constant.reserved.$0"`): arrows, empty calls, a closing
# bracket first or before punctuation, and dotted names. Secrets have none of these shapes.
_CODE_LIKE = re.compile(
    r"=>|\(\)|\)\s*[,;{]|^[),;:\]}]|^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EVM_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_BASE58_KEY = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{86,88}$")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_XRPL_KEY = re.compile(r"^(ED|00)[0-9A-F]{64}$")
_WIF = re.compile(r"^[5KLc9][1-9A-HJ-NP-Za-km-z]{50,51}$")
_XPRV = re.compile(r"^[xtyzuv]prv[1-9A-HJ-NP-Za-km-z]{100,112}$")
_PEM_PRIVATE = re.compile(
    r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    r"[\s\\n]*[A-Za-z0-9+/=\s\\n:,-]{40,}"
)


def _is_random(value: str) -> bool:
    """The shape of a generated key: long, no spaces, mixed classes or hex, high entropy."""
    if _UUID.match(value):
        return True
    if _HEX.match(value):
        body = value[2:] if value.lower().startswith("0x") else value
        return len(body) >= 16 and bool(re.search(r"[a-fA-F]", body)) and bool(
            re.search(r"[0-9]", body)) and shannon_entropy(body) >= 2.8
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and shannon_entropy(value) >= 3.0


def wallet_key_format(value: str) -> str | None:
    """The wallet-key format a value has, if any: evm, base58, wif, xprv or pem."""
    v = value.strip()
    if _EVM_KEY.match(v):
        body = v[2:] if v.lower().startswith("0x") else v
        # All-zero or one-digit keys are placeholders (hyperliquid's example config).
        return "evm" if len(set(body.lower())) > 4 else None
    if _PEM_PRIVATE.search(v):
        return "pem"
    if _XRPL_KEY.match(v):
        return "xrpl"
    if _XPRV.match(v):
        return "xprv"
    if _WIF.match(v):
        return "wif"
    if _BASE58_KEY.match(v) and _is_random(v):
        return "base58"
    return None


def is_secret_value(value: str, kind: str) -> bool:
    """Does `value`, bound to a name of credential `kind`, look like a real secret?"""
    v = value.strip()
    if not v or is_placeholder(v) or is_public_sample(v) or v.startswith(_public_prefixes()):
        return False
    if kind == PRIVATE_KEY and wallet_key_format(v):
        return True
    if kind == MNEMONIC:
        return seed_phrase(v) is not None
    if "://" in v or _PATH_LIKE.search(v) or _TEMPLATE.search(v) or _EVM_ADDRESS.match(v) \
            or _CODE_LIKE.search(v):
        return False  # URLs, paths, templates, public wallet addresses, and code
    if kind in (PASSWORD, PASSPHRASE):
        if len(v) < 6 or "\n" in v or len(v) > 200 or _password_dummies().search(v):
            return False
        # ENV_VAR_NAMES and snake_case_words are names, not passwords.
        return not re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[a-z]+(_[a-z]+)+", v)
    if len(v) < 16 or len(v) > 4096 or re.search(r"\s", v):
        return False
    if _IDENTIFIER_LIKE.match(v):
        return False
    return _is_random(v)


# --- self-identifying formats ----------------------------------------------------------------

# In a URL the token follows "bot": https://api.telegram.org/bot<token>/sendMessage.
TELEGRAM_TOKEN = re.compile(
    r"(?:(?<=bot)|(?<![0-9A-Za-z]))([0-9]{8,10}:[A-Za-z0-9_-]{35})(?![A-Za-z0-9_-])"
)
DISCORD_WEBHOOK = re.compile(
    r"https?://(?:ptb\.|canary\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/"
    r"([0-9]{17,20})/([A-Za-z0-9_-]{60,80})"
)
_WORD_RUN = re.compile(r"^[a-z]{3,8}( [a-z]{3,8}){11,23}$")


@functools.cache
def _bip39() -> Any:
    from mnemonic import Mnemonic

    return Mnemonic("english")


def seed_phrase(text: str) -> str | None:
    """The BIP-39 mnemonic in `text` (whole value, words separated by whitespace), if valid.

    The checksum is what makes this precise: 12 random wordlist words pass it 1 time in 16,
    prose almost never consists only of wordlist words. Test vectors with constant entropy
    (`abandon … about`, `zoo … wrong`) are public and skipped.
    """
    words = " ".join(text.strip().split()).lower()
    if len(words) > 300 or not _WORD_RUN.match(words):
        return None
    count = words.count(" ") + 1
    if count not in (12, 15, 18, 21, 24):
        return None
    m = _bip39()
    try:
        if not m.check(words):
            return None
        entropy = m.to_entropy(words)
    except (ValueError, LookupError):
        return None
    if len(set(entropy)) <= 2 or is_public_sample(words):
        return None
    return words


def telegram_tokens(text: str) -> list[str]:
    return [m.group(1) for m in TELEGRAM_TOKEN.finditer(text) if not is_public_sample(m.group(1))]


def discord_webhooks(text: str) -> list[str]:
    return [m.group(0) for m in DISCORD_WEBHOOK.finditer(text) if not is_placeholder(m.group(2))]


# --- rules ---------------------------------------------------------------------------------------

def choose_rule(kind: str, name: CredentialName, value: str) -> str | None:
    """The BOT1xx rule for a value bound to a credential name, or None if it is no secret."""
    if telegram_tokens(value):
        return "BOT106"
    if discord_webhooks(value):
        return "BOT107"
    if seed_phrase(value):
        return "BOT105"
    if kind in (WEBHOOK, MNEMONIC) or not is_secret_value(value, kind):
        return None
    if kind == PRIVATE_KEY or (value.startswith("0x") and wallet_key_format(value) == "evm"):
        # An 0x-prefixed 64-hex value is an EVM key whatever the name (`secret_key` in
        # hyperliquid's config); without the prefix, 64 hex may be an exchange secret (Gate).
        return "BOT103" if wallet_key_format(value) else "BOT101"
    if kind == PASSPHRASE:
        return "BOT101"
    if kind == PASSWORD:
        return "BOT101" if name.exchange and not name.non_exchange else "BOT108"
    if name.non_exchange or (kind == TOKEN and not name.exchange):
        return "BOT108"  # a session, licence or service token is not an exchange key
    return "BOT102" if kind == KEY_ID else "BOT101"


def message(rule_id: str, kind: str, name: str, value: str, where: str,
            shown: str | None = None) -> str:
    """"Hardcoded API secret in `API_SECRET`: NhqP…(64 chars, #23e9ef). <how to fix>"."""
    label = {
        "BOT103": "private key",
        "BOT105": "BIP-39 seed phrase",
        "BOT106": "Telegram bot token",
        "BOT107": "Discord webhook URL",
    }.get(rule_id, KIND_LABELS.get(kind, "credential"))
    shown = shown or redact(value)
    fix = {
        "BOT103": "Move the funds to a new wallet and load keys from an encrypted keystore.",
        "BOT105": "Treat the wallet as stolen: move the funds to a new seed.",
        "BOT106": "Revoke it with @BotFather and load the new one from the environment.",
        "BOT107": "Delete the webhook in Discord and load the new URL from the environment.",
    }.get(rule_id, "Load it from the environment or a secrets manager and rotate it.")
    return f"Hardcoded {label} in `{name}`{where}: {shown}. {fix}"
