"""The security invariants of botscan itself (DESIGN.md, "Security invariants"), each proved
end to end on the real CLI.

A downloaded bot may be hostile to the person scanning it, so every test here plants a tree
that tries something (code that runs on import, secrets, undecodable or pathological files,
links out of the tree, file names that are terminal escape sequences) and runs the real
`python -m botscan` over it in a subprocess with a hard timeout.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers_security import (
    ALNUM,
    HEX_LOWER,
    HEX_UPPER,
    assert_absent,
    findings_of,
    notice_kinds,
    rule_lines,
    run_cli,
    token,
    write,
)
from hostile_repo import plant_tripwires
from mnemonic import Mnemonic

from botscan.redact import redact

FORMATS = ("text", "json", "sarif")


# --- 1. never runs scanned code -------------------------------------------------------------

TRIPWIRE_SECRET = "Xq7" + "Lp2Vb9Nc4Md8Kf1Hs6Jt3Rw5Yz0" * 2
"""Hardcoded in the tripwired `bot.py`: its finding shows the tree was really analysed."""


def _console_script() -> str | None:
    """The installed `botscan` entry point (its sys.path[0] is its own directory, not cwd)."""
    scripts = sysconfig.get_path("scripts")
    return shutil.which("botscan", path=scripts) if scripts else None


def test_scanning_never_imports_or_runs_the_scanned_tree(tmp_path: Path) -> None:
    tree = tmp_path / "bot"
    markers = plant_tripwires(tree, tmp_path / "markers", TRIPWIRE_SECRET)
    runs = [run_cli("scan", tree, "--format", fmt, cwd=tmp_path) for fmt in FORMATS]
    # pre-commit style: the auto-run files named one by one
    runs.append(run_cli("scan", *(tree / n for n in ("bot.py", "setup.py", "conftest.py",
                                                     "sitecustomize.py", "__init__.py")),
                        "--format", "json", cwd=tmp_path))
    script = _console_script()
    if script is not None:  # the usual `cd bot && botscan scan`
        runs.append(run_cli("scan", "--format", "json", cwd=tree, command=[script]))
    for run in runs:
        # The scan really analysed the tree: the hardcoded secret in bot.py is reported.
        assert run.returncode == 1, run.describe()
        ran = [m.name for m in markers if m.exists()]
        assert not ran, f"scanned code ran ({ran}) during:\n{run.describe()}"
    for run in runs:
        if "json" in run.args:
            assert findings_of(run.json(), rule="BOT101"), run.describe()


def test_python_dash_m_inside_a_hostile_tree_does_not_import_its_modules(tmp_path: Path) -> None:
    """`python -m botscan scan` run from inside a downloaded bot (the scanned root is the cwd).

    `python -m` puts the cwd first on sys.path, so a `click.py` in the bot would be imported
    in place of click unless botscan's `__main__` drops the cwd before importing anything.
    """
    tree = tmp_path / "bot"
    markers = plant_tripwires(tree, tmp_path / "markers", TRIPWIRE_SECRET)
    run = run_cli("scan", "--format", "json", cwd=tree)
    ran = [m.name for m in markers if m.exists()]
    assert not ran, f"scanned code ran ({ran}):\n{run.describe()}"
    assert run.returncode == 1, run.describe()


# --- 2. no whole secret in any output -------------------------------------------------------

@dataclass
class PlantedSecrets:
    source: str
    secrets: dict[str, str]
    """Every whole secret (and each whole part of a multi-line one), by name."""
    expected: set[tuple[str, int]]
    """(rule_id, line) that must be reported."""


def _planted_secrets(rng: random.Random) -> PlantedSecrets:
    binance_key, binance_secret = token(rng, 64), token(rng, 64)
    okx_key = "-".join(token(rng, n, HEX_LOWER) for n in (8, 4, 4, 4, 12))
    okx_secret = token(rng, 32, HEX_UPPER)
    telegram = f"{rng.randint(10**8, 10**9 - 1)}:AA{token(rng, 33, ALNUM + '_-')}"
    discord_token = token(rng, 68, ALNUM + "_-")
    discord = f"https://discord.com/api/webhooks/{rng.randint(10**17, 10**18 - 1)}/{discord_token}"
    evm_body = token(rng, 64, HEX_LOWER)
    mnemonic = Mnemonic("english").generate(128)
    der = base64.b64encode(bytes(rng.randrange(256) for _ in range(900))).decode()
    pem_lines = [der[i:i + 64] for i in range(0, len(der), 64)]
    pem = ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(pem_lines)
           + "\n-----END RSA PRIVATE KEY-----")
    keypair = [rng.randrange(256) for _ in range(64)]
    keypair_items = ", ".join(map(str, keypair))
    lines = [
        "import ccxt",                                                              # 1
        "",                                                                         # 2
        f'exchange = ccxt.binance({{"apiKey": "{binance_key}", '
        f'"secret": "{binance_secret}", "enableRateLimit": True}})',                 # 3
        f'OKX_API_KEY = "{okx_key}"',                                               # 4
        f'OKX_SECRET_KEY = "{okx_secret}"',                                         # 5
        f'TELEGRAM_URL = "https://api.telegram.org/bot{telegram}/sendMessage"',     # 6
        f'DISCORD_WEBHOOK = "{discord}"',                                           # 7
        f'PRIVATE_KEY = "0x{evm_body}"',                                            # 8
        f'MNEMONIC = "{mnemonic}"',                                                 # 9
        f'RSA_KEY = """{pem}"""',                                                   # 10...
    ]
    keypair_line = len(lines) + pem.count("\n") + 1
    lines.append(f"SOLANA_KEYPAIR = [{keypair_items}]")
    secrets = {
        "binance key": binance_key,
        "binance secret": binance_secret,
        "okx key": okx_key,
        "okx secret": okx_secret,
        "telegram token": telegram,
        "discord webhook": discord,
        "discord webhook token": discord_token,
        "evm key": "0x" + evm_body,
        "evm key body": evm_body,
        "mnemonic": mnemonic,
        "pem": pem,
        "pem (JSON-escaped)": json.dumps(pem)[1:-1],
        "solana keypair": f"[{keypair_items}]",
        "solana keypair items": keypair_items,
    }
    secrets.update({f"pem body line {i}": line for i, line in enumerate(pem_lines)
                    if len(line) >= 16})
    expected = {("BOT102", 3), ("BOT101", 3), ("BOT102", 4), ("BOT101", 5), ("BOT106", 6),
                ("BOT107", 7), ("BOT103", 8), ("BOT105", 9), ("BOT103", 10),
                ("BOT103", keypair_line)}
    return PlantedSecrets("\n".join(lines) + "\n", secrets, expected)


def test_no_whole_secret_in_any_output_and_every_secret_reported(tmp_path: Path) -> None:
    planted = _planted_secrets(random.Random(20240601))
    tree = tmp_path / "bot"
    write(tree, "trader.py", planted.source)
    outputs: dict[str, str] = {}
    reports: dict[str, str] = {}
    for fmt in FORMATS:
        run = run_cli("scan", tree, "--format", fmt, cwd=tmp_path)
        assert run.returncode == 1, run.describe()
        outputs[f"{fmt} stdout"], outputs[f"{fmt} stderr"] = run.stdout, run.stderr
        reports[fmt] = run.stdout
        out_file = tmp_path / f"report.{fmt}"
        run = run_cli("scan", tree, "--format", fmt, "--output", out_file, cwd=tmp_path)
        assert run.returncode == 1, run.describe()
        outputs[f"{fmt} --output stdout"] = run.stdout
        outputs[f"{fmt} --output stderr"] = run.stderr
        outputs[f"{fmt} --output file"] = out_file.read_text(encoding="utf-8")

    assert_absent(planted.secrets.values(), outputs)

    # ... and not because nothing was found: every planted secret has its finding.
    report = json.loads(reports["json"])
    found = rule_lines(report, "trader.py")
    assert planted.expected <= found, f"not reported: {sorted(planted.expected - found)}"
    sarif = json.loads(reports["sarif"])
    sarif_found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
                   for r in sarif["runs"][0]["results"]}
    assert planted.expected <= sarif_found
    # The redacted form is what stands in for them.
    assert redact(planted.secrets["binance secret"]) in reports["text"]
    assert redact(planted.secrets["okx secret"]) in reports["json"]


def test_secret_split_into_implicitly_concatenated_literals_is_not_shown_whole(
        tmp_path: Path) -> None:
    """`API_SECRET = ("Ab8X…" "Mk9H…" …)`: the value botscan finds is the concatenation, but the
    line shows the pieces, each too short for the random-run mask. Put back together (drop the
    quotes between them) the snippet must still not hold the whole secret."""
    rng = random.Random(99)
    secrets = [token(rng, 64), token(rng, 64)]
    first, second = ([s[i:i + 16] for i in range(0, 64, 16)] for s in secrets)
    tree = tmp_path / "bot"
    write(tree, "keys.py",
          "API_SECRET = (" + " ".join(f'"{p}"' for p in first) + ")\n"
          + "BINANCE_SECRET = '" + "' '".join(second) + "'\n")
    outputs = {}
    for fmt in ("text", "json"):
        run = run_cli("scan", tree, "--format", fmt, cwd=tmp_path)
        assert run.returncode == 1, run.describe()
        outputs[fmt] = run.stdout
    report = json.loads(outputs["json"])
    assert {("BOT101", 1), ("BOT101", 2)} <= rule_lines(report, "keys.py"), report["findings"]
    joined = {name: re.sub(r"""["']\s*["']""", "", text.replace('\\"', '"'))
              for name, text in outputs.items()}
    assert_absent(secrets, joined)


