"""Symbolic links that lead out of the scanned repository (BOT509).

The walker refuses to follow them and says where they point (`OutsideLink`); this turns that
into a finding at the link's path. The target is shown with the home directory as `~`, so a
report shared to ask for help does not carry the user's name.
"""

from __future__ import annotations

import os

from botscan.analyzers.hits import Hit, finalize
from botscan.model import Finding


def _shown(target: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "~", os.sep) and (target == home or target.startswith(home + os.sep)):
        return "~" + target[len(home):]
    return target


def link_finding(path: str, target: str, *, exists: bool) -> Finding:
    """BOT509 for the link at `path` (relative to the scan root) resolving to `target`."""
    shown = _shown(target)
    absent = "" if exists else " (absent on this machine, but not on the one the bot runs on)"
    hit = Hit("BOT509", 1, 1,
              f"Symbolic link to `{shown}`{absent}, outside the repository: whatever reads "
              f"`{path}` (the bot, an editor, a deploy script) reads or writes that file "
              "instead. botscan did not follow it. Replace the link with the file it should be.",
              evidence={"target": shown, "target_exists": exists})
    return finalize(path, "", [hit])[0]
