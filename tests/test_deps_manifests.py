"""Static manifest parsing: every format, with the line that declares each dependency.

Nothing here runs the manifests: `setup.py` files in these trees would fail loudly if they
were executed (they call functions that do not exist).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from botscan.deps import is_manifest
from botscan.deps.declared import Declared, Role, Source
from botscan.deps.manifests import Manifests, read_manifests

Row = tuple[str, str | None, int, str, str]
"""(name or written, exact version, line, source, role)."""


def write(root: Path, files: dict[str, str]) -> list[tuple[str, bytes]]:
    manifests = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if is_manifest(rel):
            manifests.append((rel, text.encode()))
    return manifests


def rows(found: Manifests, manifest: str) -> set[Row]:
    return {(d.label, d.version, d.line, d.source.value, d.role.value)
            for d in found.declared if d.manifest == manifest}


def only(found: Manifests, name: str) -> Declared:
    matches = [d for d in found.declared if d.name == name]
    assert len(matches) == 1, matches
    return matches[0]


@pytest.mark.parametrize(("path", "expected"), [
    ("requirements.txt", True), ("requirements-dev.txt", True), ("dev-requirements.txt", True),
    ("requirements/base.txt", True), ("requirements.in", True), ("sub/requirements_test.in", True),
    ("pyproject.toml", True), ("poetry.lock", True), ("uv.lock", True), ("Pipfile", True),
    ("Pipfile.lock", True), ("pylock.toml", True), ("pylock.dev.toml", True),
    ("setup.cfg", True), ("setup.py", True), ("environment.yml", True),
    ("environment.yaml", True), ("setup/environment_dydx.yml", True), ("MANIFEST.in", False),
    ("notes.txt", False),
    ("config.toml", False), ("setup_helpers.py", False), ("Makefile.in", False),
])
def test_is_manifest(path: str, expected: bool) -> None:
    assert is_manifest(path) is expected


def test_requirements_with_includes_hashes_markers_urls(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("evil==1.0\n")
    root = tmp_path / "bot"
    manifests = write(root, {
        "requirements.txt": (
            "-r base.txt\n"                                      # 1
            "--constraint constraints.txt\n"                     # 2
            "requests==2.19.0 \\\n"                              # 3
            "    --hash=sha256:aaaa \\\n"                        # 4
            "    --hash=sha256:bbbb\n"                           # 5
            "flask[async]>=2.0 ; python_version >= '3.8'  # web\n"  # 6
            "-e git+https://github.com/o/r.git@0123456789abcdef0123456789abcdef01234567"
            "#egg=vcspkg\n"                                      # 7
            "./localpkg\n"                                       # 8
            "https://example.com/x-1.0.tar.gz#sha256=abc\n"      # 9
            "-r ../outside.txt\n"                                # 10
            "-r missing.txt\n"                                   # 11
            "this is not a requirement\n"                        # 12
        ),
        "base.txt": "urllib3==1.24.1\n-r requirements.txt\n-r base.txt\n",
        "constraints.txt": "# pins\nidna==2.7\n",
    })
    found = read_manifests(root, manifests)
    assert rows(found, "requirements.txt") == {
        ("requests", "2.19.0", 3, "index", "dependency"),
        ("flask", None, 6, "index", "dependency"),
        ("vcspkg", None, 7, "vcs", "dependency"),
        ("./localpkg", None, 8, "path", "dependency"),
        ("https://example.com/x-1.0.tar.gz#sha256=abc", None, 9, "url", "dependency"),
    }
    assert rows(found, "base.txt") == {("urllib3", "1.24.1", 1, "index", "dependency")}
    assert rows(found, "constraints.txt") == {("idna", "2.7", 2, "index", "constraint")}
    assert only(found, "vcspkg").editable
    assert only(found, "flask").specifier == ">=2.0"
    messages = {n.message for n in found.notices}
    assert any("../outside.txt points outside the scanned root" in m for m in messages)
    assert any("missing.txt: no such file" in m for m in messages)
    assert any("1 dependency entries not read: line 12" in m for m in messages)
    assert all(n.path == "requirements.txt" for n in found.notices)


def test_include_through_symlink_out_of_root_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("stolen==1.0\n")
    root = tmp_path / "bot"
    manifests = write(root, {"requirements.txt": "-r link.txt\n"})
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    found = read_manifests(root, manifests)
    assert not found.declared
    assert [n.message for n in found.notices] == [
        "line 1: -r link.txt: resolves outside the scanned root; not read"]


def test_include_naming_a_nul_byte_is_a_notice_not_a_crash(tmp_path: Path) -> None:
    """`-r x\\0y.txt` made the OS refuse the name with a ValueError that ended the whole scan
    (found by tests/test_fuzz.py)."""
    manifests = [("requirements.txt", b"ccxt==4.2.1\n-r x\0y.txt\n")]
    found = read_manifests(tmp_path, manifests)
    assert [d.name for d in found.declared] == ["ccxt"]
    assert [n.message for n in found.notices] == [
        "line 2: -r x\0y.txt: not a file name (it holds a NUL byte); not read"]


def test_index_options_and_remote_include(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"requirements.txt": (
        "--extra-index-url https://evil.example/simple\n"
        "-i https://pypi.org/simple\n"
        "-f ./wheels\n"
        "-r https://raw.example/req.txt\n"
        "--trusted-host evil.example\n"
    )})
    found = read_manifests(tmp_path, manifests)
    assert {(d.option, d.location, d.line, d.role) for d in found.declared} == {
        ("--extra-index-url", "https://evil.example/simple", 1, Role.SOURCE),
        ("--index-url", "https://pypi.org/simple", 2, Role.SOURCE),
        ("--find-links", "./wheels", 3, Role.SOURCE),
        ("-r", "https://raw.example/req.txt", 4, Role.SOURCE),
    }


def test_url_credentials_are_scrubbed(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    manifests = write(tmp_path, {
        "requirements.txt": f"git+https://{token}@github.com/o/private.git#egg=private\n"})
    declared = only(read_manifests(tmp_path, manifests), "private")
    assert token not in (declared.location or "") and token not in declared.written
    assert token in declared.secrets


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]

[project]
name = "bot"
dependencies = [
    "ccxt==4.4.26",
    'requests>=2',
]

[project.optional-dependencies]
ws = ["websockets==12.0"]

[dependency-groups]
test = ["pytest==8.3.3", {include-group = "lint"}, "bot[ws]"]

[tool.poetry.dependencies]
python = "^3.10"
pybit = "5.8.0"
pandas = "^2.1"
mylib = { git = "https://github.com/o/mylib.git", branch = "main" }
local = { path = "../local", develop = true }

[tool.poetry.group.dev.dependencies]
black = "~24.1"

[tool.poetry.dependencies.numpy]
version = "1.26.4"

[tool.uv.sources]
ccxt = { git = "https://github.com/fork/ccxt" }

[tool.setuptools.dynamic]
dependencies = { file = ["requirements.in"] }
"""


