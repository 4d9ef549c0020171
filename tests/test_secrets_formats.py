"""The secrets scanner on every text format bots keep keys in, with real detect-secrets.

Each case is a small file in the shape real bots commit (freqtrade, OctoBot, hummingbot,
jesse, compose files, notebooks) and the exact set of (rule, line) it must produce: what
must be found, and the placeholders, examples and look-alikes that must stay silent.
"""

from __future__ import annotations

import base64
import json
import random
import string
import struct

import pytest

from botscan.analyzers.secrets import scan_text_file

ALNUM = string.ascii_letters + string.digits


def key(seed: int, n: int = 64, chars: str = ALNUM) -> str:
    """A random-looking key, the same on every run (no key-like literal in this file)."""
    rng = random.Random(seed)
    return "".join(rng.choice(chars) for _ in range(n))


def telegram(seed: int) -> str:
    return f"{random.Random(seed).randrange(10**9, 10**10)}:AA{key(seed, 33, ALNUM + '_-')}"


def webhook(seed: int) -> str:
    snowflake = random.Random(seed).randrange(10**18, 10**19)
    return f"https://discord.com/api/webhooks/{snowflake}/{key(seed, 68, ALNUM + '_-')}"


def seed_words(seed: int, strength: int = 16) -> str:
    from mnemonic import Mnemonic

    return str(Mnemonic("english").to_mnemonic(random.Random(seed).randbytes(strength)))


def evm(seed: int) -> str:
    return "0x" + random.Random(seed).randbytes(32).hex()


def fernet(seed: int, ciphertext: int) -> str:
    rng = random.Random(seed)
    raw = b"\x80" + struct.pack(">Q", 1731000000) + rng.randbytes(16 + ciphertext + 32)
    return base64.urlsafe_b64encode(raw).decode()


def keyfile_hex(seed: int) -> str:
    rng = random.Random(seed)
    document = {"crypto": {"cipher": "aes-128-ctr", "ciphertext": rng.randbytes(64).hex(),
                           "kdf": "pbkdf2", "mac": rng.randbytes(32).hex()}, "version": 3}
    return json.dumps(document).encode().hex()


def found(path: str, text: str, **options: object) -> set[tuple[str, int]]:
    findings, notices = scan_text_file(path, text.encode(), **options)  # type: ignore[arg-type]
    assert not notices
    return {(f.rule_id, f.location.line) for f in findings}


K1, K2 = key(1), key(2)


# --- freqtrade ------------------------------------------------------------------------------

FREQTRADE = f"""{{
    // JSON with comments, as freqtrade reads it
    "exchange": {{
        "name": "binance",
        "key": "{K1}",
        "secret": "{K2}",
        "password": "",
        "ccxt_config": {{}},
        "pair_whitelist": ["BTC/USDT"],
    }},
    /* a block
       comment */
    "telegram": {{"enabled": true, "token": "{telegram(3)}", "chat_id": "412339870"}},
    "api_server": {{
        "username": "freqtrader",
        "password": "{key(4, 14)}",
        "jwt_secret_key": "{key(5, 40)}",
        "ws_token": "secret_ws_t0ken."
    }},
    "external_message_consumer": {{"producers": [{{"name": "a", "ws_token": "{key(6, 30)}"}}]}}
}}
"""


def test_freqtrade_config_by_key_path() -> None:
    assert found("user_data/config.json", FREQTRADE) == {
        ("BOT102", 5), ("BOT101", 6), ("BOT106", 13), ("BOT108", 16), ("BOT108", 17),
        ("BOT108", 20),
    }


def test_freqtrade_example_file_is_silent() -> None:
    assert found("config_examples/config_full.example.json", FREQTRADE) == {("BOT106", 13)}, (
        "an example file reports only what identifies itself (the Telegram token)")


def test_freqtrade_placeholders_are_silent() -> None:
    text = """{
    "exchange": {"key": "your_exchange_key", "secret": "your_exchange_secret"},
    "telegram": {"token": "your_telegram_token", "chat_id": "your_telegram_chat_id"},
    "api_server": {"jwt_secret_key": "somethingrandom", "password": "SuperSecurePassword"}
}
"""
    assert found("config.json", text) == set()


def test_freqtrade_environment_overrides() -> None:
    text = f"FREQTRADE__EXCHANGE__KEY={K1}\nFREQTRADE__EXCHANGE__UID=12345\n"
    assert found(".env", text) == {("BOT102", 1)}


