"""Detection quality on the labelled example bots of `fixtures/`.

Every fixture is a small, realistic trading bot. A line that botscan must report carries a
trailing `# expect: BOT101` (several ids: `# expect: BOT403, BOT404`); every other line must
stay silent. Lines written as deliberate traps carry `# silent: <why>`, which changes nothing
for the comparison but explains an unexpected finding in the failure message and lets the
parse test count the negatives.

Formats without comments (JSON, notebooks) carry their labels in a sidecar file `<file>.expect`,
one line per labelled line: `LINE: BOT101[, BOT102] [-- reason]` or `LINE: silent: <why>`
(blank lines and lines starting with `#` are ignored). A sidecar is not itself a fixture file.

Each fixture directory is scanned on its own and the set of `(path, line, rule id)` of the
unsuppressed findings must equal the set of labels. Precision and recall per rule family are
printed at the end of the run (see `conftest.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from botscan import catalog

if TYPE_CHECKING:
    from conftest import QualityLedger

    from botscan.model import Finding

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
MIN_LABELS = 5
MIN_NEGATIVES = 5
MIN_CLEAN_NEGATIVES = 8
"""A fixture of an honest bot, meant to stay (almost) silent, has fewer labels than
`MIN_LABELS`; it proves something through the tricky lines it marks `# silent:`, so it needs
more of them."""
# `__pycache__` is read: fixtures/backdoor_pyc labels committed bytecode there.
SKIP_DIRS = {".pytest_cache", ".mypy_cache", ".ruff_cache", ".botscan_cache"}

EXPECT_RE = re.compile(r"#\s*expect:\s*(?P<ids>[^#]*)")
SILENT_RE = re.compile(r"#\s*silent:\s*(?P<reason>.*)$")
IGNORE_RE = re.compile(r"#\s*botscan:\s*ignore\[(?P<ids>[^\]]*)\]")
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
RULE_ID_RE = re.compile(r"BOT\d{3}")
SIDECAR_SUFFIX = ".expect"
SIDECAR_RE = re.compile(r"^\s*(?P<line>\d+)\s*:\s*(?P<body>.*?)\s*$")
SIDECAR_SILENT_RE = re.compile(r"^silent:\s*(?P<reason>.*)$")

Key = tuple[str, int, str]
"""(path relative to the fixture root with forward slashes, 1-based line, rule id)."""


@dataclass
class Expectations:
    labels: set[Key] = field(default_factory=set)
    negatives: dict[tuple[str, int], str] = field(default_factory=dict)
    lines: dict[tuple[str, int], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def fixture_names() -> list[str]:
    if not FIXTURES_DIR.is_dir():
        return []
    return sorted(
        p.name for p in FIXTURES_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    )


def _files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if path.is_file() and not SKIP_DIRS.intersection(rel_parts):
            found.append(path)
    return found


def _ids(text: str) -> list[str]:
    return [tok for tok in re.split(r"[\s,]+", text.strip()) if tok]


def _add_labels(exp: Expectations, rel: str, lineno: int, ids_text: str, ignored: set[str],
                where: str) -> None:
    known = catalog.rules()
    # an optional reason may follow: `# expect: BOT101 -- testnet key`
    ids = _ids(ids_text.split("--", 1)[0])
    if not ids:
        exp.errors.append(f"{where}: '# expect:' without a rule id")
    for rule_id in ids:
        key = (rel, lineno, rule_id)
        if not RULE_ID_RE.fullmatch(rule_id):
            exp.errors.append(f"{where}: {rule_id!r} is not a rule id like BOT101")
        elif rule_id not in known:
            exp.errors.append(f"{where}: {rule_id} is not in the catalog")
        elif key in exp.labels:
            exp.errors.append(f"{where}: {rule_id} labelled twice")
        elif rule_id in ignored:
            exp.errors.append(f"{where}: {rule_id} is labelled and suppressed")
        exp.labels.add(key)


def _read_sidecar(root: Path, sidecar: Path, exp: Expectations) -> None:
    """Labels of `<file>` from `<file>.expect`: `LINE: BOT101, BOT102` or `LINE: silent: why`."""
    target = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
    rel = target.relative_to(root).as_posix()
    side = sidecar.relative_to(root).as_posix()
    if not target.is_file():
        exp.errors.append(f"{side}: no file {rel} to label")
        return
    count = len(LINE_BREAK_RE.split(target.read_bytes().decode("utf-8", errors="replace")))
    for number, entry in enumerate(sidecar.read_text(encoding="utf-8").splitlines(), start=1):
        if not entry.strip() or entry.lstrip().startswith("#"):
            continue
        where = f"{side}:{number}"
        match = SIDECAR_RE.match(entry)
        if match is None:
            exp.errors.append(f"{where}: expected 'LINE: BOT101' or 'LINE: silent: why'")
            continue
        lineno, body = int(match.group("line")), match.group("body")
        if not 0 < lineno <= count:
            exp.errors.append(f"{where}: {rel} has no line {lineno}")
            continue
        silent = SIDECAR_SILENT_RE.match(body)
        if silent is not None:
            if any(k[:2] == (rel, lineno) for k in exp.labels):
                exp.errors.append(f"{where}: line {lineno} both labelled and silent")
            exp.negatives[(rel, lineno)] = silent.group("reason").strip()
            continue
        if (rel, lineno) in exp.negatives:
            exp.errors.append(f"{where}: line {lineno} both labelled and silent")
        _add_labels(exp, rel, lineno, body, set(), where)


def parse_expectations(root: Path) -> Expectations:
    exp = Expectations()
    for path in _files(root):
        if path.name.endswith(SIDECAR_SUFFIX):
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        rel = path.relative_to(root).as_posix()
        text = data.decode("utf-8", errors="replace")
        previous = ""
        for lineno, line in enumerate(LINE_BREAK_RE.split(text), start=1):
            above, previous = previous, line
            where = f"{rel}:{lineno}"
            exp.lines[(rel, lineno)] = line
            match = EXPECT_RE.search(line)
            silent = SILENT_RE.search(line)
            if match and silent:
                exp.errors.append(f"{where}: both '# expect:' and '# silent:' on one line")
            if silent:
                exp.negatives[(rel, lineno)] = silent.group("reason").strip()
            if not match:
                continue
            # a suppression on the line, or alone on the line above, covers the line
            covering = line + ("\n" + above if above.lstrip().startswith("#") else "")
            ignored = {i for m in IGNORE_RE.finditer(covering) for i in _ids(m.group("ids"))}
            _add_labels(exp, rel, lineno, match.group("ids"), ignored, where)
    for path in _files(root):
        if path.name.endswith(SIDECAR_SUFFIX):
            _read_sidecar(root, path, exp)
    return exp


def _snippet(line: str, width: int = 96) -> str:
    line = line.strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def _describe(exp: Expectations, key: Key, finding: Finding | None = None) -> str:
    path, line, rule_id = key
    text = f"{path}:{line} {rule_id}"
    if finding is not None:
        text += f" ({finding.severity.label}) {finding.message}"
    source = exp.lines.get((path, line))
    if source is not None:
        text += f"\n        | {_snippet(source)}"
    if (path, line) in exp.negatives:
        text += f"\n        deliberate negative: {exp.negatives[(path, line)]}"
    elif source is None:
        text += "\n        (no such line in the fixture: is the finding's path relative?)"
    return text


def test_fixtures_exist() -> None:
    names = fixture_names()
    assert names, f"no fixture bots under {FIXTURES_DIR}"


@pytest.mark.parametrize("bot", fixture_names())
def test_fixture_labels_parse(bot: str) -> None:
    exp = parse_expectations(FIXTURES_DIR / bot)
    assert not exp.errors, "bad labels:\n  " + "\n  ".join(exp.errors)
    if len(exp.labels) < MIN_LABELS:
        assert len(exp.negatives) >= MIN_CLEAN_NEGATIVES, (
            f"{bot} has {len(exp.labels)} labels (a fixture needs {MIN_LABELS}, or, for an "
            f"honest bot, {MIN_CLEAN_NEGATIVES} '# silent:' negatives: it has "
            f"{len(exp.negatives)})"
        )
        return
    assert len(exp.negatives) >= MIN_NEGATIVES, (
        f"{bot} has {len(exp.negatives)} '# silent:' negatives; it needs at least {MIN_NEGATIVES}"
    )


@pytest.mark.parametrize("bot", fixture_names())
def test_fixture_detection(bot: str, quality_ledger: QualityLedger) -> None:
    from botscan.deps import AuditSettings
    from botscan.model import NoticeKind
    from botscan.scan import ScanOptions, scan

    root = FIXTURES_DIR / bot
    exp = parse_expectations(root)
    assert not exp.errors, "bad labels:\n  " + "\n  ".join(exp.errors)

    # Offline: labels must not depend on a vulnerability service (BOT601 has its own tests),
    # so the one notice a fixture may carry is that the audit was skipped.
    result = scan([root], ScanOptions(audit=AuditSettings(offline=True)))
    result.notices = [n for n in result.notices if n.kind is not NoticeKind.AUDIT]
    assert result.files_scanned > 0, (
        f"botscan scanned no file of {root}: is fixtures/ excluded by a configuration?"
    )
    found: dict[Key, Finding] = {}
    for finding in sorted(result.findings, key=lambda f: f.sort_key()):
        if not finding.suppressed:
            key = (finding.location.path, finding.location.line, finding.rule_id)
            found.setdefault(key, finding)

    hits = exp.labels & found.keys()
    missed = sorted(exp.labels - found.keys())
    extra = sorted(found.keys() - exp.labels)
    quality_ledger.record(
        bot,
        tp=[k[2] for k in hits],
        fp=[k[2] for k in extra],
        fn=[k[2] for k in missed],
    )

    problems = []
    if missed:
        problems.append(f"{len(missed)} missed (labelled, not reported):")
        problems += [f"  MISS  {_describe(exp, k)}" for k in missed]
    if extra:
        problems.append(f"{len(extra)} extra (reported, not labelled):")
        problems += [f"  EXTRA {_describe(exp, k, found[k])}" for k in extra]
    if result.notices:
        problems.append(f"{len(result.notices)} notices (fixtures are clean files):")
        problems += [f"  NOTICE {n.path}: {n.kind.value}: {n.message}" for n in result.notices]
    summary = f"{bot}: {len(hits)}/{len(exp.labels)} labels found, {len(extra)} extra"
    if problems:
        pytest.fail(summary + "\n" + "\n".join(problems), pytrace=False)


def test_label_parser(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bot.py").write_text(
        'A = "x"  # expect: BOT101\n'
        'B = "y"  # expect: BOT403,BOT404 -- both on one line\n'
        'C = "z"  # silent: a placeholder\n'
        "# botscan: ignore[BOT102] -- testnet\n"
        'D = "w"\n',
        encoding="utf-8",
    )
    exp = parse_expectations(tmp_path)
    assert not exp.errors
    assert exp.labels == {
        ("pkg/bot.py", 1, "BOT101"),
        ("pkg/bot.py", 2, "BOT403"),
        ("pkg/bot.py", 2, "BOT404"),
    }
    assert exp.negatives == {("pkg/bot.py", 3): "a placeholder"}


def test_label_parser_reads_sidecars(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{\n  "key": "k",\n  "secret": "s"\n}\n',
                                          encoding="utf-8")
    (tmp_path / "config.json.expect").write_text(
        "# labels of config.json\n2: BOT102\n3: BOT101, BOT110 -- committed\n"
        "4: silent: closing brace\n", encoding="utf-8")
    exp = parse_expectations(tmp_path)
    assert not exp.errors
    assert exp.labels == {("config.json", 2, "BOT102"), ("config.json", 3, "BOT101"),
                          ("config.json", 3, "BOT110")}
    assert exp.negatives == {("config.json", 4): "closing brace"}


@pytest.mark.parametrize(
    ("sidecar", "error"),
    [
        ("9: BOT101", "has no line 9"),
        ("1: BOT999", "not in the catalog"),
        ("1 BOT101", "expected 'LINE: BOT101'"),
        ("1: BOT101\n1: silent: no", "both labelled and silent"),
    ],
)
def test_sidecar_rejects(tmp_path: Path, sidecar: str, error: str) -> None:
    (tmp_path / "a.json").write_text('{"secret": "s"}\n', encoding="utf-8")
    (tmp_path / "a.json.expect").write_text(sidecar + "\n", encoding="utf-8")
    errors = parse_expectations(tmp_path).errors
    assert len(errors) == 1 and error in errors[0], errors


def test_sidecar_without_its_file(tmp_path: Path) -> None:
    (tmp_path / "gone.json.expect").write_text("1: BOT101\n", encoding="utf-8")
    errors = parse_expectations(tmp_path).errors
    assert len(errors) == 1 and "no file gone.json" in errors[0], errors


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('A = "x"  # expect: BOT10l', "not a rule id"),
        ('A = "x"  # expect: BOT999', "not in the catalog"),
        ('A = "x"  # expect: BOT101 BOT101', "labelled twice"),
        ('A = "x"  # expect:', "without a rule id"),
        ('A = "x"  # expect: BOT101  # silent: no', "both"),
        ('A = "x"  # expect: BOT101  # botscan: ignore[BOT101] -- ok', "suppressed"),
        ('# botscan: ignore[BOT101] -- ok\nA = "x"  # expect: BOT101', "suppressed"),
    ],
)
def test_label_parser_rejects(tmp_path: Path, line: str, error: str) -> None:
    (tmp_path / "bot.py").write_text(line + "\n", encoding="utf-8")
    errors = parse_expectations(tmp_path).errors
    assert len(errors) == 1 and error in errors[0], errors
