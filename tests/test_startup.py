"""Start-up imports only what a command uses: `botscan --help` loads no analyzer, and a
pre-commit run on one file loads no report template engine, no pip-audit, and (for a file that
is not Python) no libcst. Checked by what is imported, never by timing: the whole process
tree runs with `-X importtime`, whose report on stderr also covers the forked workers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_security import clean_env, write

HEAVY = ("libcst", "jinja2", "pip_audit", "detect_secrets")
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


def _imported(*args: str, cwd: Path) -> set[str]:
    """Every module any process of `python -m botscan ARGS` imported."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "botscan", *args],
                         cwd=cwd, capture_output=True, text=True, env=clean_env(),
                         timeout=120, check=False)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    return set(_IMPORTED.findall(run.stderr))


def _heavy(modules: set[str]) -> set[str]:
    """The heavy packages among `modules`."""
    return {m.split(".")[0] for m in modules} & set(HEAVY)


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("scan", "--help"),
                                  ("rules",), ("explain", "BOT101")])
def test_commands_that_scan_nothing_load_no_analyzer(args: tuple[str, ...],
                                                     tmp_path: Path) -> None:
    modules = _imported(*args, cwd=tmp_path)
    assert "botscan.cli" in modules
    assert not _heavy(modules)
    assert not {m for m in modules if m.startswith(("botscan.analyzers", "botscan.scan"))}


def test_a_one_file_scan_of_a_config_file_loads_no_parser(tmp_path: Path) -> None:
    write(tmp_path, ".env", "BINANCE_API_KEY=x\nLOG_LEVEL=info\n")
    modules = _imported("scan", ".env", "--no-history", "--offline", cwd=tmp_path)
    assert "botscan.analyzers.secrets.scanner" in modules  # it was scanned
    assert not _heavy(modules) - {"detect_secrets"}
    assert not {m for m in modules if m.startswith("detect_secrets.plugins")}


def test_a_one_file_scan_of_python_loads_the_parser_and_nothing_else_heavy(
        tmp_path: Path) -> None:
    write(tmp_path, "bot.py", "import os\n\nKEY = os.environ['BINANCE_API_KEY']\n")
    modules = _imported("scan", "bot.py", "--no-history", "--offline", cwd=tmp_path)
    assert "libcst" in modules
    assert not _heavy(modules) - {"libcst"}
