"""detect-secrets inside botscan: what it reports, how it is merged, and that it stays offline.

Real detect-secrets 1.5 runs in every test here. The network guard is not a mock of the
component: it makes any socket connection fail the test, so a plugin that tried to verify a
token with its service would be caught in the act.
"""

from __future__ import annotations

import random
import re
import socket
import string
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from botscan import catalog
from botscan.analyzers.python.analyzer import analyze_python
from botscan.analyzers.python.engine import Options
from botscan.analyzers.secrets import dsbridge, known_service_findings, prefilter, scan_text_file
from botscan.analyzers.secrets.textmap import TextMap
from botscan.analyzers.text_credentials import stems

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits
B64 = ALNUM + "+/"


def rand(seed: int, n: int, chars: str = ALNUM) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(chars) for _ in range(n))


# One line each plugin reports, built at run time so no key-like literal sits in this file.
SAMPLES: dict[str, list[str]] = {
    "AWSKeyDetector": [f"id = AKIA{rand(1, 16, UPPER_DIGITS)}",
                       f'aws_secret_key = "{rand(2, 40, B64)}"'],
    "ArtifactoryDetector": [f"token: AKC{rand(3, 60)}", f'pw = "AP6{rand(4, 20)}"'],
    "AzureStorageKeyDetector": [f"AccountName=x;AccountKey={rand(5, 86, B64)}==;"],
    "BasicAuthDetector": [f"url = https://bot:{rand(6, 14)}@db.example.com/x"],
    "DiscordBotTokenDetector": [f"M{rand(7, 23)}.{rand(8, 6)}.{rand(9, 27)}"],
    "GitHubTokenDetector": [f"gh = ghp_{rand(10, 36)}", f"x ghs_{rand(11, 36)} y"],
    "GitLabTokenDetector": [f"glpat-{rand(12, 20)}", f"GR1348941{rand(13, 20)}"],
    "MailchimpDetector": [f"key = {rand(14, 32, LOWER_DIGITS)}-us12"],
    "NpmDetector": [f"//registry.npmjs.org/:_authToken=npm_{rand(15, 36)}"],
    "OpenAIDetector": [f"sk-{rand(16, 20)}T3BlbkFJ{rand(17, 20)}"],
    "PrivateKeyDetector": ["-----BEGIN RSA PRIVATE KEY-----", "PuTTY-User-Key-File-2: ssh-rsa"],
    "PypiTokenDetector": [f"pypi-AgEIcHlwaS5vcmc{rand(18, 80)}"],
    "SendGridDetector": [f"SG.{rand(19, 22)}.{rand(20, 43)}"],
    "SlackDetector": [f"xoxb-123456-789012-{rand(21, 24, LOWER_DIGITS)}",
                      f"https://hooks.slack.com/services/T{rand(22, 8)}/B{rand(23, 8)}/"
                      f"{rand(24, 24)}"],
    "SquareOAuthDetector": [f"sq0csp-{rand(25, 43)}"],
    "StripeDetector": [f"sk_live_{rand(26, 24)}", f"rk_live_{rand(27, 30)}"],
    "TwilioKeyDetector": [f"AC{rand(28, 32, LOWER_DIGITS)}", f"SK{rand(29, 32, LOWER_DIGITS)}"],
    "KeywordDetector": [f'password = "{rand(30, 12)}"', f'db_pass: "{rand(31, 12)}"',
                        f'contraseña = "{rand(32, 12)}"', f'api_key = "{rand(33, 30)}"'],
}


def _case_variants(line: str) -> list[str]:
    """The line as written, upper-cased, title-cased, and with the Unicode characters that
    `re.IGNORECASE` folds onto ASCII letters (Kelvin sign, long s, dotless i)."""
    return [line, line.upper(), line.title(), line.replace("s", "\u017f"),
            line.replace("k", "\u212a"), line.replace("i", "\u0131")]


def _corpus() -> list[str]:
    rng = random.Random(99)
    lines: list[str] = []
    for samples in SAMPLES.values():
        for sample in samples:
            for variant in _case_variants(sample):
                lines += [variant, f"  prefix {variant} suffix", f'"{variant}",',
                          rng.choice(ALNUM) * 3 + variant]
    noise = [rand(100 + i, rng.randrange(5, 300), ALNUM + " =:\"'/+-_.") for i in range(200)]
    return lines + noise


