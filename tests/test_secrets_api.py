"""The secrets scanner's contract with the rest of botscan: which files, purity, robustness."""

from __future__ import annotations

import pickle
import random
import string
import time
from pathlib import Path

import pytest

from botscan.analyzers.secrets import Tracking, reads, scan_text_file
from botscan.model import NoticeKind
from botscan.scan import ScanOptions, scan

_RNG = random.Random(7)
SECRET = "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(64))


@pytest.mark.parametrize(
    ("path", "read"),
    [("config.json", True), ("README.md", True), ("LICENSE", True), ("data/ohlcv.csv", True),
     ("web/app.min.js", True), ("Dockerfile", True), ("logo.png", False),
     ("model.pkl", False), ("wheel.whl", False)],
)
def test_every_text_name_is_read(path: str, read: bool) -> None:
    assert reads(path) is read


def test_pure_and_picklable() -> None:
    data = f"BINANCE_API_SECRET={SECRET}\n".encode()
    first = scan_text_file(".env", data, tracking=Tracking.NOT_IGNORED)
    second = scan_text_file(".env", data, tracking=Tracking.NOT_IGNORED)
    assert first == second
    assert pickle.loads(pickle.dumps(first)) == first
    assert pickle.loads(pickle.dumps(Tracking.NOT_IGNORED)) is Tracking.NOT_IGNORED


def test_decoding_problems_are_notices() -> None:
    data = b"API_SECRET=" + SECRET.encode() + b"\xff\xfe\x80 caf\xc3\xa9\n"
    _, notices = scan_text_file("notes.txt", data)
    assert [n.kind for n in notices] == [NoticeKind.DECODING]


def test_utf16_env_file() -> None:
    data = f"BINANCE_API_SECRET={SECRET}\r\n".encode("utf-16")
    findings, _ = scan_text_file(".env", data)
    assert [(f.rule_id, f.location.line) for f in findings] == [("BOT101", 1)]


def test_extra_credential_names() -> None:
    data = f'{{"exchange": {{"vault_blob": "{SECRET}"}}}}\n'.encode()
    assert scan_text_file("config.json", data)[0] == []
    findings, _ = scan_text_file("config.json", data, extra_names=(("vault_blob", "secret"),))
    assert [f.rule_id for f in findings] == ["BOT101"]


def test_hostile_shapes_stay_fast() -> None:
    """Deep nesting, a megabyte line and a million quotes: bounded work, no exception."""
    cases = {
        "deep.json": b"[" * 200_000 + b"]" * 200_000,
        "minified.js": (b"var a='" + b"x" * 1_000_000 + b"';") * 1,
        "quotes.txt": b'"' * 1_000_000,
        "keys.yml": b"key: \n" * 100_000,
        "seed.txt": (b"abandon " * 200_000),
    }
    for path, data in cases.items():
        started = time.monotonic()
        scan_text_file(path, data)
        assert time.monotonic() - started < 10, path


def test_whole_scan_reads_text_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    rng = random.Random(3)
    hook = ("https://discord.com/api/webhooks/1094312867539025920/"
            + "".join(rng.choice(string.ascii_letters) for _ in range(68)))
    (tmp_path / "docs" / "alerts.md").write_text(f"Alerts go to {hook}\n", encoding="utf-8")
    (tmp_path / "deploy.sh").write_text(f"export BINANCE_API_SECRET={SECRET}\n",
                                        encoding="utf-8")
    result = scan([tmp_path], ScanOptions(jobs=1))
    assert {(f.location.path, f.rule_id) for f in result.findings} == {
        ("docs/alerts.md", "BOT107"), ("deploy.sh", "BOT101")}
