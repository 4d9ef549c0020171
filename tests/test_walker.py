"""The walker on real trees in `tmp_path`, including hostile ones: links out of the root, loops,
FIFOs, binaries dressed as Python, undecodable names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from botscan.model import Notice, NoticeKind
from botscan.sources.walker import FileKind, SourceFile, walk

MARKER = "OUTSIDE-SECRET-7f3a9c"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX file types")


def write(root: Path, rel: str, data: bytes | str = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def scan(
    *paths: Path,
    exclude: Sequence[str] = (),
    use_default_excludes: bool = True,
    max_file_bytes: int = 2_000_000,
) -> list[SourceFile | Notice]:
    items = walk(
        paths,
        exclude=exclude,
        use_default_excludes=use_default_excludes,
        max_file_bytes=max_file_bytes,
    )
    return list(items)


def bounded_scan(paths: Sequence[Path], timeout: float = 20.0) -> list[SourceFile | Notice]:
    """Run the walk in a daemon thread, so a regression that blocks (on a FIFO, a loop) fails
    the test instead of hanging the whole run."""
    result: list[SourceFile | Notice] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.extend(walk(paths))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "walk() blocked"
    if errors:
        raise errors[0]
    return result


def files(items: Iterable[SourceFile | Notice]) -> dict[str, SourceFile]:
    return {i.path: i for i in items if isinstance(i, SourceFile)}


def notices(items: Iterable[SourceFile | Notice], kind: NoticeKind | None = None) -> list[Notice]:
    return [i for i in items if isinstance(i, Notice) and (kind is None or i.kind is kind)]


def assert_nothing_outside(items: Iterable[SourceFile | Notice], root: Path) -> None:
    real_root = root.resolve()
    for item in items:
        if isinstance(item, SourceFile):
            assert item.abspath.is_relative_to(real_root), item
            assert MARKER not in item.abspath.read_text(errors="replace")
        else:
            assert MARKER not in item.message


# -- excludes ---------------------------------------------------------------------------------


def test_default_excludes_prune_tool_and_environment_directories(tmp_path: Path) -> None:
    for rel in [
        "src/bot.py",
        "config/env/settings.py",  # `env` without pyvenv.cfg is ordinary code
        ".git/hooks/pre-commit.py",
        ".hg/x.py",
        ".svn/x.py",
        ".venv/lib/x.py",
        "venv/lib/x.py",
        "env/pyvenv.cfg",
        "env/lib/x.py",
        "tools/myenv/pyvenv.cfg",
        "tools/myenv/lib/x.py",
        "web/node_modules/pkg/index.js",
        "src/__pycache__/bot.cpython-311.pyc",
        ".mypy_cache/x.json",
        ".pytest_cache/x",
        ".ruff_cache/x",
        ".tox/py311/x.py",
        ".nox/x.py",
        ".eggs/x.py",
        "botpkg.egg-info/PKG-INFO",
        "build/lib/bot.py",
        "deep/er/dist/bot.py",
        "lib/site-packages/requests/api.py",
        ".botscan_cache/x",
    ]:
        write(tmp_path, rel)
    found = files(scan(tmp_path))
    # `__pycache__` is walked: a committed `.pyc` is a finding (BOT508), never read as text.
    assert set(found) == {"src/bot.py", "config/env/settings.py",
                          "src/__pycache__/bot.cpython-311.pyc"}
    assert found["src/__pycache__/bot.cpython-311.pyc"].kind is FileKind.BINARY


def test_default_excludes_apply_to_directories_only(tmp_path: Path) -> None:
    write(tmp_path, "build", "#!/usr/bin/env python3\nprint('a script named build')\n")
    found = files(scan(tmp_path))
    assert found["build"].kind is FileKind.PYTHON


def test_default_excludes_can_be_turned_off(tmp_path: Path) -> None:
    write(tmp_path, "src/bot.py")
    write(tmp_path, "build/lib/bot.py")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "env/lib/x.py")
    found = files(scan(tmp_path, use_default_excludes=False))
    assert set(found) == {"src/bot.py", "build/lib/bot.py", "env/pyvenv.cfg", "env/lib/x.py"}


def test_root_named_like_a_default_exclude_is_still_scanned(tmp_path: Path) -> None:
    write(tmp_path, "build/bot.py")
    assert set(files(scan(tmp_path / "build"))) == {"bot.py"}


def test_user_exclude_patterns(tmp_path: Path) -> None:
    for rel in [
        "fixtures/leaky.py",
        "data/fixtures",  # a file: `fixtures/` only matches directories
        "tests/test_a.py",
        "tests/sub/test_b.py",  # `tests/*.py`: the star stays inside one directory
        "tests/conftest.txt",
        "pkg/deep/generated_api.py",
        "generated_top.py",
        "docs/conf.py",
        "pkg/docs/notes.md",
        "src/docs.py",
        "src/bot.py",
    ]:
        write(tmp_path, rel)
    exclude = ["fixtures/", "tests/*.py", "**/generated_*.py", "docs"]
    found = set(files(scan(tmp_path, exclude=exclude)))
    assert found == {
        "data/fixtures",
        "tests/sub/test_b.py",
        "tests/conftest.txt",
        "src/docs.py",
        "src/bot.py",
    }


def test_more_glob_forms(tmp_path: Path) -> None:
    for rel in ["a/b.py", "a/x/y/b.py", "keep/b.py", "v1.py", "v2.py", "vx.py", "notes/q.md"]:
        write(tmp_path, rel)
    exclude = ["/a/**/b.py", "v[0-9].py", "notes/**"]
    assert set(files(scan(tmp_path, exclude=exclude))) == {"keep/b.py", "vx.py"}


def test_excluded_directories_are_not_descended(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/secret.txt", MARKER)
    root = tmp_path / "repo"
    write(root, "bot.py")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "escape").symlink_to(outside)
    (root / "fixtures").mkdir()
    (root / "fixtures" / "escape").symlink_to(outside)
    items = scan(root, exclude=["fixtures/"])
    assert items == [SourceFile("bot.py", (root / "bot.py").resolve(), 6, FileKind.PYTHON)]


@pytest.mark.parametrize("pattern", ["!keep.py", "/", "", "  "])
def test_malformed_patterns_are_refused_before_walking(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(ValueError, match="exclude pattern"):
        walk([tmp_path], exclude=[pattern])


# -- arguments --------------------------------------------------------------------------------


def test_missing_path_raises_at_call_time(tmp_path: Path) -> None:
    write(tmp_path, "bot.py")
    with pytest.raises(FileNotFoundError, match=r"nope\.py"):
        walk([tmp_path / "bot.py", tmp_path / "nope.py"])  # not iterated: raised eagerly
    with pytest.raises(FileNotFoundError):
        walk([tmp_path / "bot.py" / "child.py"])


def test_explicit_files_bypass_default_excludes_but_not_user_excludes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "build/gen.py")
    write(tmp_path, "tests/test_x.py")
    write(tmp_path, "src/bot.py")
    monkeypatch.chdir(tmp_path)
    items = scan(Path("build/gen.py"), Path("./src/../src/bot.py"), Path("tests/test_x.py"))
    assert set(files(items)) == {"build/gen.py", "src/bot.py", "tests/test_x.py"}
    items = scan(Path("build/gen.py"), Path("tests/test_x.py"), exclude=["tests/", "gen.py"])
    assert items == []


def test_explicit_file_paths_as_the_user_would_recognise_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = write(tmp_path, "repo/src/bot.py")
    outside = write(tmp_path, "elsewhere/tool.py")
    monkeypatch.chdir(tmp_path / "repo")
    found = files(scan(inside, Path("../elsewhere/./tool.py"), outside))
    assert set(found) == {"src/bot.py", "../elsewhere/tool.py", outside.as_posix()}
    assert found["src/bot.py"].abspath == inside.resolve()


def test_repeated_arguments_yield_each_item_once(tmp_path: Path) -> None:
    write(tmp_path, "bot.py")
    assert len(scan(tmp_path, tmp_path)) == 1


# -- symbolic links ---------------------------------------------------------------------------


def test_link_to_a_file_outside_the_root_is_reported_not_read(tmp_path: Path) -> None:
    outside = write(tmp_path, "home/.aws/credentials", MARKER)
    root = tmp_path / "repo"
    write(root, "bot.py")
    (root / "creds.py").symlink_to(outside)
    (root / "relative.txt").symlink_to(Path("..") / "home" / ".aws" / "credentials")
    items = scan(root)
    assert set(files(items)) == {"bot.py"}
    symlinks = notices(items, NoticeKind.SYMLINK)
    assert [n.path for n in symlinks] == ["creds.py", "relative.txt"]
    assert all("outside the scanned root" in n.message for n in symlinks)
    assert_nothing_outside(items, root)


def test_link_to_a_directory_outside_the_root_is_reported_not_descended(tmp_path: Path) -> None:
    write(tmp_path, "wallets/keys.py", f"KEY = '{MARKER}'\n")
    root = tmp_path / "repo"
    write(root, "bot.py")
    (root / "vendor").symlink_to(tmp_path / "wallets", target_is_directory=True)
    items = scan(root)
    assert set(files(items)) == {"bot.py"}
    [notice] = notices(items)
    assert notice.kind is NoticeKind.SYMLINK and notice.path == "vendor"
    assert "outside" in notice.message
    assert_nothing_outside(items, root)


@pytest.mark.parametrize("cwd", ["repo", "."])
def test_named_link_leaving_its_directory_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cwd: str
) -> None:
    """CI passes a pull request's changed files, a user may scan from their home directory:
    either way a named link to a secret elsewhere must not be read."""
    outside = write(tmp_path, "home/.ssh/id_ed25519", MARKER)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "key.py").symlink_to(outside)
    (root / "sshdir").symlink_to(outside.parent, target_is_directory=True)
    monkeypatch.chdir(tmp_path / cwd)
    items = scan(root / "key.py", root / "sshdir")
    assert [n.kind for n in notices(items)] == [NoticeKind.SYMLINK, NoticeKind.SYMLINK]
    assert files(items) == {}
    assert_nothing_outside(items, root)


def test_named_link_within_its_directory_is_followed(tmp_path: Path) -> None:
    target = write(tmp_path, "src/bot.py")
    (tmp_path / "src" / "alias.py").symlink_to("bot.py")
    (tmp_path / "current").symlink_to("src", target_is_directory=True)
    found = files(scan(tmp_path / "src" / "alias.py", tmp_path / "current"))
    assert {f.abspath for f in found.values()} == {target.resolve()}


def test_links_inside_the_root(tmp_path: Path) -> None:
    write(tmp_path, "src/bot.py")
    (tmp_path / "alias.py").symlink_to(Path("src") / "bot.py")
    (tmp_path / "srclink").symlink_to(tmp_path / "src", target_is_directory=True)
    items = scan(tmp_path)
    found = files(items)
    assert set(found) == {"alias.py", "src/bot.py"}
    assert found["alias.py"].abspath == (tmp_path / "src" / "bot.py").resolve()
    [notice] = notices(items)
    assert notice.path == "srclink" and notice.kind is NoticeKind.SYMLINK
    assert "not descended" in notice.message


def test_link_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path, "bot.py")
    (tmp_path / "a").symlink_to(".")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    items = bounded_scan([tmp_path])
    assert set(files(items)) == {"bot.py"}
    by_path = {n.path: n for n in notices(items, NoticeKind.SYMLINK)}
    assert set(by_path) == {"a", "sub/up", "x", "y"}
    assert "loop" in by_path["x"].message


def test_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to("does-not-exist.py")
    [notice] = scan(tmp_path)
    assert isinstance(notice, Notice)
    assert notice.kind is NoticeKind.SYMLINK and "does not exist" in notice.message


# -- special files ----------------------------------------------------------------------------


@posix_only
def test_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    write(tmp_path, "bot.py")
    os.mkfifo(tmp_path / "pipe.py")
    os.mkfifo(tmp_path / "pipe2")
    (tmp_path / "via-link.py").symlink_to("pipe2")
    items = bounded_scan([tmp_path, tmp_path / "pipe.py"])
    assert set(files(items)) == {"bot.py"}
    unread = notices(items, NoticeKind.UNREADABLE)
    assert [n.path for n in unread][:3] == ["pipe.py", "pipe2", "via-link.py"]
    assert all("named pipe" in n.message for n in unread)


# -- classification ---------------------------------------------------------------------------


def test_binary_named_like_python_is_flagged(tmp_path: Path) -> None:
    write(tmp_path, "evil.py", b"\xa7\r\r\n\x00\x00\x00\x00" + bytes(range(256)))
    items = scan(tmp_path)
    assert files(items)["evil.py"].kind is FileKind.BINARY
    [notice] = notices(items)
    assert notice.kind is NoticeKind.BINARY and notice.path == "evil.py"
    assert "named like Python" in notice.message


def test_control_bytes_do_not_hide_python_from_analysis(tmp_path: Path) -> None:
    """CPython runs a script whose comment is full of control bytes; so must we analyse it."""
    write(tmp_path, "sly.py", b"import os  # " + b"\x01\x02\x03" * 200 + b"\nos.system('x')\n")
    items = scan(tmp_path)
    assert files(items)["sly.py"].kind is FileKind.PYTHON
    assert notices(items) == []


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("strategy.py", b"print('hi')\n", FileKind.PYTHON),
        ("gui.pyw", b"x = 1\n", FileKind.PYTHON),
        ("stubs.pyi", b"def f() -> int: ...\n", FileKind.PYTHON),
        ("empty.py", b"", FileKind.PYTHON),
        ("run", b"#!/usr/bin/env python3\nprint(1)\n", FileKind.PYTHON),
        ("run2", b"#!/usr/local/bin/python3.11 -u\nprint(1)\n", FileKind.PYTHON),
        ("run3", b"#!/usr/bin/env -S uv run --script\nprint(1)\n", FileKind.PYTHON),
        ("deploy", b"#!/bin/bash\necho hi\n", FileKind.TEXT),
        ("run.sh", b"#!/usr/bin/env python3\nprint(1)\n", FileKind.TEXT),
        ("README.md", b"# Bot\n", FileKind.TEXT),
        (".env", b"API_KEY=abc\n", FileKind.TEXT),
        ("win.env", "API_KEY=abc\r\n".encode("utf-16"), FileKind.TEXT),
        ("logo.png", b"not really a png", FileKind.BINARY),
        ("model.PKL", b"text inside", FileKind.BINARY),
        ("blob.dat", b"abc\x00def", FileKind.BINARY),
        ("noise.dat", bytes([1, 2, 3, 4, 5, 65]) * 50, FileKind.BINARY),
        ("colours.log", b"\x1b[31mred\x1b[0m\n" * 20, FileKind.TEXT),
    ],
)
def test_kinds(tmp_path: Path, name: str, data: bytes, kind: FileKind) -> None:
    write(tmp_path, name, data)
    [item] = scan(tmp_path)
    assert isinstance(item, SourceFile)
    assert (item.kind, item.size) == (kind, len(data))


def test_too_large_file_becomes_a_notice(tmp_path: Path) -> None:
    write(tmp_path, "big.py", b"#" * 101)
    write(tmp_path, "fits.py", b"#" * 100)
    items = scan(tmp_path, max_file_bytes=100)
    assert set(files(items)) == {"fits.py"}
    [notice] = notices(items)
    assert (notice.path, notice.kind) == ("big.py", NoticeKind.TOO_LARGE)
    assert "101" in notice.message and "100" in notice.message


# -- names, permissions, order ----------------------------------------------------------------


@posix_only
def test_undecodable_file_name(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.py"
    try:
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError as exc:  # some file systems insist on UTF-8 names
        pytest.skip(f"file system refuses non-UTF-8 names: {exc}")
    os.write(fd, b"x = 1\n")
    os.close(fd)
    [item] = scan(tmp_path)
    assert isinstance(item, SourceFile)
    assert item.path == "caf\udce9.py"
    assert os.fsencode(item.path) == b"caf\xe9.py"
    assert item.abspath.read_bytes() == b"x = 1\n"
    assert item.kind is FileKind.PYTHON


def test_hostile_names_stay_out_of_notice_messages(tmp_path: Path) -> None:
    outside = write(tmp_path, "out/\x1b[2Jx\nfake", "data")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "l\x1b]0;t\x07.py").symlink_to(outside)
    [notice] = scan(root)
    assert isinstance(notice, Notice)
    assert notice.message.isprintable()


_LISTING = """
import sys
from pathlib import Path
from botscan.sources.walker import walk
for item in walk([Path(sys.argv[1])]):
    print(type(item).__name__, item.kind.value, item.path, sep="\t")
