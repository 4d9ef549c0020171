"""Committed binaries and bytecode (BOT508) and symbolic links out of the repository (BOT509),
through the whole scan: the walker, the `.gitignore` verdict, the files analyzer, the reports."""

from __future__ import annotations

import json
import marshal
import os
import py_compile
import random
from pathlib import Path

import pytest

from botscan.analyzers.files import binary_findings, bytecode
from botscan.deps import AuditSettings
from botscan.model import Confidence, Finding
from botscan.scan import ScanOptions, scan

KEY = "Xq7mTz2KpR9vLw4NbY8cHj3FsD6gAe1QuVi5oKy0rZt2wMx8nBl3jCh7gFd4sPe9"
SECRET = "Lr4Vn8QxK2mTb7YwZ1cJ6hFp3sGd9NaE0uRi5oXk2tMy7vBl4qCj9gHf1wSe6zPa"
KEYS_PY = f'"""Live keys."""\nBINANCE_API_KEY = "{KEY}"\nBINANCE_API_SECRET = "{SECRET}"\n'
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57


def compiled(tmp_path: Path, source: str, target: Path, **kwargs: object) -> Path:
    """`source` compiled to `target` from a throwaway file that is then deleted."""
    throwaway = tmp_path / "throwaway" / "src.py"
    throwaway.parent.mkdir(parents=True, exist_ok=True)
    throwaway.write_text(source, encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    py_compile.compile(str(throwaway), cfile=str(target), dfile=target.stem.split(".")[0] + ".py",
                       doraise=True, **kwargs)  # type: ignore[arg-type]
    throwaway.unlink()
    return target


def run(root: Path) -> list[Finding]:
    return scan([root], ScanOptions(audit=AuditSettings(offline=True), jobs=1,
                                    dependencies=False)).findings


def by_path(findings: list[Finding]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in findings:
        found.setdefault(finding.location.path, set()).add(finding.rule_id)
    return found


# --- bytecode, without unmarshalling -----------------------------------------------------------

def test_strings_are_read_without_marshal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyc = compiled(tmp_path, KEYS_PY, tmp_path / "__pycache__" / "keys.cpython-311.pyc")

    real_loads = marshal.loads

    def guarded(data: bytes, *args: object) -> object:
        # Imports still unmarshal the interpreter's own bytecode; never the scanned file.
        assert KEY.encode() not in bytes(data), "marshal must never read scanned bytes"
        return real_loads(data)

    monkeypatch.setattr(marshal, "loads", guarded)
    found = bytecode.strings(pyc.read_bytes())
    assert found.index(KEY) < found.index(SECRET) < found.index("BINANCE_API_KEY")
    findings = binary_findings("__pycache__/keys.cpython-311.pyc", pyc.read_bytes(),
                               source_present=False)
    assert {f.rule_id for f in findings} == {"BOT508", "BOT101", "BOT102"}


@pytest.mark.parametrize("seed", range(20))
def test_hostile_bytecode_never_crashes(seed: int) -> None:
    rng = random.Random(seed)
    data = b"\xa7\r\r\n" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 4000)))
    cut = bytes(rng.choice(b"szZaAut\xf3\xfa") for _ in range(50)) + b"\xff\xff\xff\x7f"
    for blob in (data, data[:10], cut * 100):
        binary_findings("x.pyc", blob, source_present=False)
        assert len(bytecode.strings(blob)) <= bytecode.MAX_STRINGS


@pytest.mark.parametrize(("path", "source", "cached"), [
    ("strategy/__pycache__/keys.cpython-311.pyc", "strategy/keys.py", True),
    ("__pycache__/keys.cpython-312.opt-2.pyc", "keys.py", True),
    ("strategy/keys.pyc", "strategy/keys.py", False),
])
def test_source_of(path: str, source: str, cached: bool) -> None:
    assert bytecode.source_of(path) == (source, cached)


