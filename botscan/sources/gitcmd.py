"""Running git on a repository that may be hostile, without letting it run anything.

A downloaded bot's `.git/config` is written by its author. Git reads that file on every call,
and several of its settings name commands git will execute: `core.fsmonitor` (run when the
index is refreshed), `core.hooksPath` and the hooks themselves, clean/smudge filters and
`diff.*.textconv` (run on content that is checked out or diffed), `diff.external`,
`gpg.program` with `log.showSignature` (run by a plain `git log`), and the transport settings
(`remote.*.uploadpack`, `core.sshCommand`, `protocol.ext.allow`) a partial clone uses to fetch a
missing object lazily. This module closes all of them in three layers:

- **commands**: only read-only plumbing that never filters, diffs content or refreshes the
  index (`log` with raw output, `cat-file` without `--filters`/`--textconv`, `ls-tree`,
  `rev-list`, `rev-parse`); anything else is refused before git starts;
- **configuration**: command-line `-c` settings, which win over every config file, switch the
  dangerous settings off, and the system and global config files are not read at all;
- **environment**: git runs in a clean environment (the caller's `GIT_*` variables, such as
  `GIT_EXTERNAL_DIFF` or `GIT_SSH_COMMAND`, are dropped) with no protocol allowed, no prompt, no
  optional locks, no replace refs and no grafts, and the git directory given explicitly.

Every call is bounded in time: `run` by a total timeout, streams by an idle timeout (git that
produces nothing for that long is killed), so a pathological repository costs a notice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

DEFAULT_TIMEOUT = 120.0

# Read-only plumbing. `log` is allowed because `--raw` output lists object ids without reading
# blob content; `_FORBIDDEN` rejects the options that would make it (or cat-file) read or
# transform content through configured commands.
_ALLOWED = frozenset({"cat-file", "log", "ls-tree", "rev-list", "rev-parse"})
_FORBIDDEN = (
    "-p", "-u", "--patch", "--stat", "--numstat", "--shortstat", "--dirstat", "--summary",
    "--ext-diff", "--textconv", "--filters", "--show-signature", "--output", "-G", "-S",
    "--find-object", "--check", "--word-diff", "--color-moved", "--follow",
)  # fmt: skip
# Pickaxe and line-log options read (and textconv) blob content: `-Gregex`, `-Sstring`, `-L1,2:f`.
_FORBIDDEN_PREFIXES = ("-G", "-S", "-L")

_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.attributesFile=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.gitProxy=",
    "core.askPass=false",
    "core.alternateRefsCommand=",
    "diff.external=",
    "log.showSignature=false",
    # `-m` follows this setting; "remerge" would re-run merges (and their drivers).
    "log.diffMerges=separate",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "credential.helper=",
    "protocol.allow=never",
    # A repository's own `protocol.<name>.allow` beats `protocol.allow`: name them all.
    "protocol.file.allow=never",
    "protocol.git.allow=never",
    "protocol.ssh.allow=never",
    "protocol.http.allow=never",
    "protocol.https.allow=never",
    "protocol.ext.allow=never",
    "fetch.recurseSubmodules=false",
    "safe.directory=*",
)

_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_NO_LAZY_FETCH": "1",
    # Set, and naming no real protocol: git then allows no transport whatever the config says.
    "GIT_ALLOW_PROTOCOL": "none",
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_GRAFT_FILE": os.devnull,
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_ASKPASS": "false",
    "SSH_ASKPASS": "false",
    "LC_ALL": "C",
    "LANG": "C",
}


class GitError(Exception):
    """Git is missing, refused the repository, failed, or ran out of time."""


class GitTimeout(GitError):
    pass


def git_executable() -> str | None:
    return shutil.which("git")


def command(git_dir: Path, args: Sequence[str]) -> list[str]:
    """The full argv for `git <args>` on `git_dir`, or GitError if the command is not allowed.

    Public so that tests can check the policy without running git.
    """
    if not args or args[0] not in _ALLOWED:
        raise GitError(f"git {args[0] if args else ''} is not a read-only plumbing command")
    for arg in args[1:]:
        if arg == "--end-of-options":
            break
        if arg.split("=", 1)[0] in _FORBIDDEN or arg.startswith(_FORBIDDEN_PREFIXES):
            raise GitError(f"git {args[0]} {arg} may run configured commands; refused")
    executable = git_executable()
    if executable is None:
        raise GitError("git is not installed (or not on PATH)")
    config = [item for setting in _CONFIG for item in ("-c", setting)]
    return [executable, "--no-pager", "--no-replace-objects", f"--git-dir={git_dir}", *config,
            *args]


def environment() -> dict[str, str]:
    """The caller's environment without any `GIT_*` variable, plus the safe settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_ENV)
    return env


