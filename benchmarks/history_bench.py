"""Benchmark: botscan's git history scan against the naive way, on one real repository.

    python benchmarks/history_bench.py SOURCE [--workdir DIR] [--in-place] [--naive-commits N]

SOURCE is a git repository or mirror (e.g. /work/.mirror/freqtrade+freqtrade/repo). It is
cloned (`git clone --no-checkout`, what a user vetting a bot has) into a temporary directory
unless `--in-place` is given, then both methods read the same clone, one after the other:

- **botscan (lines)**: `history_blobs` with `credential_prefilter`, then
  `text_credentials.scan_text` over the new lines (`excerpt()`) of every yielded blob not at
  HEAD: the line detectors on what each commit added;
- **botscan (files)**: the same blobs, each given whole to the secrets scanner
  (`analyzers.secrets.scan_text_file`, which parses configs by key path and runs detect-secrets
  on its triggered lines), keeping the findings that touch a new line: how `botscan vet`
  reports history;
- **naive**: `git log --all -p -U0` streamed, split per commit, each commit's diff fed to
  detect-secrets' `scan_diff` with all its plugins (default settings, no network, the
  `is_invalid_file` filter off so that deleted files are scanned, as they must be).

Both cover the same history; throughput is given against the same denominators (the unique
blobs of the history and their size), plus each method's own input. Blobs missing from the
object store (a mirror may lack its largest files) would make `git log -p` die, so their paths
are excluded from the naive run with `--full-history` (no commit is simplified away), and
botscan reports them as a notice.

The naive method needs `unidiff` next to detect-secrets: install both in the benchmark's own
environment (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from botscan.analyzers.secrets import scan_text_file
from botscan.analyzers.secrets.filekinds import text_kind
from botscan.analyzers.text_credentials import scan_text
from botscan.model import Notice
from botscan.sources.history import HistoryBlob, credential_prefilter, history_blobs

_REPORT_EVERY = 60.0


@dataclass
class History:
    commits: int
    blobs: int
    size: int
    missing_paths: list[str]


@dataclass
class Outcome:
    name: str
    seconds: float
    input_bytes: int
    findings: int
    detail: str


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((ln.split(":", 1)[1].strip() for ln in handle
                          if ln.startswith("model name")), model)
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kb = int(next(ln.split()[1] for ln in handle if ln.startswith("MemTotal")))
        memory = f"{kb / 1024**2:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        memory = "RAM unknown"
    return (f"{model}, {os.cpu_count()} CPUs, {memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; "
            f"{git(Path.cwd(), '--version').strip()}; "
            f"detect-secrets {metadata.version('detect-secrets')}, "
            f"unidiff {metadata.version('unidiff')}")


def history(repo: Path) -> History:
    """What both methods read: commits, unique reachable blobs and their size."""
    commits = int(git(repo, "rev-list", "--all", "--count"))
    listing = git(repo, "rev-list", "--all", "--objects", "--missing=print").splitlines()
    missing = {ln[1:] for ln in listing if ln.startswith("?")}
    present = "".join(ln.split(" ", 1)[0] + "\n" for ln in listing if not ln.startswith("?"))
    sizes = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch-check=%(objecttype) %(objectsize)"],
        input=present, check=True, capture_output=True, text=True).stdout.split("\n")
    blob_sizes = [int(ln.split()[1]) for ln in sizes if ln.startswith("blob ")]
    paths: set[str] = set()
    if missing:
        raw = git(repo, "log", "--all", "--raw", "--no-abbrev", "--no-renames", "-m",
                  "--format=")
        for line in raw.splitlines():
            meta, _, path = line.partition("\t")
            if line.startswith(":") and meta.split()[3] in missing:
                paths.add(path)
    return History(commits, len(blob_sizes), sum(blob_sizes), sorted(paths))


def run_botscan(repo: Path, name: str, scan: Callable[[HistoryBlob], tuple[int, int]],
                ) -> Outcome:
    """Read the history and give every yielded blob not at HEAD to `scan`, which returns
    (bytes it scanned, findings)."""
    start = time.perf_counter()
    yielded = scanned_bytes = hits = 0
    notices: list[Notice] = []
    for item in history_blobs(repo, prefilter=credential_prefilter):
        if isinstance(item, Notice):
            notices.append(item)
            continue
        if item.at_head:
            continue
        yielded += 1
        size, found = scan(item)
        scanned_bytes += size
        hits += found
    seconds = time.perf_counter() - start
    detail = (f"{yielded} blobs passed the prefilter, {scanned_bytes / 1e6:.1f} MB scanned; "
              f"{len(notices)} notices: " + "; ".join(n.message[:100] for n in notices))
    return Outcome(name, seconds, scanned_bytes, hits, detail)


def scan_lines(blob: HistoryBlob) -> tuple[int, int]:
    text, _ = blob.excerpt()
    kind = text_kind(blob.path)
    return len(text), len(scan_text(text, unquoted=kind is not None and kind.unquoted))


def scan_files(blob: HistoryBlob) -> tuple[int, int]:
    if text_kind(blob.path) is None:
        return 0, 0
    findings, _ = scan_text_file(blob.path, blob.data)
    new = set(blob.new_lines)
    kept = [f for f in findings
            if new.intersection(range(f.location.line,
                                      (f.location.end_line or f.location.line) + 1))]
    return len(blob.data), len(kept)


def _commits(stream: Iterator[bytes]) -> Iterator[bytes]:
    """Split a `git log -p --format='commit %H'` stream into one chunk per commit."""
    chunk: list[bytes] = []
    for line in stream:
        if line.startswith(b"commit ") and chunk:
            yield b"".join(chunk)
            chunk = []
        chunk.append(line)
    if chunk:
        yield b"".join(chunk)


def run_naive(repo: Path, missing_paths: list[str], limit: int | None) -> Outcome:
    from detect_secrets.core.scan import scan_diff
    from detect_secrets.settings import default_settings, get_filters, get_settings
    from unidiff.errors import UnidiffParseError

    pathspec = ["--", ".", *(f":(exclude,literal){p}" for p in missing_paths)] \
        if missing_paths else []
    command = ["git", "-C", str(repo), "log", "--all", "--full-history", "-p", "-U0",
               "--no-textconv", "--no-ext-diff", "--format=commit %H", *pathspec]
    start = time.perf_counter()
    last_report = start
    commits = size = found = unparsed = 0
    with default_settings(), subprocess.Popen(command, stdout=subprocess.PIPE) as proc:
        get_settings().disable_filters("detect_secrets.filters.common.is_invalid_file")
        get_filters.cache_clear()
        assert proc.stdout is not None
        for chunk in _commits(iter(proc.stdout.readline, b"")):
            commits += 1
            size += len(chunk)
            _, _, diff = chunk.decode("utf-8", "replace").partition("\n")
            if diff.strip():
                try:
                    found += sum(1 for _ in scan_diff(diff))
                except UnidiffParseError:
                    unparsed += 1
            if time.perf_counter() - last_report > _REPORT_EVERY:
                last_report = time.perf_counter()
                print(f"  naive: {commits} commits, {size / 1e6:.0f} MB, "
                      f"{last_report - start:.0f} s", file=sys.stderr, flush=True)
            if limit is not None and commits >= limit:
                proc.kill()
                break
    seconds = time.perf_counter() - start
    detail = (f"{commits} commits, {size / 1e6:.1f} MB of `git log -p -U0`, "
              f"{unparsed} diffs unidiff could not parse")
    return Outcome("naive", seconds, size, found, detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a git repository or mirror to clone")
    parser.add_argument("--workdir", type=Path, help="clone here (default: a temporary dir)")
    parser.add_argument("--in-place", action="store_true",
                        help="read SOURCE itself (a clone already made) instead of cloning")
    parser.add_argument("--naive-commits", type=int, metavar="N",
                        help="stop the naive run after N commits (a quick, partial figure)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        repo = args.source.resolve()
        if not args.in_place:
            repo = Path(tmp) / "repo"
            started = time.perf_counter()
            subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(args.source),
                            str(repo)], check=True)
            print(f"cloned {args.source} in {time.perf_counter() - started:.1f} s")
        print(f"machine: {machine()}")
        hist = history(repo)
        print(f"history: {hist.commits} commits, {hist.blobs} unique blobs, "
              f"{hist.size / 1e6:.1f} MB; {len(hist.missing_paths)} paths with blobs missing "
              "from the object store")
        ours = [run_botscan(repo, "botscan (lines)", scan_lines),
                run_botscan(repo, "botscan (files)", scan_files)]
        for outcome in ours:
            print(f"{outcome.name}: {outcome.detail}", flush=True)
        naive = run_naive(repo, hist.missing_paths, args.naive_commits)
        print(f"naive: {naive.detail}")

    print()
    print(f"{'method':<16} {'wall s':>8} {'blobs/s':>8} {'MB/s':>7} {'input MB':>9} "
          f"{'input MB/s':>10} {'findings':>8}")
    for outcome in (*ours, naive):
        print(f"{outcome.name:<16} {outcome.seconds:>8.1f} {hist.blobs / outcome.seconds:>8.0f} "
              f"{hist.size / 1e6 / outcome.seconds:>7.2f} {outcome.input_bytes / 1e6:>9.1f} "
              f"{outcome.input_bytes / 1e6 / outcome.seconds:>10.2f} {outcome.findings:>8}")
    partial = " (naive run cut short: not comparable)" if args.naive_commits else ""
    print()
    for outcome in ours:
        print(f"{outcome.name} is {naive.seconds / outcome.seconds:.0f}x faster than the naive "
              f"way{partial}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