# --- 3. hostile and odd files ---------------------------------------------------------------

def test_hostile_files_are_notices_and_never_stop_the_scan(tmp_path: Path) -> None:
    rng = random.Random(7)
    keys = {name: token(rng, 64) for name in ("latin", "badutf", "py2", "normal", "nested")}
    tree = tmp_path / "bot"
    write(tree, "nested.py",
          f'API_SECRET = "{keys["nested"]}"\nx = ' + "(" * 5000 + "1" + ")" * 5000 + "\n")
    write(tree, "binary.py", b"\x00\x00\x7fELF" + bytes(rng.randrange(256) for _ in range(4096)))
    write(tree, "latin.py",
          ('# -*- coding: latin-1 -*-\n# café, crème brûlée\n'
           f'API_SECRET = "{keys["latin"]}"\nNAME = "é"\n').encode("latin-1"))
    write(tree, "badutf.py",
          b"# caf\xe9 \xff\xfe\x80 not utf-8\n"
          + f'API_SECRET = "{keys["badutf"]}"\n'.encode() + b'NAME = "\xc3("\n')
    write(tree, "py2.py",
          "import os\n"                                  # 1
          'print "hi"\n'                                 # 2
          "try:\n"                                       # 3
          "    os.remove('x')\n"                         # 4
          "except Exception, e:\n"                       # 5
          "    print e\n"                                # 6
          f'API_SECRET = "{keys["py2"]}"\n')             # 7
    write(tree, "normal.py", f'import os\n\nAPI_SECRET = "{keys["normal"]}"\n')

    runs = {fmt: run_cli("scan", tree, "--format", fmt, cwd=tmp_path) for fmt in FORMATS}
    for run in runs.values():
        assert run.returncode == 1, run.describe()
        assert "Traceback" not in run.stderr, run.describe()
    report = runs["json"].json()
    kinds = notice_kinds(report)

    assert "binary" in kinds.get("binary.py", set()), kinds
    assert "decoding" in kinds.get("badutf.py", set()), kinds
    assert "not-parsed" in kinds.get("py2.py", set()), kinds
    assert kinds.get("nested.py"), f"deep nesting not reported: {kinds}"
    # A correct coding cookie is not an oddity.
    assert "latin.py" not in kinds, kinds
    # Every odd file is a notice in every format, not only in JSON.
    for odd in ("binary.py", "badutf.py", "py2.py", "nested.py"):
        assert odd in runs["text"].stdout.split("Notices", 1)[-1], runs["text"].describe()
        sarif_notes = runs["sarif"].json()["runs"][0]["invocations"][0][
            "toolExecutionNotifications"]
        assert any(n["message"]["text"].startswith(odd + ":") for n in sarif_notes), odd

    found = rule_lines(report)
    assert ("BOT101", 7) in rule_lines(report, "py2.py"), found  # text fallback, right line
    assert ("BOT101", 3) in rule_lines(report, "latin.py"), found
    assert ("BOT101", 2) in rule_lines(report, "badutf.py"), found
    assert ("BOT101", 1) in rule_lines(report, "nested.py"), found
    assert ("BOT101", 3) in rule_lines(report, "normal.py"), found
    assert not findings_of(report, "binary.py")
    assert report["summary"]["files_scanned"] >= 5
    assert_absent(keys.values(), {f"{fmt} {stream}": getattr(run, stream)
                                  for fmt, run in runs.items() for stream in ("stdout", "stderr")})


