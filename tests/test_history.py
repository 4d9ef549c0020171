"""The git history source: real repositories built with git in `tmp_path`, nothing mocked.

What it must show: a key committed then deleted, and a key committed on a side branch, both come
back with the commit, date and path that introduced them; a blob held by many commits and
branches is read once; a key still at HEAD is left to the ordinary scan; market data is skipped
by shape while `config.json` is read; and a repository whose config points fsmonitor, hooks,
filters, textconv, signature checks and lazy fetches at commands never gets to run them.
"""

from __future__ import annotations

import os
import random
import shutil
import string
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from hostile_repo import arm_git
from mnemonic import Mnemonic

from botscan.model import Notice, NoticeKind
from botscan.sources import gitcmd
from botscan.sources.history import (
    HistoryBlob,
    credential_prefilter,
    history_blobs,
    make_credential_prefilter,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

_RNG = random.Random(20240611)


def _key(length: int = 64) -> str:
    return "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(length))


KEY_DELETED = _key()
KEY_BRANCH = _key()
KEY_HEAD = _key()


class Repo:
    """A git repository driven by the ordinary git CLI, isolated from the user's config.

    Commits get fixed, increasing dates so that tests can check the date a blob is reported
    with.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 1_600_000_000
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        date = f"{self.clock} +0000"
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
                   GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        return env

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, env=self.env(), check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            path = self.root / name
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")

    def commit(self, files: dict[str, str | bytes | None], message: str = "change") -> str:
        """Write (None: delete) the files, commit everything, return the commit id."""
        self.write(files)
        self.clock += 3600
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def blob_id(self, content: str | bytes) -> str:
        data = content.encode() if isinstance(content, str) else content
        return subprocess.run(["git", "hash-object", "--stdin"], input=data, check=True,
                              capture_output=True, env=self.env()).stdout.decode().strip()

    def iso_date(self, commit: str) -> str:
        return self.git("show", "-s", "--format=%cI", commit)


def _read(root: Path, **kwargs: object) -> tuple[list[HistoryBlob], list[Notice]]:
    blobs: list[HistoryBlob] = []
    notices: list[Notice] = []
    for item in history_blobs(root, **kwargs):  # type: ignore[arg-type]
        if isinstance(item, HistoryBlob):
            blobs.append(item)
        else:
            notices.append(item)
    return blobs, notices


def _by_blob(blobs: Iterable[HistoryBlob]) -> dict[str, HistoryBlob]:
    found: dict[str, HistoryBlob] = {}
    for blob in blobs:
        assert blob.blob not in found, f"blob {blob.blob} ({blob.path}) yielded twice"
        found[blob.blob] = blob
    return found


def _lines_with(blob: HistoryBlob, needle: str) -> list[int]:
    text = blob.data.decode("utf-8")
    return [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]


# --- what the issue asks for -------------------------------------------------------------------

@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """main: settings.py with a key, a later commit deletes it; branch `feature`: a key in
    .env; HEAD keeps config.json with a third key through several edits."""
    repo = Repo(tmp_path_factory.mktemp("story") / "bot")
    settings = f'NAME = "bot"\nBINANCE_API_SECRET = "{KEY_DELETED}"\n'
    config = '{\n  "exchange": {\n    "name": "binance",\n' \
             f'    "secret": "{KEY_HEAD}",\n    "pairs": ["BTC/USDT"]\n  }}\n}}\n'
    c_deleted = repo.commit({"bot/settings.py": settings, "config.json": config,
                             "README.md": "a bot\n"}, "add settings")
    repo.commit({"config.json": config.replace("BTC/USDT", "ETH/USDT")}, "eth")
    c_removed = repo.commit({"bot/settings.py": None}, "remove the key")
    repo.git("checkout", "-q", "-b", "feature")
    env_file = f"BINANCE_API_KEY={KEY_BRANCH}\n"
    c_branch = repo.commit({".env": env_file}, "env on a branch")
    repo.git("checkout", "-q", "main")
    repo.commit({"config.json": config.replace("BTC/USDT", "SOL/USDT"), "README.md": "bot\n"},
                "sol")
    return {"repo": repo, "c_deleted": c_deleted, "c_removed": c_removed, "c_branch": c_branch,
            "settings": settings, "env_file": env_file, "config": config}


def test_deleted_and_side_branch_keys_come_back_with_their_commit(story: dict[str, object],
                                                                  ) -> None:
    repo = story["repo"]
    assert isinstance(repo, Repo)
    blobs, notices = _read(repo.root)
    assert notices == []
    found = _by_blob(blobs)

    deleted = found[repo.blob_id(str(story["settings"]))]
    assert (deleted.path, deleted.commit) == ("bot/settings.py", story["c_deleted"])
    assert deleted.date == repo.iso_date(str(story["c_deleted"]))
    assert not deleted.at_head and not deleted.path_exists_at_head
    assert _lines_with(deleted, KEY_DELETED) == [2]
    assert 2 in deleted.new_lines
    assert deleted.data == str(story["settings"]).encode()

    branch = found[repo.blob_id(str(story["env_file"]))]
    assert (branch.path, branch.commit) == (".env", story["c_branch"])
    assert branch.date == repo.iso_date(str(story["c_branch"]))
    assert not branch.at_head and not branch.path_exists_at_head
    assert branch.new_lines == (1,)


def test_a_key_still_at_head_is_left_to_the_ordinary_scan(story: dict[str, object]) -> None:
    """The old versions of config.json hold the HEAD key too: none of them counts that line as
    new, so history reports it nowhere (the ordinary scan reports it once)."""
    repo = story["repo"]
    assert isinstance(repo, Repo)
    blobs, _ = _read(repo.root)
    configs = [b for b in blobs if b.path == "config.json"]
    assert len(configs) == 3
    at_head = [b for b in configs if b.at_head]
    assert len(at_head) == 1 and at_head[0].path_exists_at_head
    for blob in configs:
        if not blob.at_head:
            assert blob.path_exists_at_head
            assert not set(_lines_with(blob, KEY_HEAD)) & set(blob.new_lines)
    # The scan a consumer runs finds the HEAD key in no history excerpt.
    for blob in blobs:
        if not blob.at_head:
            text, _ = blob.excerpt()
            assert KEY_HEAD not in text


def test_new_lines_are_what_the_commit_added(story: dict[str, object]) -> None:
    repo = story["repo"]
    assert isinstance(repo, Repo)
    blobs, _ = _read(repo.root)
    readme = [b for b in blobs if b.path == "README.md"]
    assert [b.new_lines for b in readme] == [(1,), (1,)]
    second = next(b for b in blobs if b.path == "config.json" and b.commit != story["c_deleted"]
                  and not b.at_head)
    text, numbers = second.excerpt()
    assert text == '    "pairs": ["ETH/USDT"]'
    assert numbers == (5,)


def test_the_credential_prefilter_keeps_only_blobs_with_credential_lines(
        story: dict[str, object]) -> None:
    repo = story["repo"]
    assert isinstance(repo, Repo)
    blobs, _ = _read(repo.root, prefilter=credential_prefilter)
    paths = {(b.path, b.at_head) for b in blobs}
    assert ("bot/settings.py", False) in paths and (".env", False) in paths
    assert all(b.path != "README.md" for b in blobs)
    # Only the new lines are offered to the filter: the ETH edit has no credential name.
    assert not any(b.path == "config.json" and not b.at_head for b in blobs)


def test_a_blob_in_many_commits_and_branches_is_read_once(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    secret = f"API_SECRET={KEY_DELETED}\n"
    repo.commit({"secret.env": secret, "n.txt": "0\n"})
    for i in range(1, 21):
        repo.commit({"n.txt": f"{i}\n"})
    for branch in ("b1", "b2", "b3"):
        repo.git("checkout", "-q", "-b", branch, "main")
        for i in range(10):
            repo.commit({f"{branch}.txt": f"{i}\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"secret.env": None})
    assert int(repo.git("rev-list", "--all", "--count")) >= 50
    done: list[tuple[int, int]] = []
    blobs, _ = _read(repo.root, progress=lambda d, t: done.append((d, t)))
    found = _by_blob(blobs)
    secret_blob = found[repo.blob_id(secret)]
    assert secret_blob.new_lines == (1,) and not secret_blob.at_head
    assert done and done[-1][0] == done[-1][1] >= len(found)


def test_since_reads_only_the_commits_after_a_revision(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    old = f'SECRET = "{KEY_DELETED}"\nX = 1\n'
    base = repo.commit({"a.py": old})
    repo.git("tag", "v1")
    repo.commit({"a.py": old.replace("X = 1", "X = 2")})  # the old key line is not new
    added = repo.commit({"b.py": f'TOKEN = "{KEY_BRANCH}"\n'})
    repo.commit({"b.py": None})

    blobs, notices = _read(repo.root, since="v1")
    assert notices == []
    assert {b.commit for b in blobs} <= set(repo.git("rev-list", "v1..main").split())
    assert base not in {b.commit for b in blobs}
    a_blob = next(b for b in blobs if b.path == "a.py")
    assert _lines_with(a_blob, KEY_DELETED) == [1] and a_blob.new_lines == (2,)
    b_blob = next(b for b in blobs if b.path == "b.py")
    assert b_blob.commit == added and b_blob.new_lines == (1,)

    assert len(_read(repo.root, since="main")[0]) == 0
    for bad in ("no-such-ref", "--output=/tmp/x", ""):
        with pytest.raises(ValueError):
            _read(repo.root, since=bad)


def test_market_data_is_skipped_by_shape_and_config_json_is_not(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    rows = ["date,open,high,low,close,volume"] + [
        f"2021-01-{1 + i % 28:02d} {i % 24:02d}:00:00,{30000 + i * 1.5:.2f},{30010 + i:.2f},"
        f"{29990 + i:.2f},{30005 + i * 1.25:.2f},{100 + i * 0.37:.4f}" for i in range(3000)]
    candles = "[" + ",".join(f"[{1609459200000 + i * 300000},{30000 + i / 7:.4f},"
                             f"{30010 + i / 3:.4f},{29990 + i / 5:.4f},{30001 + i / 9:.4f},"
                             f"{12.5 + i / 11:.6f}]" for i in range(2000)) + "]"
    pairs = ",\n".join(f'      "{c}/USDT"' for c in
                       ("".join(_RNG.choice(string.ascii_uppercase) for _ in range(4))
                        for _ in range(3000)))
    config = ('{\n  "max_open_trades": 3,\n  "stake_currency": "USDT",\n  "exchange": {\n'
              f'    "name": "binance",\n    "key": "{KEY_HEAD}",\n    "secret": "{KEY_BRANCH}",\n'
              f'    "pair_whitelist": [\n{pairs}\n    ]\n  }}\n}}\n')
    assert len(config) > 40_000 and len(rows) * 40 > 100_000
    keypair = "[" + ",".join(str(_RNG.randrange(256)) for _ in range(64)) + "]"
    repo.commit({"user_data/data/binance/BTC_USDT-5m.csv": "\n".join(rows) + "\n",
                 "user_data/data/binance/BTC_USDT-5m.json": candles,
                 "config.json": config, "id.json": keypair,
                 "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 10})
    repo.commit({"config.json": None, "user_data/data/binance/BTC_USDT-5m.csv": None,
                 "user_data/data/binance/BTC_USDT-5m.json": None})

    blobs, notices = _read(repo.root, prefilter=credential_prefilter)
    assert {b.path for b in blobs} == {"config.json", "id.json"}
    config_blob = next(b for b in blobs if b.path == "config.json")
    assert _lines_with(config_blob, KEY_HEAD)[0] in config_blob.new_lines
    kinds = {n.kind: n.message for n in notices}
    assert "2 blobs shaped like market data" in kinds[NoticeKind.TOO_LARGE]
    assert "1 binary blobs" in kinds[NoticeKind.BINARY]

    small, notices = _read(repo.root, max_blob_bytes=50_000)
    assert "config.json" not in {b.path for b in small}
    assert any("over 0.05 MB" in n.message and "config.json" in n.message for n in notices)


def test_a_blob_first_made_by_a_merge_is_attributed_to_the_merge(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"k.py": "A = 1\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"k.py": "A = 2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"k.py": "A = 3\n"})
    subprocess.run(["git", "merge", "-q", "side"], cwd=repo.root, env=repo.env(),
                   capture_output=True)
    resolved = f'A = 4\nPASSWORD = "{KEY_DELETED}"\n'
    repo.write({"k.py": resolved})
    repo.git("add", "k.py")
    repo.git("commit", "-q", "--no-edit")
    merge = repo.git("rev-parse", "HEAD")
    repo.commit({"k.py": "A = 5\n"})
    found = _by_blob(_read(repo.root)[0])
    blob = found[repo.blob_id(resolved)]
    assert blob.commit == merge and blob.new_lines == (1, 2)


def test_a_blob_only_a_tag_reaches_is_read_too(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"a.txt": "a\n"})
    hidden = f"SECRET={KEY_BRANCH}\n"
    blob_id = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.root,
                             input=hidden.encode(), capture_output=True, check=True,
                             env=repo.env()).stdout.decode().strip()
    repo.git("tag", "hidden", blob_id)
    found = _by_blob(_read(repo.root)[0])
    assert found[blob_id].commit == "" and found[blob_id].new_lines == (1,)


# --- a repository that fights back ----------------------------------------------------------

def _fake_signature(repo: Repo) -> None:
    """Give HEAD a (bogus) PGP signature: `log.showSignature` then makes git run gpg."""
    raw = subprocess.run(["git", "cat-file", "commit", "HEAD"], cwd=repo.root, check=True,
                         capture_output=True, env=repo.env()).stdout
    header, _, message = raw.partition(b"\n\n")
    signature = (b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"
                 b" -----END PGP SIGNATURE-----")
    signed = header + b"\n" + signature + b"\n\n" + message
    commit = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"],
                            cwd=repo.root, input=signed, check=True, capture_output=True,
                            env=repo.env()).stdout.decode().strip()
    repo.git("update-ref", "refs/heads/main", commit)


def _hostile_repo(base: Path) -> tuple[Path, Path]:
    """A repository committed normally, then armed (`hostile_repo.arm_git`): every
    configurable command writes a marker file named after itself into the returned marker
    directory."""
    markers = base / "markers"
    repo = Repo(base / "bot")
    repo.commit({".gitattributes": "* filter=x diff=x\n",
                 "config.json": f'{{"exchange": {{"secret": "{KEY_DELETED}"}}}}\n',
                 "bot.py": "print('hello')\n"})
    repo.commit({"config.json": '{"exchange": {"secret": ""}}\n', "bot.py": "print('hi')\n"})
    _fake_signature(repo)
    arm_git(repo.root, markers, base / "bin")
    return repo.root, markers


def test_a_hostile_repository_runs_nothing(tmp_path: Path) -> None:
    root, markers = _hostile_repo(tmp_path)
    # A lazy fetch would be attempted for a missing blob of this "partial clone".
    subprocess.run(["git", "config", "core.repositoryformatversion", "1"], cwd=root, check=True,
                   env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                        "GIT_CONFIG_GLOBAL": os.devnull})
    subprocess.run(["git", "config", "extensions.partialClone", "origin"], cwd=root, check=True,
                   env={"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
                        "GIT_CONFIG_GLOBAL": os.devnull})
    blobs, notices = _read(root, prefilter=credential_prefilter)
    assert any(KEY_DELETED in b.data.decode() for b in blobs)
    assert sorted(p.name for p in markers.iterdir()) == []
    assert all(n.kind != NoticeKind.UNREADABLE for n in notices), notices


def test_the_hostile_repository_is_armed(tmp_path: Path) -> None:
    """The control: ordinary git commands on the same repository do run its commands, so the
    test above proves botscan's git calls, not a harmless setup."""
    root, markers = _hostile_repo(tmp_path)
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "HOME": str(tmp_path)}
    for args in (["status"], ["log", "-p", "-1"], ["diff", "HEAD~1"]):
        subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, timeout=30)
    (root / "bot.py").unlink()
    subprocess.run(["git", "checkout", "--", "bot.py"], cwd=root, env=env, capture_output=True,
                   timeout=30)
    made = {p.name for p in markers.iterdir()}
    assert {"fsmonitor", "textconv", "gpg", "smudge", "hook-post-index-change"} <= made, made


