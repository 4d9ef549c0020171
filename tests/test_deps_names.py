"""Typosquat and known-malicious names (BOT604, BOT605), from `checks/knowledge/packages.toml`."""

from __future__ import annotations

import importlib.metadata

import pytest

from botscan.deps.names import lookalike, malicious


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
