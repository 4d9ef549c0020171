"""What the Python detectors may need from the configuration.

Its own module, free of libcst, so that the scan pipeline can build the options of a scan (and
a cache key from them) without paying for the parser's import when no Python file is analysed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Picklable and hashable: it travels to worker processes and keys derived caches."""

    extra_credential_names: tuple[tuple[str, str], ...] = ()
    packs: tuple[tuple[str, str], ...] = ()
    """Knowledge packs in force, (name, TOML text), so workers that do not fork see them."""