def test_wallet_address_holds_a_key_only_when_it_is_one() -> None:
    text = f"""{{"exchange": {{"name": "hyperliquid",
    "walletAddress": "0x52908400098527886E0F7030069857D2E4169EE7",
    "privateKey": "{evm(7)}"}},
 "other": {{"exchange": {{"walletAddress": "{evm(8)}"}}}}}}
"""
    assert found("config.json", text) == {("BOT103", 3), ("BOT103", 4)}


def test_binance_pem_secret_in_json_string() -> None:
    body = base64.b64encode(random.Random(9).randbytes(120)).decode()
    pem = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----"
    text = f'{{"exchange": {{"key": "{K1}", "secret": "{pem}"}}}}\n'
    hits = scan_text_file("config.json", text.encode())[0]
    assert {(f.rule_id, f.location.line) for f in hits} == {("BOT102", 1), ("BOT101", 1)}
    assert all(body not in f.snippet and body not in f.message for f in hits)


def test_documentation_pem_header_is_silent() -> None:
    text = ('"secret": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBABACAFQA<...>s8KX8='
            '\\n-----END PRIVATE KEY-----"\n')
    assert found("docs/exchanges.md", text) == set()
    assert found("config.json", "{" + text.rstrip() + "}\n") == set()


# --- OctoBot and hummingbot ---------------------------------------------------------------------

def test_octobot_fernet_tokens_are_reported_as_readable() -> None:
    text = f"""{{"exchanges": {{
  "binance": {{"api-key": "{fernet(1, 80)}", "api-secret": "{fernet(2, 80)}",
               "api-password": "{fernet(3, 16)}"}},
  "kucoin": {{"api-key": "{fernet(4, 16)}", "api-secret": ""}}}}}}
"""
    findings = scan_text_file("user/config.json", text.encode())[0]
    assert {(f.rule_id, f.location.line) for f in findings} == {
        ("BOT102", 2), ("BOT101", 2), ("BOT101", 3)}
    assert all("octobot_commons" in f.message for f in findings)


def test_hummingbot_keyfiles_are_encrypted_and_silent() -> None:
    text = (f"connector: binance\nbinance_api_key: {keyfile_hex(1)}\n"
            f"binance_api_secret: {keyfile_hex(2)}\n")
    assert found("conf/connectors/binance.yml", text) == set()


def test_hummingbot_plaintext_connector_is_reported() -> None:
    text = (f"kucoin_api_key: {key(10, 24, '0123456789abcdef')}\n"
            "kucoin_secret_key: e2c61212-e435-4330-842a-be82794d4a7f\n"
            f"kucoin_passphrase: {key(11, 14)}\n")
    assert found("conf/connectors/kucoin.yml", text) == {
        ("BOT102", 1), ("BOT101", 2), ("BOT101", 3)}


# --- YAML, TOML, INI, .env ----------------------------------------------------------------------

def test_yaml_nested_block_scalar_and_compose_lists() -> None:
    body = "\n".join("        " + base64.b64encode(random.Random(i).randbytes(48)).decode()
                     for i in range(4))
    text = f"""# bot settings
exchange:
  binance:
    api_key: "{K1}"   # a comment
    api_secret: '{K2}'
    rsa:
      private_key: |
        -----BEGIN PRIVATE KEY-----
{body}
        -----END PRIVATE KEY-----
notifications:
  - name: ops
    token: {telegram(12)}
services:
  bot:
    environment:
      - LOG_LEVEL=INFO
      - BYBIT_API_SECRET={key(13, 36)}
    flow: {{api_key: "{key(14, 40)}"}}
"""
    assert found("settings.yml", text) == {
        ("BOT102", 4), ("BOT101", 5), ("BOT103", 8), ("BOT106", 16), ("BOT101", 21),
        ("BOT102", 22)}


def test_yaml_templates_and_anchors_are_silent() -> None:
    text = """dashboard:
  password: "{{ env.DASH_PASSWORD }}"
  secret_key: ${JWT_SECRET}
  token: &tok
  api_key: *tok
"""
    assert found("config.yml", text) == set()


