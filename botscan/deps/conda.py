"""The `pip:` section of a conda `environment.yml`, read line by line.

Only the pip section names PyPI packages (the rest are conda packages, which neither PyPI
advisories nor PyPI typosquats describe). Its items are pip requirement lines, so they go
through the requirements parser. A line scanner instead of a YAML library: no new dependency,
no YAML tags or aliases to worry about, and the line numbers come for free.
"""

from __future__ import annotations

import re

from botscan.deps.declared import Role
from botscan.deps.requirements import Parsed, parse_line

_PIP_KEY = re.compile(r"^(?P<indent>\s*)-\s*pip\s*:\s*(?:#.*)?$")
_ITEM = re.compile(r"^(?P<indent>\s*)-\s+(?P<item>.*?)\s*$")
_COMMENT = re.compile(r"\s+#.*$")


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
        return item[1:-1]
    return item


def parse_environment_yml(manifest: str, text: str) -> Parsed:
    out = Parsed()
    pip_indent: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if (match := _PIP_KEY.match(raw)) is not None:
            pip_indent = len(match.group("indent"))
            continue
        if pip_indent is None:
            continue
        item = _ITEM.match(raw)
        if item is None or len(item.group("indent")) <= pip_indent:
            pip_indent = None
            continue
        requirement = _unquote(_COMMENT.sub("", item.group("item")).strip())
        if requirement:
            parse_line(manifest, number, requirement, Role.DEPENDENCY, out)
    return out
