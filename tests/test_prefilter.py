"""The Python prefilter is sound: skipping detectors (and parsing) never changes what is found.

The main check runs the analyzer on every fixture file twice, with and without the prefilter,
and wants the same findings and the same capability evidence. The others pin the contract the
triggers rely on: every shipped detector declares its triggers, spellings that a byte search
would miss switch the prefilter off, and every name the resolver gives is written in the source
unless one of the dynamic spellings it knows is there.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from mnemonic import Mnemonic

from botscan.analyzers.python import prefilter
from botscan.analyzers.python.analyzer import DETECTORS, analyze_python
from botscan.analyzers.python.engine import Detector, Event, FileContext, parse, run_detectors
from botscan.analyzers.python.options import Options

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PYTHON_FIXTURES = sorted(p for p in FIXTURES.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", PYTHON_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_prefilter_changes_nothing_on_fixture_files(path: Path) -> None:
    rel = path.relative_to(FIXTURES).as_posix()
    data = path.read_bytes()
    options = Options(extra_credential_names=(("vault_phrase", "secret"),))
    filtered = analyze_python(rel, data, options)
    everything = analyze_python(rel, data, options, prefiltered=False)
    assert filtered.findings == everything.findings
    assert filtered.evidence == everything.evidence


def test_fixtures_exercise_the_prefilter() -> None:
    """The comparison above means something only if the fixtures hold both kinds of file."""
    options = Options()
    chosen = [prefilter.runnable(DETECTORS, p.read_bytes(), options) for p in PYTHON_FIXTURES]
    assert any(len(c) == len(DETECTORS) for c in chosen)
    assert any(len(c) < len(DETECTORS) for c in chosen)


def test_every_shipped_detector_declares_its_triggers() -> None:
    """The default (`ALWAYS`) is sound but slow: a shipped detector says what it needs."""
    undeclared = [d.__name__ for d in DETECTORS if "triggers" not in vars(d)]
    assert not undeclared


def test_a_detector_without_triggers_runs_on_every_file() -> None:
    class Anything(Detector):
        rules = frozenset({"BOT101"})

    assert prefilter.runnable([Anything], b"x = 1\n", Options()) == [Anything]


def _both(source: str, options: Options | None = None) -> list[tuple[str, int]]:
    data = textwrap.dedent(source).encode()
    options = options or Options()
    filtered = analyze_python("bot.py", data, options)
    everything = analyze_python("bot.py", data, options, prefiltered=False)
    assert filtered.findings == everything.findings
    return [(f.rule_id, f.location.line) for f in filtered.findings]


KEY = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"


@pytest.mark.parametrize("source", [
    # Separators and case: a spelling is found with anything between its characters.
    f'CONFIG = {{"Api" "-" "Secret": "{KEY}"}}\n',
    f'class Bot:\n    binanceApiSECRET = "{KEY}"\n',
    # Escapes can spell anything: the prefilter lets such a file through whole.
    f'CONFIG = {{"api\\x5fsecret": "{KEY}"}}\n',
    f'CONFIG = {{"api\\N{{LOW LINE}}secret": "{KEY}"}}\n',
    f'CONFIG = {{"api_sec\\\nret": "{KEY}"}}\n',
])
def test_spellings_a_byte_search_could_miss_are_still_found(source: str) -> None:
    assert [rule for rule, _ in _both(source)] == ["BOT101"]


def test_the_users_own_credential_names_are_triggers() -> None:
    source = f'VAULT_PHRASE = "{KEY}"\n'
    assert _both(source) == []
    assert _both(source, Options(extra_credential_names=(("vault_phrase", "secret"),))) == [
        ("BOT101", 1)]


def test_self_identifying_secrets_in_any_string() -> None:
    phrase = Mnemonic("english").to_mnemonic(bytes(range(7, 23)))
    token = "1234567890:AAH" + "x7Kp2Lm9Qr4Tz8Wb" * 2
    source = f'''
        NOTE = "{phrase}"
        URL = "https://api.telegram.org/bot{token}/sendMessage"
    '''
    assert _both(source) == [("BOT105", 2), ("BOT106", 3)]


def test_a_file_no_detector_could_fire_on_is_not_parsed() -> None:
    """A syntax error is only noticed by parsing: with no trigger in the file, nothing is."""
    quiet = analyze_python("util.py", b"def f(:\n    return 1\n", Options())
    assert quiet.notices == [] and quiet.findings == []
    loud = analyze_python("util.py", b"import requests\ndef f(:\n    return 1\n", Options())
    assert [n.kind.value for n in loud.notices] == ["not-parsed"]


def test_characters_that_fold_into_ascii_letters_are_all_known() -> None:
    """Every character but ASCII whose lower-casing, or case-insensitive match, is an ASCII
    letter makes a byte search unreliable; the prefilter must know each of them."""
    letters = [re.compile(a, re.IGNORECASE) for a in "abcdefghijklmnopqrstuvwxyz"]
    found = set()
    for cp in range(0x80, sys.maxunicode + 1):
        char = chr(cp)
        lowered = char.lower()
        if any(c.isascii() and c.isalpha() for c in lowered) or any(
                p.fullmatch(char) for p in letters):
            found.add(char.encode("utf-8", "surrogatepass"))
    assert found == set(prefilter._FOLDS_TO_ASCII)


class _Names(Detector):
    """Records every qualified name the resolver gives for a call or an attribute."""

    rules = frozenset({"BOT101"})

    def __init__(self) -> None:
        self.names: set[str] = set()

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        assert isinstance(ev.node, cst.Call)
        for node in (ev.node.func, ev.node):
            name = ctx.resolver.qualname(node, ev.scope)
            if name:
                self.names.add(name)


@pytest.mark.parametrize("path", PYTHON_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_resolved_names_are_spelled_in_the_source(path: Path) -> None:
    """What `prefilter.calls_to` relies on: without a dynamic name (`getattr`, `__import__`…)
    in the source, each segment of each name the resolver gives is written there."""
    data = path.read_bytes()
    lowered = data.lower()
    if any(n in lowered for n in prefilter.DYNAMIC_NAMES):
        pytest.skip("names may be computed from strings here")
    recorder = _Names()
    try:
        module = parse(data.decode("utf-8"))
    except Exception:
        pytest.skip("not parsed")
    run_detectors(module, [recorder], FileContext(path.name, Options()))
    for name in recorder.names:
        for segment in name.split("."):
            segment = segment.removesuffix("()")
            if segment in ("", "builtins"):
                continue
            assert segment.lower().encode() in lowered, (name, segment)