def test_pyproject_pep621_poetry_groups_and_uv_sources(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"pyproject.toml": PYPROJECT, "requirements.in": "yarl==1.9\n"})
    found = read_manifests(tmp_path, manifests)
    assert rows(found, "pyproject.toml") == {
        ("setuptools", None, 2, "index", "build"),
        ("wheel", None, 2, "index", "build"),
        ("ccxt", "4.4.26", 7, "index", "dependency"),
        ("requests", None, 8, "index", "dependency"),
        ("websockets", "12.0", 12, "index", "dependency"),
        ("pytest", "8.3.3", 15, "index", "dependency"),
        ("pybit", "5.8.0", 19, "index", "dependency"),
        ("pandas", None, 20, "index", "dependency"),
        ("mylib", None, 21, "vcs", "dependency"),
        ("local", None, 22, "path", "dependency"),
        ("black", None, 25, "index", "dependency"),
        ("numpy", "1.26.4", 27, "index", "dependency"),
        ("ccxt", None, 31, "vcs", "source"),
    }
    assert only(found, "mylib").location == "git+https://github.com/o/mylib.git@main"
    assert only(found, "local").editable
    assert only(found, "pandas").specifier == "^2.1"
    assert rows(found, "requirements.in") == {("yarl", "1.9", 1, "index", "dependency")}
    assert not found.notices