# --- 4. symbolic links ----------------------------------------------------------------------

def test_links_out_of_the_root_are_not_followed_and_loops_do_not_hang(tmp_path: Path) -> None:
    outside_secret = token(random.Random(11), 64)
    outside = tmp_path / "home" / ".secrets"
    write(outside, "creds.py", f'API_SECRET = "{outside_secret}"\n')
    tree = tmp_path / "bot"
    write(tree, "main.py", 'import os\nAPI_KEY = os.environ["API_KEY"]\n')
    try:
        (tree / "link.py").symlink_to(outside / "creds.py")
        (tree / "sub").mkdir()
        (tree / "sub" / "rel.py").symlink_to(Path("..", "..", "home", ".secrets", "creds.py"))
        (tree / "outdir").symlink_to(outside, target_is_directory=True)
        (tree / "loop.py").symlink_to("loop.py")
        (tree / "a.py").symlink_to("b.py")
        (tree / "b.py").symlink_to("a.py")
        (tree / "sub" / "up").symlink_to("..", target_is_directory=True)
        (tree / "self").symlink_to(".", target_is_directory=True)
    except (OSError, NotImplementedError) as exc:  # pragma: no cover - Windows without rights
        pytest.skip(f"cannot create symbolic links here: {exc}")

    runs = {fmt: run_cli("scan", tree, tree / "link.py", "--format", fmt, cwd=tmp_path,
                         timeout=60) for fmt in FORMATS}
    for run in runs.values():
        assert run.returncode == 0, run.describe()  # only medium findings: the links
    assert_absent([outside_secret], {f"{fmt} {stream}": getattr(run, stream)
                                     for fmt, run in runs.items()
                                     for stream in ("stdout", "stderr")})
    report = runs["json"].json()
    # Each link out of the tree is a finding at the link (BOT509); nothing read through it is.
    assert {(f["rule_id"], f["path"]) for f in report["findings"]} == {
        ("BOT509", link) for link in ("link.py", "sub/rel.py", "outdir", "bot/link.py")}
    kinds = notice_kinds(report)
    for link in ("link.py", "sub/rel.py", "outdir", "loop.py", "a.py", "b.py",
                 "bot/link.py"):
        assert "symlink" in kinds.get(link, set()), f"no symlink notice for {link}: {kinds}"
    paths = {f["path"] for f in report["findings"] if f["rule_id"] != "BOT509"}
    assert not any("creds" in p or "link" in p for p in paths)


