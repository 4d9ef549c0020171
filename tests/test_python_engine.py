"""The libcst engine: one traversal, import and alias resolution, simple assignment tracking.

These tests ask the resolver directly what an expression is, so a regression in resolution
shows up here by name rather than as a missing finding somewhere in the fixtures.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from botscan.analyzers.python.analyzer import analyze_python
from botscan.analyzers.python.engine import (
    Detector,
    Event,
    FileContext,
    Options,
    Pathological,
    parse,
    run_detectors,
)
from botscan.analyzers.python.symbols import call_text
from botscan.scan import ScanOptions, scan


class _CallRecorder(Detector):
    """Records what every call resolves to, keyed by the call's source text."""

    rules = frozenset({"BOT101"})

    def __init__(self) -> None:
        self.targets: dict[str, str | None] = {}

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        assert isinstance(ev.node, cst.Call)
        code = cst.Module([]).code_for_node(ev.node.func)
        self.targets[code] = ctx.resolver.call_target(ev.node, ev.scope)


def resolve_calls(source: str) -> dict[str, str | None]:
    recorder = _CallRecorder()
    run_detectors(parse(textwrap.dedent(source)), [recorder], FileContext("t.py", Options()))
    return recorder.targets


def test_imports_and_aliases_resolve_to_what_the_call_is() -> None:
    targets = resolve_calls("""
        import ccxt
        import ccxt.async_support as accxt
        import requests as r
        from binance.client import Client
        from binance import AsyncClient as AC
        import os.path
        ccxt.binance({})
        accxt.okx({})
        r.get("u")
        Client("k", "s")
        AC.create()
        os.path.join("a")
    """)
    assert targets["ccxt.binance"] == "ccxt.binance"
    assert targets["accxt.okx"] == "ccxt.async_support.okx"
    assert targets["r.get"] == "requests.get"
    assert targets["Client"] == "binance.client.Client"
    assert targets["AC.create"] == "binance.AsyncClient.create"
    assert targets["os.path.join"] == "os.path.join"


def test_assignments_make_instances_known_further_down_and_up() -> None:
    targets = resolve_calls("""
        import ccxt, requests, aiohttp

        def trade():
            exchange.create_order("BTC/USDT")   # used before the module assigns it

        exchange = ccxt.binance({})
        session = requests.Session()
        session.get("u")

        class Bot:
            def __init__(self):
                self.ex = ccxt.kraken({})
            def run(self):
                self.ex.fetch_balance()

        async def main(s: aiohttp.ClientSession):
            s.get("u")
            async with aiohttp.ClientSession() as inner:
                inner.post("u")
            factory = getattr(ccxt, "bybit")
            dynamic = getattr(ccxt, name)({})
    """)
    assert targets["exchange.create_order"] == "ccxt.binance().create_order"
    assert targets["session.get"] == "requests.Session().get"
    assert targets["self.ex.fetch_balance"] == "ccxt.kraken().fetch_balance"
    assert targets["s.get"] == "aiohttp.ClientSession().get"
    assert targets["inner.post"] == "aiohttp.ClientSession().post"
    assert targets["getattr(ccxt, name)"] == "ccxt.*"


def test_unknown_names_stay_unknown_instead_of_guessed() -> None:
    targets = resolve_calls("""
        def f(client):
            client.withdraw("BTC", 1, "addr")
        exchange.withdraw("BTC")
    """)
    assert targets["client.withdraw"] is None
    assert targets["exchange.withdraw"] is None


def _rules(source: str) -> list[tuple[int, str]]:
    result = analyze_python("bot.py", textwrap.dedent(source).encode(), Options())
    return [(f.location.line, f.rule_id) for f in result.findings if not f.suppressed]


def test_constants_flow_into_f_strings_and_concatenation() -> None:
    found = _rules("""
        HOST = "api.bybit.com"
        LAN = "10.0.0.5"
        A = f"http://{HOST}/v5/order"
        B = "ws://" + LAN + ":9000/stream"
        C = "http://" + host_from_config
        D = f"http://{port_and_host}/x"
    """)
    assert found == [(4, "BOT403"), (5, "BOT402")]


def test_a_shadowed_name_is_not_the_library() -> None:
    found = _rules("""
        import requests
        def get(url, verify):
            return url
        requests = None
        def fetch(session):
            return session.get("https://x.org", verify=False)
    """)
    # `session` is an unknown parameter and `.get` is an HTTP verb: still reported.
    assert found == [(7, "BOT404")]