def test_invalid_toml_is_a_notice(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"pyproject.toml": "[project\ndependencies = ['x']\n"})
    found = read_manifests(tmp_path, manifests)
    assert not found.declared
    assert len(found.notices) == 1 and "invalid TOML" in found.notices[0].message


POETRY_LOCK = """\
[[package]]
name = "requests"
version = "2.19.0"
description = "Python HTTP for Humans."
optional = false
python-versions = "*"
files = [
    {file = "requests-2.19.0.tar.gz", hash = "sha256:aaaa"},
]

[package.dependencies]
idna = ">=2.5,<2.8"

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.source]
type = "git"
url = "https://github.com/o/mylib.git"
reference = "main"
resolved_reference = "0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "urllib3"
version = "1.24.1"

[metadata]
lock-version = "2.0"
"""

UV_LOCK = """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "bot"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "urllib3" }]

[[package]]
name = "urllib3"
version = "1.24.1"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/urllib3-1.24.1.tar.gz", hash = "sha256:aa" }

[[package]]
name = "forked"
version = "0.2.0"
source = { git = "https://github.com/o/forked?rev=main#0123456" }
"""

PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
requests = "==2.19.0"
ccxt = "*"
mylib = {git = "https://github.com/o/mylib.git", ref = "main"}
local = {path = ".", editable = true}

[dev-packages]
pytest = {version = ">=8"}

[requires]
python_version = "3.11"
"""

PIPFILE_LOCK = """\
{
    "_meta": {
        "hash": {"sha256": "0000"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]
    },
    "default": {
        "requests": {
            "hashes": ["sha256:aaaa"],
            "index": "pypi",
            "version": "==2.19.0"
        },
        "mylib": {
            "git": "https://github.com/o/mylib.git",
            "ref": "0123456789abcdef0123456789abcdef01234567"
        }
    },
    "develop": {
        "pytest": {"version": "==8.3.3"}
    }
}
"""

PYLOCK = """\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "requests"
version = "2.19.0"
index = "https://pypi.org/simple"

[[packages.wheels]]
url = "https://files.pythonhosted.org/requests-2.19.0-py2.py3-none-any.whl"
hashes = {sha256 = "aaaa"}

[[packages]]
name = "localpkg"
directory = { path = "./localpkg", editable = true }

