"""The files other tools read: the GitHub Action and the pre-commit hooks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


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
