"""detect-secrets, driven from memory, on the lines the prefilter chose, never over the network.

Why not `SecretsCollection.scan_file`: it opens files by path (history blobs and archives
have none, and a temporary copy would put the secret on disk again), and it runs every plugin
on every line. Here each candidate line gets only the plugins whose triggers it holds, through
the same two steps `scan_file` uses per line (`_scan_line` with its secret filters, then the
context filters), so results are what detect-secrets itself would report for that line.
Those two functions are private to detect-secrets 1.x; the tests drive every enabled plugin
through them, so an upgrade that changes them fails there, not silently in a scan.

Network: a detect-secrets plugin verifies a secret with its service (Slack, Stripe, AWS…) only
while the filter `is_ignored_due_to_verification_policies` is configured. The settings below
are built from scratch and never hold it; `run` refuses to start if they somehow do.
detect-secrets keeps only SHA-1 hashes in its own output, so what it found is kept here as the
plugin, the line and the value in memory; botscan's messages redact the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botscan import catalog

VERIFY_FILTER = "detect_secrets.filters.common.is_ignored_due_to_verification_policies"
ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"

SERVICE = "service"
PASSWORD = "password"
PEM = "pem"
CONTEXT = "context"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    role: str
    service: str
    bounded: str
    why: str


@dataclass(frozen=True)
class DsHit:
    plugin: str
    line: int
    secret: str


class VerificationEnabled(RuntimeError):
    """The detect-secrets settings would send secrets to their services: refuse to scan."""


@catalog.derived
def plugins() -> dict[str, PluginInfo]:
    """The enabled plugins, by class name (checks/knowledge/credentials.toml)."""
    table = catalog.knowledge("credentials")["detect_secrets"]
    return {
        p["name"]: PluginInfo(p["name"], p["role"], p["service"], p["bounded"], p["why"])
        for p in table["plugin"]
    }


@catalog.derived
def _settings() -> dict[str, Any]:
    table = catalog.knowledge("credentials")["detect_secrets"]
    return {
        "plugins_used": [
            {"name": p["name"], **({"limit": p["limit"]} if "limit" in p else {})}
            for p in table["plugin"]
        ],
        "filters_used": [{"path": path} for path in table["filters"]["paths"]],
    }


def run(filename: str, lines: list[str], wanted: Mapping[int, set[str]]) -> Iterator[DsHit]:
    """The secrets detect-secrets reports on `lines` (1-based keys of `wanted`), each line
    scanned only with the plugins named for it. `filename` selects the keyword plugin's
    syntax (YAML, INI, Python…), as it would for a file on disk."""
    if not wanted:
        return
    # Imported here: detect-secrets costs ~0.1 s to import, and most files never need it.
    from detect_secrets.core.scan import _is_filtered_out, _scan_line
    from detect_secrets.settings import get_filters, get_plugins, transient_settings
    from detect_secrets.util.code_snippet import get_code_snippet

    with transient_settings(_settings()) as settings:
        if VERIFY_FILTER in settings.filters:
            raise VerificationEnabled("detect-secrets would verify secrets over the network")
        # The pragma shortcut below holds while the allowlist is the only filter that judges
        # a line (or its context) rather than a secret's value.
        line_filters = {f.path for f in get_filters() if "secret" not in f.injectable_variables
                        and {"line", "context"} & f.injectable_variables}
        if line_filters != {ALLOWLIST_FILTER}:
            raise RuntimeError(f"unexpected detect-secrets line filters: {sorted(line_filters)}")
        by_name = {type(p).__name__: p for p in get_plugins()}
        for number in sorted(wanted):
            names = sorted(wanted[number].intersection(by_name))
            if not names or not 0 < number <= len(lines):
                continue
            line = lines[number - 1].rstrip()
            context = get_code_snippet(lines=lines, line_number=number)
            # The one line-level filter configured is the inline allowlist, which needs
            # `pragma` on the line or the one above: asking it otherwise costs a backtracking
            # regex over the line (a second on minified JavaScript) to learn nothing.
            pragma = "pragma" in line or "pragma" in context.previous_line
            if pragma and _is_filtered_out(required_filter_parameters=["line"],
                                           filename=filename, line=line, context=context):
                continue
            for name in names:
                plugin = by_name[name]
                for found in _scan_line(plugin=plugin, filename=filename, line=line,
                                        line_number=number, context=context):
                    secret = found.secret_value
                    if not secret or (pragma and _is_filtered_out(
                            required_filter_parameters=["context"], filename=filename,
                            secret=secret, plugin=plugin, line=line, context=context)):
                        continue
                    for token in _whole_tokens(plugin, line, secret):
                        yield DsHit(name, number, token)


_DELIMITERS = " \t\"'=:`"


def _whole_tokens(plugin: Any, line: str, reported: str) -> list[str]:
    """The tokens behind what a regex plugin reported.

    `RegexBasedDetector` reports `findall` results, i.e. a capture group when its pattern has
    one: every GitHub token comes back as "ghp", every GitLab one as "glpat". botscan needs the
    whole token to redact it, merge it and tell two apart, so the plugin's own patterns are
    matched again on the line. A reported group that is itself the secret (the 40-character
    AWS secret key after `aws…key = "`, the password of a URL) is kept as reported.
    """
    tokens: list[str] = []
    for regex in getattr(plugin, "denylist", ()):
        for match in regex.finditer(line):
            whole = match.group(0).strip(_DELIMITERS)
            if reported not in whole:
                continue
            inner = len(reported) >= 16 or plugin.__class__.__name__ == "BasicAuthDetector"
            tokens.append(reported if inner else whole)
    return list(dict.fromkeys(tokens)) or [reported]