"""
_DROP_DAC = "-dac_override,-dac_read_search"


def listing_without_privilege(root: Path) -> list[tuple[str, str, str]]:
    """(type, kind, path) of each walked item, as a user without override rights sees them.

    Root reads files whatever their permission bits, so as root the walk runs in a child
    process stripped by setpriv(1) of the two capabilities that bypass them."""
    if sys.platform == "win32":
        pytest.skip("POSIX permission bits")
    if os.geteuid() != 0:
        return [(type(i).__name__, i.kind.value, i.path) for i in scan(root)]
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root reads any file; setpriv(1) is needed to drop that privilege")
    command = [setpriv, f"--inh-caps={_DROP_DAC}", f"--bounding-set={_DROP_DAC}"]
    done = subprocess.run(
        [*command, sys.executable, "-c", _LISTING, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "setpriv" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    listing = []
    for line in done.stdout.splitlines():
        kind, value, path = line.split("\t")
        listing.append((kind, value, path))
    return listing


@posix_only
def test_unreadable_file_and_directory(tmp_path: Path) -> None:
    write(tmp_path, "bot.py")
    locked = write(tmp_path, "locked.py")
    locked_dir = tmp_path / "private"
    write(locked_dir, "inner.py")
    locked.chmod(0)
    locked_dir.chmod(0)
    try:
        listing = listing_without_privilege(tmp_path)
    finally:
        locked.chmod(0o644)
        locked_dir.chmod(0o755)
    assert listing == [
        ("SourceFile", "python", "bot.py"),
        ("Notice", "unreadable", "locked.py"),
        ("Notice", "unreadable", "private"),
    ]


def test_order_is_sorted_and_repeatable(tmp_path: Path) -> None:
    for rel in ["b.py", "a.py", "a/z.py", "a/b/c.py", "a.b/x.py", "B.py", "_c.py", "z/a.py"]:
        write(tmp_path, rel)
    paths = [i.path for i in scan(tmp_path)]
    assert paths == sorted(paths, key=lambda p: p.split("/"))
    assert paths == [i.path for i in scan(tmp_path)]
    assert all("\\" not in p and not p.startswith(("/", "./")) for p in paths)


def test_deep_nesting_does_not_recurse(tmp_path: Path) -> None:
    """Deeper than the recursion limit allows a recursive walker. The limit is lowered for the
    walk rather than the tree made thousands deep: pytest's own clean-up of `tmp_path` recurses,
    and would fail on such a tree."""
    depth = 300
    deep = tmp_path
    for _ in range(depth):
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.py").write_text("x = 1\n")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth - 50)
    try:
        items = scan(tmp_path)
    finally:
        sys.setrecursionlimit(limit)
    [item] = items
    assert isinstance(item, SourceFile)
    assert item.path == "d/" * depth + "bottom.py"
