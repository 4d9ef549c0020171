"""Benchmark: botscan against Bandit and detect-secrets on real bots, in one run.

    python benchmarks/peer_bench.py [BOT_DIR ...] --peers VENV_BIN [--repeat N]
                                    [--history] [--output FILE]

Each bot directory (default: the bots in /tmp/realbots that exist, largest first) is scanned,
one tool after the other, by:

- botscan cold with `--jobs 1` and with `--jobs N` (every core), each into a fresh cache
  directory, then warm (`--jobs N` again on the second cache): `scan --offline --no-history
  --format json`. The three reports must hold the same findings, notices and capabilities;
  the script says whether they do. With `--history`, one more cold run scans the git history
  too (it has its own benchmark, history_bench.py);
- Bandit: `bandit -r -q -f json -o FILE DIR` (every `.py`, all its plugins);
- detect-secrets: `detect-secrets scan --all-files` in the bot directory (every text file,
  tracked or not, as botscan reads them; without `--all-files` it reads only what git tracks).

Then the start-up costs: `botscan --help`, and the pre-commit hook's command (`botscan scan
FILE --offline --no-deps`) on a typical module and on the largest one of the biggest bot, once
as a changed file (no cache entry) and once unchanged, interpreter start included, with Bandit
on the same files for comparison.

Reported per run: wall time (the median of `--repeat` rounds; a round runs every tool
once, so all meet the same load on a shared machine), Python lines per second, peak
memory of the whole process tree, and the ratios. Lines are counted once per bot, the same
for every tool: the newlines of every `.py` file outside the directories all three skip
(`.git`, virtualenvs, caches: botscan's default excludes). Peak memory is sampled every 100 ms
as the sum of the proportional set size (PSS) of the process and all its descendants, so
pages that forked workers share are counted once; the largest single process's RSS is
reported too.

Bandit and detect-secrets are never botscan dependencies: install them in an environment of
their own and pass its `bin` directory (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from botscan.sources.walker import DEFAULT_EXCLUDED_DIRS

DEFAULT_BOTS = ("hummingbot", "freqtrade", "jesse", "py-binance-bot", "simple-binance-bot",
                "fastbuy")
REALBOTS = Path("/tmp/realbots")
_SAMPLE_SECONDS = 0.1
"""Often enough for processes that live as long as a scan; sampling every 20 ms cost a tenth of
a core, which slowed botscan's two workers and not single-process Bandit."""


# --- measuring one command -----------------------------------------------------------------

@dataclass
class Measure:
    wall: float
    peak_tree_mb: float
    peak_process_mb: float
    returncode: int


def _children(pid: int) -> list[int]:
    """The direct children of `pid` (Linux's /proc/PID/task/TID/children)."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeMemory(threading.Thread):
    """The largest sum of PSS over a process and its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids, todo = [], [self.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))
            self.done.wait(_SAMPLE_SECONDS)


ENVIRONMENT = dict(os.environ)
"""What every measured command runs in; `prepare` lets Python keep compiled bytecode, as an
installed tool has it (PYTHONDONTWRITEBYTECODE would make every run compile botscan anew)."""


def prepare(work: Path) -> None:
    ENVIRONMENT.pop("PYTHONDONTWRITEBYTECODE", None)
    ENVIRONMENT.setdefault("PYTHONPYCACHEPREFIX", str(work / "pycache"))


def measure(argv: Sequence[str], cwd: Path | None = None,
            stdout: Path | None = None) -> Measure:
    out = open(stdout, "wb") if stdout is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, env=ENVIRONMENT)
        monitor = _TreeMemory(proc.pid)
        monitor.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        monitor.done.set()
        monitor.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout is not None:
            out.close()  # type: ignore[union-attr]
    return Measure(wall, monitor.peak_kb / 1024, usage.ru_maxrss / 1024, proc.returncode)


def rounds(repeat: int, runs: dict[str, Any]) -> dict[str, tuple[Measure, list[float]]]:
    """Each run of `runs` once per round, `repeat` rounds: on a shared machine every tool then
    meets the same load. Per run, the median wall time, with the peaks of the worst round."""
    measured: dict[str, list[Measure]] = {label: [] for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            measured[label].append(run())
    result = {}
    for label, found in measured.items():
        walls = [m.wall for m in found]
        result[label] = (Measure(statistics.median(walls), max(m.peak_tree_mb for m in found),
                                 max(m.peak_process_mb for m in found), found[0].returncode),
                         walls)
    return result


# --- the bots -------------------------------------------------------------------------------

def python_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in DEFAULT_EXCLUDED_DIRS
                   and not d.endswith(".egg-info")]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return found


def python_lines(root: Path) -> int:
    total = 0
    for path in python_files(root):
        with open(path, "rb") as handle:
            total += handle.read().count(b"\n")
    return total


