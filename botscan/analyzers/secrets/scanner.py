"""One text file in, its credential findings out: prefilter, detectors, detect-secrets, merge.

The order of work is the order of cost. One pass of literal searches and a few regexes over the
whole text (the prefilter) says which lines could hold anything; a structured config is parsed
only if a credential name occurs in it at all; detect-secrets sees only the lines whose
triggers fired, each with only its triggered plugins. Then the hits of the three sources are
merged: botscan's own detectors know the key path or the name, so where detect-secrets fires on
the same secret of the same line, botscan's finding is the one kept (and records the plugin
that agreed in its evidence).

Everything here is a pure function of (path, bytes, options): workers can run it and a cache
can key it by content hash. The only repository-level input, whether `.gitignore` covers the
file, is passed in as a `Tracking` value computed by the parent (see `gitignore.IgnoreRules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from botscan import credentials as cred
from botscan.analyzers import text_credentials
from botscan.analyzers.hits import Hit, finalize
from botscan.analyzers.secrets import configs, detectors, dsbridge, filekinds, prefilter
from botscan.analyzers.secrets.filekinds import TextKind
from botscan.analyzers.secrets.gitignore import Tracking
from botscan.analyzers.secrets.textmap import TextMap
from botscan.model import Confidence, Finding, Notice, NoticeKind
from botscan.redact import redact
from botscan.sources.decode import decode_text

CREDENTIAL_RULES = frozenset(
    {"BOT101", "BOT102", "BOT103", "BOT105", "BOT106", "BOT107", "BOT108", "BOT109"})
"""The rules whose findings mean "a credential is in this file"."""
_STRUCTURED = frozenset(
    {filekinds.JSON, filekinds.YAML, filekinds.TOML, filekinds.INI, filekinds.ENV})
LONG_LINE = 1000
"""Lines longer than this get only the detect-secrets plugins that match a fixed format."""
_MIN_SHARED = 4
"""Two secrets are the same one when one holds the other and the shorter is this long."""

Names = tuple[tuple[str, str], ...]


def scan_text_file(path: str, data: bytes, *, tracking: Tracking = Tracking.UNKNOWN,
                   enabled: frozenset[str] | None = None, extra_names: Names = (),
                   ) -> tuple[list[Finding], list[Notice]]:
    """The credential findings of one non-Python text file, and notices about reading it.

    `path` is the file's path as reported (relative to the scan root); it decides the parser
    and how strictly values are judged (`filekinds.text_kind`). `tracking` says what the
    repository does with the file (BOT110 needs NOT_IGNORED or TRACKED). `enabled` limits the
    rules reported; `extra_names` are the user's own (name, kind) credential names.
    """
    kind = filekinds.text_kind(path)
    if kind is None:
        return [], []
    decoded = decode_text(data)
    notices: list[Notice] = []
    if decoded.had_errors:
        notices.append(Notice(path, NoticeKind.DECODING,
                              f"not cleanly decodable: read as {decoded.encoding} with "
                              "replacement characters"))
    tm = TextMap(decoded.text)
    encrypted: list[int] = []
    if kind.format == filekinds.NOTEBOOK:
        hits = _notebook(path, tm, extra_names)
    else:
        hits, encrypted = _scan(path, tm, kind, extra_names)
    findings = finalize(path, decoded.text, hits)
    if kind.credential_file and tracking in (Tracking.NOT_IGNORED, Tracking.TRACKED):
        findings += _committed(path, decoded.text, tracking, findings, hits, encrypted)
    if enabled is not None:
        findings = [f for f in findings if f.rule_id in enabled]
    return findings, notices


def known_service_findings(path: str, text: str, existing: Sequence[Finding],
                           enabled: frozenset[str] | None = None) -> list[Finding]:
    """BOT109 for a Python file: the known-service secrets detect-secrets finds (AWS, GitHub,
    Slack, PEM…) that the Python analyzer's `existing` findings do not already report on the
    same line. Only the service plugins run: names and entropy are the analyzer's business."""
    if enabled is not None and "BOT109" not in enabled:
        return []
    tm = TextMap(text)
    services = {name for name, info in dsbridge.plugins().items()
                if info.role in (dsbridge.SERVICE, dsbridge.PEM)}
    triggers = [t for name in sorted(services) for t in prefilter.DETECT_SECRETS_TRIGGERS[name]]
    wanted = prefilter.candidates(tm, triggers)
    hits = [h for d in dsbridge.run(path, tm.lines, wanted)
            if (h := _from_detect_secrets(d, tm, strict=True, structured=True)) is not None]
    taken = [f for f in existing if f.rule_id in CREDENTIAL_RULES]
    kept = [h for h in _dedupe(hits) if not any(_reports(f, h) for f in taken)]
    return finalize(path, text, kept)