def test_missing_objects_are_a_notice_and_never_fetched(tmp_path: Path) -> None:
    root, markers = _hostile_repo(tmp_path)
    for line in subprocess.run(["git", "rev-list", "--objects", "--all"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.splitlines():
        sha, _, name = line.partition(" ")
        if name == "bot.py":
            (root / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
            missing = sha
            break
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    for setting in (("core.repositoryformatversion", "1"), ("extensions.partialClone", "origin")):
        subprocess.run(["git", "config", *setting], cwd=root, check=True, env=env)
    blobs, notices = _read(root)
    assert any(n.kind == NoticeKind.UNREADABLE and "missing" in n.message and "bot.py" in
               n.message for n in notices), notices
    assert any(b.path == "config.json" for b in blobs)
    assert list(markers.iterdir()) == []
    # The control: plain git asked for the missing blob runs the configured transport.
    subprocess.run(["git", "cat-file", "-p", missing], cwd=root, env=env, capture_output=True,
                   timeout=30)
    assert "ext-transport" in {p.name for p in markers.iterdir()}


# --- repositories that are not there or not whole ----------------------------------------------

def test_not_a_repository_is_a_notice(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text("x = 1\n")
    blobs, notices = _read(tmp_path)
    assert blobs == [] and len(notices) == 1
    assert notices[0].kind == NoticeKind.UNREADABLE and "not a git repository" in \
        notices[0].message


def test_git_missing_is_a_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"a.txt": "a\n"})
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    blobs, notices = _read(repo.root)
    assert blobs == [] and "git is not installed" in notices[0].message


def test_a_corrupt_repository_is_a_notice(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"a.txt": "a\n"})
    head = repo.git("rev-parse", "HEAD")
    obj = repo.root / ".git" / "objects" / head[:2] / head[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage")
    blobs, notices = _read(repo.root)
    assert blobs == [] and notices and notices[-1].kind == NoticeKind.UNREADABLE


def test_a_shallow_clone_says_so_and_reads_what_it_has(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "origin")
    for i in range(3):
        repo.commit({"a.txt": f"{i}\n", f"f{i}.txt": "x\n"})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)],
                   check=True, env=repo.env(), capture_output=True)
    blobs, notices = _read(clone)
    assert any("shallow clone" in n.message for n in notices)
    assert {b.path for b in blobs} >= {"a.txt"}