def test_toml_tables_dotted_keys_and_multiline() -> None:
    text = f'''[okx]
api_key = "82b98546-a41b-494e-a576-08e8aec2d23e"
secret_key = "41E0C71E0CCE93097C27049F07453DDB"
flag = "0"

[bot.alerts]
discord.webhook = "{webhook(15)}"
"quoted.key".password = """
{key(16, 20)}"""
inline = {{ api_secret = "{K2}" }}
'''
    assert found("secrets.toml", text) == {
        ("BOT102", 2), ("BOT101", 3), ("BOT107", 7), ("BOT108", 8), ("BOT101", 10)}


def test_ini_sections() -> None:
    text = f"""; read with configparser
[binance]
api_key = {K1}
api_secret = {K2}  # a comment

[database]
password = Qm7#rTq2vX9p
password_file = /run/secrets/db
"""
    assert found("settings.ini", text) == {("BOT102", 3), ("BOT101", 4), ("BOT108", 7)}


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (f"BINANCE_API_SECRET={K2}", "BOT101"),
        (f'BINANCE_API_SECRET="{K2}"', "BOT101"),
        (f"BINANCE_API_SECRET='{K2}'", "BOT101"),
        (f"export BINANCE_API_SECRET={K2}  # prod", "BOT101"),
        (f"BINANCE_API_KEY = {K1}", "BOT102"),
        (f"GENERAL_TELEGRAM_BOT_TOKEN={telegram(17)}", "BOT106"),
        (f"GENERAL_DISCORD_WEBHOOK={webhook(18)}", "BOT107"),
        (f"PRIVATE_KEY={evm(19)}", "BOT103"),
        (f'MNEMONIC="{seed_words(20)}"', "BOT105"),
        (f"OKX_PASSPHRASE={key(21, 12)}", "BOT101"),
        (f"LICENSE_API_TOKEN={key(22, 40)}", "BOT108"),
    ],
)
def test_dotenv_shapes(line: str, rule: str) -> None:
    assert found(".env", f"# settings\n{line}\n") == {(rule, 2)}


@pytest.mark.parametrize(
    "line",
    [
        "BINANCE_API_KEY=",
        "BINANCE_API_KEY=your_api_key_here",
        "BINANCE_API_SECRET=${BINANCE_API_SECRET}",
        "BINANCE_API_SECRET=<your secret>",
        "PASSWORD=test",
        "POSTGRES_PASSWORD=password",
        "API_KEY_NAME=BINANCE_API_KEY",
        "PRIVATE_KEY=0x0000000000000000000000000000000000000000000000000000000000000001",
        "TELEGRAM_CHAT_ID=412339870",
        "# BINANCE_API_SECRET=" + K2,
    ],
)
def test_dotenv_silent(line: str) -> None:
    assert found(".env", line + "\n") == set()


def test_dotenv_multiline_pem() -> None:
    body = [base64.b64encode(random.Random(i).randbytes(48)).decode() for i in range(3)]
    text = ('COINBASE_API_SECRET="-----BEGIN EC PRIVATE KEY-----\n' + "\n".join(body)
            + '\n-----END EC PRIVATE KEY-----"\nLOG_LEVEL=INFO\n')
    assert found(".env", text) == {("BOT101", 1)}


def test_binance_style_key_found_in_every_format() -> None:
    cases = {
        "config.json": f'{{"binance": {{"api_secret": "{K2}"}}}}\n',
        "config.yml": f"binance:\n  api_secret: {K2}\n",
        "config.toml": f'[binance]\napi_secret = "{K2}"\n',
        "config.ini": f"[binance]\napi_secret = {K2}\n",
        ".env": f"BINANCE_API_SECRET={K2}\n",
        "run.sh": f"export BINANCE_API_SECRET={K2}\n",
        "notes.txt": f"BINANCE_API_SECRET={K2}\n",
        "app.js": f'const binance = {{ apiSecret: "{K2}" }};\n',
    }
    for path, text in cases.items():
        rules = {rule for rule, _ in found(path, text)}
        assert rules == {"BOT101"}, (path, rules)


# --- notebooks and documentation ----------------------------------------------------------------

def test_notebook_cells_map_to_json_lines() -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# analysis\n"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [
                {"name": "stdout", "output_type": "stream", "text": [f"token {telegram(23)}\n"]}],
             "source": ["import ccxt\n", "ex = ccxt.binance({\n", f'    "secret": "{K2}",\n',
                        "})\n", 'key = os.environ["API_KEY"]']},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1)
    lines = text.splitlines()
    secret_line = next(i for i, line in enumerate(lines, 1) if K2 in line)
    token_line = next(i for i, line in enumerate(lines, 1) if "token " in line)
    assert found("analysis.ipynb", text) == {("BOT101", secret_line), ("BOT106", token_line)}


