"""The hostile-repository suite (issue 8, item 3): one generated repository that tries everything
a malicious bot could do to the person scanning it (`hostile_repo.py` lists the traps), scanned
by the real CLI in a subprocess, in a clean environment whose HOME is a fake home full of
secrets, in every output format, with the git history on.

What every run must show: it ended (a subprocess timeout is the hang guard) with exit 1 (the
planted keys are critical) and no traceback; no trap ran; nothing outside the tree was read
(no outside secret, whole or redacted, and no canary word beside them, in any output, any file
botscan wrote, or its cache); nothing in the tree changed; every planted key was reported and
none appears whole; every file that could not be analysed has its notice in every format;
the SARIF is valid; the HTML runs none of the markup planted in names and content, in a real
browser; and the odd file names (markup, quotes, newlines, undecodable bytes, leading `-`)
come out intact.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from helpers_security import Run, assert_absent, notice_kinds, run_cli
from hostile_archives import Archive, build_all
from hostile_repo import PWN, Hostile, build, remove_deep_directories
from test_report_html import _TEMPLATE_TAGS, chromium, dump_dom, parse, serve
from test_report_sarif import _schema_errors, github_problems

from botscan.redact import redact, short_hash

__all__ = ["chromium"]  # the browser fixture, shared with the HTML report's tests

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links, FIFOs and names"),
]

HANG_GUARD_SECONDS = 300.0
"""Not a speed assertion: a scan that has not ended by then is hung. (It takes seconds.)"""
FORMATS = ("text", "json", "sarif", "html")

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path) -> Snapshot:
    """{relative path: (mode, size, mtime_ns)} of everything under `root`, links not followed;
    iterative, because the tree holds directories nested deeper than the recursion limit."""
    found: Snapshot = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                found[os.path.relpath(entry.path, root)] = (st.st_mode, st.st_size,
                                                            st.st_mtime_ns)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(Path(entry.path))
    return found


def changed_files(root: Path, before: Snapshot) -> Iterator[Path]:
    """Regular files under `root` that are new or changed since `before`."""
    for rel, (mode, size, mtime) in snapshot(root).items():
        if stat.S_ISREG(mode) and before.get(rel) != (mode, size, mtime):
            yield root / rel


def isolated_env(home: Path, tmp: Path) -> dict[str, str]:
    """Nothing of the caller's environment but PATH: a fake HOME and a private TMPDIR."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "TMPDIR": str(tmp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_COLOR": "1",
            "PYTHONIOENCODING": "utf-8"}


def outside_forms(hostile: Hostile) -> dict[str, str]:
    """What would show that a file outside the tree was read: its secrets whole, redacted or
    by their hash, and the canary word written beside them."""
    forms = {"canary": hostile.canary}
    for name, secret in hostile.outside.items():
        forms[name] = secret
        forms[f"{name} (redacted)"] = redact(secret)
        forms[f"{name} (hash)"] = f"#{short_hash(secret)}"
    return forms


def leaks(forms: dict[str, str], texts: dict[str, str]) -> list[str]:
    return [f"{form} in {where}" for where, text in texts.items()
            for form, needle in forms.items() if needle in text]


@dataclass
class Session:
    hostile: Hostile
    work: Path
    """The working directory of every run, outside the tree."""
    tmp: Path
    """TMPDIR of every run."""
    cache: Path | None
    """Where `--cache-dir` pointed, when botscan has that option."""
    runs: dict[str, Run] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    """Reports written to files, by name."""
    tree_before: Snapshot = field(default_factory=dict)
    home_before: Snapshot = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return isolated_env(self.hostile.home, self.tmp)

    def run(self, name: str, *args: str | Path) -> Run:
        cache = ("--cache-dir", str(self.cache)) if self.cache is not None else ()
        run = run_cli("scan", self.hostile.root, "--offline", "--history", *cache, *args,
                      cwd=self.work, timeout=HANG_GUARD_SECONDS, env=self.env())
        self.runs[name] = run
        return run

    def outputs(self) -> dict[str, str]:
        """Every stream and report file, as text."""
        texts = {f"{name} {stream}": getattr(run, stream) for name, run in self.runs.items()
                 for stream in ("stdout", "stderr")}
        texts.update({f"file {name}": path.read_text(encoding="utf-8")
                      for name, path in self.files.items()})
        return texts

    def written(self) -> dict[str, bytes]:
        """Every file botscan may have written: in TMPDIR, the working directory, the cache
        and the home directory (new or changed files only: the fake secrets live there)."""
        found = {}
        for folder in (self.tmp, self.work, *((self.cache,) if self.cache else ())):
            for path in changed_files(folder, {}):
                found[str(path)] = path.read_bytes()
        for path in changed_files(self.hostile.home, self.home_before):
            found[str(path)] = path.read_bytes()
        return found

    def report(self) -> dict[str, Any]:
        return self.runs["json"].json()