# --- 5. HTML and terminal injection through file names --------------------------------------

SCRIPT_NAME = "x<script>alert(1)</script>.py"
ESCAPE_NAME = "e\x1b]0;pwned\x07.py"


def test_hostile_file_names_are_escaped_in_every_format(tmp_path: Path) -> None:
    rng = random.Random(3)
    tree = tmp_path / "bot"
    # `/` cannot be in a file name: the path is a directory `x<script>alert(1)<` holding
    # `script>.py`, which reports name as exactly SCRIPT_NAME.
    write(tree, SCRIPT_NAME, f'API_SECRET = "{token(rng, 64)}"\n')
    names = [SCRIPT_NAME]
    try:
        write(tree, ESCAPE_NAME,
              f'API_SECRET = "{token(rng, 64)}"  # \x1b[2J\x1b]0;title\x07 \u202e\n')
        names.append(ESCAPE_NAME)
    except OSError:  # pragma: no cover - a file system that refuses control characters
        pass

    runs = {fmt: run_cli("scan", tree, "--format", fmt, cwd=tmp_path) for fmt in FORMATS}
    for run in runs.values():
        assert run.returncode == 1, run.describe()
        # Not a tty: not even colour. No raw ESC or BEL from a name or a snippet, in any format.
        for raw in ("\x1b", "\x07", "\u202e"):
            assert raw not in run.stdout, f"raw {raw!r} in {run.args}:\n{run.stdout}"

    report = runs["json"].json()  # valid JSON
    assert {f["path"] for f in report["findings"]} == set(names)
    # The key in each; the escape-name file's line also holds a bidi override (BOT507).
    assert {(f["rule_id"], f["path"]) for f in report["findings"]} - {
        ("BOT101", name) for name in names} <= {("BOT507", ESCAPE_NAME)}

    sarif = runs["sarif"].json()
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]]
    assert sorted({unquote(u) for u in uris}) == sorted(names)
    for uri in uris:
        assert not set(uri) & set('<>"\x1b\x07 '), uri
    assert "x%3Cscript%3Ealert%281%29%3C/script%3E.py" in uris
    if ESCAPE_NAME in names:
        assert "e%1B%5D0%3Bpwned%07.py" in uris
        assert "\\x1b]0;pwned\\x07.py" in runs["text"].stdout  # shown, visibly escaped
    assert "<script>" in runs["text"].stdout  # plain text needs no HTML escaping, only names


