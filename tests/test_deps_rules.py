"""The offline dependency rules (BOT602-BOT605) through `analyze_dependencies`, and the labelled
fixture `fixtures/deps_bot` checked against them."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fixtures import FIXTURES_DIR, parse_expectations

from botscan.deps import AuditSettings, DependencyResult, analyze_dependencies, is_manifest

OFFLINE = AuditSettings(offline=True)


def analyze(root: Path, files: dict[str, str],
            settings: AuditSettings = OFFLINE) -> DependencyResult:
    manifests = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if is_manifest(rel):
            manifests.append((rel, text.encode()))
    return analyze_dependencies(root, manifests, settings)


def reported(result: DependencyResult) -> set[tuple[str, int, str]]:
    return {(f.location.path, f.location.line, f.rule_id)
            for f in result.findings if not f.suppressed}


def test_fixture_labels_match_offline_rules() -> None:
    """`fixtures/deps_bot`: every `# expect: BOT6xx` found, nothing else of BOT6 reported."""
    root = FIXTURES_DIR / "deps_bot"
    expected = {k for k in parse_expectations(root).labels if k[2].startswith("BOT6")}
    manifests = [(p.relative_to(root).as_posix(), p.read_bytes())
                 for p in sorted(root.rglob("*")) if p.is_file()
                 and is_manifest(p.relative_to(root).as_posix())]
    result = analyze_dependencies(root, manifests, OFFLINE)
    assert reported(result) == expected
    assert len(expected) >= 5


def test_unpinned_and_ranges(tmp_path: Path) -> None:
    result = analyze(tmp_path, {"requirements.txt": (
        "ccxt\n"            # 1
        "pandas>=2\n"       # 2
        "numpy==1.*\n"      # 3
        "aiohttp~=3.9\n"    # 4
        "requests==2.32.3\n"  # 5 pinned
        "# botscan: ignore[BOT602] -- pinned by the deployment image\n"
        "scipy>=1.11\n"     # 7 suppressed
    )})
    assert reported(result) == {("requirements.txt", n, "BOT602") for n in (1, 2, 3, 4)}
    suppressed = [f for f in result.findings if f.suppressed]
    assert [(f.location.line, f.suppression) for f in suppressed] == [
        (7, "pinned by the deployment image")]
    by_line = {f.location.line: f for f in result.findings}
    assert "ccxt is not pinned" in by_line[1].message
    assert by_line[1].severity.label == "low"


def test_fingerprints_survive_moved_lines(tmp_path: Path) -> None:
    before = analyze(tmp_path / "a", {"requirements.txt": "ccxt\nccxtt==1.0\n"})
    after = analyze(tmp_path / "b", {"requirements.txt": "# moved down\n\nccxt\nccxtt==1.0\n"})
    assert {f.fingerprint for f in before.findings} == {f.fingerprint for f in after.findings}


def test_ranges_locked_next_door_are_not_reported(tmp_path: Path) -> None:
    result = analyze(tmp_path, {
        "pyproject.toml": '[project]\nname = "bot"\ndependencies = ["ccxt>=4", "pandas"]\n',
        "uv.lock": ('version = 1\n\n[[package]]\nname = "ccxt"\nversion = "4.4.26"\n'
                    'source = { registry = "https://pypi.org/simple" }\n'),
        "requirements.in": "aiohttp>=3\nyarl\n",
        "requirements.txt": "aiohttp==3.9.5\n",
    })
    # pandas is in no lock; yarl is not in the compiled requirements.txt
    assert reported(result) == {("pyproject.toml", 3, "BOT602"),
                                ("requirements.in", 2, "BOT602")}
    rows = {(d.name, d.manifest) for d in result.dependencies}
    assert ("ccxt", "uv.lock") in rows and ("ccxt", "pyproject.toml") not in rows


def test_sources_outside_the_index(tmp_path: Path) -> None:
    token = "ghp_" + "Zq8Lm3Nx7Rt2Vw5Yb9Kc4Hd6Jf1Gs0Pa2Ue"
    commit = "0123456789abcdef0123456789abcdef01234567"
    result = analyze(tmp_path, {"requirements.txt": (
        f"git+https://{token}@github.com/me/private.git@main#egg=private\n"  # 1
        f"git+https://github.com/me/tools.git@{commit}#egg=tools\n"         # 2
        "https://example.com/pkg-1.0.tar.gz\n"                              # 3
        "./localpkg\n"                                                      # 4
        "-e .\n"                                                            # 5
        "--extra-index-url https://pkgs.internal.example/simple\n"          # 6
        "--index-url https://pypi.org/simple\n"                             # 7: PyPI itself
        "-r https://raw.example/requirements.txt\n"                         # 8
    )})
    assert reported(result) == {("requirements.txt", n, "BOT603") for n in (1, 2, 3, 4, 5, 6, 8)}
    by_line = {f.location.line: f for f in result.findings}
    assert "branch or tag" in by_line[1].message
    assert "pinned to a commit" in by_line[2].message
    assert "without a hash" in by_line[3].message
    assert "./localpkg" in by_line[4].message and "editable" in by_line[5].message
    assert "dependency confusion" in by_line[6].message
    assert by_line[1].severity.label == "medium"
    for finding in result.findings:
        assert token not in finding.message and token not in finding.snippet
        assert token not in str(finding.evidence)


def test_malicious_wins_over_typosquat_and_both_are_named(tmp_path: Path) -> None:
    result = analyze(tmp_path, {"requirements.txt": (
        "solana-py==0.34.2\nccxtt==4.4.26\nsolana==0.34.3\nbinance==1.0\n")})
    assert reported(result) == {("requirements.txt", 1, "BOT605"),
                                ("requirements.txt", 2, "BOT604")}
    by_line = {f.location.line: f for f in result.findings}
    assert by_line[1].severity.label == "critical"
    assert by_line[2].severity.label == "high"
    assert by_line[2].evidence["target"] == "ccxt"


def test_typosquats_in_lock_and_build_requirements(tmp_path: Path) -> None:
    result = analyze(tmp_path, {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=68", "ccxtt"]\n',
        "poetry.lock": '[[package]]\nname = "python-binnance"\nversion = "1.0.19"\n',
    })
    assert reported(result) == {("pyproject.toml", 2, "BOT604"), ("poetry.lock", 2, "BOT604")}


def test_offline_says_so_and_keeps_rows(tmp_path: Path) -> None:
    result = analyze(tmp_path, {"requirements.txt": "requests==2.19.0\nccxt>=4\n"})
    assert [(n.path, n.message) for n in result.notices] == [
        ("", "--offline: vulnerability audit skipped; 1 pinned dependency not checked for "
             "known vulnerabilities")]
    assert [(d.name, d.version, d.audited, d.skip_reason) for d in result.dependencies] == [
        ("requests", "2.19.0", False, "not audited: --offline"),
        ("ccxt", None, False, "not pinned to an exact version: cannot be audited"),
    ]
    assert [d.name for d in result.not_audited] == ["requests"]


def test_nothing_to_audit_means_no_notice(tmp_path: Path) -> None:
    assert analyze(tmp_path, {"requirements.txt": "ccxt>=4\n"}).notices == []
    assert analyze(tmp_path / "empty", {}).findings == []


@pytest.mark.parametrize("options", [
    {"service": "snyk"},
    {"service": "pypi", "osv_url": "https://osv.example/v1/query"},
    {"osv_url": "file:///etc/passwd"},
    {"timeout_seconds": 0},
])
def test_settings_are_validated(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AuditSettings(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("manifest", ["Pipfile", "pyproject.toml"])
def test_a_url_written_as_a_version_keeps_its_credentials_out(tmp_path: Path,
                                                             manifest: str) -> None:
    """A Pipenv or Poetry value that names a location where a version belongs is a range to
    the pinning rule, and the rule repeats it in its message and evidence: the token in it
    must not come out whole (found by tests/test_fuzz.py)."""
    token = "Zq8Lm3Nx7Rt2Vw5Yb9Kc4Hd6Jf1Gs0Pa2Ue"
    value = f'"pkg @ https://deploy:{token}@pkgs.example.org/pkg-1.0.whl"'
    table = "[packages]" if manifest == "Pipfile" else "[tool.poetry.dependencies]"
    result = analyze(tmp_path, {manifest: f"{table}\npkg = {value}\n"})
    assert reported(result) == {(manifest, 2, "BOT602")}
    for finding in result.findings:
        assert token not in finding.message and token not in finding.snippet
        assert token not in str(finding.evidence), finding.evidence
    assert "https://***@pkgs.example.org" in result.findings[0].evidence["specifier"]


def test_credentials_in_joined_lines_and_unread_entries_stay_out(tmp_path: Path) -> None:
    """A continuation joins a URL requirement to the next line, which names its own URL with
    credentials; an entry that is not a requirement is quoted in a notice (both found by
    tests/test_fuzz.py)."""
    token = "Zq8Lm3Nx7Rt2Vw5Yb9Kc4Hd6Jf1Gs0Pa2Ue"
    result = analyze(tmp_path, {
        "requirements.txt": "https://example.org/x-1.0.tar.gz \\\n"
                            f"pkg @ https://deploy:{token}@files.example.org/pkg-1.0.whl\n",
        "pyproject.toml": '[project]\nname = "bot"\n'
                          f'dependencies = ["-i https://deploy:{token}@pypi.example.org/simple"]\n',
    })
    assert reported(result) == {("requirements.txt", 1, "BOT603")}
    shown = [text for f in result.findings for text in (f.message, f.snippet, str(f.evidence))]
    shown += [n.message for n in result.notices]
    assert not [text for text in shown if token in text], shown
    (unread,) = [n for n in result.notices if n.path == "pyproject.toml"]
    assert "not a PEP 508 requirement" in unread.message and "https://***@pypi" in unread.message