def test_every_enabled_plugin_has_samples_and_triggers() -> None:
    plugins = dsbridge.plugins()
    for name, info in plugins.items():
        if info.role == dsbridge.CONTEXT:
            continue
        assert name in prefilter.DETECT_SECRETS_TRIGGERS, name
        assert name in SAMPLES, name


def test_samples_are_reported_by_their_plugin() -> None:
    for name, samples in SAMPLES.items():
        hits = list(dsbridge.run("sample.txt", samples, {i + 1: {name}
                                                         for i in range(len(samples))}))
        assert {h.line for h in hits} == set(range(1, len(samples) + 1)), name


def test_prefilter_is_sound_against_detect_secrets() -> None:
    """Every line a plugin reports, run alone on every line, is a candidate for it."""
    lines = _corpus()
    tm = TextMap("\n".join(lines))
    names = set(SAMPLES)
    every_line = {number: set(names) for number in range(1, len(tm.lines) + 1)}
    reported = list(dsbridge.run("corpus.txt", tm.lines, every_line))
    assert reported, "the corpus must make the plugins fire"
    triggers = [t for n in sorted(names - {"KeywordDetector"})
                for t in prefilter.DETECT_SECRETS_TRIGGERS[n]]
    triggers += prefilter.name_triggers(stems())
    marked = prefilter.candidates(tm, triggers)
    for hit in reported:
        group = prefilter.NAMES if hit.plugin == "KeywordDetector" else hit.plugin
        assert group in marked.get(hit.line, set()), (hit.plugin, tm.line(hit.line))
        # Alone, the line takes the lower-casing path unless it holds a fold exception.
        alone = prefilter.candidates(TextMap(tm.line(hit.line)), triggers)
        assert group in alone.get(1, set()), (hit.plugin, tm.line(hit.line))


def test_fold_exceptions_cover_unicode() -> None:
    """The characters `re.IGNORECASE` matches to an ASCII letter that `lower()` does not map
    to that letter: the prefilter marks every line of a text holding one."""
    letters = [(a, re.compile(a, re.IGNORECASE)) for a in string.ascii_lowercase]
    found = {chr(cp) for cp in range(0x80, sys.maxunicode + 1)
             for a, pattern in letters
             if pattern.fullmatch(chr(cp)) and chr(cp).lower() != a}
    assert found == prefilter.FOLD_EXCEPTIONS


def test_stems_cover_every_credential_name() -> None:
    """Every spelling the credential concept recognises holds a stem, so the prefilter's
    NAMES lines hold every named credential (the mnemonic and webhook kinds are reported by
    their own formats, searched everywhere)."""
    table = catalog.knowledge("credentials")
    all_stems = stems()
    for kind in table["kind"]:
        if kind["kind"] in ("mnemonic", "webhook"):
            continue
        for spelling in [*kind.get("contains", ()), *kind.get("words", ())]:
            assert any(s in spelling for s in all_stems), (kind["kind"], spelling)
    for rule in table["path"]:
        last = str(rule["match"]).rsplit(".", 1)[-1].replace("*", "").replace("?", "")
        assert any(s in last for s in all_stems), rule["match"]


