"""The content-hash result cache: same findings warm as cold, never a whole secret on disk,
never a crash, bounded, safe with concurrent scans.

Most tests scan fixture trees through `botscan.scan.scan` with a cache directory of their
own; the `--jobs` and concurrency tests run the real CLI in subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers_security import FIXTURES, clean_env, run_cli, token, write

from botscan import cache_dir
from botscan.analyzers.python.analyzer import analyze_python
from botscan.analyzers.python.options import Options
from botscan.model import NoticeKind, ScanResult
from botscan.result_cache import ResultCache, decode, encode
from botscan.scan import ScanOptions, scan

TREES = ["ccxt_bot", "binance_bot", "wallet_bot"]


def _copy(name: str, tmp_path: Path) -> Path:
    tree = tmp_path / name
    shutil.copytree(FIXTURES / name, tree)
    return tree


def _scan(tree: Path, cache: Path | None, **options: Any) -> ScanResult:
    return scan([tree], ScanOptions(cache_dir=cache, jobs=2, dependencies=False, **options))


def _facts(result: ScanResult) -> tuple[Any, ...]:
    return (result.findings, result.notices, result.capabilities, result.files_scanned)


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "results").rglob("*.json"))


@pytest.mark.parametrize("name", TREES)
def test_a_warm_scan_finds_exactly_what_a_cold_one_does(name: str, tmp_path: Path) -> None:
    tree, cache = _copy(name, tmp_path), tmp_path / "cache"
    uncached = _scan(tree, None)
    cold = _scan(tree, cache)
    stored = _entries(cache)
    warm = _scan(tree, cache)
    assert _facts(cold) == _facts(uncached) == _facts(warm)
    assert stored and _entries(cache) == stored  # nothing analysed again, nothing new stored
    assert all(p.stat().st_size > 0 for p in stored)


def test_a_changed_file_is_analysed_again_and_only_it(tmp_path: Path) -> None:
    tree, cache = _copy("ccxt_bot", tmp_path), tmp_path / "cache"
    _scan(tree, cache)
    before = set(_entries(cache))
    key = token(random.Random(3), 40)
    config = tree / "config.py"
    config.write_text(config.read_text() + f'\nBINANCE_SECRET = "{key}"\n')
    warm = _scan(tree, cache)
    assert len(set(_entries(cache)) - before) == 1
    assert any(f.location.path == "config.py" and f.rule_id == "BOT101"
               and f.location.line == len(config.read_text().splitlines())
               for f in warm.findings)
    assert _facts(warm) == _facts(_scan(tree, None))


def test_a_file_name_with_undecodable_bytes_is_cached_and_read_back(tmp_path: Path) -> None:
    """Such a name is kept as lone surrogates; writing its entry as UTF-8 ended the whole scan
    (found by tests/test_hostile_repo.py)."""
    tree, cache = tmp_path / "bot", tmp_path / "cache"
    tree.mkdir()
    with open(os.fsencode(tree) + b"/caf\xe9.py", "wb") as handle:
        handle.write(f'API_SECRET = "{token(random.Random(4), 64)}"\n'.encode())
    cold = _scan(tree, cache)
    assert [f.location.path for f in cold.findings] == [os.fsdecode(b"caf\xe9.py")]
    assert len(_entries(cache)) == 1
    assert _facts(_scan(tree, cache)) == _facts(cold)


def test_what_changes_results_changes_the_key(tmp_path: Path) -> None:
    """Rules selected and the user's credential names are part of the key: a narrower or
    differently configured scan never reuses a broader one's entries."""
    tree, cache = _copy("ccxt_bot", tmp_path), tmp_path / "cache"
    _scan(tree, cache)
    for options in ({"select": ("BOT4",)}, {"ignore": ("BOT101",)},
                    {"credential_names": (("order_note", "secret"),)}):
        assert _facts(_scan(tree, cache, **options)) == _facts(_scan(tree, None, **options))


def test_entries_round_trip_every_fixture_result() -> None:
    for path in sorted(FIXTURES.rglob("*.py")):
        result = analyze_python(path.name, path.read_bytes(), Options())
        outcome = (result.findings, result.notices, result.evidence)
        assert decode(json.loads(json.dumps(encode(outcome)))) == outcome


