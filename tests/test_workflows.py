"""The files other tools read: the GitHub Action and the pre-commit hooks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
KEY = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"


def test_action_is_a_composite_that_uploads_sarif_and_passes_inputs_safely() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert {"path", "fail-on", "baseline", "diff-base", "upload-sarif"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
               for s in steps)
    for step in steps:
        script = step.get("run", "")
        # Inputs and event data go through env: `${{ }}` inside a script is an injection.
        assert "${{" not in script, step.get("name")
    scan = next(s for s in steps if s.get("id") == "scan")
    assert "--diff-base" in scan["run"] and "PR_BASE_SHA" in scan["env"]


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(
        (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert hooks["botscan"]["entry"].startswith("botscan scan")
    assert "--offline" in hooks["botscan"]["entry"]  # no network in a commit hook
    manifests = re.compile(hooks["botscan-deps"]["files"])
    for path in ("requirements.txt", "sub/requirements-dev.txt", "pyproject.toml",
                 "poetry.lock", "setup.py", "environment.yml"):
        assert manifests.search(path), path
    assert not manifests.search("bot.py")
    assert all(h["args"][-1] == "--" for h in hooks.values())  # file names are never options


def test_action_validates_against_the_github_actions_schema() -> None:
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-actions", str(REPO / "action.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_action_steps_run_locally_on_a_pull_request(tmp_path: Path) -> None:
    """The scan and result steps, run as GitHub runs them: inputs in the environment, on a
    pull_request event with the base commit, writing SARIF and the step output."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "old.py").write_text(f'API_SECRET = "{KEY}"\n')
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    base = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "new.py").write_text(
        "import requests\nrequests.get('https://a.org', verify=False)\n")
    steps = {s.get("name"): s for s in yaml.safe_load(
        (REPO / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]}
    output = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_OUTPUT": str(output),
           "INPUT_PATH": ".", "INPUT_FAIL_ON": "high", "INPUT_BASELINE": "",
           "INPUT_DIFF_BASE": "", "INPUT_SARIF_FILE": "botscan.sarif", "INPUT_ARGS": "--offline",
           "PR_BASE_SHA": base,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "-e", "-c", steps["Scan"]["run"]], cwd=tmp_path, env=env,
                   check=True, capture_output=True, text=True, timeout=180)
    assert output.read_text().strip() == "exit-code=1"
    results = json.loads((tmp_path / "botscan.sarif").read_text())["runs"][0]["results"]
    # Only the pull request's new line: the old key is not this PR's doing.
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in results] == [("BOT404", "new.py")]
    final = subprocess.run(["bash", "-c", steps["Result"]["run"]],
                           env={**env, "EXIT_CODE": "1"}, timeout=30)
    assert final.returncode == 1


def test_pre_commit_try_repo_blocks_a_leaky_commit(tmp_path: Path) -> None:
    """The hook as a user gets it: pre-commit installs this repository in its own
    environment and runs it on the staged files."""
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]' brings it)")
    _git(tmp_path, "init", "-q", "-b", "main")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / ".pre-commit-home")}
    leaky = tmp_path / "bot.py"
    leaky.write_text(f'import ccxt\nexchange = ccxt.binance({{"secret": "{KEY}"}})\n')
    _git(tmp_path, "add", "bot.py")
    blocked = subprocess.run([pre_commit, "try-repo", str(REPO), "botscan", "--files", "bot.py"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert blocked.returncode != 0, blocked.stdout
    assert "BOT101" in blocked.stdout and KEY not in blocked.stdout
    leaky.write_text('import ccxt, os\nexchange = ccxt.binance({"secret": os.environ["S"]})\n')
    _git(tmp_path, "add", "bot.py")
    clean = subprocess.run([pre_commit, "try-repo", str(REPO), "botscan", "--files", "bot.py"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stdout


def test_a_file_named_like_an_option_is_scanned_not_obeyed(tmp_path: Path) -> None:
    """pre-commit appends staged file names to the command line: `--output=victim.py` must not
    become botscan's --output and overwrite victim.py."""
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]' brings it)")
    _git(tmp_path, "init", "-q", "-b", "main")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / ".pre-commit-home")}
    victim = tmp_path / "victim.py"
    victim.write_text("print('mine')\n")
    trap = tmp_path / "--output=victim.py"
    trap.write_text(f'import ccxt\nexchange = ccxt.binance({{"secret": "{KEY}"}})\n')
    _git(tmp_path, "add", "--", "victim.py", trap.name)
    run = subprocess.run([pre_commit, "try-repo", str(REPO), "botscan", "--all-files"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert victim.read_text() == "print('mine')\n"
    assert run.returncode != 0 and "BOT101" in run.stdout and trap.name in run.stdout


def test_under_pre_commit_a_hook_without_the_separator_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text("x = 1\n")
    env = {**os.environ, "PRE_COMMIT": "1"}
    refused = subprocess.run([sys.executable, "-m", "botscan", "scan", "--offline", "bot.py"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "'--'" in refused.stderr
    assert refused.stderr.count("\n") == 1
    allowed = subprocess.run([sys.executable, "-m", "botscan", "scan", "--offline", "--",
                              "bot.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert allowed.returncode == 0, allowed.stderr
