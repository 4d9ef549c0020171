"""The command-line contract (DESIGN.md, "Contracts"): commands, exit codes, usage errors,
rule selection, configuration, `--output`, inline suppression, SARIF validity and `--jobs`.

Scans run on small trees in `tmp_path`, through click's CliRunner where in-process is enough
and through a real `python -m botscan` subprocess where the process boundary matters (stderr,
tracebacks, the working directory a configuration is read from).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers_security import (
    FIXTURES,
    REPO_ROOT,
    assert_usage_error,
    findings_of,
    rule_lines,
    run_cli,
    token,
    write,
)
from jsonschema import Draft4Validator

from botscan import __version__, catalog
from botscan.cli import main

_RNG = random.Random(4242)
SECRET, KEY = token(_RNG, 64), token(_RNG, 64)

MIXED_BOT = f'''import requests

API_SECRET = "{SECRET}"
API_KEY = "{KEY}"
prices = requests.get("http://api.coinpaprika.com/v1/tickers", timeout=5)
status = requests.get("https://status.example.org", verify=False, timeout=5)
'''
"""BOT101 (critical) line 3, BOT102 (high) line 4, BOT401 (medium) line 5, BOT404 (high) 6."""
MIXED_EXPECTED = {("BOT101", 3), ("BOT102", 4), ("BOT401", 5), ("BOT404", 6)}

HIGH_ONLY_BOT = ('import requests\n\n'
                 'status = requests.get("https://status.example.org", verify=False)\n')
MEDIUM_ONLY_BOT = ('import requests\n\n'
                   'prices = requests.get("http://api.coinpaprika.com/v1/tickers")\n')
CLEAN_BOT = ('import os\n\nimport ccxt\n\n'
             'exchange = ccxt.binance({"apiKey": os.environ["BINANCE_KEY"],\n'
             '                         "secret": os.environ["BINANCE_SECRET"]})\n')


def _tree(root: Path, source: str, name: str = "bot.py") -> Path:
    write(root, name, source)
    return root


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """In-process runs from an empty directory: no configuration of the repo leaks in."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def _invoke(runner: CliRunner, *args: str | os.PathLike[str]) -> Any:
    result = runner.invoke(main, [os.fspath(a) for a in args], catch_exceptions=False)
    return result


def _scan_json(runner: CliRunner, *args: str | os.PathLike[str]) -> tuple[int, dict[str, Any]]:
    result = _invoke(runner, "scan", "--format", "json", "--jobs", "1", *args)
    return result.exit_code, json.loads(result.stdout)


# --- rules, explain, version ----------------------------------------------------------------

def test_version(runner: CliRunner, tmp_path: Path) -> None:
    result = _invoke(runner, "--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout and "botscan" in result.stdout
    run = run_cli("--version", cwd=tmp_path)
    assert run.returncode == 0, run.describe()
    assert __version__ in run.stdout and run.stderr == ""


def test_rules_lists_every_rule(runner: CliRunner) -> None:
    result = _invoke(runner, "rules")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("  BOT")}
    assert listed == set(catalog.rules())
    for rule in catalog.rules().values():
        assert rule.title in result.stdout


def test_explain_shows_title_severity_and_fix(runner: CliRunner) -> None:
    rule = catalog.rules()["BOT101"]
    result = _invoke(runner, "explain", "BOT101")
    assert result.exit_code == 0
    assert result.stdout.startswith("BOT101")
    assert rule.title in result.stdout
    assert f"severity {rule.severity.label}" in result.stdout
    assert "How to fix" in result.stdout
    assert rule.remediation.split()[0] in result.stdout


def test_explain_is_case_insensitive(runner: CliRunner) -> None:
    result = _invoke(runner, "explain", "bot404")
    assert result.exit_code == 0
    assert result.stdout.startswith("BOT404")
    assert catalog.rules()["BOT404"].title in result.stdout


def test_explain_unknown_rule_is_a_usage_error(tmp_path: Path) -> None:
    run = run_cli("explain", "BOT999", cwd=tmp_path)
    assert_usage_error(run, "BOT999", prefix="botscan: error:")
    assert run.stdout == ""


