"""`.gitignore` semantics without git, and BOT110 for credential files git would commit.

The scanner never runs git (a hostile repository can make git run commands); these tests use
git itself only as the oracle, on repositories they create, to check that botscan's reading of
`.gitignore` files agrees with git's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from botscan.analyzers.secrets import IgnoreRules, Tracking, scan_text_file, wants_tracking
from botscan.analyzers.secrets.gitignore import parse_rule

KEY = "xmgjWOd3uZ1P8ianYwbGwsgMNVg8Hnqa8IA4pUw29QAtA15U5Hy5vbVFl2zxgKMb"[::-1]


def write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_repo(root: Path, files: dict[str, str]) -> IgnoreRules:
    (root / ".git").mkdir(parents=True)
    for rel, text in files.items():
        write(root, rel, text)
    return IgnoreRules([root])


# --- pattern semantics ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("*.env", "a/b/prod.env", False, True),
        (".env", "deep/down/.env", False, True),
        ("/config.json", "config.json", False, True),
        ("/config.json", "sub/config.json", False, False),
        ("user_data/config*.json", "user_data/config-private.json", False, True),
        ("user_data/config*.json", "x/user_data/config.json", False, False),
        ("**/secrets.yml", "a/b/secrets.yml", False, True),
        ("**/secrets.yml", "secrets.yml", False, True),
        ("conf/**/*.yml", "conf/connectors/binance.yml", False, True),
        ("conf/**/*.yml", "conf/a.yml", False, True),
        ("conf/**", "conf", True, False),
        ("conf/**", "conf/x/y", False, True),
        ("logs/", "logs", True, True),
        ("logs/", "logs", False, False),
        ("key?.pem", "key1.pem", False, True),
        ("key[0-9].pem", "keyA.pem", False, False),
        ("key[!0-9].pem", "keyA.pem", False, True),
        ("\\#notes", "#notes", False, True),
        ("\\!important", "!important", False, True),
        ("a*b*c*d*e*f*g*h*i*j*k", "a" * 200 + "bcdefghijk", False, True),
        ("a*b*c*d*e*f*g*h*i*j*k", "a" * 200 + "k", False, False),
    ],
)
def test_rule_matching(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    rule = parse_rule(pattern)
    assert rule is not None
    assert rule.matches(path.split("/"), is_dir) is expected


@pytest.mark.parametrize("line", ["", "   ", "# a comment", "/", "!"])
def test_lines_that_are_no_rule(line: str) -> None:
    assert parse_rule(line) is None


def test_trailing_spaces_unless_escaped() -> None:
    rule = parse_rule("name.env   ")
    assert rule is not None and rule.matches(["name.env"], False)
    escaped = parse_rule("name\\ ")
    assert escaped is not None and escaped.matches(["name "], False)


def test_pathological_pattern_is_fast() -> None:
    rule = parse_rule("*a" * 40 + "*b")
    assert rule is not None
    assert not rule.matches(["a" * 250], False)  # returns at once: no exponential backtracking


# --- repository-level decisions ---------------------------------------------------------------

def test_nested_gitignore_and_negation(tmp_path: Path) -> None:
    rules = make_repo(tmp_path, {
        ".gitignore": "/conf/*\n!/conf/connectors/\n*.env\n!keep.env\n",
        "conf/connectors/.gitignore": "*.yml\n!paper.yml\n",
        "conf/conf_client.yml": "", "conf/connectors/binance.yml": "",
        "conf/connectors/paper.yml": "", "prod.env": "", "keep.env": "", "bot/config.json": "",
    })
    verdicts = {rel: rules.tracking(tmp_path / rel) for rel in (
        "conf/conf_client.yml", "conf/connectors/binance.yml", "conf/connectors/paper.yml",
        "prod.env", "keep.env", "bot/config.json")}
    assert verdicts == {
        "conf/conf_client.yml": Tracking.IGNORED,
        "conf/connectors/binance.yml": Tracking.IGNORED,
        "conf/connectors/paper.yml": Tracking.NOT_IGNORED,
        "prod.env": Tracking.IGNORED,
        "keep.env": Tracking.NOT_IGNORED,
        "bot/config.json": Tracking.NOT_IGNORED,
    }


def test_no_reinclusion_below_an_ignored_directory(tmp_path: Path) -> None:
    rules = make_repo(tmp_path, {
        ".gitignore": "user_data/\n!user_data/config.json\n",
        "user_data/config.json": "",
        "user_data/.gitignore": "!config.json\n",
    })
    assert rules.tracking(tmp_path / "user_data/config.json") is Tracking.IGNORED


def test_repository_is_the_nearest_git_directory(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.env\n")
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "vendor" / "bot"
    write(sub, ".git", "gitdir: ../../.git/modules/bot\n")  # a submodule's .git file
    write(sub, ".env", "")
    write(tmp_path, "app/.env", "")
    rules = IgnoreRules([tmp_path])
    assert rules.tracking(tmp_path / "app/.env") is Tracking.IGNORED
    assert rules.tracking(sub / ".env") is Tracking.NOT_IGNORED, "the submodule has its own"


def test_without_git_the_scan_root_stands_for_the_repository(tmp_path: Path) -> None:
    root = tmp_path / "downloaded-bot"
    write(root, ".gitignore", ".env\n")
    write(root, ".env", "")
    write(root, "config.json", "")
    rules = IgnoreRules([root])
    assert rules.tracking(root / ".env") is Tracking.IGNORED
    assert rules.tracking(root / "config.json") is Tracking.NOT_IGNORED
    assert IgnoreRules([]).tracking(root / ".env") is Tracking.UNKNOWN


def test_tracked_files_are_committed_whatever_gitignore_says(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", ".env\n")
    env = write(tmp_path, ".env", "")
    (tmp_path / ".git").mkdir()
    assert IgnoreRules([tmp_path], tracked=[env]).tracking(env) is Tracking.TRACKED


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_linked_gitignore_is_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "rules", "*.env\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    os.symlink(outside, repo / ".gitignore")
    write(repo, ".env", "")
    assert IgnoreRules([repo]).tracking(repo / ".env") is Tracking.NOT_IGNORED


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the oracle")
def test_agrees_with_git_check_ignore(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    files = {
        ".gitignore": ("# bot\n.env*\n!.env.example\n/user_data/*\n!/user_data/strategies/\n"
                       "*.pem\nconf/**/secrets.yml\nlogs/\n\\#keep\nkey[0-9].json\n"),
        "user_data/strategies/.gitignore": "*.json\n!sample.json\n",
        "sub/.gitignore": "!special.pem\n/local.yml\n",
    }
    for rel, text in files.items():
        write(repo, rel, text)
    paths = [
        ".env", ".env.example", ".env.prod", "user_data/config.json",
        "user_data/strategies/a.py", "user_data/strategies/params.json",
        "user_data/strategies/sample.json", "server.pem", "sub/special.pem", "sub/local.yml",
        "sub/deep/local.yml", "conf/secrets.yml", "conf/x/y/secrets.yml", "logs/app.log",
        "app/logs/x.txt", "#keep", "key1.json", "keyA.json", "docs/keys.md",
    ]
    for rel in paths:
        write(repo, rel)
    result = subprocess.run(["git", "-C", str(repo), "check-ignore", "--no-index", "--stdin"],
                            input="\n".join(paths) + "\n", capture_output=True, text=True,
                            env=env, check=False)
    ignored_by_git = set(result.stdout.split())
    rules = IgnoreRules([repo])
    ours = {rel for rel in paths if rules.tracking(repo / rel) is Tracking.IGNORED}
    assert ours == ignored_by_git


# --- BOT110 ---------------------------------------------------------------------------------------

def bot110(path: str, text: str, tracking: Tracking) -> list[tuple[int, str]]:
    findings, _ = scan_text_file(path, text.encode(), tracking=tracking)
    return [(f.location.line, f.message) for f in findings if f.rule_id == "BOT110"]


def test_env_with_a_key_not_ignored() -> None:
    text = f"LOG_LEVEL=INFO\nBINANCE_API_SECRET={KEY}\n"
    [(line, message)] = bot110(".env", text, Tracking.NOT_IGNORED)
    assert line == 2
    assert "add it to .gitignore" in message.lower() and "rotate the key" in message
    assert KEY not in message
    assert bot110(".env", text, Tracking.IGNORED) == []
    assert bot110(".env", text, Tracking.UNKNOWN) == []


def test_committed_file_says_so() -> None:
    [(_, message)] = bot110("user_data/config.json",
                            f'{{"exchange": {{"secret": "{KEY}"}}}}\n', Tracking.TRACKED)
    assert "committed" in message and "git rm --cached" in message


def test_bot110_snippet_hides_the_secret() -> None:
    findings, _ = scan_text_file(".env", f"BINANCE_API_SECRET={KEY}\n".encode(),
                                 tracking=Tracking.NOT_IGNORED)
    [finding] = [f for f in findings if f.rule_id == "BOT110"]
    assert KEY not in finding.snippet


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (".env", "LOG_LEVEL=INFO\nBINANCE_API_KEY=\n"),  # nothing in it
        (".env.example", f"BINANCE_API_SECRET={KEY}\n"),  # an example is meant to be committed
        ("docker-compose.yml", f"environment:\n  - BINANCE_API_SECRET={KEY}\n"),  # not the fix
        (".github/workflows/ci.yml", f"env:\n  BINANCE_API_SECRET: {KEY}\n"),
        ("README.md", f"BINANCE_API_SECRET={KEY}\n"),
        ("tests/data/config.json", f'{{"secret": "{KEY}"}}\n'),  # test data
        (".env", f"BINANCE_API_SECRET={KEY}  # botscan: ignore[BOT101] -- testnet key\n"),
    ],
)
def test_no_bot110(path: str, text: str) -> None:
    assert bot110(path, text, Tracking.NOT_IGNORED) == []


def test_encrypted_hummingbot_connector_counts() -> None:
    blob = ('{"crypto": {"cipher": "aes-128-ctr", "ciphertext": "' + "ab" * 64
            + '", "kdf": "scrypt"}, "version": 3}').encode().hex()
    text = f"connector: binance\nbinance_api_key: {blob}\n"
    findings, _ = scan_text_file("conf/connectors/binance.yml", text.encode(),
                                 tracking=Tracking.NOT_IGNORED)
    assert [(f.rule_id, f.location.line) for f in findings] == [("BOT110", 2)]
    assert "password-encrypted" in findings[0].message


def test_bot110_respects_rule_selection() -> None:
    text = f"BINANCE_API_SECRET={KEY}\n"
    findings, _ = scan_text_file(".env", text.encode(), tracking=Tracking.NOT_IGNORED,
                                 enabled=frozenset({"BOT101"}))
    assert [f.rule_id for f in findings] == ["BOT101"]


@pytest.mark.parametrize(
    ("path", "wanted"),
    [(".env", True), (".env.production", True), ("user_data/config.json", True),
     ("conf/connectors/binance.yml", True), ("keys/id.json", True), ("deploy/server.pem", True),
     ("cdp_api_key.json", True), (".env.example", False), ("docker-compose.yml", False),
     ("package.json", False), (".github/workflows/ci.yml", False), ("README.md", False),
     ("notebook.ipynb", False), ("tests/config.json", False)],
)
def test_wants_tracking(path: str, wanted: bool) -> None:
    assert wants_tracking(path) is wanted