def test_header_flags(tmp_path: Path) -> None:
    checked = compiled(tmp_path, "X = 1\n", tmp_path / "a.pyc",
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    unchecked = compiled(tmp_path, "X = 1\n", tmp_path / "b.pyc",
                         invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    timestamp = compiled(tmp_path, "X = 1\n", tmp_path / "c.pyc")
    assert [bytecode.header(p.read_bytes()) for p in (checked, unchecked, timestamp)] == [
        bytecode.Header(True, True), bytecode.Header(True, False), bytecode.Header(False, False)]
    assert bytecode.header(b"not bytecode at all") is None


# --- through the scan ----------------------------------------------------------------------------

def test_deleted_key_file_still_committed_as_bytecode(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    compiled(tmp_path, KEYS_PY, root / "__pycache__" / "keys.cpython-311.pyc")
    (root / "bot.py").write_text("import os\nKEY = os.environ['BINANCE_API_KEY']\n")
    findings = run(root)
    pyc = [f for f in findings if f.location.path == "__pycache__/keys.cpython-311.pyc"]
    assert {f.rule_id for f in pyc} == {"BOT508", "BOT101", "BOT102"}
    assert all(f.location.line == 1 and f.snippet == "" for f in pyc)
    [bot508] = [f for f in pyc if f.rule_id == "BOT508"]
    assert "`keys.py`, which is not in the repository" in bot508.message
    assert bot508.confidence is Confidence.HIGH
    everything = json.dumps([f.message for f in findings] + [f.evidence for f in findings])
    assert KEY not in everything and SECRET not in everything


def test_bytecode_beside_its_source_is_less_suspicious_unless_unchecked(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    (root / "strategy.py").parent.mkdir(parents=True)
    (root / "strategy.py").write_text("X = 1\n")
    compiled(tmp_path, "X = 1\n", root / "__pycache__" / "strategy.cpython-311.pyc")
    compiled(tmp_path, "X = 2\n", root / "__pycache__" / "other.cpython-311.pyc",
             invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    (root / "other.py").write_text("X = 1\n")
    compiled(tmp_path, "def f():\n    return 1\n", root / "helpers.pyc")
    found = {f.location.path: f for f in run(root) if f.rule_id == "BOT508"}
    assert found["__pycache__/strategy.cpython-311.pyc"].confidence is Confidence.MEDIUM
    assert "Unchecked hash-based" in found["__pycache__/other.cpython-311.pyc"].message
    assert found["__pycache__/other.cpython-311.pyc"].confidence is Confidence.HIGH
    assert "`import helpers` runs this file" in found["helpers.pyc"].message


def test_compiled_code_by_name_or_by_magic(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    files = {
        "indicators.py": b"def ema(): pass\n",
        "indicators.cpython-311-x86_64-linux-gnu.so": ELF,
        "vendor/TA_Lib-0.4.32-cp311-cp311-win_amd64.whl": b"PK\x03\x04" + b"\x00" * 60,
        "bin/updater": ELF,                       # no suffix: the magic says ELF
        "tools/run.dat": b"MZ\x90\x00" + b"\x00" * 60,  # a PE under a data-ish name
        "data/BTC_USDT-1h.feather": b"ARROW1\x00\x00" + bytes(range(200)),
        "docs/chart.png": b"\x89PNG\r\n\x1a\n" + ELF,  # an image: never read
        "models/params.bin": bytes(random.Random(1).randrange(256) for _ in range(256)),
        "big/libhuge.so": ELF + b"\x00" * 3_000_000,  # over the text size cap
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    findings = [f for f in run(root) if f.rule_id == "BOT508"]
    assert {f.location.path for f in findings} == {
        "indicators.cpython-311-x86_64-linux-gnu.so", "vendor/TA_Lib-0.4.32-cp311-cp311-"
        "win_amd64.whl", "bin/updater", "tools/run.dat", "big/libhuge.so"}
    [so] = [f for f in findings if f.location.path.startswith("indicators")]
    assert "instead of `indicators.py`" in so.message


def test_gitignored_bytecode_is_not_committed(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    (root / ".git").mkdir(parents=True)
    (root / ".gitignore").write_text("__pycache__/\n*.so\n!keep/*.so\n")
    (root / "bot.py").write_text("X = 1\n")
    compiled(tmp_path, "X = 1\n", root / "__pycache__" / "bot.cpython-311.pyc")
    compiled(tmp_path, KEYS_PY, root / "sub" / "__pycache__" / "keys.cpython-311.pyc")
    (root / "native.so").write_bytes(ELF)
    (root / "keep").mkdir()
    (root / "keep" / "kept.so").write_bytes(ELF)
    assert by_path(run(root)) == {"keep/kept.so": {"BOT508"}}


def test_binaries_under_default_excludes_are_not_walked(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    for rel in (".venv/lib/python3.11/site-packages/x.so", "node_modules/a/b.node.exe",
                ".git/objects/pack/p.pack", "build/lib/bot.so"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ELF)
    assert run(root) == []


# --- symbolic links out of the repository (BOT509) ----------------------------------------------

links = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")


@links
def test_links_out_of_the_root_are_findings_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "home" / ".ssh"
    outside.mkdir(parents=True)
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    (outside / "id_ed25519").write_text(secret)
    root = tmp_path / "bot"
    (root / "conf").mkdir(parents=True)
    (root / "bot.py").write_text("X = 1\n")
    (root / "config.json").symlink_to(outside / "id_ed25519")
    (root / "conf" / "wallet.json").symlink_to(Path("..", "..", "home", ".ssh", "id_ed25519"))
    (root / "keys").symlink_to(outside, target_is_directory=True)
    (root / "gone.pem").symlink_to(tmp_path / "elsewhere" / "missing.pem")
    (root / "alias.py").symlink_to("bot.py")  # inside: silent, and scanned as bot.py
    (root / "loop").symlink_to("loop")
    result = scan([root], ScanOptions(audit=AuditSettings(offline=True), jobs=1))
    bot509 = {f.location.path: f for f in result.findings if f.rule_id == "BOT509"}
    assert set(bot509) == {"config.json", "conf/wallet.json", "keys", "gone.pem"}
    assert "absent on this machine" in bot509["gone.pem"].message
    assert "absent" not in bot509["config.json"].message
    assert {n.path for n in result.notices} >= set(bot509)  # still a notice: not scanned
    assert secret.splitlines()[1] not in json.dumps([f.message for f in result.findings])


@links
def test_link_targets_show_the_home_directory_as_tilde(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "trader"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\n")
    monkeypatch.setenv("HOME", str(home))
    root = tmp_path / "bot"
    root.mkdir()
    (root / "creds").symlink_to(home / ".aws" / "credentials")
    [finding] = [f for f in run(root) if f.rule_id == "BOT509"]
    assert "`~/.aws/credentials`" in finding.message and str(home) not in finding.message
    assert finding.evidence["target"] == "~/.aws/credentials"
