"""Credentials in every text file: detect-secrets plus botscan's own detectors, merged.

Public API (what `botscan.scan` and the history scanner call):

- `scan_text_file(path, data, *, tracking, enabled, extra_names)`: findings and notices for
  one non-Python text file; a pure function of its arguments, safe in worker processes and
  cacheable by (content hash, path, tracking, enabled, extra_names, catalog fingerprint).
- `known_service_findings(path, text, existing, enabled)`: detect-secrets' known-service
  secrets (BOT109) in a Python file that the Python analyzer's findings do not already cover.
- `reads(path)`: whether the scanner reads a text file of that name (all but binary names);
  `wants_tracking(path)`: whether its `.gitignore` verdict matters (BOT110 candidates only).
- `IgnoreRules` / `Tracking`: the repository's `.gitignore` verdict for a file, built once per
  scan in the parent process and passed to `scan_text_file` as a `Tracking` value (BOT110).
"""

from __future__ import annotations

from botscan.analyzers.secrets.filekinds import text_kind
from botscan.analyzers.secrets.gitignore import IgnoreRules, Tracking
from botscan.analyzers.secrets.scanner import known_service_findings, scan_text_file

__all__ = ["IgnoreRules", "Tracking", "known_service_findings", "reads", "scan_text_file",
           "wants_tracking"]


def reads(path: str) -> bool:
    """Does the secrets scanner read the text file at `path`? Every name but a binary one."""
    return text_kind(path) is not None


def wants_tracking(path: str) -> bool:
    """Does BOT110 apply to this file, so that its `Tracking` is worth computing? Only files
    meant to hold credentials (`.env`, `config.json`, `*.pem`…) need the `.gitignore` verdict."""
    kind = text_kind(path)
    return kind is not None and kind.credential_file
