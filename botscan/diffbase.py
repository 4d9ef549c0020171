"""`--diff-base REF`: keep only findings on lines added or changed since REF (pull requests).

The old version of each file with findings is read raw with `git cat-file` (the only git
command used, through the safe runner: no worktree diff, so no fsmonitor, no filters, no
textconv), and compared with the scanned file line by line in Python. A file that did not
exist at REF is new: all of its findings count.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from botscan.model import Finding, ScanResult
from botscan.sources.gitcmd import GitError, run


class DiffBaseError(Exception):
    """REF cannot be used (not a git checkout, unknown revision); the CLI exits 2."""


def _repository(start: Path) -> tuple[Path, Path]:
    """(work tree, git directory) of the checkout holding `start`."""
    for folder in (start, *start.parents):
        marker = folder / ".git"
        if marker.is_dir():
            return folder, marker
        if marker.is_file():  # a linked work tree or submodule: "gitdir: <path>"
            text = marker.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                pointer = Path(text.split(":", 1)[1].strip())
                return folder, pointer if pointer.is_absolute() else folder / pointer
    raise DiffBaseError(f"{start} is not inside a git checkout, so --diff-base cannot be used")


def changed_lines(root: Path, ref: str,
                  files: Iterable[tuple[str, str]]) -> dict[str, set[int] | None]:
    """For each (scan path, file on disk), the 1-based lines added or changed since `ref`;
    None when the file is new since `ref` (every line counts)."""
    work_tree, git_dir = _repository(root.resolve())
    try:
        commit = run(git_dir, ["rev-parse", "--verify", "--end-of-options",
                               f"{ref}^{{commit}}"]).decode().strip()
    except GitError as exc:
        raise DiffBaseError(f"--diff-base {ref}: {exc}") from None
    result: dict[str, set[int] | None] = {}
    for path, on_disk in files:
        location = Path(on_disk).resolve()
        try:
            in_repo = location.relative_to(work_tree.resolve()).as_posix()
        except ValueError:
            result[path] = None  # outside the checkout: nothing to compare with
            continue
        old = _blob(git_dir, commit, in_repo)
        if old is None:
            result[path] = None
            continue
        new_lines = location.read_text(encoding="utf-8", errors="replace").splitlines()
        old_lines = old.decode("utf-8", "replace").splitlines()
        changed: set[int] = set()
        matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
        for tag, _, _, j1, j2 in matcher.get_opcodes():
            if tag in ("replace", "insert"):
                changed.update(range(j1 + 1, j2 + 1))
        result[path] = changed
    return result


def _blob(git_dir: Path, commit: str, path: str) -> bytes | None:
    """The raw content of `commit:path`, or None when git cannot give it (the file did not
    exist there: all of its findings then count).

    The object name goes on the command line, where the OS passes a file name's bytes as
    they are: a `--batch` request line cannot hold a name with a newline (it would become
    two requests, the first naming another file) or undecodable bytes."""
    try:
        return run(git_dir, ["cat-file", "blob", f"{commit}:{path}"])
    except GitError:
        return None


def keep_changed(result: ScanResult, root: Path, ref: str) -> ScanResult:
    """The result with only the findings on lines added or changed since `ref`."""
    by_path: dict[str, str] = {}
    for finding in result.findings:
        candidate = root / finding.location.path if not Path(
            finding.location.path).is_absolute() else Path(finding.location.path)
        by_path[finding.location.path] = str(candidate)
    changed = changed_lines(root, ref, by_path.items())
    kept: list[Finding] = []
    for finding in result.findings:
        lines = changed.get(finding.location.path)
        if lines is None or finding.location.line in lines:
            kept.append(finding)
    return ScanResult(findings=kept, notices=result.notices,
                      files_scanned=result.files_scanned,
                      duration_seconds=result.duration_seconds, roots=result.roots,
                      capabilities=result.capabilities, dependencies=result.dependencies)