# --- exit codes -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "args", "expected"),
    [
        pytest.param(MIXED_BOT, (), 1, id="critical-default"),
        pytest.param(MIXED_BOT, ("--fail-on", "never"), 0, id="never"),
        pytest.param(HIGH_ONLY_BOT, (), 1, id="high-default"),
        pytest.param(HIGH_ONLY_BOT, ("--fail-on", "critical"), 0, id="high-below-critical"),
        pytest.param(MEDIUM_ONLY_BOT, (), 0, id="medium-below-default"),
        pytest.param(MEDIUM_ONLY_BOT, ("--fail-on", "medium"), 1, id="medium-at-medium"),
        pytest.param(MEDIUM_ONLY_BOT, ("--fail-on", "low"), 1, id="medium-above-low"),
        pytest.param(CLEAN_BOT, ("--fail-on", "low"), 0, id="clean"),
    ],
)
def test_exit_code_follows_fail_on(runner: CliRunner, tmp_path: Path, source: str,
                                   args: tuple[str, ...], expected: int) -> None:
    tree = _tree(tmp_path / "bot", source)
    result = _invoke(runner, "scan", "--jobs", "1", tree, *args)
    assert result.exit_code == expected, result.stdout
    if source == CLEAN_BOT:
        assert "no findings" in result.stdout.lower()
    else:
        assert "bot.py" in result.stdout and "no findings" not in result.stdout.lower()


def test_fail_on_from_config_and_cli_wins(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "bot", HIGH_ONLY_BOT)
    project = tmp_path / "project"
    write(project, ".botscan.toml", 'fail-on = "never"\n')
    assert run_cli("scan", tree, cwd=project).returncode == 0
    run = run_cli("scan", tree, "--fail-on", "high", cwd=project)
    assert run.returncode == 1, run.describe()


# --- usage and configuration errors ---------------------------------------------------------

USAGE_ERRORS = [
    pytest.param({}, ("scan", "no-such-dir"), ("no-such-dir",), id="missing-path"),
    pytest.param({}, ("scan", "bot", "--select", "BOT9"), ("BOT9",), id="select-unknown"),
    pytest.param({}, ("scan", "bot", "--ignore", "NOPE"), ("NOPE",), id="ignore-unknown"),
    pytest.param({}, ("scan", "bot", "--format", "xml"), ("xml",), id="format-xml"),
    pytest.param({}, ("scan", "bot", "--fail-on", "urgent"), ("urgent",), id="fail-on-cli"),
    pytest.param({}, ("scan", "bot", "--jobs", "0"), ("--jobs",), id="jobs-zero"),
    pytest.param({}, ("scan", "bot", "--output", "missing-dir/report.json"), ("missing-dir",),
                 id="output-dir-missing"),
    pytest.param({".botscan.toml": 'select = ["BOT1"\nignore = \n'}, ("scan", "bot"),
                 (".botscan.toml",), id="invalid-toml"),
    pytest.param({"pyproject.toml": '[tool.botscan]\nselekt = ["BOT1"]\n'}, ("scan", "bot"),
                 ("selekt",), id="unknown-key"),
    pytest.param({"pyproject.toml": '[tool.botscan]\nfail-on = "urgent"\n'}, ("scan", "bot"),
                 ("fail-on",), id="config-fail-on"),
    pytest.param({".botscan.toml": 'ignore = ["BOT9"]\n'}, ("scan", "bot"), ("BOT9",),
                 id="config-unknown-rule"),
]


@pytest.mark.parametrize(("files", "args", "mentions"), USAGE_ERRORS)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, files: dict[str, str],
                                              args: tuple[str, ...],
                                              mentions: tuple[str, ...]) -> None:
    _tree(tmp_path / "bot", MIXED_BOT)
    for name, content in files.items():
        write(tmp_path, name, content)
    run = run_cli(*args, cwd=tmp_path)
    assert_usage_error(run, *mentions)
    assert SECRET not in run.stdout + run.stderr


# --- rule selection and configuration -------------------------------------------------------

