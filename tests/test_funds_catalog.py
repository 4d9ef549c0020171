"""The fund-movement catalog (`checks/knowledge/funds.toml`), checked strictly.

The FundMovement concept, the BOT3xx rules and the capability profile all read this table, and
a typo in it (a receiver set that does not exist, a risk that contradicts the capability, a
ccxt method listed in one spelling only) would silently drop or mislabel evidence. So the
schema is pinned here, and a few real call targets are matched against it.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from botscan import catalog
from botscan.analyzers.python.concepts import name_matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

REPO = Path(__file__).resolve().parents[1]
FUNDS = REPO / "checks" / "knowledge" / "funds.toml"
TSV_NAME = "ccxt_fund_endpoints.tsv"

CAPABILITY_RISKS = {
    "withdraw": {"EXT-HIGH", "INT-MED"},
    "transfer": {"INT-MED", "INT-LOW"},
    "keys": {"KEY"},
    "trade": {"TRADE"},
    "read": {"READ"},
    "onchain": {"EXT-HIGH", "SIGN"},
}
RISKS = {"EXT-HIGH", "INT-MED", "INT-LOW", "KEY", "TRADE", "READ", "SIGN"}
TABLES = {"receivers", "method", "function", "string_arg", "path"}
METHOD_KEYS = {"receivers", "names", "capability", "risk", "address", "distinctive", "note"}
FUNCTION_KEYS = {"patterns", "capability", "risk", "note"}
STRING_ARG_KEYS = {"receivers", "methods", "position", "keyword", "key", "values", "note"}
PATH_KEYS = {"paths", "exchange", "capability", "risk", "note"}

_SET_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_SEGMENT = re.compile(r"^([A-Za-z0-9_*?]+|\{exchange\})(\(\))?$")
_PATH = re.compile(r"^[A-Za-z/][A-Za-z0-9_/*.\-]*$")
_EXCHANGE = re.compile(r"^[a-z][a-z0-9]*$")


def _load() -> dict[str, Any]:
    with FUNDS.open("rb") as fh:
        return tomllib.load(fh)


DATA = _load()
RECEIVERS: dict[str, list[str]] = DATA["receivers"]
METHODS: list[dict[str, Any]] = DATA["method"]
FUNCTIONS: list[dict[str, Any]] = DATA["function"]
STRING_ARGS: list[dict[str, Any]] = DATA["string_arg"]
PATHS: list[dict[str, Any]] = DATA["path"]


def _entry_id(kind: str, index: int, entry: dict[str, Any]) -> str:
    first = (entry.get("names") or entry.get("patterns") or entry.get("methods")
             or entry.get("paths") or ["?"])[0]
    return f"[[{kind}]] #{index} ({first})"


def _check_pair(where: str, capability: Any, risk: Any) -> None:
    assert capability in CAPABILITY_RISKS, f"{where}: unknown capability {capability!r}"
    assert risk in RISKS, f"{where}: unknown risk {risk!r}"
    assert risk in CAPABILITY_RISKS[capability], f"{where}: {capability} cannot be {risk}"


def _check_pattern(where: str, pattern: Any) -> None:
    assert isinstance(pattern, str) and pattern == pattern.strip(), f"{where}: {pattern!r}"
    for segment in pattern.split("."):
        assert segment, f"{where}: empty segment in {pattern!r}"
        assert _SEGMENT.match(segment), f"{where}: bad segment {segment!r} in {pattern!r}"


def _segment_matches(pattern: str, segment: str) -> bool:
    # concepts.name_matches knows `{exchange}`; an *instance* of an exchange class is
    # `{exchange}()`, which is the same test on the name without its call parentheses.
    if pattern == "{exchange}()":
        return segment.endswith("()") and name_matches("{exchange}", segment[:-2])
    return name_matches(pattern, segment)


def _matches(pattern: str, qualname: str) -> bool:
    if name_matches(pattern, qualname):
        return True
    if "{exchange}()" not in pattern:
        return False
    pattern_parts, name_parts = pattern.split("."), qualname.split(".")
    return len(pattern_parts) == len(name_parts) and all(
        _segment_matches(p, n) for p, n in zip(pattern_parts, name_parts, strict=True))


def _receiver_sets(receiver: str) -> set[str]:
    return {name for name, patterns in RECEIVERS.items()
            if any(_matches(p, receiver) for p in patterns)}


def _lookup(target: str) -> list[tuple[str, str, str]]:
    """(kind, capability, risk) of every catalog entry a resolved call target hits."""
    hits: list[tuple[str, str, str]] = []
    receiver, _, name = target.rpartition(".")
    sets = _receiver_sets(receiver) if receiver else set()
    for entry in METHODS:
        if name in entry["names"] and sets.intersection(entry["receivers"]):
            hits.append(("method", entry["capability"], entry["risk"]))
    for entry in FUNCTIONS:
        if any(name_matches(p, target) for p in entry["patterns"]):
            hits.append(("function", entry["capability"], entry["risk"]))
    for entry in STRING_ARGS:
        if name in entry["methods"] and sets.intersection(entry["receivers"]):
            hits.append(("string_arg", "", ""))
    return hits


def _reference_tsv() -> Path | None:
    base = os.environ.get("BOTSCAN_REFERENCE_DIR")
    candidates = [Path(base) / TSV_NAME] if base else []
    candidates.append(REPO.parent / "shared" / "reference" / TSV_NAME)
    return next((c for c in candidates if c.is_file()), None)


# --- structure ---------------------------------------------------------------------------------


def test_tables_are_the_known_ones() -> None:
    assert set(DATA) == TABLES
    assert RECEIVERS and METHODS and FUNCTIONS and STRING_ARGS and PATHS


def test_catalog_loader_reads_the_same_table() -> None:
    assert catalog.knowledge("funds") == DATA


def test_receiver_sets_parse() -> None:
    for name, patterns in RECEIVERS.items():
        assert _SET_NAME.match(name), f"receiver set name {name!r}"
        assert isinstance(patterns, list) and patterns, f"receiver set {name!r} is empty"
        assert len(set(patterns)) == len(patterns), f"receiver set {name!r} repeats a pattern"
        for pattern in patterns:
            _check_pattern(f"[receivers].{name}", pattern)


def test_every_receiver_set_is_used() -> None:
    used = {r for entry in METHODS + STRING_ARGS for r in entry["receivers"]}
    assert set(RECEIVERS) - used == set()


@pytest.mark.parametrize("index", range(len(METHODS)))
def test_method_entry(index: int) -> None:
    entry = METHODS[index]
    where = _entry_id("method", index, entry)
    assert set(entry) <= METHOD_KEYS, f"{where}: unknown keys {set(entry) - METHOD_KEYS}"
    receivers, names = entry.get("receivers"), entry.get("names")
    assert isinstance(receivers, list) and receivers, f"{where}: no receivers"
    for receiver in receivers:
        assert receiver in RECEIVERS, f"{where}: unknown receiver set {receiver!r}"
    assert isinstance(names, list) and names, f"{where}: no names"
    assert len(set(names)) == len(names), f"{where}: a name is listed twice"
    for name in names:
        assert isinstance(name, str) and name.isidentifier(), f"{where}: bad name {name!r}"
    _check_pair(where, entry.get("capability"), entry.get("risk"))
    assert isinstance(entry.get("distinctive"), bool), f"{where}: distinctive must be a bool"
    assert isinstance(entry.get("note", ""), str), f"{where}: note must be a string"
    address = entry.get("address")
    if address is not None:
        assert isinstance(address, dict) and address, f"{where}: address must be a table"
        assert set(address) <= {"position", "keywords"}, f"{where}: address keys {set(address)}"
        position = address.get("position")
        assert position is None or (type(position) is int and position >= 0), where
        keywords = address.get("keywords", [])
        assert isinstance(keywords, list), f"{where}: address keywords must be a list"
        assert all(isinstance(k, str) and k.isidentifier() for k in keywords), where


def test_no_method_name_twice_for_a_receiver_set() -> None:
    # Stricter than "not with two capabilities": one name, one entry, so a lookup is never
    # ambiguous about risk, address or distinctiveness either.
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for index, entry in enumerate(METHODS):
        where = _entry_id("method", index, entry)
        for receiver in entry["receivers"]:
            for name in entry["names"]:
                key = (receiver, name)
                if key in seen:
                    clashes.append(f"{receiver}.{name}: {seen[key]} and {where}")
                seen[key] = where
    assert clashes == []


def test_a_distinctive_name_means_one_capability() -> None:
    # On a receiver botscan cannot resolve, the name alone decides: it must not mean a
    # withdrawal in one library and a read in another.
    capabilities: dict[str, set[str]] = defaultdict(set)
    for entry in METHODS:
        if entry["distinctive"]:
            for name in entry["names"]:
                capabilities[name].add(entry["capability"])
    assert {n: c for n, c in capabilities.items() if len(c) > 1} == {}


@pytest.mark.parametrize("index", range(len(FUNCTIONS)))
def test_function_entry(index: int) -> None:
    entry = FUNCTIONS[index]
    where = _entry_id("function", index, entry)
    assert set(entry) <= FUNCTION_KEYS, f"{where}: unknown keys {set(entry) - FUNCTION_KEYS}"
    patterns = entry.get("patterns")
    assert isinstance(patterns, list) and patterns, f"{where}: no patterns"
    for pattern in patterns:
        _check_pattern(where, pattern)
        assert "." in pattern, f"{where}: {pattern!r} is not a qualified name"
    _check_pair(where, entry.get("capability"), entry.get("risk"))


@pytest.mark.parametrize("index", range(len(STRING_ARGS)))
def test_string_arg_entry(index: int) -> None:
    entry = STRING_ARGS[index]
    where = _entry_id("string_arg", index, entry)
    assert set(entry) <= STRING_ARG_KEYS, f"{where}: unknown keys {set(entry) - STRING_ARG_KEYS}"
    receivers, methods = entry.get("receivers"), entry.get("methods")
    assert isinstance(receivers, list) and receivers, f"{where}: no receivers"
    assert all(r in RECEIVERS for r in receivers), f"{where}: unknown receiver set"
    assert isinstance(methods, list) and methods, f"{where}: no methods"
    assert all(isinstance(m, str) and m.isidentifier() for m in methods), where
    assert ("position" in entry) != ("key" in entry), f"{where}: give position or key"
    if "position" in entry:
        assert type(entry["position"]) is int and entry["position"] >= 0, where
    if "key" in entry:
        assert isinstance(entry["key"], str) and entry["key"], where
    if "keyword" in entry:
        assert isinstance(entry["keyword"], str) and entry["keyword"].isidentifier(), where
    values = entry.get("values")
    assert isinstance(values, dict) and values, f"{where}: no values"
    for value, spec in values.items():
        assert value and isinstance(spec, str) and spec.count(":") == 1, f"{where}: {value!r}"
        capability, risk = spec.split(":")
        _check_pair(f"{where} {value!r}", capability, risk)


@pytest.mark.parametrize("index", range(len(PATHS)))
def test_path_entry(index: int) -> None:
    entry = PATHS[index]
    where = _entry_id("path", index, entry)
    assert set(entry) <= PATH_KEYS, f"{where}: unknown keys {set(entry) - PATH_KEYS}"
    paths = entry.get("paths")
    assert isinstance(paths, list) and paths, f"{where}: no paths"
    for path in paths:
        assert isinstance(path, str) and _PATH.match(path), f"{where}: bad path {path!r}"
        assert "//" not in path and "?" not in path, f"{where}: {path!r} is not a bare path"
    exchange = entry.get("exchange")
    assert isinstance(exchange, str) and _EXCHANGE.match(exchange), f"{where}: exchange"
    _check_pair(where, entry.get("capability"), entry.get("risk"))


def test_a_path_has_one_capability_per_exchange() -> None:
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entry in PATHS:
        for path in entry["paths"]:
            seen[(entry["exchange"], path.strip("/"))].add(entry["capability"])
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


def test_every_capability_has_evidence() -> None:
    found = {e["capability"] for e in METHODS + FUNCTIONS + PATHS}
    assert found == set(CAPABILITY_RISKS)


# --- ccxt ---------------------------------------------------------------------------------------


def _ccxt_entries() -> list[dict[str, Any]]:
    return [e for e in METHODS if "ccxt" in e["receivers"]]


def test_ccxt_names_come_in_snake_and_camel_pairs() -> None:
    # ccxt aliases every snake_case member in camelCase: list both or the other one is missed.
    unpaired = []
    for entry in _ccxt_entries():
        spellings: dict[str, set[str]] = defaultdict(set)
        for name in entry["names"]:
            spellings[name.replace("_", "").lower()].add(name)
        for group in spellings.values():
            if len(group) == 1 and next(iter(group)).isalpha() and next(iter(group)).islower():
                continue  # one word (`withdraw`, `transfer`): both spellings at once
            if not (any(n == n.lower() for n in group) and any(n != n.lower() for n in group)):
                unpaired.append(sorted(group))
    assert unpaired == []


def test_every_ccxt_implicit_method_of_the_reference_is_listed() -> None:
    tsv = _reference_tsv()
    if tsv is None:
        pytest.skip(f"{TSV_NAME} not found: set BOTSCAN_REFERENCE_DIR to the reference folder")
    with tsv.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    camel_col, snake_col = header.index("camelCase_method"), header.index("snake_case_method")
    assert len(body) > 400
    by_name = {n: e for e in _ccxt_entries() for n in e["names"]}
    missing = []
    for row in body:
        camel, snake = row[camel_col], row[snake_col]
        camel_entry, snake_entry = by_name.get(camel), by_name.get(snake)
        if camel_entry is None or snake_entry is None or camel_entry is not snake_entry:
            missing.append((camel, snake))
        elif not camel_entry["distinctive"]:
            missing.append((camel, "not distinctive"))
    assert missing == []


@pytest.mark.parametrize(
    "name",
    [
        "fetch_withdrawals", "fetchWithdrawals", "fetch_deposit_address", "fetchDepositAddress",
        "fetch_transfers", "fetchTransfers", "fetch_deposits_withdrawals",
        "sapiGetCapitalWithdrawHistory", "sapi_get_capital_withdraw_history",
        "privatePostWithdrawMethods", "privatePostWithdrawAddresses", "privatePostWithdrawInfo",
        "privatePostWithdrawStatus", "get_withdraw_history", "get_max_withdrawal",
        "get_withdrawal_records", "withdraw_methods", "withdraw_history",
    ],
)
def test_read_only_lookalikes_are_not_fund_movement(name: str) -> None:
    capabilities = {e["capability"] for e in METHODS if name in e["names"]}
    assert capabilities, f"{name} should be listed (as a read)"
    assert capabilities == {"read"}


def test_kraken_read_only_strings_are_reads() -> None:
    (kraken,) = [e for e in STRING_ARGS if "krakenex" in e["receivers"]]
    for value in ("WithdrawInfo", "WithdrawMethods", "WithdrawAddresses", "WithdrawStatus"):
        assert kraken["values"][value] == "read:READ"
    assert kraken["values"]["Withdraw"] == "withdraw:EXT-HIGH"
    assert kraken["values"]["AddOrder"] == "trade:TRADE"


# --- real call targets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "capability", "risk"),
    [
        ("ccxt.binance().withdraw", "withdraw", "EXT-HIGH"),
        ("ccxt.binance().withdrawWs", "withdraw", "EXT-HIGH"),
        ("ccxt.*().withdraw", "withdraw", "EXT-HIGH"),
        ("ccxt.pro.bybit().transfer", "transfer", "INT-MED"),
        ("ccxt.async_support.okx().privatePostAssetWithdrawal", "withdraw", "EXT-HIGH"),
        ("ccxt.binance().sapi_post_capital_withdraw_apply", "withdraw", "EXT-HIGH"),
        ("ccxt.kraken().private_post_wallettransfer", "transfer", "INT-LOW"),
        ("ccxt.binance().fetch_withdrawals", "read", "READ"),
        ("ccxt.binance().createMarketBuyOrder", "trade", "TRADE"),
        ("binance.BinanceSync().create_gift_code", "withdraw", "EXT-HIGH"),
        ("binance.client.Client().withdraw", "withdraw", "EXT-HIGH"),
        ("binance.AsyncClient.create().futures_account_transfer", "transfer", "INT-LOW"),
        ("binance.client.Client().get_withdraw_history", "read", "READ"),
        ("binance.spot.Spot().withdraw", "withdraw", "EXT-HIGH"),
        ("binance_sdk_wallet.wallet.Wallet().rest_api.withdraw", "withdraw", "EXT-HIGH"),
        ("binance_sdk_sub_account.sub_account.SubAccount().rest_api.create_sub_account_api_key",
         "keys", "KEY"),
        ("pybit.unified_trading.HTTP().place_order", "trade", "TRADE"),
        ("okx.Funding.FundingAPI().withdrawal", "withdraw", "EXT-HIGH"),
        ("kucoin.client.User().apply_withdrawal", "withdraw", "EXT-HIGH"),
        ("kucoin.client.Client().create_withdrawal", "withdraw", "EXT-HIGH"),
        ("gate_api.WithdrawalApi().withdraw_push_order", "withdraw", "EXT-HIGH"),
        ("hyperliquid.exchange.Exchange().withdraw_from_bridge", "withdraw", "EXT-HIGH"),
        ("hyperliquid.info.Info().user_state", "read", "READ"),
        ("alpaca.trading.client.TradingClient().submit_order", "trade", "TRADE"),
        ("coinbase.wallet.client.Client().get_account().send_money", "withdraw", "EXT-HIGH"),
        ("web3.Web3().eth.send_raw_transaction", "onchain", "EXT-HIGH"),
        ("web3.Web3().eth.account.sign_transaction", "onchain", "EXT-HIGH"),
        ("web3.Web3().eth.contract().functions.approve", "onchain", "EXT-HIGH"),
        ("web3.Web3().eth.contract().functions.transfer().transact", "onchain", "EXT-HIGH"),
        ("solders.system_program.transfer", "onchain", "EXT-HIGH"),
        ("bitcoinlib.wallets.Wallet().send_to", "onchain", "EXT-HIGH"),
    ],
)
def test_real_targets_match(target: str, capability: str, risk: str) -> None:
    hits = _lookup(target)
    assert hits, f"{target} matches nothing"
    assert {(c, r) for _, c, r in hits} == {(capability, risk)}


def test_krakenex_query_private_is_a_string_arg_call() -> None:
    assert ("string_arg", "", "") in _lookup("krakenex.API().query_private")


@pytest.mark.parametrize(
    "target",
    [
        "backtest.Portfolio().withdraw", "backtest.Portfolio().transfer",
        "requests.Session().withdraw", "myapp.wallet.send", "ccxt.Binance().withdraw",
        "web3.Web3().eth.get_balance", "web3.Web3().eth.contract().functions.balanceOf().call",
    ],
)
def test_lookalike_targets_match_nothing(target: str) -> None:
    assert _lookup(target) == []