@dataclass
class Row:
    bot: str
    tool: str
    measure: Measure
    lines: int
    walls: list[float] = field(default_factory=list)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.measure.wall if self.measure.wall else 0.0


def _comparable(report: Path) -> dict[str, Any]:
    data = json.loads(report.read_text(encoding="utf-8"))
    data.get("summary", {}).pop("duration_seconds", None)
    return {key: data.get(key) for key in ("findings", "notices", "capabilities", "summary")}


def bench_bot(root: Path, botscan: list[str], peers: Path, repeat: int, jobs: int,
              history: bool, work: Path) -> tuple[list[Row], str]:
    name = root.name
    base = [*botscan, "scan", str(root), "--offline", "--format", "json"]
    reports: dict[str, Path] = {}

    def botscan_cold(label: str, args: list[str]) -> Any:
        reports[label] = work / f"{name}-{label}.json"

        def run() -> Measure:
            fresh = Path(tempfile.mkdtemp(dir=work, prefix="cache-"))
            try:
                return measure([*base, *args, "--cache-dir", str(fresh)],
                               stdout=reports[label])
            finally:
                shutil.rmtree(fresh, ignore_errors=True)
        return run

    warm = work / f"{name}-warm-cache"
    shutil.rmtree(warm, ignore_errors=True)
    measure([*base, "--no-history", "--jobs", str(jobs), "--cache-dir", str(warm)])
    one, many, again = "cold, 1 job", f"cold, {jobs} jobs", f"warm, {jobs} jobs"
    reports[again] = work / f"{name}-{again}.json"
    runs: dict[str, Any] = {
        f"botscan {one}": botscan_cold(one, ["--no-history", "--jobs", "1"]),
        f"botscan {many}": botscan_cold(many, ["--no-history", "--jobs", str(jobs)]),
        f"botscan {again}": lambda: measure(
            [*base, "--no-history", "--jobs", str(jobs), "--cache-dir", str(warm)],
            stdout=reports[again]),
        "bandit": lambda: measure([str(peers / "bandit"), "-r", "-q", "-f", "json", "-o",
                                   str(work / f"{name}-bandit.json"), str(root)]),
        "detect-secrets": lambda: measure(
            [str(peers / "detect-secrets"), "scan", "--all-files"], cwd=root,
            stdout=work / f"{name}-detect-secrets.json"),
    }
    if history and (root / ".git").exists():
        runs[f"botscan cold + history, {jobs} jobs"] = botscan_cold(
            "history", ["--history", "--jobs", str(jobs)])
    lines = python_lines(root)
    rows = [Row(name, label, found, lines, walls)
            for label, (found, walls) in rounds(repeat, runs).items()]
    shutil.rmtree(warm, ignore_errors=True)

    same = all(_comparable(reports[one]) == _comparable(reports[other])
               for other in (many, again))
    findings = len(json.loads(reports[one].read_text())["findings"])
    agreement = (f"{name}: {findings} findings; cold --jobs 1, cold --jobs {jobs} and warm "
                 f"--jobs {jobs} reports {'identical' if same else 'DIFFER'}")
    return rows, agreement


# --- start-up -------------------------------------------------------------------------------

def warm_up(botscan: list[str], peers: Path, work: Path) -> None:
    """One untimed run of each tool on a small tree: bytecode compiled, files in the page
    cache, as they are on a machine that has run the tool before."""
    tree = work / "warm-up"
    (tree / "bot").mkdir(parents=True, exist_ok=True)
    (tree / "bot" / "main.py").write_text("import ccxt\nAPI_KEY = 'x'\nprint(API_KEY)\n")
    (tree / ".env").write_text("BINANCE_API_SECRET=x\n")
    (tree / "requirements.txt").write_text("ccxt==4.0.0\n")
    measure([*botscan, "scan", str(tree), "--offline", "--no-cache"])
    measure([*botscan, "--help"])
    measure([str(peers / "bandit"), "-r", "-q", str(tree)])
    measure([str(peers / "detect-secrets"), "scan", "--all-files"], cwd=tree)


def startup(botscan: list[str], peers: Path, files: list[Path], repeat: int,
            work: Path) -> list[tuple[str, Measure]]:
    """`botscan --help`, and the pre-commit hook's command on each file: a changed file (no
    cache entry) and the same file again (its entry cached), with Bandit on the same file."""
    runs: dict[str, Any] = {"botscan --help": lambda: measure([*botscan, "--help"])}
    cache = work / "one-file-cache"
    for path in files:
        count = path.read_bytes().count(b"\n")
        label = f"{path.parent.name}/{path.name} ({count:,} lines)"
        hook = [*botscan, "scan", str(path), "--offline", "--no-deps", "--cache-dir", str(cache)]
        runs[f"botscan, one changed file: {label}"] = lambda h=hook: (
            shutil.rmtree(cache, ignore_errors=True), measure(h))[1]
        runs[f"botscan, the same file again: {label}"] = lambda h=hook: measure(h)
        runs[f"bandit, one file: {label}"] = lambda p=path: measure(
            [str(peers / "bandit"), "-q", "-f", "json", "-o", str(work / "one.json"), str(p)])
    return [(label, found) for label, (found, _) in rounds(repeat, runs).items()]


