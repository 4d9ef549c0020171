"""The history pass of a scan (BOT104) on real git repositories: a key committed and then
deleted, a key on a side branch, a key still at HEAD reported once, exclusions, and a hostile
repository whose git config would run commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from botscan.deps import AuditSettings
from botscan.scan import ScanOptions, scan

OLD_KEY = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0QcW2"
SIDE_KEY = "Hy7Tn2Qw8Er4Ui9Op1As6Df3Gh5Jk0LzX8"
HEAD_KEY = "Mn4Bv7Cx1Za9Sd3Fg6Hj2Kl8Qw5Er0TyU7"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    repo = tmp_path / "bot"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "bot.py").write_text("import os\nKEY = os.environ['K']\n")
    (repo / "config.json").write_text(f'{{"exchange": {{"secret": "{OLD_KEY}"}}}}\n')
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "config.json").unlink()
    (repo / "settings.py").write_text(f'API_SECRET = "{HEAD_KEY}"\n')
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "remove the config, add settings")
    _git(repo, "checkout", "-q", "-b", "side")
    (repo / "side.env").write_text(f"BINANCE_API_SECRET={SIDE_KEY}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "side branch")
    side = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "main")
    return repo, first, side


def _options(**extra: object) -> ScanOptions:
    return ScanOptions(jobs=1, audit=AuditSettings(offline=True), history=True, **extra)  # type: ignore[arg-type]


def test_deleted_and_side_branch_keys_are_reported_with_their_commit(tmp_path: Path) -> None:
    repo, first, side = _repo(tmp_path)
    result = scan([repo], _options())
    history = sorted((f.location.path, f.evidence["commit"], f.evidence["path_exists_at_head"])
                     for f in result.findings if f.rule_id == "BOT104")
    assert history == sorted([("config.json", first, False), ("side.env", side, False)])
    at_head = [f for f in result.findings if f.rule_id != "BOT104"]
    assert [(f.location.path, f.rule_id) for f in at_head] == [("settings.py", "BOT101")]
    rendered = json.dumps([f.message for f in result.findings])
    assert OLD_KEY not in rendered and SIDE_KEY not in rendered and HEAD_KEY not in rendered


def test_a_key_still_at_head_is_reported_once(tmp_path: Path) -> None:
    repo, _, _ = _repo(tmp_path)
    (repo / "settings.py").write_text(f'# moved\nAPI_SECRET = "{HEAD_KEY}"\n')
    _git(repo, "commit", "-q", "-am", "touch")
    result = scan([repo], _options())
    assert [f.rule_id for f in result.findings if f.location.path == "settings.py"] == ["BOT101"]


def test_selecting_bot104_alone_still_finds_history_secrets(tmp_path: Path) -> None:
    """The credential rules are how BOT104 finds keys: selecting only BOT104 must not switch
    them off for the history."""
    repo, _, _ = _repo(tmp_path)
    result = scan([repo], _options(select=("BOT104",)))
    assert sorted((f.rule_id, f.location.path) for f in result.findings) == [
        ("BOT104", "config.json"), ("BOT104", "side.env")]


def test_history_honours_excludes_and_since(tmp_path: Path) -> None:
    repo, first, _ = _repo(tmp_path)
    excluded = scan([repo], _options(exclude=("side.env", "config.json")))
    assert [f for f in excluded.findings if f.rule_id == "BOT104"] == []
    recent = scan([repo], _options(since=first))
    assert sorted(f.location.path for f in recent.findings if f.rule_id == "BOT104") == [
        "side.env"]


def test_cli_scans_history_of_directories_but_not_of_explicit_files(tmp_path: Path) -> None:
    repo, _, _ = _repo(tmp_path)

    def rules(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "botscan", "scan", *args, "--offline",
                               "--format", "json"], cwd=repo, capture_output=True, text=True,
                              timeout=120)
        return sorted(f["rule_id"] for f in json.loads(done.stdout)["findings"])

    assert rules(".").count("BOT104") == 2
    assert "BOT104" not in rules("settings.py")
    assert "BOT104" not in rules(".", "--no-history")


def test_hostile_git_config_runs_nothing(tmp_path: Path) -> None:
    repo, _, _ = _repo(tmp_path)
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    for key, value in (("core.fsmonitor", command), ("core.hooksPath", str(tmp_path)),
                       ("filter.x.clean", command), ("filter.x.smudge", command),
                       ("diff.x.textconv", command), ("diff.external", command)):
        _git(repo, "config", key, value)
    (repo / ".gitattributes").write_text("* filter=x diff=x\n")
    hook = tmp_path / "post-checkout"
    hook.write_text(f"#!/bin/sh\n{command}\n")
    hook.chmod(0o755)
    result = scan([repo], _options())
    assert not marker.exists()
    assert any(f.rule_id == "BOT104" for f in result.findings)