def test_a_git_file_pointing_outside_the_tree_is_refused(tmp_path: Path) -> None:
    elsewhere = Repo(tmp_path / "private")
    elsewhere.commit({"wallet.txt": f"SEED={KEY_HEAD}\n"})
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / ".git").write_text(f"gitdir: {elsewhere.root / '.git'}\n")
    blobs, notices = _read(bot)
    assert blobs == [] and "outside the scanned tree" in notices[0].message
    (bot / ".git").unlink()
    (bot / ".git").symlink_to(elsewhere.root / ".git")
    blobs, notices = _read(bot)
    assert blobs == [] and "outside the scanned tree" in notices[0].message


def test_a_bare_repository_is_read(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"a.py": f'SECRET = "{KEY_HEAD}"\n'})
    repo.commit({"a.py": None})
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.root), str(bare)], check=True,
                   env=repo.env(), capture_output=True)
    blobs, _ = _read(bare, prefilter=credential_prefilter)
    assert [b.path for b in blobs] == ["a.py"]


# --- the git runner and the prefilter -----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["checkout", "main"], ["status"], ["diff"], ["show", "HEAD"], ["config", "x.y", "z"],
    ["log", "-p"], ["log", "--patch"], ["log", "--textconv"], ["log", "-Ssecret"],
    ["log", "--output=/tmp/x"], ["cat-file", "--textconv", "HEAD:a"],
    ["cat-file", "--filters", "HEAD:a"], ["log", "--show-signature"], ["log", "--ext-diff"],
])
def test_the_runner_refuses_commands_that_could_run_configured_programs(
        args: list[str], tmp_path: Path) -> None:
    with pytest.raises(gitcmd.GitError):
        gitcmd.command(tmp_path, args)