def test_pathological_sources_are_refused_before_libcst() -> None:
    with pytest.raises(Pathological):
        parse("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")


def test_python2_source_falls_back_to_text_and_still_finds_the_key() -> None:
    source = b'import urllib2\nprint "starting"\nAPI_SECRET = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"\n'
    result = analyze_python("old.py", source, Options())
    assert [(f.location.line, f.rule_id) for f in result.findings] == [(3, "BOT101")]
    assert [n.kind.value for n in result.notices] == ["not-parsed"]


def test_test_code_keeps_real_keys_but_not_mock_urls_or_dummy_passwords() -> None:
    source = textwrap.dedent("""
        import requests
        API_SECRET = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"
        PASSWORD = "Tr4d1ng!Pass"
        requests.get("http://mock-exchange.io/api", verify=False)
    """).encode()
    in_tests = analyze_python("tests/test_bot.py", source, Options())
    in_bot = analyze_python("bot/run.py", source, Options())
    assert [f.rule_id for f in in_tests.findings] == ["BOT101"]
    assert [f.rule_id for f in in_bot.findings] == ["BOT101", "BOT108", "BOT401", "BOT404"]


def test_links_for_people_are_not_connections() -> None:
    found = _rules("""
        _SQL_DOCS_URL = "http://docs.sqlalchemy.org/en/latest/core/engines.html"
        HOMEPAGE = "http://freqtrade.io"
        REFERENCE = "http://doc.example-lib.io/api"
        FEED = "http://feed.example-lib.io/api"
    """)
    assert found == [(5, "BOT401")]


def test_names_rebound_many_times_cannot_stall_the_analyzer(tmp_path: Path) -> None:
    """Generated code rebinds names in cycles; resolution must stay linear, or a file could
    hide a plain-text exchange URL behind a timeout."""
    blocks = [
        f"class NS:\n    class E{i}(Exception): pass\n    E{i}.X = E{i}\nE{i} = NS.E{i}\ndel NS\n"
        for i in range(40)
    ]
    tail = 'import requests\nrequests.get("http://api.binance.com/api/v3/account", verify=False)\n'
    (tmp_path / "gen.py").write_text("\n".join(blocks) + tail)
    result = scan([tmp_path], ScanOptions(jobs=1, file_timeout=20))
    assert sorted(f.rule_id for f in result.findings) == ["BOT403", "BOT404"]
    assert result.notices == []


def test_a_call_chain_thousands_long_cannot_stall_the_analyzer(tmp_path: Path) -> None:
    """`f()()()…`: every call's callee is shown in messages, and rendering each in full cost a
    render of all the calls below it (32 s for 2,000 calls; found by tests/test_fuzz.py)."""
    chain = "f" + "()" * 2000
    shown = call_text(cst.parse_expression(chain + ".withdraw"))
    assert shown == "..." + "()" * 11 + ".withdraw"
    tail = 'import requests\nrequests.get("http://api.coingecko.com/api/v3/ping")\n'
    (tmp_path / "gen.py").write_text(f"x = {chain}\n{tail}")
    result = scan([tmp_path], ScanOptions(jobs=1, file_timeout=20))
    assert [f.rule_id for f in result.findings] == ["BOT401"]
    assert result.notices == []


def test_config_files_are_read_and_example_files_are_not(tmp_path: Path) -> None:
    secret = "Rk9TmQ2vX7pL4wZ8cN1bY6hJ3dF5gS0aKe2Uq9Wr"
    (tmp_path / "config.json").write_text(
        '{"exchange": {"name": "binance", "secret": "' + secret + '"}}\n')
    (tmp_path / ".env").write_text(f"EXCHANGE=binance\nBINANCE_API_SECRET={secret}\n")
    (tmp_path / "config.example.json").write_text('{"secret": "' + secret + '"}\n')
    (tmp_path / "big.whl").write_bytes(b"\0" * 2_100_000)
    result = scan([tmp_path], ScanOptions(jobs=1))
    # A key in a file git would commit is also BOT110 (nothing here ignores them).
    # A committed wheel is compiled code (BOT508), whatever its size; it is never read as text.
    assert sorted((f.location.path, f.rule_id) for f in result.findings) == [
        (".env", "BOT101"), (".env", "BOT110"), ("big.whl", "BOT508"), ("config.json", "BOT101"),
        ("config.json", "BOT110")]
    assert result.notices == []  # a large wheel is not something botscan would have read
