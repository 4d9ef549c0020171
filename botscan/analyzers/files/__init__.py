"""The files analyzer: deployment files and committed binaries (BOT508, BOT509, BOT701,
BOT703-BOT708).

Public API (what `botscan.scan` calls):

- `reads(path)`: whether a text file is a deployment file this analyzer checks (a Dockerfile,
  a compose file, a JSON config that may configure a bot's API), decided from its name;
- `deployment_findings(path, data, enabled)`: the findings and notices of such a file. It runs
  beside the secrets scanner on the same file, in the same worker task;
- `binary_candidate(path)`, `shadowed_source(path)`, `binary_findings(...)`: for files the
  walker classified as binary (see `binaries`), and `read_limit(path)`, how much of one to read;
- `link_finding(path, target, exists)`: BOT509 for a link the walker refused to follow.

Each function is pure given its arguments, so it runs in worker processes and can be cached
by content hash like the other analyzers.
"""

from __future__ import annotations

from botscan.analyzers.files import botconfig, formats
from botscan.analyzers.files.binaries import (
    binary_findings,
    read_limit,
    shadowed_source,
)
from botscan.analyzers.files.binaries import is_candidate as binary_candidate
from botscan.analyzers.files.links import link_finding
from botscan.analyzers.hits import Hit, finalize
from botscan.model import Finding, Notice, NoticeKind
from botscan.sources.decode import decode_text

__all__ = ["binary_candidate", "binary_findings", "deployment_findings", "link_finding",
           "read_limit", "reads", "shadowed_source"]

DEPLOYMENT_RULES = frozenset({"BOT701", "BOT703", "BOT704", "BOT705", "BOT706", "BOT707",
                              "BOT708"})


def reads(path: str) -> bool:
    """Is the text file at `path` a Dockerfile, a compose file or a possible bot config?"""
    return formats.is_dockerfile(path) or formats.is_compose_file(path) or botconfig.reads(path)


def deployment_findings(path: str, data: bytes, enabled: frozenset[str] | None = None,
                        ) -> tuple[list[Finding], list[Notice]]:
    """BOT701 and BOT703-BOT708 for one deployment file (credentials in it are the secrets
    scanner's)."""
    from botscan.analyzers.files import compose, dockerfile  # PyYAML only when needed

    if enabled is not None and not enabled & DEPLOYMENT_RULES:
        return [], []
    text = decode_text(data).text
    hits: list[Hit] = []
    notices: list[Notice] = []
    if formats.is_dockerfile(path):
        hits = dockerfile.dockerfile_hits(text)
    elif formats.is_compose_file(path):
        try:
            hits = compose.compose_hits(text)
        except compose.NotCompose as exc:
            notices.append(Notice(path, NoticeKind.NOT_PARSED,
                                  f"compose file not checked for deployment rules: {exc}"))
    elif botconfig.reads(path):
        hits = botconfig.api_config_hits(text)
    findings = finalize(path, text, hits)
    if enabled is not None:
        findings = [f for f in findings if f.rule_id in enabled]
    return findings, notices