def _reports(finding: Finding, hit: Hit) -> bool:
    """Does another analyzer's finding already report the secret of `hit`?"""
    where = finding.location
    if not (where.line <= hit.line <= (where.end_line or where.line)):
        return False
    secret = hit.secrets[0]
    if redact(secret) in finding.message or redact(secret) in finding.snippet:
        return True
    start = hit.column
    return where.column <= start < (where.end_column or where.column + 1) or (
        where.end_line is not None and where.end_line > where.line)


# --- one text ------------------------------------------------------------------------------

def _triggers(extra_names: Names) -> list[prefilter.Trigger]:
    return [
        *(t for name in sorted(dsbridge.plugins())
          for t in prefilter.DETECT_SECRETS_TRIGGERS.get(name, ())),
        *(t for group in prefilter.OWN_TRIGGERS.values() for t in group),
        *prefilter.name_triggers(text_credentials.stems(extra_names)),
    ]


def _lines_with(candidates: dict[int, set[str]], group: str) -> list[int]:
    return sorted(n for n, groups in candidates.items() if group in groups)


def _wanted(tm: TextMap, candidates: dict[int, set[str]], kind: TextKind, judged: set[int],
            ) -> dict[int, set[str]]:
    """The detect-secrets plugins to run on each line. The context plugins (keyword, entropy,
    JWT) only count where a credential name binds the value, which a structured config's
    reader has judged already and documentation never has: they run on the named lines of
    other text files where botscan's line scanner found nothing itself (`judged`: there they
    could only repeat it), and not on lines over `LONG_LINE` characters (minified code,
    one-line JSON), where their backtracking costs up to a second per line."""
    plugins = dsbridge.plugins()
    context = ({n for n, p in plugins.items() if p.role == dsbridge.CONTEXT}
               if kind.format == filekinds.TEXT and not kind.strict else set())
    wanted: dict[int, set[str]] = {}
    for number, groups in candidates.items():
        chosen = groups.intersection(plugins)
        if (prefilter.NAMES in groups and number not in judged
                and len(tm.line(number)) <= LONG_LINE):
            chosen |= context
        if chosen:
            wanted[number] = chosen
    return wanted


def _scan(path: str, tm: TextMap, kind: TextKind, extra_names: Names,
          ) -> tuple[list[Hit], list[int]]:
    """Hits of one text, and the lines of password-encrypted secrets (for BOT110)."""
    candidates = prefilter.candidates(tm, _triggers(extra_names))
    named = _lines_with(candidates, prefilter.NAMES)
    ours: list[Hit] = []
    encrypted: list[int] = []
    structured = kind.format in _STRUCTURED
    if not kind.strict and named:
        if structured:
            ours += _config_hits(tm, kind, named, extra_names, encrypted)
        else:
            ours += _line_hits(tm, named, kind, extra_names)
    ours += detectors.telegram(tm, _lines_with(candidates, prefilter.TELEGRAM))
    ours += detectors.webhooks(tm, _lines_with(candidates, prefilter.WEBHOOK))
    ours += detectors.seed_phrases(tm)
    if not kind.strict:
        ours += detectors.keypairs(tm, extra_names)
        ours += detectors.evm_keys(tm, _lines_with(candidates, prefilter.EVM_KEY), extra_names)
    judged = {h.line for h in ours}
    theirs = [h for d in dsbridge.run(path, tm.lines, _wanted(tm, candidates, kind, judged))
              if (h := _from_detect_secrets(d, tm, strict=kind.strict, structured=structured,
                                            test=kind.test, extra_names=extra_names))
              is not None]
    if kind.test:
        ours = [h for h in ours
                if h.evidence.get("credential_kind") not in (cred.PASSWORD, cred.PASSPHRASE)]
    return _merge(ours, theirs), encrypted


def _config_hits(tm: TextMap, kind: TextKind, named: list[int], extra_names: Names,
                 encrypted: list[int]) -> list[Hit]:
    """Values of a structured config judged by key path; lines the reader could not place
    (inline tables, flow mappings) and named lines that gave no value at all are read line by
    line, so a file the reader misunderstands still gets the line scanner's judgement."""
    parsed = configs.parse(kind.format, tm,
                           keep=lambda key: text_credentials.has_stem(key, extra_names))
    hits: list[Hit] = []
    for entry in parsed.entries:
        verdict = detectors.judge_entry(entry, test=kind.test, extra_names=extra_names)
        if verdict == detectors.ENCRYPTED:
            encrypted.append(entry.line)
        elif isinstance(verdict, Hit):
            hits.append(verdict)
    leftover = sorted(set(parsed.loose) | (set(named) - parsed.covered))
    hits += _line_hits(tm, leftover, kind, extra_names)
    return hits


