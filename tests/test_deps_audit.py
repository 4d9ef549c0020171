"""The vulnerability audit end to end: the real pip-audit, in a subprocess, against an
OSV-compatible service on loopback (`osv_server.py`) with real advisory records, and once
against the public service when it answers.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from osv_server import osv_server

from botscan.deps import AuditSettings, DependencyResult, analyze_dependencies, is_manifest
from botscan.deps.audit import DEFAULT_OSV_URL


def analyze(root: Path, files: dict[str, str], settings: AuditSettings) -> DependencyResult:
    manifests = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if is_manifest(rel):
            manifests.append((rel, text.encode()))
    return analyze_dependencies(root, manifests, settings)


def found(result: DependencyResult) -> set[tuple[str, int, str]]:
    return {(f.location.path, f.location.line, f.rule_id) for f in result.findings}


BOT = {
    "requirements.txt": ("# runtime\n"
                         "requests==2.19.0\n"       # 2: PYSEC-2018-28
                         "ccxt==4.4.26\n"           # 3: clean
                         "ccxtt==4.4.26\n"          # 4: typosquat
                         "pandas>=2\n"),            # 5: unpinned
    "poetry.lock": ('[[package]]\nname = "certifi"\nversion = "2024.8.30"\n\n'
                    '[[package]]\nname = "urllib3"\nversion = "1.24.1"\n'),  # 6: PYSEC-2019-132
}


def test_loopback_audit_reports_advisories_at_manifest_lines(tmp_path: Path) -> None:
    with osv_server() as server:
        started = time.monotonic()
        result = analyze(tmp_path, BOT, AuditSettings(osv_url=server.url))
        elapsed = time.monotonic() - started
    assert found(result) == {
        ("requirements.txt", 2, "BOT601"), ("poetry.lock", 6, "BOT601"),
        ("requirements.txt", 4, "BOT604"), ("requirements.txt", 5, "BOT602"),
    }
    # only parsed exact pins reach the service, nothing else of the tree
    assert sorted(server.queries) == [("ccxt", "4.4.26"), ("ccxtt", "4.4.26"),
                                      ("certifi", "2024.8.30"), ("requests", "2.19.0"),
                                      ("urllib3", "1.24.1")]
    by_path = {f.location.path: f for f in result.findings if f.rule_id == "BOT601"}
    requests_finding = by_path["requirements.txt"]
    assert requests_finding.message == (
        "requests 2.19.0 has 1 known vulnerability: PYSEC-2018-28 (CVE-2018-18074, "
        "GHSA-x84v-xcm2-53pg). Fix: upgrade requests to 2.20.0 or later")
    assert requests_finding.severity.label == "high"
    assert requests_finding.evidence["advisories"] == [{
        "id": "PYSEC-2018-28", "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
        "fix_versions": ["2.20.0"]}]
    assert "upgrade urllib3 to 1.24.3 or later" in by_path["poetry.lock"].message
    rows = {(d.name, d.manifest): d for d in result.dependencies}
    urllib3 = rows[("urllib3", "poetry.lock")]
    assert (urllib3.version, urllib3.line, urllib3.audited, urllib3.fix) == (
        "1.24.1", 6, True, "upgrade urllib3 to 1.24.3 or later")
    assert [a.id for a in urllib3.advisories] == ["PYSEC-2019-132"]
    assert urllib3.advisories[0].aliases == ("CVE-2019-11236", "GHSA-r64q-w8jr-g9qp")
    assert rows[("ccxt", "requirements.txt")].audited
    assert rows[("ccxt", "requirements.txt")].advisories == []
    assert not result.notices
    assert elapsed < 20


@pytest.mark.parametrize("failure", ["status", "close"])
def test_network_failure_mid_audit_is_a_notice_not_clean(tmp_path: Path, failure: str) -> None:
    with osv_server(fail_after=1, failure=failure) as server:
        result = analyze(tmp_path, BOT, AuditSettings(osv_url=server.url))
        assert len(server.queries) >= 2  # it answered one, then broke
    assert found(result) == {("requirements.txt", 4, "BOT604"),
                             ("requirements.txt", 5, "BOT602")}
    assert len(result.notices) == 1
    notice = result.notices[0]
    assert notice.message.startswith(f"vulnerability audit failed (osv {server.url}): ")
    assert notice.message.endswith("5 pinned dependencies not checked for known "
                                   "vulnerabilities")
    assert ("500 Server Error" if failure == "status" else "ConnectionError") in notice.message
    assert "Traceback" not in notice.message
    pinned = [d for d in result.dependencies if d.version]
    assert pinned and not any(d.audited or d.advisories for d in pinned)
    assert {d.skip_reason for d in pinned} == {"not audited: the vulnerability audit failed"}
    assert len(result.not_audited) == 5


def test_stalled_service_is_cut_off_by_the_timeout(tmp_path: Path) -> None:
    with osv_server(fail_after=0, failure="hang") as server:
        started = time.monotonic()
        result = analyze(tmp_path, {"requirements.txt": "requests==2.19.0\n"},
                         AuditSettings(osv_url=server.url, timeout_seconds=1.5))
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert [n.message for n in result.notices] == [
        f"vulnerability audit failed (osv {server.url}): pip-audit did not finish within "
        "1.5 s; 1 pinned dependency not checked for known vulnerabilities"]
    assert not result.findings


def test_unreachable_service(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/query"
    result = analyze(tmp_path, {"requirements.txt": "requests==2.19.0\n"},
                     AuditSettings(osv_url=url, timeout_seconds=30))
    assert [n.message.split(":")[0] for n in result.notices] == [
        "vulnerability audit failed (osv http"]
    assert "1 pinned dependency not checked" in result.notices[0].message
    assert not result.findings


def test_offline_never_queries(tmp_path: Path) -> None:
    with osv_server() as server:
        result = analyze(tmp_path, BOT, AuditSettings(offline=True, osv_url=server.url))
    assert server.queries == []
    assert [n.message for n in result.notices] == [
        "--offline: vulnerability audit skipped; 5 pinned dependencies not checked for known "
        "vulnerabilities"]
    assert found(result) == {("requirements.txt", 4, "BOT604"),
                             ("requirements.txt", 5, "BOT602")}


def test_cache_per_pin_and_service_with_ttl(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = {"requirements.txt": "requests==2.19.0\nccxt==4.4.26\n"}
    with osv_server(fail_after=0) as broken:
        failed = analyze(tmp_path / "a", files, AuditSettings(osv_url=broken.url,
                                                              cache_dir=cache))
    assert failed.notices and not found(failed)
    with osv_server() as server:
        settings = AuditSettings(osv_url=server.url, cache_dir=cache)
        first = analyze(tmp_path / "b", files, settings)
        assert len(server.queries) == 2  # the failure was not cached
        second = analyze(tmp_path / "c", files, settings)
        assert len(server.queries) == 2  # answered from the cache
        assert found(second) == found(first) == {("requirements.txt", 1, "BOT601")}
        assert [d.audited for d in second.dependencies] == [True, True]
        analyze(tmp_path / "d", files, AuditSettings(osv_url=server.url, cache_dir=cache,
                                                     cache_ttl_seconds=0))
        assert len(server.queries) == 4  # expired
    with osv_server() as other:
        analyze(tmp_path / "e", files, AuditSettings(osv_url=other.url, cache_dir=cache))
        assert len(other.queries) == 2  # another service URL has its own entries


def test_two_versions_of_one_package_are_both_audited(tmp_path: Path) -> None:
    """pip-audit refuses one file with two versions of a name: they go to separate runs."""
    with osv_server() as server:
        result = analyze(tmp_path, {"a/requirements.txt": "requests==2.19.0\n",
                                    "b/requirements.txt": "requests==2.32.3\n"},
                         AuditSettings(osv_url=server.url))
    assert found(result) == {("a/requirements.txt", 1, "BOT601")}
    assert [(d.manifest, d.audited) for d in result.dependencies] == [
        ("a/requirements.txt", True), ("b/requirements.txt", True)]
    assert not result.notices


MARKER_SETUP = """\
import pathlib
pathlib.Path({marker!r}).write_text("setup.py of {where} was executed")
from setuptools import setup
setup(name="{where}", install_requires=["requests==2.19.0"])
"""

MARKER_MODULE = 'import pathlib\npathlib.Path({marker!r}).write_text("imported {what}")\n'


def test_hostile_tree_is_audited_without_running_anything(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    marker = tmp_path / "MARKER"
    files = {
        "requirements.txt": "-e .\n./localpkg\nrequests==2.19.0\n",
        "setup.py": MARKER_SETUP.format(marker=str(marker), where="root"),
        "localpkg/setup.py": MARKER_SETUP.format(marker=str(marker), where="localpkg"),
        "localpkg/pyproject.toml": ('[build-system]\nrequires = ["setuptools"]\n'
                                    'build-backend = "setuptools.build_meta"\n'),
        # planted where `python -m pip_audit` would import them if run from the tree
        "pip_audit/__init__.py": MARKER_MODULE.format(marker=str(marker), what="pip_audit"),
        "pip_audit/__main__.py": MARKER_MODULE.format(marker=str(marker), what="pip_audit"),
        "requests/__init__.py": MARKER_MODULE.format(marker=str(marker), what="requests"),
        "sitecustomize.py": MARKER_MODULE.format(marker=str(marker), what="sitecustomize"),
    }
    with osv_server() as server:
        result = analyze(root, files, AuditSettings(osv_url=server.url))
    assert not marker.exists(), marker.read_text()
    assert found(result) == {
        ("requirements.txt", 1, "BOT603"), ("requirements.txt", 2, "BOT603"),
        ("requirements.txt", 3, "BOT601"), ("setup.py", 4, "BOT601"),
        ("localpkg/setup.py", 4, "BOT601"),
    }
    assert server.queries == [("requests", "2.19.0")]
    assert not result.notices


def _public_osv_answers() -> str | None:
    """None when api.osv.dev answers a real query, else why not."""
    body = json.dumps({"package": {"name": "requests", "ecosystem": "PyPI"},
                       "version": "2.19.0"}).encode()
    request = urllib.request.Request(DEFAULT_OSV_URL, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.load(response)
    except (OSError, ValueError) as exc:
        return f"{DEFAULT_OSV_URL} is not reachable from here ({exc})"
    if not answer.get("vulns"):
        return f"{DEFAULT_OSV_URL} answered without advisories for requests 2.19.0"
    return None


def test_public_osv_service(tmp_path: Path) -> None:
    why_not = _public_osv_answers()
    if why_not is not None:
        pytest.skip(f"public vulnerability service unavailable: {why_not}")
    result = analyze(tmp_path, {"requirements.txt": "requests==2.19.0\n"},
                     AuditSettings(timeout_seconds=60))
    assert not result.notices
    row = result.dependencies[0]
    assert row.audited
    named = {a.id for a in row.advisories} | {x for a in row.advisories for x in a.aliases}
    assert "CVE-2018-18074" in named
    assert ("requirements.txt", 1, "BOT601") in found(result)


def test_public_pypi_service_is_never_silently_clean(tmp_path: Path) -> None:
    """`-s pypi` against whatever pypi.org is from here: either real advisories, or (behind
    a mirror without per-version JSON) a notice that nothing was audited, never a clean run."""
    url = "https://pypi.org/pypi/requests/2.19.0/json"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            mirror = "vulnerabilities" not in json.load(response)
    except urllib.error.HTTPError as exc:
        mirror = exc.code == 404
        if not mirror:
            pytest.skip(f"pypi.org answered HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        pytest.skip(f"pypi.org is not reachable from here ({exc})")
    result = analyze(tmp_path, {"requirements.txt": "requests==2.19.0\n"},
                     AuditSettings(service="pypi", timeout_seconds=60))
    row = result.dependencies[0]
    if mirror:
        assert not row.audited and row.skip_reason
        assert [(n.path, n.message.split(" (")[0]) for n in result.notices] == [
            ("requirements.txt", "1 pinned dependency not audited for known vulnerabilities")]
        assert not found(result)
    else:
        assert row.audited and ("requirements.txt", 1, "BOT601") in found(result)