def test_corrupt_and_foreign_entries_are_ignored(tmp_path: Path) -> None:
    tree, cache = _copy("binance_bot", tmp_path), tmp_path / "cache"
    expected = _facts(_scan(tree, cache))
    entries = _entries(cache)
    assert len(entries) >= 3
    # One entry's content under another's name (a foreign key), one not JSON, one a finding
    # of a rule that does not exist, one holding a pickle.
    entries[1].write_bytes(entries[0].read_bytes())
    entries[2].write_bytes(b"\x80\x04\x95 not json")
    record = json.loads(entries[3].read_text())
    record["outcome"]["findings"] = [{"rule": "BOT999"}]
    entries[3].write_text(json.dumps(record))
    assert _facts(_scan(tree, cache)) == expected
    # ...and they are written again, correctly.
    for entry in entries[1:4]:
        assert json.loads(entry.read_text())["key"] == entry.stem


def test_no_whole_secret_is_written_to_the_cache(tmp_path: Path) -> None:
    rng = random.Random(11)
    secrets = [token(rng, 64) for _ in range(4)]
    tree = tmp_path / "bot"
    write(tree, "bot.py", f'import ccxt\nAPI_SECRET = "{secrets[0]}"\n'
                          f'ex = ccxt.binance({{"apiKey": "{secrets[1]}", "secret": API_SECRET}})\n'
                          f'print("key", API_SECRET)\n')
    write(tree, ".env", f"BINANCE_API_SECRET={secrets[2]}\n")
    write(tree, "config.json", json.dumps({"exchange": {"key": secrets[3], "secret": "x"}}))
    cache = tmp_path / "cache"
    result = _scan(tree, cache)
    assert {f.location.path for f in result.findings} >= {"bot.py", ".env", "config.json"}
    stored = b"".join(p.read_bytes() for p in _entries(cache))
    for secret in secrets:
        assert secret.encode() not in stored
        assert secret[:12].encode() not in stored


def test_an_unwritable_cache_is_a_notice_not_a_crash(tmp_path: Path) -> None:
    tree = _copy("ccxt_bot", tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    result = _scan(tree, blocked)
    assert result.findings == _scan(tree, None).findings
    assert [n.kind for n in result.notices if n.kind is NoticeKind.CACHE] == [NoticeKind.CACHE]


def test_a_cache_inside_the_scanned_tree_is_not_used(tmp_path: Path) -> None:
    """A tree that could write cache entries could hide its own findings in them."""
    tree = _copy("ccxt_bot", tmp_path)
    inside = tree / ".botscan_cache"
    result = _scan(tree, inside)
    assert not inside.exists()
    assert any(n.kind is NoticeKind.CACHE and "inside" in n.message for n in result.notices)
    assert cache_dir.inside(tmp_path / "elsewhere", [tree]) is None


def test_the_cache_stays_within_its_bound(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "results", max_bytes=256 * 4096)
    finding = _scan(_copy("ccxt_bot", tmp_path), None).findings[0]
    for number in range(600):
        cache.put(cache.key({"n": number}, "digest"), ([finding], [], []))
    cache.trim()
    sizes = [p.stat().st_size for p in (tmp_path / "results").rglob("*.json")]
    assert sum(sizes) <= 256 * 4096
    assert 0 < len(sizes) < 600


def test_concurrent_scans_share_a_cache_safely(tmp_path: Path) -> None:
    tree, cache = _copy("binance_bot", tmp_path), tmp_path / "cache"
    argv = [sys.executable, "-m", "botscan", "scan", str(tree), "--format", "json",
            "--no-history", "--offline", "--cache-dir", str(cache)]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, env=clean_env())
            for _ in range(3)]
    reports = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert all(r["findings"] == reports[0]["findings"] for r in reports)
    for entry in _entries(cache):
        assert json.loads(entry.read_text())["key"] == entry.stem
    assert not [p for p in (cache / "results").rglob("*") if p.name.endswith(".tmp")]


def _report(tmp_path: Path, tree: Path, *args: str) -> dict[str, Any]:
    run = run_cli("scan", tree, "--format", "json", "--no-history", "--offline", *args,
                  cwd=tmp_path)
    assert run.returncode in (0, 1), run.describe()
    report = run.json()
    report["summary"].pop("duration_seconds")
    return report


@pytest.mark.parametrize("name", ["ccxt_bot", "freqtrade_strategy"])
def test_jobs_and_a_warm_cache_give_the_same_report(name: str, tmp_path: Path) -> None:
    tree, cache = _copy(name, tmp_path), str(tmp_path / "cache")
    one = _report(tmp_path, tree, "--jobs", "1", "--no-cache")
    two = _report(tmp_path, tree, "--jobs", "2", "--cache-dir", cache)
    warm = _report(tmp_path, tree, "--jobs", "2", "--cache-dir", cache)
    assert one == two == warm
    assert one["findings"]