def _line_hits(tm: TextMap, numbers: Iterable[int], kind: TextKind,
               extra_names: Names) -> list[Hit]:
    return [hit for number in numbers
            for hit in text_credentials.line_bindings(number, tm.line(number),
                                                      unquoted=kind.unquoted,
                                                      extra_names=extra_names)]


# --- detect-secrets hits -------------------------------------------------------------------

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


def _bounded_column(line: str, secret: str, bounded: str) -> int | None:
    """1-based column of an occurrence of `secret` that stands alone as a token (per the
    plugin's `bounded`), or None when every occurrence is glued into a longer run."""
    at = line.find(secret)
    while at >= 0:
        before = line[at - 1] if at else ""
        after = line[at + len(secret): at + len(secret) + 1]
        if bounded == "none" or (before not in _TOKEN_CHARS and (
                bounded == "start" or after not in _TOKEN_CHARS)):
            return at + 1
        at = line.find(secret, at + 1)
    return None


def _from_detect_secrets(found: dsbridge.DsHit, tm: TextMap, *, strict: bool, structured: bool,
                         test: bool = False, extra_names: Names = ()) -> Hit | None:
    """What a detect-secrets hit means for botscan (see the roles in credentials.toml)."""
    info = dsbridge.plugins()[found.plugin]
    line, secret = tm.line(found.line), found.secret
    evidence: dict[str, object] = {"detector": "detect-secrets", "plugin": found.plugin}
    why = f"detect-secrets {found.plugin}: {info.why}"
    if info.role == dsbridge.PEM:
        body = detectors.pem_body(tm, found.line)
        if body is None:
            return None
        return Hit("BOT109", found.line, (line.find("PRIVATE KEY") + 1) or 1,
                   _service_message(info.service, why, body), secrets=(body, secret),
                   evidence={**evidence, "service": info.service})
    if info.role == dsbridge.SERVICE:
        column = _bounded_column(line, secret, info.bounded)
        if column is None or cred.is_placeholder(secret) or cred.is_public_sample(secret):
            return None
        return Hit("BOT109", found.line, column, _service_message(info.service, why, secret),
                   secrets=(secret,), evidence={**evidence, "service": info.service})
    if strict or (test and info.role == dsbridge.PASSWORD):
        return None
    column = line.find(secret) + 1 or 1
    if info.role == dsbridge.PASSWORD:
        name = cred.CredentialName(cred.PASSWORD, exchange=False, non_exchange=True)
        label = "a URL"
    else:
        if structured:
            return None  # a config's values were judged by key path already
        named = detectors.classify_before(line, column, extra_names)
        if named is None:
            return None
        label, name = named
    if test and name.kind in (cred.PASSWORD, cred.PASSPHRASE):
        return None
    rule_id = cred.choose_rule(name.kind, name, secret)
    if rule_id is None:
        return None
    return Hit(rule_id, found.line, column,
               cred.message(rule_id, name.kind, label, secret, f" (found by {why})"),
               secrets=(secret,), evidence={**evidence, "credential_kind": name.kind},
               confidence=Confidence.MEDIUM)


def _service_message(service: str, why: str, secret: str) -> str:
    return (f"{service[0].upper()}{service[1:]} written into the file ({why}): {redact(secret)}."
            " Revoke it at the service and load the new one from the environment.")


# --- merging ---------------------------------------------------------------------------------

def _same_secret(a: str, b: str) -> bool:
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= _MIN_SHARED and short in long


def _overlaps(a: Hit, b: Hit) -> bool:
    a_end, b_end = a.end_line or a.line, b.end_line or b.line
    return a.line <= b_end and b.line <= a_end and any(
        _same_secret(x, y) for x in a.secrets for y in b.secrets)