# --- the report -----------------------------------------------------------------------------

def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        ram = f"{int(memory.split()[1]) / 1024**2:.0f} GiB RAM"
    except (OSError, StopIteration):
        ram = "unknown RAM"
    return (f"{cpu}, {os.cpu_count()} CPUs, {ram}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}")


def versions(peers: Path) -> str:
    def tool(argv: list[str]) -> str:
        run = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (run.stdout or run.stderr).strip().splitlines()[0]

    head = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short",
                           "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    return (f"botscan {metadata.version('botscan')} ({head}), libcst "
            f"{metadata.version('libcst')}; {tool([str(peers / 'bandit'), '--version'])}; "
            f"detect-secrets {tool([str(peers / 'detect-secrets'), '--version'])}")


def table(rows: list[Row]) -> list[str]:
    lines = ["| bot | tool | wall s (median) | Python lines/s | peak tree MB | "
             "largest process MB |", "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        m = row.measure
        lines.append(f"| {row.bot} | {row.tool} | {m.wall:.2f} | {row.lines_per_second:,.0f} "
                     f"| {m.peak_tree_mb:.0f} | {m.peak_process_mb:.0f} |")
    return lines


def ratios(rows: list[Row], jobs: int) -> list[str]:
    found = []
    for bot in dict.fromkeys(r.bot for r in rows):
        wall = {r.tool: r.measure.wall for r in rows if r.bot == bot}
        cold, warm = wall[f"botscan cold, {jobs} jobs"], wall[f"botscan warm, {jobs} jobs"]
        found.append(f"{bot}: Bandit / botscan cold ({jobs} jobs) = "
                     f"{wall['bandit'] / cold:.2f}x; Bandit / botscan cold (1 job) = "
                     f"{wall['bandit'] / wall['botscan cold, 1 job']:.2f}x; detect-secrets / "
                     f"botscan cold = {wall['detect-secrets'] / cold:.2f}x; botscan cold / "
                     f"warm = {cold / warm:.1f}x")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bots", nargs="*", type=Path,
                        help="bot directories [default: the real bots in /tmp/realbots]")
    parser.add_argument("--peers", type=Path, required=True,
                        help="the bin directory holding bandit and detect-secrets")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--startup-repeat", type=int, default=10,
                        help="runs per start-up measurement")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="botscan's jobs for the parallel runs [default: every core]")
    parser.add_argument("--history", action="store_true",
                        help="also one cold botscan run with the git history")
    parser.add_argument("--workdir", type=Path, help="where reports and caches go")
    parser.add_argument("--output", type=Path, help="also write the results (Markdown) here")
    args = parser.parse_args(argv)

    bots = args.bots or [REALBOTS / b for b in DEFAULT_BOTS if (REALBOTS / b).is_dir()]
    botscan = [sys.executable, "-m", "botscan"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="peer-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    prepare(work)
    warm_up(botscan, args.peers, work)
    out: list[str] = [f"Machine: {machine()}", f"Versions: {versions(args.peers)}",
                      f"Load average before: {os.getloadavg()[0]:.2f}",
                      f"Command: {' '.join([sys.argv[0], *(argv or sys.argv[1:])])}", ""]
    print("\n".join(out), flush=True)
    rows: list[Row] = []
    agreements: list[str] = []
    for bot in bots:
        found, agreement = bench_bot(bot.resolve(), botscan, args.peers, args.repeat,
                                     args.jobs, args.history, work)
        rows += found
        agreements.append(agreement)
        print("\n".join(table(found)[2:]), flush=True)
    biggest = max(bots, key=lambda b: len(python_files(b)))
    files = sorted(python_files(biggest), key=lambda p: p.stat().st_size)
    one_file = [files[len(files) // 2], files[-1]]
    started = startup(botscan, args.peers, one_file, args.startup_repeat, work)
    out += [*table(rows), "", *ratios(rows, args.jobs), "", *agreements, ""]
    out += ["| start-up | wall s (median) | peak tree MB |", "|---|---:|---:|"]
    out += [f"| {label} | {m.wall:.3f} | {m.peak_tree_mb:.0f} |" for label, m in started]
    out.append(f"\nLoad average after: {os.getloadavg()[0]:.2f}")
    text = "\n".join(out) + "\n"
    print(text)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