def test_markdown_is_strict() -> None:
    text = f"""# Setup

```json
{{"exchange": {{"key": "{K1}", "secret": "{K2}"}}}}
```

Put your token in `.env`: `TELEGRAM_TOKEN=your_telegram_token`.
Our alerts webhook: {webhook(24)}
The demo wallet: `{seed_words(25, 32)}`
A key looks like {evm(26)}, never share yours.
"""
    assert found("docs/setup.md", text) == {("BOT107", 8), ("BOT105", 9)}


def test_seed_phrase_needs_the_checksum_and_to_stand_alone() -> None:
    words = seed_words(27).split()
    broken = " ".join([*words[:-1], "zoo" if words[-1] != "zoo" else "abandon"])
    prose = "we " + " ".join(words) + " said nothing"
    assert found("notes.txt", f"seed: {' '.join(words)}\n") == {("BOT105", 1)}
    assert found("notes.txt", f"seed: {broken}\n") == set()
    assert found("notes.txt", prose + "\n") == set()


# --- wallets ------------------------------------------------------------------------------

def test_solana_keypair_file_and_named_array() -> None:
    array = json.dumps(list(random.Random(28).randbytes(64)))
    assert found("id.json", array) == {("BOT103", 1)}
    assert found(".env", f"SOLANA_PRIVATE_KEY={array}\n") == {("BOT103", 1)}
    assert found("data.json", f'{{"weights": {array}}}\n') == set()
    assert found("id.json", json.dumps(list(range(64)))) == set()


def test_evm_key_needs_a_key_context() -> None:
    text = (f"tx hash {evm(29)}\n"
            f"deployer private key: {evm(30)}\n"
            f"WALLET_KEY={evm(31)}\n")
    assert found("notes.txt", text) == {("BOT103", 2), ("BOT103", 3)}


def test_telegram_token_inside_a_longer_token_is_silent() -> None:
    assert found("notes.txt", f"blob=x{telegram(32)}Q\n") == set()
    assert found("notes.txt", f"https://api.telegram.org/bot{telegram(33)}/getMe\n") == {
        ("BOT106", 1)}


def test_test_data_passwords_are_silent_but_keys_are_not() -> None:
    text = f"DB_PASSWORD={key(34, 12)}\nBINANCE_API_SECRET={K2}\n"
    assert found("tests/fixtures/.env", text) == {("BOT101", 2)}


def test_text_inside_a_config_value_is_not_read_again() -> None:
    """A TOML docstring or a YAML block holding an example assignment is text, not config."""
    toml = f'[rule]\nexample = """\nJWT_SECRET = "{key(35, 20)}"  # bad\n"""\n'
    yaml = f"help: |\n  Set api_secret: {K2} in your .env\nother: 1\n"
    assert found("rules.toml", toml) == set()
    assert found("settings.yml", yaml) == set()


def test_minified_code_between_quotes_is_not_a_secret() -> None:
    """jesse's built dashboard (its git history) put labels and grammar tables next to
    credential words: `"API Secret:"),L=x(()=>…` and `{token:"constant.reserved.$0"}`."""
    js = ('const B=x(()=>n.value?"API Private Key:":"API Secret:"),L=x(()=>n.value?"Enter"'
          ':"x");\n'
          'rules={"@keywords":{token:"keyword.$0"},"@types":{token:"type.reserved.$0"}};\n'
          'a=i("Passphrase",-1),b=c("x",-1);\n')
    assert found("static/_nuxt/4OucEjoo.js", js) == set()
    assert found("static/app.js", f'const config = {{apiSecret: "{K2}"}};\n') == {("BOT101", 1)}


def test_keys_public_by_design_are_silent() -> None:
    """PostHog project keys and Stripe publishable keys are meant to ship in client code."""
    text = (f'POSTHOG_API_KEY = "phc_{key(36, 43)}"\n'
            f'STRIPE_API_KEY = "pk_live_{key(37, 24)}"\n'
            f'BINANCE_API_KEY = "{key(38, 64)}"\n')
    assert found("settings.txt", text) == {("BOT102", 3)}
