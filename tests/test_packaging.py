"""The catalog ships inside the package: a plain (non-editable) install must find `checks/`.

Building the wheel (in pip's isolated build environment) proves the packaging; `.ci/run` also
installs it into a fresh virtualenv and scans a fixture bot with it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_every_catalog_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("botscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"botscan/checks/{p.relative_to(REPO / 'checks').as_posix()}"
                for p in (REPO / "checks").rglob("*.toml")}
    assert expected and expected <= names
    assert not any(n.startswith(("fixtures/", "tests/")) for n in names)
