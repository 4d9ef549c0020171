"""The per-file memory cap (`--max-file-memory`, `max-file-memory`): a file whose analysis
needs more gets a `memory` notice naming the cap, and is still searched for credentials as
text; the rest of the scan is unaffected."""

from __future__ import annotations

import random
from pathlib import Path

from helpers_security import assert_usage_error, notice_kinds, rule_lines, run_cli, token, write


def _big_module(key: str) -> str:
    """About 900 KB of ordinary Python (under the parse cap): libcst needs over a gigabyte
    to parse and place it."""
    functions = "".join(f"def f{i}(a, b):\n    return {{'k{i}': [a, b, {i}], 'v': (a + b) * {i}}}"
                        "\n\n" for i in range(12_000))
    return f'API_SECRET = "{key}"\n\n' + functions


def test_a_file_over_the_cap_is_a_memory_notice_and_still_searched(tmp_path: Path) -> None:
    rng = random.Random(8)
    big_key, small_key = token(rng, 48), token(rng, 48)
    tree = tmp_path / "bot"
    write(tree, "generated.py", _big_module(big_key))
    write(tree, "settings.py", f'BINANCE_SECRET = "{small_key}"\n')
    run = run_cli("scan", tree, "--format", "json", "--no-history", "--offline", "--no-cache",
                  "--max-file-memory", "500M", cwd=tmp_path, timeout=300)
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert notice_kinds(report).get("generated.py") == {"memory"}, report["notices"]
    message = next(n["message"] for n in report["notices"] if n["path"] == "generated.py")
    assert "500 MiB" in message and "--max-file-memory" in message
    assert ("BOT101", 1) in rule_lines(report, "generated.py")  # the text fallback
    assert ("BOT101", 1) in rule_lines(report, "settings.py")
    assert big_key not in run.stdout and small_key not in run.stdout


def test_the_cap_is_validated(tmp_path: Path) -> None:
    write(tmp_path, "bot.py", "x = 1\n")
    assert_usage_error(run_cli("scan", "bot.py", "--max-file-memory", "lots", cwd=tmp_path),
                       "--max-file-memory")
    assert_usage_error(run_cli("scan", "bot.py", "--max-file-memory", "64M", cwd=tmp_path),
                       "256M")
    write(tmp_path, ".botscan.toml", 'max-file-memory = "2G"\n')
    assert run_cli("scan", "bot.py", "--no-history", cwd=tmp_path).returncode == 0
    write(tmp_path, ".botscan.toml", "max-file-memory = true\n")
    assert_usage_error(run_cli("scan", "bot.py", cwd=tmp_path), "max-file-memory")