def _has_option(option: str) -> bool:
    done = subprocess.run([sys.executable, "-m", "botscan", "scan", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    return option in done.stdout


@contextmanager
def hostile_repository(base: Path) -> Iterator[Hostile]:
    hostile = build(base)
    try:
        yield hostile
    finally:
        remove_deep_directories(hostile.root)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with hostile_repository(tmp_path_factory.mktemp("hostile")) as hostile:
        yield _scan_everything(hostile)


def _scan_everything(hostile: Hostile) -> Session:
    """Every report format, to stdout and to files, and a --diff-base run."""
    base = hostile.base
    work, tmp = base / "work", base / "tmp"
    work.mkdir()
    tmp.mkdir()
    out = work / "out"
    out.mkdir()
    cache = base / "cache" if _has_option("--cache-dir") else None
    s = Session(hostile, work, tmp, cache, tree_before=snapshot(hostile.root),
                home_before=snapshot(hostile.home))
    for fmt in FORMATS:
        s.run(fmt, "--format", fmt)
        s.files[f"-o {fmt}"] = out / f"report.{fmt}"
        s.run(f"-o {fmt}", "--format", fmt, "-o", s.files[f"-o {fmt}"])
    for fmt in ("json", "sarif", "html"):
        s.files[f"--{fmt}"] = out / f"also.{fmt}"
    s.run("several", "--format", "text", "--json", s.files["--json"], "--sarif",
          s.files["--sarif"], "--html", s.files["--html"])
    # --diff-base reads old versions of files through git, by path: the odd names go to git.
    s.run("diff-base", "--format", "json", "--diff-base", "HEAD~1")
    return s


# --- it ended, and nothing ran --------------------------------------------------------------


def test_every_run_ends_with_findings_and_no_traceback(session: Session) -> None:
    assert set(session.runs) == {*FORMATS, *(f"-o {f}" for f in FORMATS), "several",
                                 "diff-base"}
    for run in session.runs.values():
        assert run.returncode == 1, run.describe()  # the planted keys are critical
        assert "Traceback" not in run.stderr + run.stdout, run.describe()
    for fmt in FORMATS:
        assert session.runs[f"-o {fmt}"].stdout == "", f"-o {fmt} also wrote to stdout"
    for name, path in session.files.items():
        assert path.is_file() and path.stat().st_size > 0, name


def test_nothing_in_the_tree_or_its_git_ran(session: Session) -> None:
    assert session.hostile.fired() == []


def test_the_traps_are_live(tmp_path: Path) -> None:
    """The control: ordinary tools on the same repository do run its traps, so the test
    above proves botscan's restraint, not a harmless setup."""
    with hostile_repository(tmp_path) as hostile:
        _run_the_usual_tools(hostile)
    fired = set(hostile.fired())
    assert {"fsmonitor", "textconv", "hook-post-index-change", "bot.ran", "conftest.ran",
            "setup.ran"} <= fired, fired


def _run_the_usual_tools(hostile: Hostile) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(hostile.home), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (["status"], ["log", "-p", "-1"], ["diff", "HEAD~1", "--", "config.py"]):
        subprocess.run(["git", *args], cwd=hostile.root, env=env, capture_output=True,
                       timeout=60, check=False)
    subprocess.run([sys.executable, "-c", "import bot, conftest, setup"], cwd=hostile.root,
                   env=env, capture_output=True, timeout=60, check=False)


def test_the_tree_is_unchanged(session: Session) -> None:
    """No cache, bytecode, lock or index refresh was written into the scanned repository."""
    after = snapshot(session.hostile.root)
    assert set(after) == set(session.tree_before), (
        sorted(set(after) ^ set(session.tree_before))[:10])
    changed = [rel for rel, st in after.items() if session.tree_before[rel] != st]
    assert changed == []


# --- nothing outside was read ---------------------------------------------------------------


def test_nothing_outside_the_tree_was_read(session: Session) -> None:
    hostile = session.hostile
    texts = session.outputs()
    texts.update({path: data.decode("utf-8", "replace")
                  for path, data in session.written().items()})
    assert leaks(outside_forms(hostile), texts) == []
    report = session.report()
    linked = {rel for rel, kind in hostile.notices.items() if kind == "symlink"}
    # A finding about a link itself (BOT509) is allowed; one about what it points at is not.
    about_links = {f["rule_id"] for f in report["findings"] if f["path"] in linked}
    assert about_links <= {"BOT509"}, about_links
    assert not any(f["path"].startswith(("homedir/", "etc/")) for f in report["findings"])


# --- the planted keys -----------------------------------------------------------------------


def test_every_planted_key_is_reported(session: Session) -> None:
    findings = session.report()["findings"]
    by_place = {(f["rule_id"], f["path"], f["line"]): f for f in findings}
    missing = []
    for planted in session.hostile.planted:
        found = by_place.get((planted.rule, planted.path, planted.line))
        if found is None or found["evidence"].get("secret_hash") != short_hash(planted.secret):
            missing.append(planted.path)
    assert not missing, f"not reported: {missing}"
    for rule, path, line in session.hostile.expected:
        assert (rule, path, line) in by_place, (rule, path, line)
    history = by_place[("BOT104", "config.py", 1)]
    assert history["origin"].startswith("commit:"), history


def test_no_planted_key_appears_whole_anywhere(session: Session) -> None:
    secrets = session.hostile.secrets()
    texts = session.outputs()
    texts.update({path: data.decode("utf-8", "replace")
                  for path, data in session.written().items()})
    assert_absent(secrets, texts)
    text = session.runs["text"].stdout
    shown = [p.path for p in session.hostile.planted if redact(p.secret) not in text]
    assert not shown, f"redacted form missing from the text report: {shown}"


def test_the_diff_base_run_reports_the_new_files(session: Session) -> None:
    """HEAD~1 held only config.py: every other file is new, so its findings all count."""
    report = session.runs["diff-base"].json()
    paths = {f["path"] for f in report["findings"]}
    assert set(session.hostile.odd_names) <= paths, sorted(set(session.hostile.odd_names) - paths)


# --- notices, in every format ---------------------------------------------------------------


def test_what_could_not_be_analysed_is_a_notice_in_every_format(session: Session) -> None:
    kinds = notice_kinds(session.report())
    missing = {path: kind for path, kind in session.hostile.notices.items()
               if kind not in kinds.get(path, set())}
    assert not missing, f"no notice: {missing}\nnotices: {kinds}"
    text = session.runs["text"].stdout.split("Notices", 1)[-1]
    sarif = session.runs["sarif"].json()["runs"][0]["invocations"][0][
        "toolExecutionNotifications"]
    page = parse(session.runs["html"].stdout).by_id("notices")
    notes_in_page = {li.one("span", "loc").text for li in page.all("li")
                     if li.all("span", "loc")}
    for path in session.hostile.notices:
        assert path in text, f"{path} not among the text report's notices"
        assert any(n["message"]["text"].startswith(path + ":") for n in sarif), path
        assert path in notes_in_page, path


# --- the reports ----------------------------------------------------------------------------


def test_sarif_is_valid_and_acceptable_to_github(session: Session) -> None:
    for log in (session.runs["sarif"].json(),
                json.loads(session.files["--sarif"].read_text(encoding="utf-8"))):
        assert _schema_errors(log) == []
        assert list(github_problems(log)) == []
        for result in log["runs"][0]["results"]:
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert not set(uri) & set('<>"\n\t\r `'), uri


def test_odd_file_names_come_out_intact(session: Session) -> None:
    report = session.report()
    paths = {f["path"] for f in report["findings"] if f["rule_id"] == "BOT101"}
    assert set(session.hostile.odd_names) <= paths, sorted(set(session.hostile.odd_names) - paths)
    sarif_paths = {unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                           errors="surrogateescape")
                   for r in session.runs["sarif"].json()["runs"][0]["results"]}
    plain = [name for name in session.hostile.odd_names if name.isprintable()]
    assert set(plain) <= sarif_paths, sorted(set(plain) - sarif_paths)
    text = session.runs["text"].stdout
    # A name cannot start a line of its own, nor carry a control character to the terminal.
    assert "\nline.py" not in text and "new\\x0aline.py" in text
    for line in text.splitlines():
        assert line.replace("\t", " ").isprintable(), repr(line)


def test_the_html_report_holds_the_markup_as_text(session: Session) -> None:
    for page in (session.runs["html"].stdout, session.files["-o html"].read_text("utf-8")):
        tree = parse(page)
        assert {n.tag for n in tree.iter()} - {"#document"} <= _TEMPLATE_TAGS
        assert len(tree.all("script")) == 1 and tree.one("script").attrs == {}
        assert "<img" not in page and f"<script>{PWN}" not in page
        text = tree.text
        for payload in session.hostile.payload_strings:
            assert payload in text, payload


def test_the_html_report_runs_no_planted_script_in_a_browser(chromium: str,
                                                             session: Session,
                                                             tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(session.files["--html"], site / "report.html")
    with serve(site) as (port, requested):
        dom = dump_dom(chromium, tmp_path, f"http://127.0.0.1:{port}/report.html",
                       resolver="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    body = dom.one("body")
    assert body.attrs.get("data-report-js") == "ready", "the page's own script did not run"
    for node in dom.iter():
        assert "data-pwned" not in node.attrs, node
        assert not any(name.startswith("on") for name in node.attrs), node
    assert not dom.all("img") and len(dom.all("script")) == 1
    assert requested == ["/report.html"], "the page asked for something beyond itself"
    same_scan = json.loads(session.files["--json"].read_text(encoding="utf-8"))
    assert len(dom.all("article", "finding")) == len(same_scan["findings"])


# --- botscan vet: the same repository, and archives that attack whoever unpacks them --------


def _vet(target: Path, cwd: Path, env: dict[str, str], *args: str | Path) -> Run:
    return run_cli("vet", target, "--offline", *args, cwd=cwd, timeout=HANG_GUARD_SECONDS,
                   env=env)


def test_vet_of_the_repository_runs_nothing_reads_nothing_outside(session: Session) -> None:
    hostile = session.hostile
    page = session.work / "vet.html"
    run = _vet(hostile.root, session.work, session.env(), "--format", "json", "-o", page)
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    assert hostile.fired() == []
    report = run.json()
    assert report["verdict"]["level"] in ("review", "dangerous"), report["verdict"]
    found = {(f["rule_id"], f["path"], f["line"]) for f in report["findings"]}
    missing = [p.path for p in hostile.planted if (p.rule, p.path, p.line) not in found]
    assert not missing, missing
    texts = {"stdout": run.stdout, "stderr": run.stderr,
             "html": page.read_text(encoding="utf-8")}
    assert_absent(hostile.secrets(), texts)
    assert leaks(outside_forms(hostile), texts) == []
    assert snapshot(hostile.root) == session.tree_before


OUTSIDE_KEY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQ" \
              "yNTUxOQAAACBOutsideTheArchiveNeverRead7f3a9c"
"""The body of the SSH key the links in `links.tar` point at."""


def test_vet_from_inside_the_repository_ignores_its_configuration(session: Session) -> None:
    """`cd bot && botscan vet .`: the bot's own pyproject.toml and .botscan.toml exclude every
    file and ignore the credential rules; a verdict that obeyed them would call it clean."""
    hostile = session.hostile
    run = _vet(Path("."), hostile.root, session.env(), "--format", "json", "--no-html")
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert report["verdict"]["level"] == "dangerous", report["verdict"]
    found = {(f["rule_id"], f["path"], f["line"]) for f in report["findings"]}
    missing = [p.path for p in hostile.planted if (p.rule, p.path, p.line) not in found]
    assert not missing, missing
    assert hostile.fired() == []


@dataclass
class Vetted:
    archives: dict[str, Archive]
    runs: dict[str, Run]
    base: Path
    created: list[str]
    """Files that appeared or changed anywhere under `base` (home, TMPDIR, cwd, archives)."""


@pytest.fixture(scope="module")
def vetted(tmp_path_factory: pytest.TempPathFactory) -> Vetted:
    """Every trap archive vetted from a working directory two levels below the base, so that
    `../../escape.py` would land inside what the test watches."""
    base = tmp_path_factory.mktemp("archives")
    home, tmp, cwd = base / "home", base / "tmp", base / "work" / "a" / "b"
    for folder in (home / ".ssh", tmp, cwd):
        folder.mkdir(parents=True)
    outside = home / ".ssh" / "id_ed25519"
    outside.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{OUTSIDE_KEY}\n"
                       "-----END OPENSSH PRIVATE KEY-----\n")
    archives = build_all(base / "archives", outside, random.Random(8))
    env = isolated_env(home, tmp)
    before = snapshot(base)
    runs = {name: _vet(archive.path, cwd, env, "--format", "json", "--no-html")
            for name, archive in archives.items()}
    runs["markup.zip html"] = _vet(archives["markup.zip"].path, cwd, env, "-o", "vet.html")
    created = sorted(os.path.relpath(p, base) for p in changed_files(base, before))
    return Vetted(archives, runs, base, created)


CACHE = "home/.cache/botscan/"
"""botscan's own cache (the default place, under the fake HOME): the only files it may add."""


def test_vet_of_an_archive_writes_no_file_anywhere(vetted: Vetted) -> None:
    """Nothing but the report it was asked for and its own cache entries, which hold no
    secret whole: no member was extracted, wherever its name pointed."""
    others = [rel for rel in vetted.created if not rel.startswith(CACHE)]
    assert others == ["work/a/b/vet.html"], others
    cached = {rel: (vetted.base / rel).read_text(encoding="utf-8")
              for rel in vetted.created if rel.startswith(CACHE)}
    assert_absent([OUTSIDE_KEY, *(a.secret for a in vetted.archives.values())], cached)
    for archive in vetted.archives.values():
        for path in archive.never_created:
            assert not os.path.lexists(path), path
    assert not (vetted.base / "work" / "escape.py").exists()


def test_vet_of_an_archive_gives_a_verdict_on_what_it_could_read(vetted: Vetted) -> None:
    for name, archive in vetted.archives.items():
        run = vetted.runs[name]
        assert run.returncode == 1, run.describe()  # a hardcoded key: review, at least
        assert "Traceback" not in run.stderr, run.describe()
        report = run.json()
        assert report["verdict"]["level"] in ("review", "dangerous"), (name, report["verdict"])
        keys = [f for f in report["findings"] if f["path"] == "bot/trader.py"
                and f["evidence"].get("secret_hash") == short_hash(archive.secret)]
        assert keys, f"{name}: the planted key was not reported"
        assert_absent([archive.secret, OUTSIDE_KEY], {f"{name} stdout": run.stdout,
                                                      f"{name} stderr": run.stderr})


def test_vet_says_what_the_caps_and_traps_kept_it_from_reading(vetted: Vetted) -> None:
    for name, archive in vetted.archives.items():
        notices = vetted.runs[name].json()["notices"]
        said = " ".join(f"{n['path']} {n['message']}" for n in notices)
        missing = [member for member in archive.noticed if member not in said]
        assert not missing, f"{name}: no notice for {missing}:\n{notices}"


def test_vet_html_of_markup_member_names_runs_no_script(chromium: str, vetted: Vetted,
                                                        tmp_path: Path) -> None:
    page = vetted.base / "work" / "a" / "b" / "vet.html"
    assert vetted.runs["markup.zip html"].returncode == 1
    dom = dump_dom(chromium, tmp_path, page.as_uri())
    assert dom.one("body").attrs.get("data-report-js") == "ready"
    for node in dom.iter():
        assert "data-pwned" not in node.attrs, node
    assert f"x<script>{PWN}</script>.py" in dom.text