# --- no network ---------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(repr(args[1:] if args else kwargs))
        raise AssertionError(f"network connection attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert not attempts


def test_scanning_verifiable_tokens_opens_no_connection(no_network: list[str]) -> None:
    text = "\n".join(sample for samples in SAMPLES.values() for sample in samples) + "\n"
    findings, _ = scan_text_file("deploy/notes.txt", text.encode())
    assert sum(f.rule_id == "BOT109" for f in findings) >= 15
    assert not no_network


def test_verification_filter_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dict(dsbridge._settings())
    settings["filters_used"] = [*settings["filters_used"], {"path": dsbridge.VERIFY_FILTER,
                                                            "min_level": 2}]
    monkeypatch.setattr(dsbridge, "_settings", lambda: settings)
    with pytest.raises(dsbridge.VerificationEnabled):
        list(dsbridge.run("a.txt", ["x"], {1: {"SlackDetector"}}))


def test_global_detect_secrets_settings_are_restored() -> None:
    from detect_secrets.settings import get_settings

    before = get_settings().json()
    scan_text_file("notes.txt", (SAMPLES["SlackDetector"][0] + "\n").encode())
    assert get_settings().json() == before


# --- mapping and merging --------------------------------------------------------------------

def test_service_secret_message_names_plugin_and_never_the_secret() -> None:
    token = f"ghp_{rand(40, 36)}"
    findings, _ = scan_text_file("notes.txt", f"release with {token}\n".encode())
    assert [(f.rule_id, f.location.line, f.location.column) for f in findings] == [
        ("BOT109", 1, 14)]
    message = findings[0].message
    assert "GitHubTokenDetector" in message and "ghp_" in message
    assert token not in message and token not in findings[0].snippet


def test_known_prefix_inside_a_base64_blob_is_silent() -> None:
    blob = rand(41, 30, UPPER_DIGITS) + "ABIA" + rand(42, 16, UPPER_DIGITS) + rand(43, 30)
    assert scan_text_file("bundle.js", f'var font="{blob}";\n'.encode())[0] == []


def test_pem_needs_a_body() -> None:
    body = "\n".join(rand(50 + i, 64, B64) for i in range(5))
    real = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
    fake = "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n"
    findings = scan_text_file("deploy/server.pem", real.encode())[0]
    assert [(f.rule_id, f.location.line) for f in findings] == [("BOT109", 1)]
    assert all(rand(50, 64, B64) not in f.snippet for f in findings)
    assert scan_text_file("deploy/server.pem", fake.encode())[0] == []


def test_duplicate_is_merged_into_the_named_finding() -> None:
    token = f"xoxb-123456-789012-{rand(44, 24, LOWER_DIGITS)}"
    findings, _ = scan_text_file(".env", f'SLACK_TOKEN="{token}"\n'.encode())
    assert [(f.rule_id, f.location.line) for f in findings] == [("BOT108", 1)]
    assert findings[0].evidence["detect_secrets"] == ["SlackDetector"]
    assert "SlackDetector" in findings[0].message


def test_service_secret_without_a_name_stays_bot109() -> None:
    hook = SAMPLES["SlackDetector"][1]
    findings, _ = scan_text_file("alerts.yml", f"notify_url: {hook}\n".encode())
    assert [(f.rule_id, f.evidence["plugin"]) for f in findings] == [("BOT109", "SlackDetector")]


def test_keyword_hit_maps_to_the_rule_its_name_calls_for() -> None:
    text = f'my %conf = (password => "{rand(45, 14)}");\n'
    findings, _ = scan_text_file("deploy/conf.pl", text.encode())
    assert [(f.rule_id, f.location.line) for f in findings] == [("BOT108", 1)]
    assert "KeywordDetector" in findings[0].message


def test_entropy_without_a_credential_name_is_silent() -> None:
    text = (f'integrity = "sha256-{rand(46, 44, B64)}"\n'
            f'commit: "{rand(47, 40, "0123456789abcdef")}"\n')
    assert scan_text_file("notes.txt", text.encode())[0] == []


def test_inline_allowlist_silences_detect_secrets() -> None:
    text = f"{SAMPLES['StripeDetector'][0]}  # pragma: allowlist secret\n"
    assert scan_text_file("notes.txt", text.encode())[0] == []


def test_python_files_get_the_service_secrets_the_analyzer_did_not_report() -> None:
    named = f"ghp_{rand(48, 36)}"
    text = (f'GITHUB_TOKEN = "{named}"\n'
            f"# ops webhook: {SAMPLES['SlackDetector'][1]}\n")
    existing = analyze_python("bot.py", text.encode(), Options()).findings
    assert [(f.rule_id, f.location.line) for f in existing] == [("BOT108", 1)]
    extra = known_service_findings("bot.py", text, existing)
    assert [(f.rule_id, f.location.line) for f in extra] == [("BOT109", 2)]
    assert known_service_findings("bot.py", text, existing, frozenset({"BOT101"})) == []