def test_the_runner_sets_the_safe_configuration(tmp_path: Path) -> None:
    argv = gitcmd.command(tmp_path, ["log", "--raw", "--end-of-options", "-p"])
    settings = {argv[i + 1] for i, arg in enumerate(argv) if arg == "-c"}
    assert {"core.fsmonitor=false", "core.hooksPath=/dev/null", "diff.external=",
            "protocol.allow=never", "protocol.ext.allow=never",
            "safe.directory=*"} <= settings
    assert f"--git-dir={tmp_path}" in argv
    env = gitcmd.environment()
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_OPTIONAL_LOCKS"] == "0"
    assert env["GIT_NO_REPLACE_OBJECTS"] == "1"


def test_the_runner_drops_the_callers_git_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "/bin/evil")
    monkeypatch.setenv("GIT_SSH_COMMAND", "/bin/evil")
    env = gitcmd.environment()
    assert "GIT_EXTERNAL_DIFF" not in env and "GIT_SSH_COMMAND" not in env


def test_the_runner_times_out(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")
    repo.commit({"a.txt": "a\n"})
    with gitcmd.Stream(repo.root / ".git", ["cat-file", "--batch"], idle_timeout=0.5,
                       stdin=True) as stream, pytest.raises(gitcmd.GitTimeout):
        stream.readline()  # nothing was asked: git waits for input, the watchdog kills it


_CREDENTIAL_LINES = {
    "bot.py": f'api_key = "{KEY_HEAD}"',
    "config.json": f'{{"exchange": {{"name": "binance", "secret": "{KEY_HEAD}"}}}}',
    ".env": f"BINANCE_API_SECRET={KEY_HEAD}",
    "conf.yml": f"exchange:\n  apiKey: {KEY_HEAD}",
    "notes.txt": 'tg = "5432109876:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"',
    "hook.js": 'const h = "https://discord.com/api/webhooks/123456789012345678/'
               'Zq8Yw3Xv7Ut1Sr5Qp9On2Ml6Kj0Ih4Gf8Ed3Cb7Az1By5Cx9Dw2Ev6Fu0Gt4Hs8Ir3Jq7Kp1Lo";',
    "seed.txt": Mnemonic("english").to_mnemonic(bytes(_RNG.randrange(256) for _ in range(16))),
    "deploy.sh": f"export AWS_ACCESS={'AKIA' + 'Z7QW3LNB5XK2T4RE'}",
    "wallet.py": f'ACCOUNT = "0x{"".join(_RNG.choice("0123456789abcdef") for _ in range(64))}"'
                 "  # private key",
}


@pytest.mark.parametrize("path", sorted(_CREDENTIAL_LINES))
def test_the_prefilter_passes_what_the_secrets_scanner_finds(path: str) -> None:
    """Spot checks against the real scanner: whatever it reports on a line, the prefilter
    lets through (the exhaustive argument is in the two modules' docstrings and tests)."""
    from botscan.analyzers.secrets import scan_text_file

    data = _CREDENTIAL_LINES[path].encode()
    findings, _ = scan_text_file(path, data)
    assert findings, f"the scanner should find something in {path}"
    assert credential_prefilter(path, data)


def test_the_prefilter_rejects_ordinary_lines_and_knows_configured_names() -> None:
    ordinary = b'def populate_indicators(df):\n    df["rsi"] = ta.RSI(df)\n    return df\n'
    assert not credential_prefilter("strategy.py", ordinary)
    custom = make_credential_prefilter((("CRYPTO_CONN", "secret"),))
    assert custom("x.env", b"CRYPTO_CONN=abc") and not credential_prefilter("x.env",
                                                                              b"CRYPTO_CONN=abc")


def test_a_rotated_pem_key_is_yielded_though_its_new_lines_say_nothing(tmp_path: Path) -> None:
    """The BEGIN line of a replaced PEM key is old; only base64 lines are new."""
    repo = Repo(tmp_path / "bot")

    def pem() -> str:
        # Letters no stem or trigger holds, so that only the spanning-secret rule can pass it.
        body = "\n".join("".join(_RNG.choice("BCDEFGHJLMNQRTVXYZ0123456789") for _ in range(64))
                         for _ in range(6))
        return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"

    repo.commit({"deploy/key.pem": pem()})
    rotated = pem()
    repo.commit({"deploy/key.pem": rotated})
    repo.commit({"deploy/key.pem": None})
    blobs, _ = _read(repo.root, prefilter=credential_prefilter)
    second = _by_blob(blobs)[repo.blob_id(rotated)]
    # The header is old but counts as new: the scanner reports the key on it.
    assert second.new_lines == (1, 2, 3, 4, 5, 6, 7)
    body = b"\n".join(second.data.split(b"\n")[1:7])
    assert not credential_prefilter(second.path, body)


def test_a_rotated_keypair_array_counts_its_first_line_as_new(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "bot")

    def keypair() -> str:
        numbers = ",\n    ".join(str(_RNG.randrange(256)) for _ in range(64))
        return f'{{\n  "secretKey": [\n    {numbers}\n  ]\n}}\n'

    repo.commit({"wallet.json": keypair()})
    rotated = keypair()
    repo.commit({"wallet.json": rotated})
    repo.commit({"wallet.json": None})
    second = _by_blob(_read(repo.root)[0])[repo.blob_id(rotated)]
    assert 2 in second.new_lines and 1 not in second.new_lines
