"""BOT701 and BOT702 in Python: web apps served to the network unprotected, and debug modes."""

from __future__ import annotations

import pytest

from botscan.analyzers.python.analyzer import analyze_python
from botscan.analyzers.python.options import Options


def python(text: str, path: str = "bot/app.py",
           enabled: frozenset[str] | None = None) -> set[tuple[int, str]]:
    result = analyze_python(path, text.encode(), Options(), enabled)
    return {(f.location.line, f.rule_id) for f in result.findings
            if f.rule_id.startswith("BOT7")}


TRADING_APP = '''import ccxt
import uvicorn
from fastapi import FastAPI

exchange = ccxt.binance({"apiKey": KEY, "secret": SECRET})
app = FastAPI()


@app.get("/price")
def price(symbol: str):
    return exchange.fetch_ticker(symbol)


def sell(symbol, amount):
    return exchange.create_market_sell_order(symbol, amount)


@app.post("/sell")
def sell_route(symbol: str, amount: float):
    return sell(symbol, amount)


uvicorn.run(app, host=HOST, port=8000)
'''


@pytest.mark.parametrize(("host", "fires"), [
    ('"0.0.0.0"', True), ('"::"', True), ('"127.0.0.1"', False), ('"localhost"', False),
    ('os.environ["HOST"]', False),
])
def test_trading_routes_served_everywhere(host: str, fires: bool) -> None:
    text = TRADING_APP.replace("host=HOST", f"host={host}")
    assert python(text) == ({(23, "BOT701")} if fires else set())


def test_served_everywhere_through_a_module_constant() -> None:
    text = 'BIND = "0.0.0.0"\n' + TRADING_APP.replace("host=HOST", "host=BIND")
    assert python(text) == {(24, "BOT701")}


@pytest.mark.parametrize("change", [
    # authentication in sight
    ("def sell_route(symbol: str, amount: float):",
     "def sell_route(symbol: str, amount: float, user=Depends(login)):"),
    ("app = FastAPI()", "app = FastAPI()\napp.add_middleware(TokenAuth)"),
    # no route moves funds
    ("    return sell(symbol, amount)", "    return {'queued': symbol}"),
])
def test_trading_app_stays_silent_when(change: tuple[str, str]) -> None:
    text = TRADING_APP.replace("host=HOST", 'host="0.0.0.0"').replace(*change)
    assert python(text) == set()


def test_bot701_needs_the_fund_evidence_even_when_only_it_is_selected() -> None:
    text = TRADING_APP.replace("host=HOST", 'host="0.0.0.0"')
    assert python(text, enabled=frozenset({"BOT701"})) == {(23, "BOT701")}


def test_flask_app_run_on_every_interface_with_trading_route() -> None:
    text = '''from flask import Flask
from binance.client import Client

client = Client(API_KEY, API_SECRET)
app = Flask(__name__)


@app.route("/buy", methods=["POST"])
def buy():
    return client.order_market_buy(symbol="BTCUSDT", quantity=0.001)


app.run("0.0.0.0", 5000)
'''
    assert python(text) == {(13, "BOT701")}


def test_debug_switches() -> None:
    text = '''import os
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from werkzeug.serving import run_simple

api = FastAPI(debug=True)
st = Starlette(debug=True, routes=[])
web = Flask(__name__)
web.debug = True
web.config["DEBUG"] = True
web.config.update(DEBUG=True, TESTING=False)
web.run(debug=True)
run_simple("127.0.0.1", 5000, web, use_debugger=True)
quiet = FastAPI(debug=os.getenv("DEBUG") == "1")
web.run(debug=False)
logger_debug = True
'''
    assert python(text) == {(7, "BOT702"), (8, "BOT702"), (10, "BOT702"), (11, "BOT702"),
                            (12, "BOT702"), (13, "BOT702"), (14, "BOT702")}


@pytest.mark.parametrize(("path", "fires"), [
    ("webui/settings.py", True), ("webui/settings/production.py", True),
    ("webui/settings_dev.py", False), ("webui/settings/local.py", False),
    ("tests/settings.py", False),
])
def test_django_debug(path: str, fires: bool) -> None:
    text = 'DEBUG = True\nINSTALLED_APPS = ["django.contrib.admin"]\nROOT_URLCONF = "x.urls"\n'
    assert python(text, path) == ({(1, "BOT702")} if fires else set())


def test_debug_constant_of_a_bot_is_not_django() -> None:
    assert python("DEBUG = True\nPAIRS = ['BTC/USDT']\n", "bot/settings.py") == set()


def test_debug_in_test_code_is_not_reported() -> None:
    assert python("from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
                  "tests/test_app.py") == set()