def test_select_and_ignore(runner: CliRunner, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "bot", MIXED_BOT)
    code, report = _scan_json(runner, tree)
    assert rule_lines(report, "bot.py") == MIXED_EXPECTED, report["findings"]
    assert code == 1

    code, report = _scan_json(runner, tree, "--select", "BOT4")
    assert rule_lines(report) == {("BOT401", 5), ("BOT404", 6)}
    assert all(f["rule_id"].startswith("BOT4") for f in report["findings"])

    code, report = _scan_json(runner, tree, "--ignore", "BOT101,BOT102")
    assert rule_lines(report) == {("BOT401", 5), ("BOT404", 6)}

    code, report = _scan_json(runner, tree, "--select", "bot1", "--ignore", "BOT102")
    assert rule_lines(report) == {("BOT101", 3)}


@pytest.mark.parametrize(
    ("config_name", "config", "expected"),
    [
        pytest.param(".botscan.toml",
                     'select = ["BOT1"]\nignore = ["BOT102"]\nexclude = ["vendor/"]\n',
                     {("src/bot.py", "BOT101", 3)}, id="botscan-toml"),
        pytest.param("pyproject.toml",
                     '[project]\nname = "mybot"\n\n[tool.botscan]\nselect = ["BOT4"]\n'
                     'exclude = ["vendor/", "legacy.py"]\n',
                     {("src/bot.py", "BOT401", 5), ("src/bot.py", "BOT404", 6)},
                     id="pyproject"),
    ],
)
def test_config_in_the_working_directory_applies(tmp_path: Path, config_name: str, config: str,
                                                 expected: set[tuple[str, str, int]]) -> None:
    project = tmp_path / "project"
    write(project, config_name, config)
    write(project, "src/bot.py", MIXED_BOT)
    write(project, "vendor/lib.py", MIXED_BOT)
    write(project, "src/legacy.py", MIXED_BOT if config_name == "pyproject.toml" else CLEAN_BOT)
    run = run_cli("scan", "--format", "json", cwd=project)
    assert run.returncode == 1, run.describe()
    found = {(f["path"], f["rule_id"], f["line"]) for f in run.json()["findings"]}
    assert found == expected


def test_config_inside_the_scanned_tree_is_not_honoured(tmp_path: Path) -> None:
    """A downloaded bot must not be able to switch botscan's rules off."""
    bot = tmp_path / "downloaded-bot"
    write(bot, "bot.py", MIXED_BOT)
    write(bot, "strategies/grid.py", MIXED_BOT)
    hostile = 'ignore = ["BOT1", "BOT4"]\nexclude = ["*.py", "strategies/"]\nfail-on = "never"\n'
    write(bot, ".botscan.toml", hostile)
    write(bot, "strategies/.botscan.toml", hostile)
    write(bot, "pyproject.toml", "[tool.botscan]\n" + hostile)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    for cwd, target in ((elsewhere, bot), (tmp_path, Path("downloaded-bot"))):
        run = run_cli("scan", target, "--format", "json", cwd=cwd)
        assert run.returncode == 1, run.describe()
        report = run.json()
        assert rule_lines(report, "bot.py") == MIXED_EXPECTED
        assert rule_lines(report, "strategies/grid.py") == MIXED_EXPECTED


# --- output ---------------------------------------------------------------------------------

def test_output_file_holds_the_report_and_stdout_stays_empty(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "bot", MIXED_BOT)
    on_stdout = run_cli("scan", tree, "--format", "json", cwd=tmp_path)
    assert on_stdout.returncode == 1
    report = on_stdout.json()
    assert report["schema_version"] == 1
    assert rule_lines(report, "bot.py") == MIXED_EXPECTED

    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    to_file = run_cli("scan", tree, "--format", "json", "--output", out, cwd=tmp_path)
    assert to_file.returncode == 1, to_file.describe()
    assert to_file.stdout.strip() == ""
    from_file = json.loads(out.read_text(encoding="utf-8"))
    assert from_file["schema_version"] == report["schema_version"]
    assert from_file["findings"] == report["findings"]

    text_out = tmp_path / "report.txt"
    to_text = run_cli("scan", tree, "-o", text_out, "--fail-on", "never", cwd=tmp_path)
    assert to_text.returncode == 0 and to_text.stdout.strip() == ""
    text = text_out.read_text(encoding="utf-8")
    assert "bot.py" in text and "BOT101" in text and "\x1b" not in text


# --- inline suppression ---------------------------------------------------------------------

