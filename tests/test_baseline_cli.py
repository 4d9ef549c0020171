"""`botscan baseline create` and `scan --baseline` / `--format html` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botscan", *args, "--offline"], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_only_new_findings_fail_once_a_baseline_exists(tmp_path: Path) -> None:
    bot = tmp_path / "bot.py"
    bot.write_text('import requests\nrequests.get("https://a.org", verify=False)\n')
    assert _cli("baseline", "create", ".", "-o", "base.json", cwd=tmp_path).returncode == 0
    stored = json.loads((tmp_path / "base.json").read_text())
    assert [f["rule_id"] for f in stored["findings"]] == ["BOT404"]
    assert "verify" not in (tmp_path / "base.json").read_text()  # no code, no snippets

    bot.write_text(
        'import requests\n\n\n# moved down\nrequests.get("https://a.org", verify=False)\n'
    )
    assert _cli("scan", ".", "--baseline", "base.json", cwd=tmp_path).returncode == 0

    bot.write_text(bot.read_text() + 'requests.post("https://b.org", verify=False)\n')
    run = _cli("scan", ".", "--baseline", "base.json", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1
    assert [f["line"] for f in json.loads(run.stdout)["findings"]] == [6]
    sarif = json.loads(_cli("scan", ".", "--baseline", "base.json", "--format", "sarif",
                            cwd=tmp_path).stdout)
    states = [r["baselineState"] for r in sarif["runs"][0]["results"]]
    assert sorted(states) == ["new", "unchanged"]

    broken = _cli("scan", ".", "--baseline", "missing.json", cwd=tmp_path)
    assert broken.returncode == 2 and broken.stderr.startswith("botscan: error:")


def test_html_report_is_written_self_contained(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text('API_SECRET = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"\n')
    run = _cli("scan", ".", "--format", "html", "-o", "report.html", cwd=tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert run.returncode == 1 and run.stdout == ""
    assert "Content-Security-Policy" in page and "BOT101" in page
    assert "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc" not in page