class _Kept:
    """Hits kept so far, indexed by the lines they span: a file with a credential on each of
    its 80,000 lines must not compare every hit with every other."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._by_line: dict[int, list[Hit]] = {}

    def overlapping(self, hit: Hit) -> list[Hit]:
        seen: list[Hit] = []
        for number in range(hit.line, (hit.end_line or hit.line) + 1):
            for kept in self._by_line.get(number, ()):
                if kept not in seen and _overlaps(kept, hit):
                    seen.append(kept)
        return seen

    def add(self, hit: Hit) -> None:
        self.hits.append(hit)
        for number in range(hit.line, (hit.end_line or hit.line) + 1):
            self._by_line.setdefault(number, []).append(hit)


def _dedupe(hits: Iterable[Hit]) -> list[Hit]:
    """The first of several hits on the same secret of the same line."""
    kept = _Kept()
    for hit in hits:
        if not kept.overlapping(hit):
            kept.add(hit)
    return kept.hits


def _merge(ours: list[Hit], theirs: list[Hit]) -> list[Hit]:
    """botscan's hits, then detect-secrets' hits on secrets botscan did not report. A plugin
    that fired on a secret botscan reports is recorded in that hit's evidence."""
    kept = _Kept()
    for hit in _dedupe(ours):
        kept.add(hit)
    for hit in _dedupe(theirs):
        agreeing = kept.overlapping(hit)
        if not agreeing:
            kept.add(hit)
            continue
        plugin = str(hit.evidence["plugin"])
        service = hit.evidence.get("service")
        for k in agreeing:
            plugins = k.evidence.setdefault("detect_secrets", [])
            if not isinstance(plugins, list) or plugin in plugins:
                continue
            plugins.append(plugin)
            if service and hit.rule_id == "BOT109":
                # botscan knows the name; detect-secrets knows whose key it is: say both.
                k.message += f" (detect-secrets {plugin}: {service}.)"
    return kept.hits


# --- notebooks -----------------------------------------------------------------------------

_NOTEBOOK_TEXT = (("cells", "source"), ("cells", "outputs", "text"),
                  ("cells", "outputs", "data", "text/plain"))


def _notebook(path: str, tm: TextMap, extra_names: Names) -> list[Hit]:
    """A notebook's cell sources and text outputs, scanned as the text they are (mostly
    Python), each line reported at the line of the JSON file that holds it."""
    pieces: list[str] = []
    origin: list[tuple[int, int]] = []
    for keys, value, offset in configs.json_strings(tm):
        if keys[-3:] not in _NOTEBOOK_TEXT and keys[-2:] not in _NOTEBOOK_TEXT:
            continue
        number, column = tm.line_of(offset), tm.column_of(offset) + 1
        for piece in value.splitlines() or [""]:
            pieces.append(piece)
            origin.append((number, column))
    if not pieces:
        return []
    cells = TextMap("\n".join(pieces))
    base = filekinds.text_kind(path)
    kind = TextKind(format=filekinds.TEXT, strict=False, unquoted=False, credential_file=False,
                    test=base is not None and base.test)
    hits, _ = _scan(path, cells, kind, extra_names)
    placed = []
    for hit in hits:
        number, column = origin[hit.line - 1]
        end = origin[(hit.end_line or hit.line) - 1][0]
        placed.append(replace(hit, line=number, column=column,
                              end_line=end if end != number else None, end_column=None))
    return _dedupe(placed)


# --- BOT110 --------------------------------------------------------------------------------

def _committed(path: str, text: str, tracking: Tracking, findings: list[Finding],
               hits: list[Hit], encrypted: list[int]) -> list[Finding]:
    """BOT110 for a credential file that holds a credential and that git would commit."""
    held = [f for f in findings if f.rule_id in CREDENTIAL_RULES and not f.suppressed]
    if held:
        first = min(held, key=Finding.sort_key)
        line = first.location.line
        what = f"a credential ({first.rule_id}, line {line})"
    elif encrypted:
        line = min(encrypted)
        what = (f"password-encrypted exchange keys (line {line}; a weak password falls to "
                "offline guessing once the file is public)")
    else:
        return []
    if tracking is Tracking.TRACKED:
        state = "is committed to the repository"
        fix = "Remove it from the index (`git rm --cached`), add it to .gitignore"
    else:
        state = "is not covered by any .gitignore rule: the next `git add .` commits it"
        fix = "Add it to .gitignore"
    message = (f"`{path}` holds {what} and {state}. {fix}, rotate the key, and purge the "
               "file from the history.")
    secrets = tuple(s for h in hits if h.line == line for s in h.secrets)
    hit = Hit("BOT110", line, 1, message, secrets=secrets,
              evidence={"tracking": tracking.value, "credential_rules": sorted(
                  {f.rule_id for f in held}), "encrypted_lines": encrypted})
    return finalize(path, text, [hit])
