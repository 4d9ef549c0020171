"""Helpers shared by the end-to-end CLI tests (`test_cli.py`, `test_security.py`).

They run the real CLI in a subprocess, exactly as a user or CI job would
(`python -m botscan ...`), and build small trees of fake bots in `tmp_path`. Nothing is
mocked: the walker, the worker pool, the analyzers and the renderers all run for real.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
DEFAULT_TIMEOUT = 120.0

ALNUM = string.ascii_letters + string.digits
HEX_LOWER = "0123456789abcdef"
HEX_UPPER = "0123456789ABCDEF"


@dataclass
class Run:
    """One finished CLI run; stdout/stderr decoded as UTF-8 (a report must always be UTF-8)."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - a failure message
            raise AssertionError(f"stdout is not JSON ({exc}):\n{self.stdout[:2000]}") from None
        assert isinstance(data, dict)
        return data

    def describe(self) -> str:
        return (f"botscan {' '.join(self.args)} -> exit {self.returncode}\n"
                f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}")


def clean_env() -> dict[str, str]:
    """The environment for a CLI run: no colour, no user config leaking in from outside (the
    session's own cache directory stays: see conftest.py)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BOTSCAN_") or k == "BOTSCAN_CACHE_DIR"}
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_cli(*args: str | os.PathLike[str], cwd: Path, timeout: float = DEFAULT_TIMEOUT,
            command: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Run:
    """Run `python -m botscan ARGS` (or `command ARGS`) in `cwd`, with a hard timeout, in
    `env` (default: `clean_env()`)."""
    argv = [*(command or (sys.executable, "-m", "botscan")), *(os.fspath(a) for a in args)]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=timeout,
                          env=dict(env) if env is not None else clean_env(),
                          stdin=subprocess.DEVNULL, check=False)
    seconds = time.monotonic() - started
    return Run(
        args=tuple(argv[3:] if command is None else argv[1:]),
        returncode=proc.returncode,
        stdout=proc.stdout.decode("utf-8"),
        stderr=proc.stderr.decode("utf-8"),
        seconds=seconds,
    )


def assert_usage_error(run: Run, *mentions: str, prefix: str | None = None) -> None:
    """Exit 2, exactly one non-empty line on stderr, no traceback, naming what was wrong."""
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.describe()
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr:\n{run.describe()}"
    assert "error" in lines[0].lower(), run.describe()
    if prefix is not None:
        assert lines[0].startswith(prefix), run.describe()
    for mention in mentions:
        assert mention in lines[0], f"{mention!r} not named in the error:\n{run.describe()}"


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def token(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    """A random token that has every class of its alphabet (so it looks generated)."""
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if alphabet != ALNUM or (any(c.islower() for c in value) and any(
                c.isupper() for c in value) and any(c.isdigit() for c in value)):
            return value


def findings_of(report: dict[str, Any], path: str | None = None,
                rule: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report["findings"]
            if (path is None or f["path"] == path) and (rule is None or f["rule_id"] == rule)]


def rule_lines(report: dict[str, Any], path: str | None = None) -> set[tuple[str, int]]:
    """{(rule_id, line)} of the active findings (of `path`)."""
    return {(f["rule_id"], f["line"]) for f in findings_of(report, path) if not f["suppressed"]}


def notice_kinds(report: dict[str, Any]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for notice in report["notices"]:
        kinds.setdefault(notice["path"], set()).add(notice["kind"])
    return kinds


def assert_absent(secrets: Iterable[str], outputs: dict[str, str]) -> None:
    """No secret appears whole in any of the named outputs."""
    leaks = [f"{secret[:12]}… ({len(secret)} chars) in {name}"
             for name, text in outputs.items() for secret in secrets if secret and secret in text]
    assert not leaks, "whole secrets in the output:\n" + "\n".join(leaks)