def test_inline_suppression(tmp_path: Path) -> None:
    rng = random.Random(77)
    k = [token(rng, 64) for _ in range(6)]
    suppressed = _tree(tmp_path / "suppressed", (
        "import requests\n"                                                         # 1
        "\n"                                                                        # 2
        f'API_SECRET = "{k[0]}"  # botscan: ignore[BOT101] -- test key\n'           # 3
        "# botscan: ignore[BOT101] -- fixture secret, revoked\n"                    # 4
        f'OTHER_SECRET = "{k[1]}"\n'                                                # 5
        'ok = requests.get("https://s.example.org", verify=False)'
        "  # botscan: ignore[BOT4] -- local test server\n"                          # 6
    ))
    run = run_cli("scan", suppressed, "--format", "json", "--fail-on", "low", cwd=tmp_path)
    assert run.returncode == 0, run.describe()
    report = run.json()
    got = {(f["rule_id"], f["line"], f["suppressed"], f["suppression_reason"])
           for f in report["findings"]}
    assert got == {("BOT101", 3, True, "test key"),
                   ("BOT101", 5, True, "fixture secret, revoked"),
                   ("BOT404", 6, True, "local test server")}
    assert report["summary"]["total"] == 0 and report["summary"]["suppressed"] == 3

    sarif = run_cli("scan", suppressed, "--format", "sarif", cwd=tmp_path)
    assert sarif.returncode == 0, sarif.describe()
    results = sarif.json()["runs"][0]["results"]
    assert len(results) == 3
    assert all(r["suppressions"][0]["kind"] == "inSource" for r in results)
    assert {r["suppressions"][0].get("justification") for r in results} == {
        "test key", "fixture secret, revoked", "local test server"}

    not_suppressed = _tree(tmp_path / "not-suppressed", (
        f'API_SECRET = "{k[2]}"  # botscan: ignore[BOT404] -- another rule\n'       # 1
        "# botscan: ignore[BOT102] -- another rule\n"                               # 2
        f'SECOND_SECRET = "{k[3]}"\n'                                               # 3
        "# botscan: ignore[BOT101] -- two lines up does not count\n"                # 4
        "\n"                                                                        # 5
        f'THIRD_SECRET = "{k[4]}"\n'                                                # 6
        "x = 1  # botscan: ignore[BOT101] -- a trailing comment on code above\n"    # 7
        f'FOURTH_SECRET = "{k[5]}"\n'                                               # 8
    ))
    run = run_cli("scan", not_suppressed, "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert rule_lines(report) == {("BOT101", 1), ("BOT101", 3), ("BOT101", 6), ("BOT101", 8)}
    assert not any(f["suppressed"] for f in report["findings"])


# --- SARIF and parallelism ------------------------------------------------------------------

SCHEMA_ENV = "BOTSCAN_SARIF_SCHEMA"
SCHEMA_FILE = REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def _sarif_validator() -> Draft4Validator:
    candidates = [Path(p) for p in (os.environ.get(SCHEMA_ENV),) if p] + [SCHEMA_FILE]
    for path in candidates:
        if path.is_file():
            schema = json.loads(path.read_text(encoding="utf-8"))
            return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    pytest.skip(f"SARIF 2.1.0 schema not found: set ${SCHEMA_ENV} to the schema file, or put "
                f"it at {SCHEMA_FILE}")


def test_sarif_of_a_real_scan_is_valid(tmp_path: Path) -> None:
    validator = _sarif_validator()
    run = run_cli("scan", FIXTURES / "ccxt_bot", "--format", "sarif", cwd=tmp_path)
    assert run.returncode == 1, run.describe()
    log = run.json()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(log)]
    assert errors == []
    results = log["runs"][0]["results"]
    assert results
    for result in results:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%" and not location["uri"].startswith("/")


def test_jobs_do_not_change_the_findings(tmp_path: Path) -> None:
    reports = []
    for jobs in ("1", "2"):
        run = run_cli("scan", FIXTURES, "--format", "json", "--jobs", jobs, cwd=tmp_path)
        assert run.returncode == 1, run.describe()
        report = run.json()
        report["summary"].pop("duration_seconds")
        reports.append(report)
    one, two = reports
    assert one["findings"], "the fixtures produced no findings"
    assert one["findings"] == two["findings"]
    assert one["notices"] == two["notices"]
    assert one["summary"] == two["summary"]
    assert findings_of(one, rule="BOT101")
