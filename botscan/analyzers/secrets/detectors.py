"""botscan's own secret detectors for text files: what detect-secrets misses (domain.md §4.2).

- Config values judged by key path (`exchange.key`, `exchanges.binance.api-secret`,
  `api_server.password`), with the names and values of `botscan.credentials`. Values that are
  encrypted in a way only a password opens (hummingbot's hex keyfiles) are not reported one by
  one: they make the file a credential file for BOT110. OctoBot's Fernet tokens are reported
  as what they hide, because the key that opens them ships inside octobot_commons.
- Formats that identify themselves anywhere in a text: Telegram bot tokens, Discord webhooks,
  BIP-39 seed phrases (checksum-checked), Solana keypair arrays, `0x` keys next to a key word.

Every detector returns `Hit`s; the scanner merges them with detect-secrets' and finalizes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit
from botscan.analyzers.secrets.configs import Entry
from botscan.analyzers.secrets.textmap import TextMap

WALLET_ADDRESS = "wallet_address"
"""A path kind: a public address, reported only when a private key was pasted into it."""

Names = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _PathRule:
    keys: tuple[str, ...]
    name: cred.CredentialName


@catalog.derived
def _path_rules() -> tuple[_PathRule, ...]:
    return tuple(
        _PathRule(tuple(str(rule["match"]).lower().split(".")), cred.CredentialName(
            kind=str(rule["kind"]), exchange=bool(rule.get("exchange", False)),
            non_exchange=bool(rule.get("non_exchange", False))))
        for rule in catalog.knowledge("credentials")["path"]
    )


@functools.lru_cache(maxsize=4096)
def name_of(path: tuple[str, ...], extra_names: Names = ()) -> cred.CredentialName | None:
    """The credential a config value holds, by its key path: a path rule of the catalog, else
    the last key judged as a name with the keys above it as context."""
    lowered = [key.lower() for key in path]
    for rule in _path_rules():
        width = len(rule.keys)
        if len(lowered) >= width and all(
                fnmatchcase(key, pattern)
                for key, pattern in zip(lowered[-width:], rule.keys, strict=True)):
            return rule.name
    return cred.classify_name(path[-1], ".".join(path[:-1]), extra_names)


# --- values that are encrypted ------------------------------------------------------------------

_FERNET = re.compile(r"^gAAAAA[A-Za-z0-9_-]{90,}={0,2}$")
_HEX_BLOB = re.compile(r"^[0-9a-fA-F]{200,}$")
_FERNET_OVERHEAD = 57
"""Version byte, timestamp, IV and HMAC around the AES-CBC ciphertext of a Fernet token."""


def fernet_ciphertext_bytes(value: str) -> int | None:
    """The ciphertext length of a well-formed Fernet token (OctoBot's stored secrets), else
    None. The plaintext is at most this minus one byte, and at least this minus 16."""
    if not _FERNET.match(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    size = len(raw) - _FERNET_OVERHEAD
    if raw[:1] != b"\x80" or size < 16 or size % 16:
        return None
    return size


def is_keyfile_blob(value: str) -> bool:
    """A hummingbot secret: hex of an Ethereum v3 keyfile JSON (scrypt or pbkdf2 + AES)."""
    if len(value) % 2 or not _HEX_BLOB.match(value):
        return False
    raw = bytes.fromhex(value)
    return raw.lstrip().startswith(b"{") and b'"crypto"' in raw and b'"version"' in raw


# --- config values ------------------------------------------------------------------------------

ENCRYPTED = "encrypted"
_MIN_VALUE = 6
"""No credential rule reports a shorter value (passwords start at six characters)."""


def judge_entry(entry: Entry, *, test: bool, extra_names: Names = ()) -> Hit | str | None:
    """A hit for a config value that is a credential; ENCRYPTED for a password-encrypted one
    (it counts for BOT110 only); None otherwise."""
    value = entry.value.strip()
    if len(value) < _MIN_VALUE:
        return None
    info = name_of(entry.path, extra_names)
    if info is None:
        return None
    if is_keyfile_blob(value):
        return ENCRYPTED
    if test and info.kind in (cred.PASSWORD, cred.PASSPHRASE):
        return None  # human-chosen test passwords are dummies (see botscan.testcode)
    where = ""
    fernet = fernet_ciphertext_bytes(value)
    if fernet is not None:
        if fernet <= 16 and info.kind not in (cred.PASSWORD, cred.PASSPHRASE):
            return None  # 15 bytes of plaintext at most: an encrypted empty field, not a key
        where = (" (an OctoBot Fernet token: the key that decrypts it is hard-coded in "
                 "octobot_commons, so anyone can read the secret)")
    rule_id = _rule(info, value)
    if rule_id is None:
        return None
    dotted = entry.display
    kind = cred.PRIVATE_KEY if info.kind == WALLET_ADDRESS else info.kind
    return Hit(rule_id, entry.line, entry.column,
               cred.message(rule_id, kind, dotted, value, where),
               end_line=entry.end_line, secrets=(value,),
               evidence={"credential_kind": kind, "name": dotted,
                         **({"format": "fernet"} if fernet is not None else {})})


def _rule(info: cred.CredentialName, value: str) -> str | None:
    if info.kind == WALLET_ADDRESS:
        return "BOT103" if cred.wallet_key_format(value) else None
    if info.kind != cred.PRIVATE_KEY and cred.wallet_key_format(value) == "pem":
        # A PEM key as an exchange secret: Binance RSA/Ed25519 keys, Coinbase CDP keys.
        return "BOT108" if info.non_exchange else "BOT101"
    return cred.choose_rule(info.kind, info, value)


# --- names written before a value on a line -----------------------------------------------------

_NAME_BEFORE = re.compile(r"""([A-Za-z_][\w.\-]{0,80})["'`\])]*[\s:=!>(,@]*["'`]?$""")


def name_before(line: str, column: int) -> str | None:
    """The identifier a value at `column` (1-based) is bound to on its line, if any:
    `password = "…`, `"secret": "…`, `PRIVATE_KEY=…`, `auth_key => '…`."""
    match = _NAME_BEFORE.search(line[max(0, column - 201): column - 1])
    return match.group(1) if match else None


def classify_before(line: str, column: int, extra_names: Names = ()
                    ) -> tuple[str, cred.CredentialName] | None:
    name = name_before(line, column)
    if name is None:
        return None
    context, _, last = name.rpartition(".")
    info = cred.classify_name(last, context, extra_names)
    return (name, info) if info is not None else None


# --- self-identifying formats -------------------------------------------------------------------

_BOUND_NAME = re.compile(r"""([A-Za-z_][\w.\-]{0,80})["'`\])]*\s*(?:=>|:=|[:=])\s*["'`]?$""")


def _where(line: str, column: int) -> str:
    """The name a self-identifying secret is assigned to on its line, for the message;
    formats found in prose or inside a URL are "a string", as the line scanner calls them."""
    match = _BOUND_NAME.search(line[max(0, column - 201): column - 1])
    return match.group(1) if match else "a string"


def telegram(tm: TextMap, lines: Iterable[int]) -> Iterator[Hit]:
    for number in lines:
        line = tm.line(number)
        for match in cred.TELEGRAM_TOKEN.finditer(line):
            token = match.group(1)
            if cred.is_public_sample(token) or cred.is_placeholder(token.split(":", 1)[1]):
                continue
            column = match.start(1) + 1
            yield Hit("BOT106", number, column,
                      cred.message("BOT106", cred.TOKEN, _where(line, column), token, ""),
                      secrets=(token,), evidence={"format": "telegram-token"})


def webhooks(tm: TextMap, lines: Iterable[int]) -> Iterator[Hit]:
    for number in lines:
        line = tm.line(number)
        for match in cred.DISCORD_WEBHOOK.finditer(line):
            if cred.is_placeholder(match.group(2)):
                continue
            url, column = match.group(0), match.start() + 1
            yield Hit("BOT107", number, column,
                      cred.message("BOT107", cred.WEBHOOK, _where(line, column), url, ""),
                      secrets=(url,), evidence={"format": "discord-webhook"})


# A run of 12 to 24 lower-case words that stands alone: a whole line, a quoted string, a value
# after `=` or `:`. Mid-sentence runs are prose.
_SEED_RUN = re.compile(
    r"""(?:^|(?<=["'`=:>\[(,-]))[ \t]*([a-z]{3,8}(?:[ \t]+[a-z]{3,8}){11,23})[ \t]*"""
    r"""(?=$|["'`,)\]<#;])"""
)
# Eleven words after single spaces: in every 12-word phrase as wallets print it. Spelt out
# rather than repeated, so `re` starts from the literal space at memchr speed (1 GB/s on
# minified JavaScript, where a repeated group crawls at 60 MB/s).
_SEED_TRIGGER = re.compile(" [a-z]{3,8}" * 11)


def seed_phrases(tm: TextMap) -> Iterator[Hit]:
    starts = tm.starts
    match = _SEED_TRIGGER.search(tm.text)
    while match is not None:
        number = tm.line_of(match.start())
        line = tm.line(number)
        for run in _SEED_RUN.finditer(line):
            phrase = cred.seed_phrase(run.group(1))
            if phrase is not None:
                column = run.start(1) + 1
                yield Hit("BOT105", number, column,
                          cred.message("BOT105", cred.MNEMONIC, _where(line, column), phrase,
                                       ""),
                          secrets=(run.group(1),), evidence={"format": "bip39"})
        match = _SEED_TRIGGER.search(tm.text, starts[number]) if number < len(starts) else None


_KEYPAIR = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*,?\s*\]")
_MIN_DISTINCT_BYTES = 16
"""A random 64-byte keypair has about 57 distinct byte values; a placeholder has a few."""


def _keypair_bytes(array: str) -> bool:
    numbers = [int(n) for n in re.findall(r"\d+", array)]
    if len(numbers) != 64 or max(numbers) > 255:
        return False
    steps = sum(1 for a, b in itertools.pairwise(numbers) if b - a == 1)
    return len(set(numbers)) >= _MIN_DISTINCT_BYTES and steps < 32


def keypairs(tm: TextMap, extra_names: Names = ()) -> Iterator[Hit]:
    """Solana keypairs written as a JSON array of 64 byte values: a whole `id.json`, or an
    array bound to a credential name (`PRIVATE_KEY=[…]`, `"secretKey": […]`)."""
    whole = tm.text.strip()
    for match in _KEYPAIR.finditer(tm.text):
        if not _keypair_bytes(match.group()):
            continue
        number, column = tm.line_of(match.start()), tm.column_of(match.start())
        if match.group() == whole:
            name = "a keypair file"
        else:
            named = classify_before(tm.line(number), column, extra_names)
            if named is None or named[1].kind not in (cred.PRIVATE_KEY, cred.SECRET):
                continue
            name = named[0]
        yield Hit("BOT103", number, column,
                  cred.message("BOT103", cred.PRIVATE_KEY, name, "", "",
                               shown="a 64-byte keypair array"),
                  end_line=tm.line_of(match.end() - 1), secrets=(match.group(),),
                  evidence={"credential_kind": cred.PRIVATE_KEY, "format": "keypair-array"})


_EVM_KEY = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_KEY_WORDS = re.compile(r"priv(?:ate)?[ _-]?key|(?:secret|wallet|signing)[ _-]?key|\bpk\b",
                        re.IGNORECASE)


def evm_keys(tm: TextMap, lines: Iterable[int], extra_names: Names = ()) -> Iterator[Hit]:
    """`0x` + 64 hex next to a key word. Alone that shape is as often a transaction hash, a
    block hash or a storage slot, so the line must say "private key" or bind it to a name."""
    for number in lines:
        line = tm.line(number)
        for match in _EVM_KEY.finditer(line):
            value = match.group()
            if cred.wallet_key_format(value) != "evm" or not cred.is_secret_value(
                    value, cred.PRIVATE_KEY):
                continue
            named = classify_before(line, match.start() + 1, extra_names)
            if named is None and not _KEY_WORDS.search(line):
                continue
            name = named[0] if named else "a private-key line"
            yield Hit("BOT103", number, match.start() + 1,
                      cred.message("BOT103", cred.PRIVATE_KEY, name, value, ""),
                      secrets=(value,), evidence={"credential_kind": cred.PRIVATE_KEY,
                                                  "format": "evm"})


# --- PEM bodies ---------------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_HEADER_LINE = re.compile(r"^[A-Za-z-]+:.*$", re.MULTILINE)
_MIN_PEM_BODY = 64
_PEM_LOOKAHEAD_LINES = 80


def pem_body(tm: TextMap, number: int) -> str | None:
    """The base64 body of the PEM private key whose header is on line `number`, when it has
    one: enough base64 and nothing but base64 up to the END line. Documentation shows the
    header around `<...>` or `…`; that is no key. Escaped newlines (`\\n` in a JSON string)
    count as newlines."""
    line = tm.line(number)
    if "PuTTY-User-Key-File" in line:
        following = "\n".join(tm.lines[number: number + _PEM_LOOKAHEAD_LINES])
        return line if "Private-Lines:" in following else None
    begin = _PEM_BEGIN.search(line)
    if begin is None:
        return None
    rest = "\n".join([line[begin.end():], *tm.lines[number: number + _PEM_LOOKAHEAD_LINES]])
    rest = rest.replace("\\n", "\n").replace("\\r", "")
    end = _PEM_END.search(rest)
    if end is None:
        return None
    body = _PEM_HEADER_LINE.sub("", rest[: end.start()])
    # Inside a JSON or YAML string the body lines may carry quotes, commas or indentation.
    lines = [part.strip().strip("\"',") for part in body.splitlines()]
    joined = "".join(lines)
    if len(joined) < _MIN_PEM_BODY or not re.fullmatch(r"[A-Za-z0-9+/=]+", joined):
        return None
    return joined
