"""Property-based tests (issue 8, item 4): generated Python sources, configs and requirement
lines fed to the analyzers, which must never crash, never hang, never show a planted secret
whole, and only report places inside the file.

Inputs come from several generators: random bytes and unicode; a small Python grammar whose
names, calls and strings are the ones the detectors look for (exchange clients, credentials,
HTTP calls, logs, exec, withdrawals), so the generated code reaches the detectors instead of
stopping at the parser; fixture bots with random cuts and insertions; deep nesting of every
kind; structured configs rendered as JSON, YAML, TOML, INI, `.env` and notebooks; requirement
lines with every pip option, URL, marker and continuation.

Each call runs as the worker pool runs it (a thread with the pool's stack size and recursion
limit) and must return within `CALL_SECONDS`; a call that does not is a hang and fails the test.
The default profile keeps the file under ~30 s on CI; `HYPOTHESIS_PROFILE=deep` runs far more
examples.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from helpers_security import ALNUM, token
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from botscan.analyzers.python.analyzer import Options, analyze_python
from botscan.analyzers.secrets import scan_text_file
from botscan.deps import AuditSettings, analyze_dependencies
from botscan.model import Finding, Notice
from botscan.pool import _RECURSION_LIMIT, _STACK_BYTES
from botscan.redact import redact, redact_text
from botscan.sources.decode import decode_python, decode_text

T = TypeVar("T")

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FUZZ = settings.get_profile(PROFILE)
"""Applied per test (not loaded globally), so other test files keep Hypothesis' defaults."""
MAX_DEPTH = 1200 if PROFILE == "ci" else 3000
"""Nesting depth of the deep-nesting sources. Near the parser gate (~2,000 levels) libcst
itself needs up to ~15 s a file, which the deep profile pays and CI does not."""

CALL_SECONDS = 30.0
"""One analyzer call on a generated input of a few kilobytes takes milliseconds; the bound is
the pool's per-file limit, so a slow CI machine does not fail the run but a hang does."""

_RNG = random.Random(8)
PLANTED = token(_RNG, 64)
"""A live-looking API secret the generators plant; no finding may ever show it whole."""
URL_TOKEN = token(_RNG, 40)
"""A token in index and requirement URLs (`https://user:TOKEN@host`)."""
REPO = Path(__file__).resolve().parents[1]


# --- running one call as the worker pool does ----------------------------------------------