def run(git_dir: Path, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
        stdin: bytes | None = None) -> bytes:
    """Run one git command to completion and return its stdout; GitError on any failure."""
    argv = command(git_dir, args)
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                              env=environment(), cwd=git_dir,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GitTimeout(f"git {args[0]} took longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise GitError(f"git could not be started: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise GitError(_error_text(args[0], done.stderr))
    return done.stdout


def _error_text(name: str, stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return f"git {name} failed: {lines[-1][:300] if lines else 'no message'}"


class Stream:
    """A long-running git process read incrementally (`log`, `cat-file --batch`).

    Reads go through `read`/`readline`/`read_until`, which time out when git produces nothing
    for `idle_timeout` seconds: a watchdog thread kills the process, and the read then raises
    GitTimeout. Time the consumer spends between reads does not count, so a slow analyzer
    downstream never trips it. Use as a context manager: the process is always reaped.
    """

    def __init__(self, git_dir: Path, args: Sequence[str], *,
                 idle_timeout: float = DEFAULT_TIMEOUT, stdin: bool = False) -> None:
        argv = command(git_dir, args)
        try:
            self._proc = subprocess.Popen(
                argv, env=environment(), cwd=git_dir,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1 << 16,
            )
        except OSError as exc:
            raise GitError(f"git could not be started: {exc.strerror or exc}") from None
        self._name = args[0]
        self._idle = idle_timeout
        self._waiting_since: float | None = None
        self._timed_out = False
        self._closed = threading.Event()
        self._stderr = b""
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._out: IO[bytes] = self._proc.stdout
        self.stdin: IO[bytes] | None = self._proc.stdin
        self._stderr_thread = threading.Thread(target=self._drain_stderr,
                                               args=(self._proc.stderr,), daemon=True)
        self._stderr_thread.start()
        threading.Thread(target=self._watchdog, daemon=True).start()

    def _drain_stderr(self, pipe: IO[bytes]) -> None:
        """Keep stderr flowing (a full pipe would block git); keep its tail for errors."""
        for chunk in iter(lambda: pipe.read(4096), b""):
            self._stderr = (self._stderr + chunk)[-8192:]

    def _watchdog(self) -> None:
        while not self._closed.wait(0.25):
            since = self._waiting_since
            if since is not None and time.monotonic() - since > self._idle:
                self._timed_out = True
                self._proc.kill()
                return

    def _guarded(self, reader: str, *arg: int | bytes) -> bytes:
        self._waiting_since = time.monotonic()
        try:
            data: bytes = getattr(self._out, reader)(*arg)
        finally:
            self._waiting_since = None
        if self._timed_out:
            raise GitTimeout(f"git {self._name} produced nothing for {self._idle:.0f} s")
        return data

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes, or fewer only at the end of the output."""
        return self._guarded("read", size)

    def readline(self) -> bytes:
        return self._guarded("readline")

    def read1(self, size: int = 1 << 16) -> bytes:
        """Whatever is available, up to `size` bytes; b"" at the end of the output."""
        return self._guarded("read1", size)

    def finish(self) -> None:
        """Wait for git to exit after its output was read; GitError if it failed."""
        try:
            code = self._proc.wait(timeout=self._idle)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            raise GitTimeout(f"git {self._name} did not exit") from None
        if self._timed_out:
            raise GitTimeout(f"git {self._name} produced nothing for {self._idle:.0f} s")
        if code != 0:
            self._stderr_thread.join(timeout=5)  # git has exited: its stderr is closing
            raise GitError(_error_text(self._name, self._stderr))

    def close(self) -> None:
        self._closed.set()
        if self._proc.poll() is None:
            self._proc.kill()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._proc.wait()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