# --- 6. pathological files: bounded time, no crash ------------------------------------------

PATHOLOGICAL_BUDGET_SECONDS = 20.0
"""A whole scan of two or three pathological files. botscan's per-file limit is 30 s; a file
that costs that much makes every CI run and pre-commit hook on the repository pay for it."""


def test_megabyte_single_line_file(tmp_path: Path) -> None:
    key = token(random.Random(5), 64)
    tree = tmp_path / "bot"
    write(tree, "big.py", f'API_SECRET = "{key}"\nBLOB = "' + "ab" * 524_288 + '"\n')
    write(tree, "minified.py", "x=1;" * 262_144 + "\n")  # 1 MiB, one line, parseable size-wise
    run = run_cli("scan", tree, "--format", "json", cwd=tmp_path, timeout=120)
    assert run.returncode == 1, run.describe()
    assert run.seconds < PATHOLOGICAL_BUDGET_SECONDS, run.describe()
    report = run.json()
    assert ("BOT101", 1) in rule_lines(report, "big.py"), report["findings"]
    kinds = notice_kinds(report)
    assert kinds.get("big.py") and kinds.get("minified.py"), report["notices"]
    assert key not in run.stdout


def test_long_operator_chain_is_bounded_and_still_scanned(tmp_path: Path) -> None:
    """20,000 `+`-chained terms on one line, and a hardcoded secret below them."""
    key = token(random.Random(6), 64)
    tree = tmp_path / "bot"
    write(tree, "chain.py",
          "TOTAL = " + " + ".join(["1"] * 20_000) + f'\nAPI_SECRET = "{key}"\n')
    write(tree, "normal.py", f'API_SECRET = "{token(random.Random(60), 64)}"\n')
    run = run_cli("scan", tree, "--format", "json", cwd=tmp_path, timeout=120)
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert ("BOT101", 1) in rule_lines(report, "normal.py"), report["findings"]
    # Parsed or not, the secret in the file is found (text fallback if the parser gives up).
    assert ("BOT101", 2) in rule_lines(report, "chain.py"), (report["findings"],
                                                             report["notices"])
    assert run.seconds < PATHOLOGICAL_BUDGET_SECONDS, (
        f"scan took {run.seconds:.1f} s; notices: {report['notices']}")
    assert key not in run.stdout
