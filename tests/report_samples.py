"""A hand-built ScanResult for the report tests, shaped like a real scan of a small bot.

It is built by hand rather than by running the analyzers so that the report tests pin the
renderers alone. It holds what renderers get wrong: several files out of order, rules from two
families, a history finding, suppressed findings (with and without a reason), notices, a
multi-line snippet, secrets that are already redacted, and hostile file names (`<script>`,
non-ASCII, an ANSI escape).

`FAKE_SECRET` is the whole secret the redacted forms stand for. It appears nowhere in the
result: the tests assert that no renderer output contains it, or any long piece of it.
"""

from __future__ import annotations

import hashlib

from botscan.catalog import Rule, rules
from botscan.model import Finding, Location, Notice, NoticeKind, ScanResult
from botscan.redact import redact

FAKE_SECRET = ("SYDS" + "Fake9botscan7Test3Secret1" * 3)[:64]
REDACTED_SECRET = redact(FAKE_SECRET)
FAKE_TELEGRAM = "7312840011:AAFakeBotscanTelegramTokenForTests00"
REDACTED_TELEGRAM = redact(FAKE_TELEGRAM)

SCRIPT_PATH = "strategies/<script>x</script> déjà vu €.py"
ESCAPE_PATH = "assets/\x1b[31mevil\x07.py"
# A file name whose bytes are not UTF-8 (b"caf\xe9"), as os.fsdecode hands it over.
UNDECODABLE_PATH = "bots/caf\udce9.py"
HISTORY_ORIGIN = "commit:4f1c2a9be07d3c55a1e0c3b7d2f9e8a6b5c4d3e2"


def fingerprint(rule_id: str, path: str, code: str, occurrence: int = 1) -> str:
    """Shaped like botscan's: rule, path and normalised code, never a line number."""
    normalised = " ".join(code.split())
    key = f"{rule_id}\0{path}\0{normalised}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(key).hexdigest()
    return f"{digest[:16]}:{occurrence}"


def finding(
    rule_id: str,
    path: str,
    line: int,
    message: str,
    snippet: str,
    *,
    column: int = 1,
    end_column: int | None = None,
    origin: str = "worktree",
    evidence: dict[str, object] | None = None,
    suppression: str | None = None,
) -> Finding:
    """A finding with the rule's own severity and confidence, as analyzers build them."""
    rule = rules()[rule_id]
    return Finding(
        rule_id=rule_id,
        severity=rule.severity,
        confidence=rule.confidence,
        message=message,
        location=Location(
            path=path,
            line=line,
            column=column,
            end_line=line + snippet.count("\n"),
            end_column=end_column,
            origin=origin,
        ),
        snippet=snippet,
        fingerprint=fingerprint(rule_id, path, snippet),
        evidence=dict(evidence or {}),
        suppression=suppression,
    )


def sample_findings() -> list[Finding]:
    """Eight findings over six files, deliberately not in report order."""
    return [
        finding(
            "BOT404",
            "bot/exchange.py",
            40,
            "TLS certificate verification is off for requests.get",
            "resp = requests.get(\n    url, verify=False\n)",
            column=1,
            evidence={"library": "requests", "argument": "verify"},
        ),
        finding(
            "BOT101",
            "bot/config.py",
            12,
            "Binance API secret written into the source",
            f'    "secret": "{REDACTED_SECRET}",',
            column=15,
            end_column=15 + len(FAKE_SECRET) + 2,
            evidence={
                "credential": "exchange-secret",
                "exchange": "binance",
                "value": REDACTED_SECRET,
            },
        ),
        finding(
            "BOT401",
            SCRIPT_PATH,
            3,
            "Price feed fetched over http:// from prices.example-feed.io",
            'FEED = "http://prices.example-feed.io/v1"',
            column=8,
            end_column=42,
            evidence={"scheme": "http", "host": "prices.example-feed.io"},
        ),
        finding(
            "BOT102",
            "bot/config.py",
            11,
            "Binance API key written into the source",
            '    "apiKey": "vmPU…(64 chars, #9c0e41)",',
            column=15,
            evidence={"credential": "exchange-key", "exchange": "binance"},
        ),
        finding(
            "BOT403",
            "bot/exchange.py",
            8,
            "Binance API reached over http://api.binance.com",
            'BASE_URL = "http://api.binance.com"',
            column=12,
            end_column=36,
            evidence={"scheme": "http", "host": "api.binance.com", "exchange": "binance"},
        ),
        finding(
            "BOT106",
            "notify/telegram.py",
            5,
            "Telegram bot token written into the source",
            f'TOKEN = "{REDACTED_TELEGRAM}"  # botscan: ignore[BOT106] -- revoked test bot',
            column=10,
            evidence={"credential": "telegram-token", "value": REDACTED_TELEGRAM},
            suppression="revoked test bot",
        ),
        finding(
            "BOT402",
            "scripts/local_dashboard.py",
            2,
            "Dashboard reached over http:// on 192.168.1.20",
            'DASH = "http://192.168.1.20:8080"  # botscan: ignore[BOT402]',
            column=8,
            evidence={"scheme": "http", "host": "192.168.1.20"},
            suppression="",
        ),
        finding(
            "BOT103",
            "old/keys.py",
            1,
            "Wallet private key in git history (the file is gone at HEAD)",
            'PRIVATE_KEY = "0x4c…(66 chars, #77ab10)"',
            column=15,
            origin=HISTORY_ORIGIN,
            evidence={"credential": "evm-private-key", "commit": HISTORY_ORIGIN[7:]},
        ),
    ]


def sample_notices() -> list[Notice]:
    return [
        Notice(
            "legacy/py2_bot.py",
            NoticeKind.NOT_PARSED,
            "Python 2 syntax: libcst could not parse it, scanned as text",
        ),
        Notice(ESCAPE_PATH, NoticeKind.BINARY, "binary data in a file named like source"),
        Notice("data/candles.json", NoticeKind.TOO_LARGE, "12.4 MB is over the 10 MB limit"),
    ]


def sample_result() -> ScanResult:
    """Active: 2 critical, 3 high, 1 medium; 2 suppressed; 3 notices; 12 files in 0.41 s."""
    return ScanResult(
        findings=sample_findings(),
        notices=sample_notices(),
        files_scanned=12,
        duration_seconds=0.41,
        roots=["."],
    )


def empty_result() -> ScanResult:
    return ScanResult(findings=[], notices=[], files_scanned=12, duration_seconds=0.41, roots=["."])


def undecodable_result() -> ScanResult:
    """One finding in a file whose name is not valid UTF-8."""
    item = finding("BOT401", UNDECODABLE_PATH, 2, "plain http", 'URL = "http://x.example"')
    notice = Notice(
        UNDECODABLE_PATH, NoticeKind.DECODING, "invalid UTF-8, decoded with replacement"
    )
    return ScanResult(
        findings=[item], notices=[notice], files_scanned=1, duration_seconds=0.1, roots=["."]
    )


def catalog() -> dict[str, Rule]:
    return rules()


def assert_no_secret(rendered: str) -> None:
    """Neither the whole fake secret nor any 12-character piece of it beyond its prefix."""
    for secret in (FAKE_SECRET, FAKE_TELEGRAM):
        assert secret not in rendered
        for start in range(len(secret) - 11):
            piece = secret[start : start + 12]
            assert piece not in rendered, f"{piece!r} of a secret leaked into a report"
