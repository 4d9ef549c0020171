"""Package names that imitate trading and crypto libraries (typosquats) or are known malware.

The tables live in `checks/knowledge/packages.toml`. A name is compared with each target in
two forms: squashed (PEP 503 normalised, separators removed, so `python_binance`,
`python.binance` and `pythonbinance` meet) and with the GitHub-versus-PyPI affixes removed
(`solana-py` -> `solana`). Short names get one edit of slack, long ones two; cores under four
letters (`ta`, `okx`) only match exactly, or every short package would look like one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from botscan import catalog

_MIN_CORE = 4
_LONG = 9


@dataclass(frozen=True)
class Lookalike:
    target: str
    how: str
    """"a doubled letter", "python-/-py affix", …: said in the finding's message."""
    distance: int


@dataclass(frozen=True)
class _Tables:
    targets: tuple[str, ...]
    legitimate: frozenset[str]
    malicious: dict[str, str]
    """By squashed name: `bitcoinlib-dbfix` is the same malware as `bitcoinlibdbfix`."""
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    extension_of: tuple[str, ...]
    endings: tuple[str, ...]
    target_forms: tuple[tuple[str, str, bool], ...] = ()
    """(target, squashed form, is it a core) for every target, computed once."""


@functools.cache
def _tables() -> _Tables:
    data = catalog.knowledge("packages")
    squat = data.get("typosquat", {})
    targets = tuple(canonicalize_name(t) for t in squat.get("targets", ()))
    malicious: dict[str, str] = {_squash(canonicalize_name(str(m["name"]))):
                                 str(m.get("what", "")) for m in data.get("malicious", ())}
    tables = _Tables(
        targets=targets,
        legitimate=frozenset(targets) | {canonicalize_name(n) for n in squat.get("legitimate", ())},
        malicious=malicious,
        prefixes=tuple(squat.get("affix_prefixes", ())),
        suffixes=tuple(squat.get("affix_suffixes", ())),
        extension_of=tuple(canonicalize_name(n) for n in squat.get("extension_of", ())),
        endings=tuple(squat.get("impersonation_endings", ())),
    )
    forms = tuple((t, form, core) for t in targets for form, core in _forms(t, tables))
    return replace(tables, target_forms=forms)


def malicious(name: str) -> str | None:
    """What the known-malicious package did, or None (separator variants included)."""
    return _tables().malicious.get(_squash(canonicalize_name(name)))


def _squash(name: str) -> str:
    return name.replace("-", "")


def _core(name: str, tables: _Tables) -> str | None:
    """The name without one GitHub-style affix (`python-x`, `x-py`), when it has one."""
    for prefix in tables.prefixes:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    for suffix in tables.suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _forms(name: str, tables: _Tables) -> list[tuple[str, bool]]:
    """(squashed form, is it a core) of a canonical name."""
    forms = [(_squash(name), False)]
    core = _core(name, tables)
    if core is not None:
        forms.append((_squash(core), True))
    return forms


def _candidate_forms(name: str, tables: _Tables) -> list[tuple[str, bool]]:
    """A candidate's forms, plus `py` glued on without a separator (`pyccxt`, `web3py`)."""
    forms = _forms(name, tables)
    squashed = _squash(name)
    for glued in (squashed.removeprefix("py"), squashed.removesuffix("py")):
        if glued != squashed and len(glued) >= _MIN_CORE:
            forms.append((glued, True))
    return forms


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment: a swap of neighbours costs one edit),
    or `limit + 1` when it is larger.

    Only the band of cells within `limit` of the diagonal is computed, and the work stops as
    soon as a row exceeds the limit: with limits of one or two edits, comparing every
    dependency of a big lock file with every target stays linear in practice.
    """
    over = limit + 1
    if abs(len(a) - len(b)) > limit:
        return over
    previous2: list[int] = []
    previous = [j if j <= limit else over for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        current = [over] * (len(b) + 1)
        if i <= limit:
            current[0] = i
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = min(value, over)
        if min(current) > limit:
            return over
        previous2, previous = previous, current
    return previous[len(b)]


def _one_edit(a: str, b: str) -> str:
    """Name the single edit that turns target `b` into candidate `a`."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return "two letters swapped"
        return "one letter changed"
    if len(a) > len(b):
        index = next((i for i in range(len(b)) if a[i] != b[i]), len(b))
        doubled = (index > 0 and a[index] == a[index - 1]) or (
            index + 1 < len(a) and a[index] == a[index + 1])
        return "a doubled letter" if doubled else "an extra letter"
    return "a missing letter"


def _allowed(target_form: str, is_core: bool) -> int | None:
    """How many edits a form of this length tolerates; None when it must not be compared."""
    if len(target_form) < _MIN_CORE:
        return None if is_core else 0
    return 1 if len(target_form) < _LONG else 2


def _impersonation(name: str, tables: _Tables) -> Lookalike | None:
    squashed = _squash(name)
    for base in tables.extension_of:
        if name.startswith(base + "-"):
            return Lookalike(base, f"named as an extension of {base}", 0)
    for target in tables.targets:
        base = _squash(target)
        rest = squashed[len(base):]
        if len(base) >= _MIN_CORE and squashed.startswith(base) and rest and \
                rest.endswith(tables.endings):
            return Lookalike(target, f"{target} with a '{rest}' ending", 0)
    return None


@functools.lru_cache(maxsize=4096)
def lookalike(name: str) -> Lookalike | None:
    """The trading library `name` imitates, unless it is that library or a known real one."""
    tables = _tables()
    canonical = canonicalize_name(name)
    if canonical in tables.legitimate:
        return None
    best: Lookalike | None = None
    best_key = (_LONG, True)
    candidates = _candidate_forms(canonical, tables)
    for target, target_form, target_core in tables.target_forms:
        for form, core in candidates:
            allowed = _allowed(target_form, target_core or core)
            if allowed is None:
                continue
            distance = _distance(form, target_form, allowed)
            # Nearest first; at equal distance, a target named in full beats a target's
            # core (`binance-py` imitates `binance` more than `python-binance`).
            if distance > allowed or (distance, target_core) >= best_key:
                continue
            best_key = (distance, target_core)
            if distance == 0:
                how = "python-/py affix" if core or target_core else "different separators"
            elif distance == 1:
                how = _one_edit(form, target_form)
            else:
                how = "two letters different"
            best = Lookalike(target, how, distance)
    return best or _impersonation(canonical, tables)
