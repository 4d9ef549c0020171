"""The credential concept: names, values, self-identifying formats, and the host classes of
the transport rules. Shared by every analyzer, so its edge cases are pinned here."""

from __future__ import annotations

import secrets
import string

import pytest
from mnemonic import Mnemonic

from botscan import credentials as cred
from botscan.analyzers.python.network import classify_host
from botscan.redact import redact, redact_text


def _random_key(n: int = 64) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("API_KEY", "key_id"), ("apiKey", "key_id"), ("binance_api_key", "key_id"),
        ("APCA_API_KEY_ID", "key_id"), ("API_SECRET", "secret"), ("secretKey", "secret"),
        ("b64secret", "secret"), ("OKX_PASSPHRASE", "passphrase"), ("password", "password"),
        ("DB_PASS", "password"), ("TELEGRAM_BOT_TOKEN", "token"), ("access_token", "token"),
        ("wallet_private_key", "private_key"), ("PRIVATE_KEY", "private_key"),
        ("seed_phrase", "mnemonic"), ("MNEMONIC", "mnemonic"),
    ],
)
def test_credential_names(name: str, kind: str) -> None:
    info = cred.classify_name(name)
    assert info is not None and info.kind == kind


@pytest.mark.parametrize(
    "name",
    ["API_KEY_HEADER", "secret_name", "api_key_env", "token_symbol", "base_token_address",
     "random_seed", "public_key", "password_file", "order_id", "SECRET_PATH", "key", "sort_key",
     "tx_hash", "is_secret", "max_password_length"],
)
def test_names_about_credentials_are_not_credentials(name: str) -> None:
    assert cred.classify_name(name) is None


def test_context_separates_exchange_passphrases_from_other_passwords() -> None:
    okx = cred.classify_name("OKX_PASSWORD")
    db = cred.classify_name("password", "POSTGRES")
    assert okx is not None and okx.exchange and not okx.non_exchange
    assert db is not None and db.non_exchange


@pytest.mark.parametrize(
    "value",
    ["", "YOUR_API_KEY", "your_exchange_secret", "<secret>", "xxxxxxxxxxxxxxxxxxxx", "changeme",
     "${BINANCE_SECRET}", "{{ secret }}", "EXCHANGE_API_KEY", "X-MBX-APIKEY", "insert-key-here",
     "./keys/binance.pem", "https://api.binance.com", "****************", "my_api_secret_here",
     # the Binance API docs' published example secret
     "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"],
)
def test_placeholders_and_names_are_not_secrets(value: str) -> None:
    assert not cred.is_secret_value(value, cred.SECRET)


def test_real_shapes_are_secrets() -> None:
    assert cred.is_secret_value(_random_key(), cred.SECRET)
    assert cred.is_secret_value("6f1c2a4e-8b3d-4e5f-9a7b-1c2d3e4f5a6b", cred.KEY_ID)  # OKX key
    assert cred.is_secret_value(secrets.token_hex(16).upper(), cred.SECRET)  # OKX secret
    assert cred.is_secret_value("Tr4d1ng!Pass", cred.PASSPHRASE)
    assert cred.is_secret_value("0x" + secrets.token_hex(32), cred.PRIVATE_KEY)
    assert not cred.is_secret_value("0x" + "0" * 64, cred.PRIVATE_KEY)


def test_seed_phrases_need_the_checksum() -> None:
    phrase = Mnemonic("english").generate(128)
    assert cred.seed_phrase(phrase) == phrase
    words = phrase.split()
    swapped = " ".join(words[1:] + words[:1])  # same words, checksum almost surely broken
    assert (cred.seed_phrase(swapped) is not None) == Mnemonic("english").check(swapped)
    assert cred.seed_phrase("abandon " * 11 + "about") is None  # public test vector
    assert cred.seed_phrase("the quick brown fox jumps over the lazy dog and runs far away") \
        is None


def test_telegram_tokens_in_urls_and_alone() -> None:
    token = "5012345678:" + "AAH" + _random_key(32)
    assert cred.telegram_tokens(f"https://api.telegram.org/bot{token}/sendMessage") == [token]
    assert cred.telegram_tokens(token) == [token]
    assert cred.telegram_tokens("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11") == []


def test_redaction_shows_four_characters_length_and_hash() -> None:
    key = _random_key()
    shown = redact(key)
    assert shown.startswith(key[:4] + "…(64 chars, #") and key not in shown
    line = f'ex = ccxt.okx({{"apiKey": "6f1c2a4e-8b3d-4e5f-9a7b-1c2d3e4f5a6b", "secret": "{key}"}})'
    masked = redact_text(line)
    assert key not in masked and "6f1c2a4e-8b3d-4e5f-9a7b-1c2d3e4f5a6b" not in masked
    assert "https://api.binance.com/api/v3/order" in redact_text(
        "url = 'https://api.binance.com/api/v3/order'")


@pytest.mark.parametrize(
    ("host", "expected"),
    [("api.binance.com", "exchange"), ("stream.bybit.com", "exchange"),
     ("prices.example-feed.io", "public"), ("8.8.8.8", "public"), ("192.168.1.10", "private"),
     ("10.1.2.3", "private"), ("redis", "private"), ("nas.local", "private"),
     ("localhost", None), ("127.0.0.1", None), ("::1", None), ("0.0.0.0", None),
     ("www.w3.org", None), ("example.com", None), ("api.test", None), ("203.0.113.9", None)],
)
def test_host_classes(host: str, expected: str | None) -> None:
    assert classify_host(host) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [("abc123def456ghi789", cred.KEY_ID), ("1234567890abcdefghij", cred.SECRET),
     ("SuperSecurePassword1!", cred.PASSWORD), ("WrongPassword", cred.PASSWORD),
     ("testpass123", cred.PASSWORD)],
)
def test_values_a_person_typed_to_look_like_keys(value: str, kind: str) -> None:
    assert not cred.is_secret_value(value, kind)
