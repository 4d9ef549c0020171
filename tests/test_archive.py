"""Archives read in memory: members come out like files on disk, and nothing an archive can
do (climbing names, links, bombs, floods of members) writes a file or escapes a cap."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from botscan.model import Notice, NoticeKind
from botscan.scan import ScanOptions, scan
from botscan.sources.archive import ArchiveLimits, clean_name, is_archive, read_archive
from botscan.sources.walker import FileKind, SourceFile

# A realistic Binance-shaped secret (64 alphanumerics), made up for these tests.
SECRET = "q7Hx2LmR9vT4nB8cW1kZ6pJ3sD5fG0aYeU2iO7rQ9wE4tY6uI8oP1aS3dF5gH7jK"
BOT = (
    "import ccxt\n"
    f'exchange = ccxt.binance({{"apiKey": "k", "secret": "{SECRET}"}})\n'
    "exchange.create_market_buy_order('BTC/USDT', 0.01)\n"
)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _items(path: Path, **kwargs: object) -> tuple[dict[str, SourceFile], list[Notice]]:
    files: dict[str, SourceFile] = {}
    notices: list[Notice] = []
    for item in read_archive(path, **kwargs):  # type: ignore[arg-type]
        if isinstance(item, Notice):
            notices.append(item)
        else:
            files[item.path] = item
    return files, notices


@pytest.mark.parametrize("name,mode", [("bot.tar.gz", "w:gz"), ("bot.tar.bz2", "w:bz2"),
                                       ("bot.tar.xz", "w:xz"), ("bot.tar", "w"),
                                       ("bot.tgz", "w:gz")])
def test_tar_members_come_out_classified_with_their_bytes(tmp_path: Path, name: str,
                                                          mode: str) -> None:
    archive = _tar(tmp_path / name, {"bot-main/bot.py": BOT.encode(),
                                     "bot-main/README.md": b"# a bot\n",
                                     "bot-main/logo.png": b"\x89PNG\r\n\x1a\n\0\0"}, mode)
    files, notices = _items(archive)
    assert notices == []
    assert files["bot-main/bot.py"].kind is FileKind.PYTHON
    assert files["bot-main/bot.py"].read() == BOT.encode()
    assert files["bot-main/README.md"].kind is FileKind.TEXT
    assert files["bot-main/logo.png"].kind is FileKind.BINARY
    assert all(f.abspath == archive for f in files.values())


def test_zip_and_wheel_are_read(tmp_path: Path) -> None:
    for name in ("bot.zip", "bot-1.0-py3-none-any.whl"):
        archive = _zip(tmp_path / name, {"bot/__init__.py": BOT.encode()})
        assert is_archive(archive)
        files, _ = _items(archive)
        assert files["bot/__init__.py"].kind is FileKind.PYTHON


@pytest.mark.parametrize("raw,cleaned,escapes", [
    ("bot/main.py", "bot/main.py", False),
    ("./bot//main.py", "bot/main.py", False),
    ("bot/../main.py", "main.py", False),
    ("../../escape.py", "escape.py", True),
    ("bot/../../../etc/cron.d/x", "etc/cron.d/x", True),
    ("/etc/passwd", "etc/passwd", True),
    ("C:\\Users\\me\\evil.py", "Users/me/evil.py", True),
    ("..\\..\\win.py", "win.py", True),
])
def test_member_names_are_cleaned_lexically(raw: str, cleaned: str, escapes: bool) -> None:
    assert clean_name(raw) == (cleaned, escapes)


def test_climbing_member_is_scanned_in_memory_and_written_nowhere(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    archive = _zip(work / "bot.zip", {"../../escape.py": BOT.encode(),
                                      "/abs/evil.py": b"print(1)\n"})
    before = {p for p in tmp_path.rglob("*")}
    cwd = os.getcwd()
    os.chdir(work)
    try:
        result = scan([archive], ScanOptions(jobs=1, dependencies=False))
    finally:
        os.chdir(cwd)
    assert {p for p in tmp_path.rglob("*")} == before
    assert not (tmp_path / "escape.py").exists() and not Path("/abs/evil.py").exists()
    traversal = [n for n in result.notices if n.kind is NoticeKind.ARCHIVE]
    assert {n.path for n in traversal} == {"escape.py", "abs/evil.py"}
    assert "points outside the archive" in traversal[0].message
    # The key in the climbing member is still found, and never printed whole.
    assert any(f.location.path == "escape.py" and f.rule_id.startswith("BOT1")
               for f in result.findings)
    assert all(SECRET not in f.snippet + f.message for f in result.findings)


def test_zero_stream_hits_the_caps_and_the_scan_goes_on(tmp_path: Path) -> None:
    zeros = b"\0" * (200 * 1024 * 1024)
    archive = _zip(tmp_path / "bomb.zip", {"a/bot.py": BOT.encode(), "a/zeros.txt": zeros,
                                           "a/z/late.py": b"x = 1\n"})
    del zeros
    files, notices = _items(archive)
    assert set(files) == {"a/bot.py", "a/z/late.py"}
    assert [n.kind for n in notices] == [NoticeKind.TOO_LARGE]
    assert "209,715,200 bytes" in notices[0].message


def test_a_tar_member_over_the_cap_is_not_read(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_file_bytes=1000, max_total_bytes=5000)
    archive = _tar(tmp_path / "big.tar.gz", {"big.txt": b"a" * 1500, "ok.py": b"x = 1\n"})
    files, notices = _items(archive, limits=limits)
    assert set(files) == {"ok.py"}
    assert notices[0].path == "big.txt" and notices[0].kind is NoticeKind.TOO_LARGE


def test_a_zip_header_that_lies_about_the_size_costs_one_member(tmp_path: Path) -> None:
    """A central directory that understates a member's size: the member fails its checksum
    and is reported; the members after it are still read."""
    archive = _zip(tmp_path / "lie.zip", {"a_lie.txt": b"a" * 1500, "z_ok.py": b"x = 1\n"})
    data = bytearray(archive.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10
    archive.write_bytes(bytes(data))
    files, notices = _items(archive)
    assert set(files) == {"z_ok.py"}
    assert notices[0].path == "a_lie.txt" and "damaged" in notices[0].message


def test_total_expansion_cap_stops_reading_with_a_notice(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_file_bytes=1000, max_total_bytes=2500)
    archive = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" * 900 for i in range(6)})
    files, notices = _items(archive, limits=limits)
    assert len(files) == 2
    assert notices[-1].kind is NoticeKind.ARCHIVE
    assert "expanded size cap" in notices[-1].message


def test_a_huge_tar_member_spends_the_budget_it_costs_to_skip(tmp_path: Path) -> None:
    """Passing over a member of a compressed tar means decompressing it: a stream of members
    of 200 MB each must stop at the budget, not decompress them all."""
    limits = ArchiveLimits(max_file_bytes=1000, max_total_bytes=10_000)
    archive = _tar(tmp_path / "bombs.tar.gz", {f"z{i}.bin.txt": b"\0" * 20_000
                                               for i in range(5)})
    files, notices = _items(archive, limits=limits)
    assert files == {}
    assert notices[-1].kind is NoticeKind.ARCHIVE and "cap" in notices[-1].message
    assert len(notices) == 2  # one too-large member, then the cap


def test_member_count_cap(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "flood.zip", {f"m/{i}.txt": b"" for i in range(50)})
    files, notices = _items(archive, limits=ArchiveLimits(max_members=10))
    assert len(files) == 10
    assert "more than 10 members" in notices[-1].message


def test_links_devices_and_encrypted_members_are_reported_not_read(tmp_path: Path) -> None:
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as archive:
        for name, kind, target in (("ssh", tarfile.SYMTYPE, "/home/me/.ssh/id_ed25519"),
                                   ("passwd", tarfile.LNKTYPE, "/etc/passwd"),
                                   ("fifo", tarfile.FIFOTYPE, "")):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    files, notices = _items(path)
    assert files == {}
    by_path = {n.path: n for n in notices}
    assert by_path["ssh"].kind is NoticeKind.SYMLINK
    assert "/home/me/.ssh/id_ed25519" in by_path["ssh"].message
    assert by_path["passwd"].kind is NoticeKind.SYMLINK
    assert by_path["fifo"].kind is NoticeKind.ARCHIVE

    zipped = tmp_path / "link.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        info = zipfile.ZipInfo("wallet.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/home/me/.config/solana/id.json")
        archive.writestr("secret.py", b"garbage")
    _mark_encrypted(zipped, b"secret.py")
    files, notices = _items(zipped)
    assert files == {}
    assert {(n.path, n.kind) for n in notices} == {("wallet.json", NoticeKind.SYMLINK),
                                                   ("secret.py", NoticeKind.ARCHIVE)}


def _mark_encrypted(path: Path, name: bytes) -> None:
    """Set the "encrypted" flag of `name` in its local and central headers (zipfile cannot
    write encrypted members)."""
    data = bytearray(path.read_bytes())
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        start = data.find(signature)
        while start >= 0:
            if data[start + name_at:start + name_at + len(name)] == name:
                data[start + flags_at] |= 0x1
            start = data.find(signature, start + 1)
    path.write_bytes(bytes(data))


def test_duplicate_names_are_all_scanned(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bot.py", b"x = 1\n")
        with pytest.warns(UserWarning):
            archive.writestr("bot.py", BOT.encode())
    result = scan([path], ScanOptions(jobs=1, dependencies=False))
    assert any(f.rule_id.startswith("BOT1") for f in result.findings)
    assert any("more than once" in n.message for n in result.notices)


def test_damaged_archive_gives_what_was_read_and_a_notice(tmp_path: Path) -> None:
    good = _tar(tmp_path / "whole.tar", {"a.py": b"x = 1\n", "b.txt": b"y" * 4000}, "w")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[:2048])
    files, notices = _items(cut)
    assert "a.py" in files
    assert notices and notices[-1].kind is NoticeKind.ARCHIVE


def test_not_an_archive_is_a_usage_error(tmp_path: Path) -> None:
    fake = tmp_path / "bot.zip"
    fake.write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip or tar archive"):
        list(read_archive(fake))


def test_excludes_apply_to_members(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bot.zip", {"bot/venv/lib/x.py": b"x = 1\n",
                                          "bot/tests/t.py": b"y = 2\n", "bot/main.py": b"z\n"})
    files, _ = _items(archive, exclude=("tests/",))
    assert set(files) == {"bot/main.py"}
    files, _ = _items(archive, use_default_excludes=False)
    assert set(files) == {"bot/venv/lib/x.py", "bot/tests/t.py", "bot/main.py"}


def test_archive_and_directory_give_the_same_findings(tmp_path: Path) -> None:
    tree = tmp_path / "bot"
    (tree / "strategies").mkdir(parents=True)
    (tree / "strategies" / "bot.py").write_text(BOT)
    (tree / "requirements.txt").write_text("ccxt>=4\nrequests==2.19.0\n")
    archive = _zip(tmp_path / "bot.zip", {
        str(p.relative_to(tree)).replace(os.sep, "/"): p.read_bytes()
        for p in tree.rglob("*") if p.is_file()})
    options = ScanOptions(jobs=1)
    from_dir = scan([tree], options)
    from_zip = scan([archive], options)

    def shape(result: object) -> list[tuple[str, str, int, str]]:
        return sorted((f.rule_id, f.location.path, f.location.line, f.fingerprint)
                      for f in result.findings)  # type: ignore[attr-defined]

    assert shape(from_dir) == shape(from_zip)
    assert [(d.name, d.version) for d in from_dir.dependencies] == \
        [(d.name, d.version) for d in from_zip.dependencies]