def bounded(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args)` in a thread with the worker pool's stack and recursion limit; fails the
    test if it has not returned within CALL_SECONDS (the thread is then abandoned)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    previous_stack = threading.stack_size(_STACK_BYTES)
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(CALL_SECONDS)
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    if thread.is_alive():
        pytest.fail(f"{func.__name__} did not return within {CALL_SECONDS:.0f} s (a hang)")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


# --- the invariants -------------------------------------------------------------------------

_NEWLINES = re.compile(r"\r\n|\r|\n")


def line_count(text: str) -> int:
    """Lines by either definition analyzers use: the parser's (CR, LF, CRLF) and Python's
    `splitlines` (which also breaks at form feeds and Unicode separators)."""
    return max(len(_NEWLINES.split(text)), len(text.splitlines()) + 1)


def check(findings: Iterable[Finding], notices: Iterable[Notice], text: str,
          secrets: Iterable[str] = (PLANTED, URL_TOKEN)) -> None:
    """Places inside the file; no secret whole in anything a report would show."""
    lines = line_count(text)
    for finding in findings:
        where = finding.location
        assert 1 <= where.line <= lines, (where, lines)
        assert where.end_line is None or where.line <= where.end_line <= lines, where
        assert where.column >= 1, where
        shown = " ".join((finding.message, finding.snippet,
                          json.dumps(finding.evidence, default=str)))
        for secret in secrets:
            assert secret not in shown, f"{finding.rule_id} shows a secret whole: {shown}"
    for notice in notices:
        for secret in secrets:
            assert secret not in notice.message, notice


@pytest.mark.parametrize(("line", "end_line", "message", "broken"), [
    (0, None, "m", "line 0"),
    (5, None, "m", "past the last line"),
    (2, 1, "m", "ends before it starts"),
    (1, None, f"key {PLANTED}", "a secret whole"),
])
def test_the_invariant_check_rejects_what_it_must(line: int, end_line: int | None,
                                                  message: str, broken: str) -> None:
    """`check` is what every property below relies on: it must fail on a bad place or a
    whole secret, and pass on a good finding."""
    from botscan.model import Confidence, Location, Severity

    def finding(text: str, **where: Any) -> Finding:
        return Finding("BOT101", Severity.HIGH, Confidence.HIGH, text, Location("a.py", **where))

    text = "a\nb\nc"
    check([finding("m", line=2, end_line=3)], [], text)
    with pytest.raises(AssertionError):
        check([finding(message, line=line, end_line=end_line)], [], text)


# --- Python sources -------------------------------------------------------------------------

NAMES = ("api_key", "API_SECRET", "secret", "password", "private_key", "mnemonic", "token",
         "exchange", "client", "ccxt", "requests", "httpx", "aiohttp", "logging", "logger",
         "os", "self", "cfg", "config", "session", "ws", "subprocess", "base64", "exec", "eval",
         "print", "open", "binance", "Client", "urllib", "socket", "ssl", "web3", "w3",
         "account", "x", "data", "payload", "webhook", "telegram", "bot", "setup", "app",
         "flask", "Flask", "marshal", "zlib", "codecs", "pickle", "sys", "builtins", "getattr")
ATTRS = ("binance", "Client", "okx", "bybit", "withdraw", "transfer", "create_order",
         "create_market_buy_order", "get", "post", "request", "info", "debug", "warning",
         "exception", "environ", "getenv", "b64decode", "decompress", "loads", "urlopen",
         "run", "system", "Popen", "verify", "CERT_NONE", "apiKey", "secret", "send",
         "send_raw_transaction", "sign_transaction", "from_key", "setLevel", "DEBUG", "read",
         "write", "dumps", "api_key", "api_secret", "headers", "eth", "account", "run_forever",
         "connect", "Session", "create_default_context", "check_hostname", "get_asset_balance",
         "withdraw_crypto", "universal_transfer", "set_sandbox_mode", "load_markets")
KEYWORDS = ("apiKey", "secret", "api_key", "api_secret", "verify", "password", "timeout",
            "address", "amount", "params", "json", "data", "headers", "ssl", "debug", "host",
            "port", "url", "testnet", "shell", "cert_reqs", "key", "passphrase")
STRINGS = (PLANTED, f"{PLANTED}", "http://api.binance.com/api/v3/order",
           "ws://stream.binance.com:9443/ws", "https://discord.com/api/webhooks/1/abc",
           "https://pastebin.com/raw/x", "0.0.0.0", "your_api_key_here", "", "%s", "{}",
           "0x" + "ab" * 32, "BTC/USDT", "binance", "API_KEY", "https://api.telegram.org/bot",
           "http://45.77.182.34:5000/x", "aW1wb3J0IG9z", "\\x00", "é", "\u202e")


def _names() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NAMES),
                     st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True))


def _string_literals() -> st.SearchStrategy[str]:
    text = st.one_of(st.sampled_from(STRINGS), st.text(max_size=20))
    plain = text.filter(lambda s: "{" not in s and "}" not in s)
    return st.one_of(text.map(repr), text.map(lambda s: repr(s.encode("utf-8"))),
                     st.tuples(plain, _names()).map(lambda p: "f" + repr(f"{p[0]}{{{p[1]}}}")))


def _leaves() -> st.SearchStrategy[str]:
    return st.one_of(_names(), _string_literals(), st.integers(-10, 10**12).map(str),
                     st.sampled_from(("True", "False", "None", "...", "1.5", "0x1F")))


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    kwargs = st.lists(st.tuples(st.sampled_from(KEYWORDS), inner), max_size=3).map(
        lambda pairs: [f"{k}={v}" for k, v in pairs])
    positional = st.lists(st.tuples(st.sampled_from(("", "*", "**")), inner), max_size=3).map(
        lambda items: [f"{star}{e}" for star, e in items])
    args = st.tuples(positional, kwargs).map(lambda p: ", ".join(p[0] + p[1]))
    return st.one_of(
        st.tuples(inner, args).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(inner, st.sampled_from(ATTRS)).map(lambda p: f"{p[0]}.{p[1]}"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]}[{p[1]}]"),
        st.tuples(inner, st.sampled_from(("+", "%", "or", "and", "==", "|", "*")), inner).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.lists(st.tuples(_string_literals(), inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"),
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        inner.map(lambda e: f"(lambda: {e})"),
        inner.map(lambda e: f"(not {e})"),
        inner.map(lambda e: f"(await {e})"),
        st.tuples(inner, inner, inner).map(lambda p: f"({p[0]} if {p[1]} else {p[2]})"),
        st.tuples(inner, inner).map(lambda p: f"[{p[0]} for x in {p[1]}]"),
        st.tuples(_names(), inner).map(lambda p: f"({p[0]} := {p[1]})"),
    )


EXPRESSIONS = st.recursive(_leaves(), _compound, max_leaves=12)

TEMPLATES = (
    "exchange = ccxt.binance({{'apiKey': {0}, 'secret': {1}}})",
    "client = Client({0}, {1}, testnet={2})",
    "logging.info('key %s', {0})",
    "logger.debug(f'{{{0}}} {{{1}}}')",
    "requests.post({0}, json={{'k': os.environ, 'v': {1}}}, verify={2})",
    "exec(base64.b64decode({0}))",
    "exchange.withdraw('USDT', {0}, {1}, params={{'network': 'TRC20'}})",
    "print({0}, {1})",
    "raise ValueError(f'bad key {{{0}}}')",
    "os.environ[{0}] = {1}",
    "API_SECRET = {0}",
    "self.api_secret = {0}",
    "w3.eth.account.from_key({0})",
    "app.run(host='0.0.0.0', debug={0})",
    "subprocess.run({0}, shell=True)",
)


def _simple_statements() -> st.SearchStrategy[str]:
    expr = EXPRESSIONS
    return st.one_of(
        st.tuples(_names(), expr).map(lambda p: f"{p[0]} = {p[1]}"),
        st.tuples(_names(), st.sampled_from(ATTRS), expr).map(
            lambda p: f"{p[0]}.{p[1]} = {p[2]}"),
        st.tuples(_names(), expr).map(lambda p: f"{p[0]}: str = {p[1]}"),
        expr,
        st.tuples(st.sampled_from(TEMPLATES), expr, expr, expr).map(
            lambda p: p[0].format(p[1], p[2], p[3])),
        st.tuples(st.sampled_from(NAMES), st.sampled_from(ATTRS), _names()).map(
            lambda p: f"from {p[0]} import {p[1]} as {p[2]}"),
        st.tuples(st.sampled_from(NAMES), st.sampled_from(ATTRS)).map(
            lambda p: f"import {p[0]}.{p[1]}"),
        expr.map(lambda e: f"return {e}"),
        expr.map(lambda e: f"raise {e}"),
        _names().map(lambda n: f"global {n}"),
        st.just("pass"),
        st.just(f"API_SECRET = {PLANTED!r}"),
    )


def _blocks(body: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    def indent(lines: list[str]) -> list[str]:
        return ["    " + line for line in lines] or ["    pass"]

    headers = st.one_of(
        st.tuples(_names(), st.lists(st.tuples(st.sampled_from(KEYWORDS), EXPRESSIONS),
                                     max_size=3)).map(
            lambda p: f"def {p[0]}(" + ", ".join(f"{k}={v}" for k, v in p[1]) + "):"),
        _names().map(lambda n: f"async def {n}(self, *args, **kwargs):"),
        st.tuples(_names(), EXPRESSIONS).map(lambda p: f"class {p[0]}({p[1]}):"),
        EXPRESSIONS.map(lambda e: f"if {e}:"),
        st.tuples(EXPRESSIONS, _names()).map(lambda p: f"with {p[0]} as {p[1]}:"),
        EXPRESSIONS.map(lambda e: f"for x in {e}:"),
        EXPRESSIONS.map(lambda e: f"while {e}:"),
        st.just("try:"),
    )
    decorated = st.tuples(st.lists(EXPRESSIONS.map(lambda e: f"@{e}"), max_size=2), headers,
                          body)
    return st.one_of(
        decorated.map(lambda p: [*p[0], p[1], *indent(p[2])]),
        st.tuples(body, body).map(lambda p: ["try:", *indent(p[0]), "except Exception as e:",
                                             *indent(p[1])]),
    )


MODULES = st.recursive(
    st.lists(_simple_statements(), min_size=1, max_size=6),
    lambda body: st.lists(st.one_of(_blocks(body), _simple_statements().map(lambda s: [s])),
                          min_size=1, max_size=5).map(lambda parts: [x for p in parts for x in p]),
    max_leaves=8,
).map(lambda lines: "\n".join(lines) + "\n")
"""Modules from a small grammar: mostly valid Python 3, sometimes not (a `return` at top
level, `await` outside a coroutine), which is what the analyzer must cope with anyway."""


def _fixture_sources() -> list[str]:
    sources = sorted((REPO / "fixtures").rglob("*.py"))
    return [p.read_text(encoding="utf-8") for p in sources[:40]]


FIXTURE_SOURCES = _fixture_sources()


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> bytes:
    """A real bot of fixtures/ with random cuts, insertions and byte flips: nearly valid code
    that reaches deep into the detectors."""
    data = bytearray(draw(st.sampled_from(FIXTURE_SOURCES)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(("cut", "insert", "flip", "plant")))
        if action == "cut":
            del data[at:at + draw(st.integers(1, 200))]
        elif action == "insert":
            data[at:at] = draw(st.one_of(st.binary(max_size=20),
                                         st.sampled_from(("(", ")", "[", ":", "\n    ", "\\",
                                                          "'", '"""', "\r", "\t", "\x0c",
                                                          "# -*- coding: latin-1 -*-\n"))
                                         .map(str.encode)))
        elif action == "flip" and data:
            index = min(at, len(data) - 1)
            data[index] ^= draw(st.integers(1, 255))
        else:
            data[at:at] = f"\nAPI_SECRET = {PLANTED!r}\n".encode()
    return bytes(data)


DEEP = st.tuples(
    st.sampled_from((
        lambda n: "x = " + "(" * n + "1" + ")" * n,
        lambda n: "x = " + "[" * n + "]" * n,
        lambda n: "x = " + "{'a': " * n + "1" + "}" * n,
        lambda n: "x = " + "lambda: " * n + "1",
        lambda n: "x = " + "not " * n + "y",
        lambda n: "x = " + "-" * n + "1",
        lambda n: "x = y" + ".a" * n,
        lambda n: "x = f" + "()" * n,
        lambda n: "x = y" + "[0]" * n,
        lambda n: "x = " + " + ".join(["a"] * n),
        lambda n: "x = " + " if c else ".join(["a"] * n),
        lambda n: "x = " + "'a' " * n,
        lambda n: "\n".join("    " * i + f"def f{i}():" for i in range(n)) + "\n" + "    " * n
                  + "pass",
        lambda n: "\n".join("    " * i + "if x:" for i in range(n)) + "\n" + "    " * n + "pass",
        lambda n: "@d\n" * n + "def f(): pass",
        lambda n: "x = f'{" * min(n, 200) + "1" + "}'" * min(n, 200),
    )),
    st.integers(10, MAX_DEPTH),
).map(lambda p: f"API_SECRET = {PLANTED!r}\n{p[0](p[1])}\n")


PYTHON_INPUTS = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
    MODULES.map(str.encode),
    mutated_fixtures(),
)


def _analyze(data: bytes, path: str = "bot/trader.py") -> None:
    result = bounded(analyze_python, path, data, Options())
    check(result.findings, result.notices, decode_python(data).text)


@FUZZ
@given(PYTHON_INPUTS)
@example(b"")
@example(b"\xef\xbb\xbf# coding: latin-1\nx = 1\n")
@example(b"# -*- coding: rot13 -*-\nvzcbeg bf\n")
@example(b"\x00" * 10)
@example("x = '\ud800'\n".encode("utf-8", "surrogatepass"))
def test_python_analyzer_survives_anything(data: bytes) -> None:
    _analyze(data)


@FUZZ
@given(MODULES)
def test_python_analyzer_on_generated_modules(source: str) -> None:
    """The grammar's modules, also as test code and as an install script (other rules)."""
    data = source.encode()
    for path in ("bot/trader.py", "tests/test_trader.py", "setup.py"):
        _analyze(data, path)


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 4))
@given(DEEP)
@example(f"API_SECRET = {PLANTED!r}\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
@example(f"API_SECRET = {PLANTED!r}\nx = f" + "()" * 2000 + "\n")
def test_python_analyzer_on_deep_nesting(source: str) -> None:
    _analyze(source.encode())


# --- configs --------------------------------------------------------------------------------

CONFIG_KEYS = ("apiKey", "api_key", "secret", "api_secret", "password", "passphrase", "key",
               "private_key", "mnemonic", "token", "webhook_url", "exchange", "name",
               "BINANCE_API_SECRET", "OKX_PASSPHRASE", "dry_run", "pairs", "url", "telegram")
SCALARS = st.one_of(
    st.sampled_from((PLANTED, "your_api_key", "", "changeme", "${API_SECRET}",
                     "ENC[AES256_GCM,data:abc]", "0x" + "cd" * 32, "https://api.binance.com",
                     f"https://user:{URL_TOKEN}@pypi.example.org/simple", "true")),
    st.text(max_size=30), st.integers(), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=12)), inner,
                        max_size=5)),
    max_leaves=15,
)
CONFIG_TREES = st.dictionaries(st.sampled_from(CONFIG_KEYS), TREES, max_size=6)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None
                               and not isinstance(v, dict)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                               for k, v in value.items() if v is not None) + "}"
    return json.dumps(str(value))


def to_toml(tree: dict[str, Any]) -> str:
    lines = []
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(f"[{json.dumps(str(key))}]")
            lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()
                      if v is not None]
        elif value is not None:
            lines.insert(0, f"{json.dumps(str(key))} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def to_ini(tree: dict[str, Any]) -> str:
    lines = []
    for key, value in tree.items():
        lines.append(f"[{key}]")
        items = value.items() if isinstance(value, dict) else [(key, value)]
        lines += [f"{k} = {v}" for k, v in items]
    return "\n".join(lines) + "\n"


def to_env(tree: dict[str, Any]) -> str:
    styles = ("{k}={v}", 'export {k}="{v}"', "{k}='{v}'", "{k} = {v}  # comment")
    return "".join(styles[i % len(styles)].format(k=k, v=v) + "\n"
                   for i, (k, v) in enumerate(tree.items()))


def to_notebook(tree: dict[str, Any]) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": [f"{k} = {v!r}\n" for k, v in tree.items()]},
             {"cell_type": "markdown", "metadata": {}, "source": [json.dumps(tree)]}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "user_data/config.json": lambda t: json.dumps(t, indent=2, default=str),
    "conf/settings.yaml": lambda t: yaml.safe_dump(t, allow_unicode=True),
    "config.toml": to_toml,
    "settings.ini": to_ini,
    ".env": to_env,
    "research.ipynb": to_notebook,
    "README.md": lambda t: "# Setup\n\n```\n" + to_env(t) + "```\n",
    "notes.txt": to_env,
}


def _scan_text(path: str, data: bytes) -> None:
    findings, notices = bounded(scan_text_file, path, data)
    check(findings, notices, decode_text(data).text)


@FUZZ
@given(st.sampled_from(sorted(RENDERERS)), CONFIG_TREES)
def test_secrets_scanner_on_structured_configs(path: str, tree: dict[str, Any]) -> None:
    _scan_text(path, RENDERERS[path](tree).encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.sampled_from(sorted(RENDERERS)),
       st.one_of(st.binary(max_size=2000),
                 st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
                 st.lists(st.sampled_from(("{", "}", "[", "]", ":", ",", '"', "'", "=",
                                           "\n", "  ", "- ", "apiKey", "secret", PLANTED,
                                           "[section]", "#", "\\", "\r", "\t", '"""', "---\n",
                                           "&a", "*a", "!!python/object", "<<")),
                          max_size=200).map(lambda parts: "".join(parts).encode())))
def test_secrets_scanner_on_broken_configs(path: str, data: bytes) -> None:
    _scan_text(path, data)


# --- requirement lines ----------------------------------------------------------------------

PACKAGES = ("ccxt", "python-binance", "requests", "reqeusts", "pyhton-binance", "numpy",
            "Django", "web3", "freqtrade", "x", "a.b_c-d", "-", "@", "")
REQUIREMENT_LINES = st.one_of(
    st.tuples(
        st.one_of(st.sampled_from(PACKAGES),
                  st.from_regex(r"[A-Za-z0-9._-]{1,15}", fullmatch=True)),
        st.sampled_from(("", "[socks]", "[a,b]", "[")),
        st.sampled_from(("", "==1.2.3", ">=1,<2", "~=2.0", "===1.0", "==1.*", "==", "!=x",
                         " == 1.0 ", "==1.0.post1.dev2+local", "<=>")),
        st.sampled_from(("", '; python_version < "3.8"', "; sys_platform == 'win32'", ";",
                         " --hash=sha256:" + "a" * 64, " # pinned", "  \\")),
    ).map("".join),
    st.sampled_from((
        f"-i https://user:{URL_TOKEN}@pypi.example.org/simple",
        f"--extra-index-url https://{URL_TOKEN}@mirror.example.org/simple",
        f"pkg @ https://user:{URL_TOKEN}@files.example.org/pkg-1.0.whl",
        f"git+https://{URL_TOKEN}@github.com/org/repo.git@main#egg=repo",
        "-e .", "-e git+ssh://git@github.com/org/x.git#egg=x", "./local_pkg", "../outside",
        "-r other.txt", "-r ../../etc/passwd", "-c /etc/passwd", "--requirement=", "-r",
        "--trusted-host evil.example", "--no-binary :all:", "-f ./wheels", "--pre",
        "file:///etc/passwd", "https://example.org/x.tar.gz", "name @ file:///tmp/x",
        "ccxt==4.2.1 --hash=sha256:abc --hash", "\\", "#", "-", "--", "'unterminated",
    )),
    st.text(max_size=60),
)
REQUIREMENTS = st.lists(st.tuples(REQUIREMENT_LINES, st.sampled_from(("\n", "\r\n", "\\\n"))),
                        max_size=25).map(lambda lines: "".join(a + b for a, b in lines))


def _manifests(lines: str) -> dict[str, str]:
    """The same requirement lines in each manifest format that lists them."""
    entries = [line for line in lines.splitlines() if line.strip()]
    quoted = ", ".join(json.dumps(e) for e in entries)
    return {
        "requirements.txt": lines,
        "requirements/base.in": lines,
        "pyproject.toml": f"[project]\nname = \"bot\"\ndependencies = [{quoted}]\n"
                          f"[project.optional-dependencies]\ndev = [{quoted}]\n",
        "setup.cfg": "[options]\ninstall_requires =\n" + "".join(f"    {e}\n" for e in entries),
        "setup.py": f"from setuptools import setup\nsetup(install_requires=[{quoted}])\n",
        "environment.yml": "dependencies:\n  - pip:\n" + "".join(
            f"    - {json.dumps(e)}\n" for e in entries),
        "Pipfile": "[packages]\n" + "".join(f"{json.dumps(e.split()[0] if e.split() else e)}"
                                            f" = {json.dumps(e)}\n" for e in entries),
    }


@pytest.fixture(scope="module")
def empty_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scan root of the manifests: empty, so an include can only resolve to nothing."""
    return tmp_path_factory.mktemp("deps")


@FUZZ
@given(lines=REQUIREMENTS)
@example(lines="-r requirements.txt\n")  # includes itself
@example(lines="-r x\0y.txt\n")  # a name the OS refuses
@example(lines="pkg @ https://user:" + URL_TOKEN + "@h/x.whl\\\n\\\n")
def test_dependency_parsers_on_requirement_lines(empty_root: Path, lines: str) -> None:
    root = empty_root
    for path, text in _manifests(lines).items():
        data = text.encode("utf-8", "surrogatepass")
        result = bounded(analyze_dependencies, root, [(path, data)],
                         AuditSettings(offline=True))
        check(result.findings, result.notices, decode_text(data).text)
        for row in result.dependencies:
            shown = json.dumps([row.name, row.version, row.manifest, row.skip_reason, row.fix],
                               default=str)
            assert URL_TOKEN not in shown, row


# --- redaction ------------------------------------------------------------------------------

SECRETS = st.text(alphabet=ALNUM + "-_+/=", min_size=8, max_size=80)


@FUZZ
@given(SECRETS)
def test_redact_never_shows_the_secret_or_a_quarter_of_it(secret: str) -> None:
    shown = redact(secret)
    assert secret not in shown
    prefix = shown.split("…", 1)[0]
    assert secret.startswith(prefix) and len(prefix) <= len(secret) // 4
    assert f"({len(secret)} chars, #" in shown


@FUZZ
@given(st.lists(SECRETS, min_size=1, max_size=3), st.text(max_size=40), st.text(max_size=40),
       st.text(max_size=40))
def test_redact_text_hides_every_known_secret(secrets: list[str], before: str, middle: str,
                                              after: str) -> None:
    text = before + secrets[0] + middle + " ".join(secrets) + after
    assume(not any(s in t for s in secrets for t in (before, middle, after)))
    hidden = redact_text(text, secrets)
    for secret in secrets:
        assert secret not in hidden, (secret, hidden)