[[packages]]
name = "urllib3"
version = "1.24.1"
"""


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("poetry.lock", POETRY_LOCK, {
        ("requests", "2.19.0", 2, "index", "dependency"),
        ("mylib", None, 15, "vcs", "dependency"),
        ("urllib3", "1.24.1", 29, "index", "dependency")}),
    ("uv.lock", UV_LOCK, {
        ("urllib3", "1.24.1", 11, "index", "dependency"),
        ("forked", None, 17, "vcs", "dependency")}),
    ("Pipfile", PIPFILE, {
        ("requests", "2.19.0", 7, "index", "dependency"),
        ("ccxt", None, 8, "index", "dependency"),
        ("mylib", None, 9, "vcs", "dependency"),
        ("local", None, 10, "path", "dependency"),
        ("pytest", None, 13, "index", "dependency")}),
    ("Pipfile.lock", PIPFILE_LOCK, {
        ("requests", "2.19.0", 9, "index", "dependency"),
        ("mylib", None, 14, "vcs", "dependency"),
        ("pytest", "8.3.3", 20, "index", "dependency")}),
    ("pylock.toml", PYLOCK, {
        ("requests", "2.19.0", 5, "index", "dependency"),
        ("localpkg", None, 14, "path", "dependency"),
        ("urllib3", "1.24.1", 18, "index", "dependency")}),
])
def test_project_and_lock_files(tmp_path: Path, name: str, text: str,
                                expected: set[Row]) -> None:
    found = read_manifests(tmp_path, write(tmp_path, {name: text}))
    assert rows(found, name) == expected
    assert not found.notices
    if name.endswith((".lock", "pylock.toml")):
        assert all(d.locked for d in found.declared if d.source is Source.INDEX)


def test_setup_cfg(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"setup.cfg": (
        "[metadata]\n"
        "name = bot\n"
        "\n"
        "[options]\n"
        "install_requires =\n"
        "    requests==2.19.0\n"
        "    # a comment\n"
        "    ccxt>=4\n"
        "setup_requires = setuptools_scm==8.0\n"
        "\n"
        "[options.extras_require]\n"
        "ws =\n"
        "    websockets==12.0\n"
    )})
    assert rows(read_manifests(tmp_path, manifests), "setup.cfg") == {
        ("requests", "2.19.0", 6, "index", "dependency"),
        ("ccxt", None, 8, "index", "dependency"),
        ("setuptools-scm", "8.0", 9, "index", "build"),
        ("websockets", "12.0", 13, "index", "dependency"),
    }


def test_setup_py_literals_only_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    manifests = write(tmp_path, {"setup.py": (
        "from setuptools import setup\n"
        f"open({str(marker)!r}, 'w').write('executed')\n"
        "BASE = [\n"
        "    'requests==2.19.0',\n"
        "    'ccxt>=4',\n"
        "]\n"
        "setup(\n"
        "    name='bot',\n"
        "    install_requires=BASE,\n"
        "    extras_require={'ws': ['websockets==12.0']},\n"
        "    setup_requires=['setuptools_scm'],\n"
        "    tests_require=read_file('req.txt'),\n"
        ")\n"
    )})
    found = read_manifests(tmp_path, manifests)
    assert rows(found, "setup.py") == {
        ("requests", "2.19.0", 4, "index", "dependency"),
        ("ccxt", None, 5, "index", "dependency"),
        ("websockets", "12.0", 10, "index", "dependency"),
        ("setuptools-scm", None, 11, "index", "build"),
    }
    assert len(found.notices) == 1
    assert "tests_require is computed" in found.notices[0].message
    assert not marker.exists()


def test_setup_py_local_names_resolve_once_bound_only(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"setup.py": (
        "from setuptools import setup\n"
        "EXTRA = ['a==1']\n"
        "EXTRA = ['b==2']\n"
        "def main():\n"
        "    install_requires = [\n"
        "        'aiohttp>=3.8.5',\n"
        "    ]\n"
        "    setup(install_requires=install_requires, tests_require=EXTRA)\n"
        "main()\n"
    )})
    found = read_manifests(tmp_path, manifests)
    assert rows(found, "setup.py") == {("aiohttp", None, 6, "index", "dependency")}
    assert ["tests_require is computed" in n.message for n in found.notices] == [True]


def test_setup_py_that_is_not_python_3(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"setup.py": "print 'python 2'\nsetup(install_requires=[)\n"})
    found = read_manifests(tmp_path, manifests)
    assert not found.declared
    assert [n.kind.value for n in found.notices] == ["not-parsed"]


def test_environment_yml_pip_section(tmp_path: Path) -> None:
    manifests = write(tmp_path, {"environment.yml": (
        "name: bot\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - numpy=1.26\n"
        "  - pip\n"
        "  - pip:\n"
        "      - requests==2.19.0  # pinned\n"
        '      - "ccxt>=4"\n'
        "      - -e .\n"
        "  - pandas\n"
    )})
    assert rows(read_manifests(tmp_path, manifests), "environment.yml") == {
        ("requests", "2.19.0", 9, "index", "dependency"),
        ("ccxt", None, 10, "index", "dependency"),
        (".", None, 11, "path", "dependency"),
    }


def test_a_parser_bug_costs_its_manifest_not_the_scan(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """Manifests are parsed in the scanning process: an unexpected exception in one parser
    becomes a notice, and the other manifests are still read."""
    from botscan.deps import manifests as module

    real = module._parser

    def broken(path: str) -> object:
        if path.endswith("Pipfile"):
            def explode(path: str, text: str) -> object:
                raise RecursionError("deep")
            return explode
        return real(path)

    monkeypatch.setattr(module, "_parser", broken)
    read = module.read_manifests(tmp_path, [("Pipfile", b"[packages]\nx = '*'\n"),
                                            ("requirements.txt", b"ccxt==4.4.26\n")])
    assert [d.name for d in read.declared] == ["ccxt"]
    assert [(n.path, n.kind.value) for n in read.notices] == [("Pipfile", "crash")]
    assert "RecursionError" in read.notices[0].message
