"""`--diff-base REF` on a real git repository: only lines added or changed since REF count,
and every finding of a file that is new since REF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KEY = "Zq3Lk9Xv2Bn8Mw4Pt7Rs1Yh6Jd5Fg0Qc"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True)
    return done.stdout.strip()


def _scan(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botscan", "scan", ".", "--offline",
                           "--format", "json", *args], cwd=repo, capture_output=True,
                          text=True, timeout=120)


def test_only_changed_lines_and_new_files_count(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "old.py").write_text(f'API_SECRET = "{KEY}"\nx = 1\n')
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    base = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "old.py").write_text(
        f'import requests\nAPI_SECRET = "{KEY}"\nx = 2\n'
        'requests.get("https://a.org", verify=False)\n')
    (tmp_path / "new.py").write_text(f'OKX_SECRET = "{KEY[::-1]}"\n')
    everything = json.loads(_scan(tmp_path).stdout)["findings"]
    assert sorted((f["path"], f["line"]) for f in everything) == [
        ("new.py", 1), ("old.py", 2), ("old.py", 4)]
    run = _scan(tmp_path, "--diff-base", base)
    kept = sorted((f["path"], f["line"]) for f in json.loads(run.stdout)["findings"])
    assert kept == [("new.py", 1), ("old.py", 4)]  # the moved key is not new
    bad = _scan(tmp_path, "--diff-base", "no-such-ref")
    assert bad.returncode == 2 and bad.stderr.startswith("botscan: error: --diff-base")


def test_file_names_git_cannot_take_on_a_request_line(tmp_path: Path) -> None:
    """A name with a newline once became two `cat-file --batch` requests, the first naming
    another file (`a.py\\nb` compared with `a.py`, hiding its new key); undecodable bytes in a
    name crashed the run."""
    _git(tmp_path, "init", "-q", "-b", "main")
    undecodable = os.fsencode(tmp_path) + b"/caf\xe9.py"
    (tmp_path / "a.py").write_text(f'API_SECRET = "{KEY}"\n')
    (tmp_path / "new\nline.py").write_text("x = 1\n")
    with open(undecodable, "wb") as handle:
        handle.write(f'API_SECRET = "{KEY}"\n'.encode())
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "a.py\nb").write_text(f'API_SECRET = "{KEY}"\n')  # new, same line as a.py
    (tmp_path / "new\nline.py").write_text(f'x = 1\nAPI_SECRET = "{KEY[::-1]}"\n')
    with open(undecodable, "ab") as handle:
        handle.write(f'OKX_SECRET = "{KEY[::-1]}"\n'.encode())
    run = _scan(tmp_path, "--diff-base", "HEAD")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    kept = sorted((f["path"], f["line"]) for f in json.loads(run.stdout)["findings"])
    assert kept == [("a.py\nb", 1), (os.fsdecode(b"caf\xe9.py"), 2), ("new\nline.py", 2)]
