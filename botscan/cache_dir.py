"""Where botscan keeps what it caches: one directory of the person running it.

Two caches live under it: `results/` (analysis results by content hash, `result_cache.py`) and
`deps/` (vulnerability look-ups by pin, `deps/cache.py`). The directory belongs to the user,
never to a scanned tree: a hostile repository that could write entries there could ship a
clean verdict for its own files. `--cache-dir` and `BOTSCAN_CACHE_DIR` choose another place;
`--no-cache` turns both caches off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENVIRONMENT_VARIABLE = "BOTSCAN_CACHE_DIR"


def default_root() -> Path:
    """The platform's cache directory for botscan: `$XDG_CACHE_HOME/botscan` (or
    `~/.cache/botscan`) on Linux and other Unixes, `~/Library/Caches/botscan` on macOS,
    `%LOCALAPPDATA%\\botscan\\Cache` on Windows."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "botscan" / "Cache" if base else Path.home() / "botscan-cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "botscan"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec ignores a relative value: it would depend on the working directory.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "botscan"


def root(explicit: Path | None = None) -> Path:
    """The cache directory in force: `--cache-dir`, else `BOTSCAN_CACHE_DIR`, else the default."""
    if explicit is not None:
        return explicit
    chosen = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(chosen) if chosen else default_root()


def inside(directory: Path, trees: list[Path]) -> Path | None:
    """The scanned tree that holds `directory`, if one does (then it must not be used)."""
    try:
        resolved = directory.resolve()
    except OSError:
        return None
    for tree in trees:
        try:
            top = tree.resolve()
        except OSError:
            continue
        if top.is_dir() and resolved.is_relative_to(top):
            return tree
    return None
