"""Credential flows (BOT2xx), fund movement (BOT3xx) and the capability profile, through the
real analyzer and the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from botscan.analyzers.python.analyzer import analyze_python
from botscan.analyzers.python.engine import Options
from botscan.scan import ScanOptions, scan


def _found(source: str, path: str = "bot.py") -> list[tuple[int, str]]:
    result = analyze_python(path, textwrap.dedent(source).encode(), Options())
    return [(f.location.line, f.rule_id) for f in result.findings if not f.suppressed]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botscan", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_flows_through_helpers_returns_and_containers() -> None:
    found = _found("""
        import logging, os
        log = logging.getLogger(__name__)

        def secret_from_env():
            return os.environ["BINANCE_API_SECRET"]

        def shout(message):
            log.warning(message)

        def relay(text):
            shout("relay: " + text)

        secret = secret_from_env()
        creds = {"key": os.getenv("BINANCE_API_KEY"), "secret": secret}
        log.info("creds %s", creds)
        relay(f"using {secret}")
        log.info("%s", secret.strip().upper())
    """)
    assert found == [(16, "BOT201"), (17, "BOT201"), (18, "BOT201")]


def test_sanitisers_and_lookalikes_stay_silent() -> None:
    found = _found("""
        import hashlib, hmac, logging, os
        log = logging.getLogger(__name__)
        api_secret = os.environ["BINANCE_API_SECRET"]
        api_key = os.environ["BINANCE_API_KEY"]
        shown = api_key[:4] + "…" + api_key[-4:]
        log.info("key %s", shown)
        log.info("secret ok: %s, %d chars", bool(api_secret), len(api_secret))
        log.info("digest %s", hashlib.sha256(api_secret.encode()).hexdigest())
        log.info("sig %s", hmac.new(api_secret.encode(), b"q", hashlib.sha256).hexdigest())
        log.info("env var: %s", "BINANCE_API_SECRET")
        base_token = "ETH"
        log.info("buying %s", base_token)
        if api_secret == "":
            raise ValueError("BINANCE_API_SECRET is empty")
        print(f"key ends with {api_key[-4:]}")
        log.info("first half %s", api_key[:-4])
    """)
    assert found == [(17, "BOT201")]  # `[:-4]` keeps almost all of the key


def test_backtest_withdraw_and_read_only_lookalikes_are_not_fund_movement() -> None:
    found = _found("""
        import ccxt

        class Portfolio:
            def withdraw(self, amount):
                self.cash -= amount

        exchange = ccxt.binance({})
        Portfolio().withdraw(10)
        exchange.fetch_withdrawals("USDT")
        exchange.fetch_deposit_address("USDT")
        exchange.withdraw("USDT", 5, address)
        exchange.sapi_post_capital_withdraw_apply({"coin": "USDT"})
    """)
    assert found == [(12, "BOT301"), (13, "BOT301")]


def test_a_hardcoded_destination_is_the_backdoor_rule() -> None:
    found = _found("""
        import ccxt
        DEV = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ex = ccxt.kucoin({})
        ex.withdraw("USDT", 100, DEV)
        ex.withdraw("USDT", 100, user_address)
    """)
    assert found == [(5, "BOT305"), (6, "BOT301")]


def _bot(tmp_path: Path, body: str) -> Path:
    (tmp_path / "bot.py").write_text(textwrap.dedent(body))
    return tmp_path


def test_profile_of_a_withdrawing_bot_shows_the_evidence(tmp_path: Path) -> None:
    _bot(tmp_path, """
        import ccxt, os
        ex = ccxt.binance({"apiKey": os.environ["K"], "secret": os.environ["S"]})
        ex.create_order("BTC/USDT", "market", "buy", 0.01)
        ex.withdraw("USDT", 10, os.environ["COLD_WALLET"])
    """)
    result = _cli("scan", ".", cwd=tmp_path)
    assert "Capability profile:" in result.stdout
    withdraw_line = next(line for line in result.stdout.splitlines()
                         if line.strip().startswith("withdraw "))
    assert "bot.py:5" in withdraw_line
    assert "The bot withdraws" in result.stdout
    report = json.loads(_cli("scan", ".", "--format", "json", cwd=tmp_path).stdout)
    names = [c["name"] for c in report["capabilities"]]
    assert names == ["trade", "withdraw"]
    sarif = json.loads(_cli("scan", ".", "--format", "sarif", cwd=tmp_path).stdout)
    properties = sarif["runs"][0]["properties"]
    assert [c["name"] for c in properties["capabilities"]] == ["trade", "withdraw"]
    assert properties["capabilities"][1]["evidence"][0] == {
        "path": "bot.py", "line": 5, "call": "ex.withdraw"}


def test_a_trade_only_bot_gets_a_key_without_withdrawal(tmp_path: Path) -> None:
    _bot(tmp_path, """
        import ccxt, os
        ex = ccxt.bybit({"apiKey": os.environ["K"], "secret": os.environ["S"]})
        balance = ex.fetch_balance()
        ex.create_limit_buy_order("ETH/USDT", 0.1, 2000)
    """)
    report = json.loads(_cli("scan", ".", "--format", "json", cwd=tmp_path).stdout)
    assert [c["name"] for c in report["capabilities"]] == ["read", "trade"]
    assert "without withdrawal or transfer permission" in report["recommendation"]
    assert "restrict it to your server's IP" in report["recommendation"]


def test_a_knowledge_pack_teaches_a_new_sdk_without_code_changes(tmp_path: Path) -> None:
    bot = _bot(tmp_path, """
        from acme_exchange import AcmeClient
        client = AcmeClient(key, secret)
        client.send_coins("BTC", 0.5, destination)
    """)
    pack = tmp_path / "acme-pack.toml"
    pack.write_text(textwrap.dedent("""
        [funds.receivers]
        acme = ["acme_exchange.AcmeClient()"]

        [[funds.method]]
        receivers = ["acme"]
        names = ["send_coins"]
        capability = "withdraw"
        risk = "EXT-HIGH"
    """))
    before = scan([bot], ScanOptions(jobs=1))
    after = scan([bot], ScanOptions(jobs=1, packs=((str(pack), pack.read_text()),)))
    assert [f.rule_id for f in before.findings] == []
    assert [(f.location.line, f.rule_id) for f in after.findings] == [(4, "BOT301")]
    via_cli = _cli("scan", ".", "--pack", str(pack), "--format", "json", cwd=tmp_path)
    assert [f["rule_id"] for f in json.loads(via_cli.stdout)["findings"]] == ["BOT301"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[nonsense]\nx = 1\n")
    failed = _cli("scan", ".", "--pack", str(broken), cwd=tmp_path)
    assert failed.returncode == 2 and "unknown knowledge table" in failed.stderr
