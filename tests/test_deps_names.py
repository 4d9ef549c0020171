"""Typosquat and known-malicious names (BOT604, BOT605), from `checks/knowledge/packages.toml`."""

from __future__ import annotations

import importlib.metadata
import random

import pytest

from botscan.deps.names import _distance, lookalike, malicious


@pytest.mark.parametrize(("name", "target", "how"), [
    ("ccxtt", "ccxt", "a doubled letter"),
    ("cxct", "ccxt", "two letters swapped"),
    ("python-binnance", "python-binance", "a doubled letter"),
    ("python_binnance", "python-binance", "a doubled letter"),
    ("pythonbinance", "python-binance", "different separators"),
    ("binance-py", "binance", "python-/py affix"),
    ("web3-py", "web3", "python-/py affix"),
    ("pyccxt", "ccxt", "python-/py affix"),
    ("solanna", "solana", "a doubled letter"),
    ("solaan", "solana", "two letters swapped"),
    ("eth-acount", "eth-account", "a missing letter"),
    ("hyperliquid-pyton-sdk", "hyperliquid-python-sdk", "a missing letter"),
    ("freqtrdae", "freqtrade", "two letters swapped"),
    ("bitcoinlibfix", "bitcoinlib", "bitcoinlib with a 'fix' ending"),
    ("ccxt-binance-turbo", "ccxt", "named as an extension of ccxt"),
])
def test_lookalikes_are_found(name: str, target: str, how: str) -> None:
    found = lookalike(name)
    assert found is not None, name
    assert (found.target, found.how) == (target, how)


@pytest.mark.parametrize("name", [
    # the real libraries, and their spellings that PEP 503 makes identical
    "ccxt", "CCXT", "python-binance", "python_binance", "Python.Binance", "solana", "binance",
    "python-okx", "kucoin-python", "python-kucoin", "web3", "eth-account", "solders",
    "binance-connector", "binance-futures-connector", "TA-Lib", "ta", "pandas-ta", "freqtrade",
    # real projects close to a target
    "solara", "backtrader2", "bitget", "finance", "web", "alpaca",
    # what trading bots usually depend on
    "requests", "aiohttp", "websockets", "websocket-client", "pandas", "numpy", "scipy",
    "python-dotenv", "pyyaml", "python-telegram-bot", "pytelegrambotapi", "discord-py",
    "sqlalchemy", "matplotlib", "plotly", "tenacity", "loguru", "pydantic", "fastapi",
    "uvicorn", "flask", "eth-abi", "eth-utils", "eth-typing", "hexbytes", "base58",
    "anchorpy", "pycoingecko", "pynacl", "cryptography", "pycryptodome", "okx", "python-ta",
    "bip32utils", "ib-insync", "ib-async", "yfinance", "ta-lib-bin",
    "unicorn-binance-websocket-api",
])
def test_real_packages_are_silent(name: str) -> None:
    assert lookalike(name) is None, lookalike(name)


def test_installed_packages_are_silent() -> None:
    """Every distribution of the test environment is a real package: none may be flagged."""
    names = {dist.metadata["Name"] for dist in importlib.metadata.distributions()}
    flagged = {n: lookalike(n) for n in names if n and lookalike(n) is not None}
    assert not flagged


@pytest.mark.parametrize("name", ["solana-py", "ccxt-mexc-futures", "Bitcoinlib_DBFix",
                                  "set-utils", "aiocpa", "colourama"])
def test_known_malicious(name: str) -> None:
    assert malicious(name)


@pytest.mark.parametrize("name", ["solana", "ccxt", "colorama", "bitcoinlib"])
def test_not_malicious(name: str) -> None:
    assert malicious(name) is None


def _reference_distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the plain full-table way."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                              table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[len(a)][len(b)]


def test_banded_distance_agrees_with_the_full_table() -> None:
    rng = random.Random(20261121)
    for _ in range(3000):
        a = "".join(rng.choice("abcx") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("abcx") for _ in range(rng.randint(0, 9)))
        limit = rng.randint(0, 3)
        assert _distance(a, b, limit) == min(_reference_distance(a, b), limit + 1), (a, b)
