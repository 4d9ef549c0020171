"""The dependency analyzer through the CLI: the table, the notices and --strict-deps, against
the loopback OSV-compatible service (the public one may be unreachable where tests run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from osv_server import osv_server


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A private cache directory, so runs do not see each other's look-ups.
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / ".cache")}
    return subprocess.run([sys.executable, "-m", "botscan", "scan", ".", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=180)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("requests==2.19.0\nccxt>=4\n")
    (tmp_path / "bot.py").write_text("import requests\n")
    return tmp_path


def test_vulnerable_pin_is_reported_with_its_advisory_and_fix(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with osv_server() as server:
        report = json.loads(_cli("--format", "json", "--osv-url", server.url, cwd=root).stdout)
        text = _cli("--osv-url", server.url, cwd=root).stdout
    vulnerable = [f for f in report["findings"] if f["rule_id"] == "BOT601"]
    assert [(f["path"], f["line"]) for f in vulnerable] == [("requirements.txt", 1)]
    assert "CVE-2018-18074" in vulnerable[0]["message"]
    row = next(d for d in report["dependencies"] if d["name"] == "requests")
    assert row["audited"] and row["fix"] == "upgrade requests to 2.20.0 or later"
    assert [a["id"] for a in row["advisories"]] == ["PYSEC-2018-28"]
    assert "Dependencies:" in text and "PYSEC-2018-28" in text


def test_an_audit_that_failed_is_a_notice_and_strict_deps_fails(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with osv_server(fail_after=0) as broken:
        lenient = _cli("--format", "json", "--osv-url", broken.url, "--fail-on", "never",
                       cwd=root)
        strict = _cli("--osv-url", broken.url, "--fail-on", "never", "--strict-deps", cwd=root)
    report = json.loads(lenient.stdout)
    assert lenient.returncode == 0
    assert any(n["kind"] == "not-audited" for n in report["notices"])
    assert [f["rule_id"] for f in report["findings"]] == ["BOT602"]  # offline rules still ran
    assert strict.returncode == 1 and "not-audited" in strict.stdout


def test_offline_and_no_deps(tmp_path: Path) -> None:
    root = _project(tmp_path)
    offline = json.loads(_cli("--format", "json", "--offline", cwd=root).stdout)
    assert any("audit skipped" in n["message"] for n in offline["notices"])
    skipped = json.loads(_cli("--format", "json", "--no-deps", cwd=root).stdout)
    assert skipped["dependencies"] == [] and skipped["findings"] == []
