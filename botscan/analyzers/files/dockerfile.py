"""Dockerfiles: the image runs as root (BOT703), bakes a secret in (BOT704), or builds from code
fetched at build time (BOT705).

The parser follows Docker's own reading of the file, because a rule that reads it differently
is wrong in both directions: parser directives (`# escape=`), line continuations (with comment
and blank lines inside them dropped, as BuildKit does), heredocs (`RUN <<EOF … EOF`, whose body
is the command), and stages. Only the final stage becomes the image that runs, so only its user
matters for BOT703, and a stage built `FROM` an earlier one inherits that one's `USER`.

Dockerfiles cannot hold trailing comments (`USER bot  # x` is a user named `bot  # x`), so the
fixtures label them with `.expect` sidecars.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import shlex
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit
from botscan.analyzers.secrets.filekinds import is_example

_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::?[-+]([^}]*))?\}|\$([A-Za-z_]\w*)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PINNED_GIT = re.compile(r"#[0-9a-f]{40}$")


@dataclass
class Instruction:
    keyword: str
    """Upper case: FROM, RUN, USER…"""
    args: str
    """Everything after the keyword, continuation lines joined as Docker joins them, heredoc
    bodies appended after a newline."""
    line: int
    spans: list[tuple[int, int]] = field(default_factory=list)
    """(offset in `args`, physical line) where each joined piece starts."""

    def line_at(self, offset: int) -> int:
        """The physical line of the character at `offset` in `args`."""
        index = bisect_right([s for s, _ in self.spans], offset) - 1
        return self.spans[max(index, 0)][1] if self.spans else self.line


@dataclass
class Stage:
    base: str
    """The image reference after build-argument substitution ("" when it cannot be known)."""
    alias: str
    line: int
    users: list[tuple[str, int]] = field(default_factory=list)
    """Each `USER` of the stage (value after substitution, line)."""


@catalog.derived
def _table() -> dict[str, Any]:
    return dict(catalog.knowledge("deploy")["dockerfile"])


# --- parsing -------------------------------------------------------------------------------------

def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, in order. Never raises."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:
        directive = _DIRECTIVE.match(line)
        if directive is None:
            break
        if directive.group(1).lower() == "escape" and directive.group(2) in ("\\", "`"):
            escape = directive.group(2)
    instructions: list[Instruction] = []
    index = 0
    while index < len(lines):
        first = lines[index]
        index += 1
        if not first.strip() or first.lstrip().startswith("#"):
            continue
        joined, spans, index = _join(lines, index, first.lstrip(), escape)
        words = re.match(r"(\S+)\s*(.*)", joined, re.DOTALL)
        if words is None:
            continue
        spans = [(max(s - words.start(2), 0), n) for s, n in spans]
        instruction = Instruction(words.group(1).upper(), words.group(2), spans[0][1], spans)
        if instruction.keyword in ("RUN", "COPY", "ADD"):
            index = _heredocs(lines, index, instruction)
        instructions.append(instruction)
    return instructions


def _join(lines: list[str], index: int, first: str, escape: str,
          ) -> tuple[str, list[tuple[int, int]], int]:
    """One logical line from its first physical line (`index` is the line after it)."""
    text = ""
    spans: list[tuple[int, int]] = []
    current, number = first, index
    while True:
        body = current.rstrip()
        continued = body.endswith(escape)
        if continued:
            body = body[:-1]
        spans.append((len(text), number))
        text += body
        if not continued:
            break
        while index < len(lines) and (not lines[index].strip()
                                      or lines[index].lstrip().startswith("#")):
            index += 1  # comment and blank lines inside a continuation are dropped
        if index >= len(lines):
            break
        current, number = lines[index], index + 1
        index += 1
    return text, spans, index


def _heredocs(lines: list[str], index: int, instruction: Instruction) -> int:
    """Append the bodies of the instruction's heredocs (`<<EOF`, `<<-EOF`) to its text."""
    for match in _HEREDOC.finditer(instruction.args.split("\n", 1)[0]):
        strip_tabs, marker = match.group(1) == "-", match.group(3)
        while index < len(lines):
            line = lines[index]
            index += 1
            if (line.lstrip("\t") if strip_tabs else line) == marker:
                break
            instruction.spans.append((len(instruction.args) + 1, index))
            instruction.args += "\n" + line
    return index


def _substitute(text: str, args: dict[str, str | None]) -> str | None:
    """`${VAR}`, `$VAR` and `${VAR:-default}` replaced from build arguments; None when a
    variable has no value botscan can know."""
    unknown = False

    def value(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(3)
        known = args.get(name)
        if known:
            return known
        if match.group(2) is not None:
            return match.group(2)
        unknown = True
        return ""

    result = _VARIABLE.sub(value, text)
    return None if unknown else result


def stages(instructions: list[Instruction]) -> list[Stage]:
    """The build stages, with each FROM's image and each USER resolved through `ARG`s."""
    global_args: dict[str, str | None] = {}
    found: list[Stage] = []
    stage_args: dict[str, str | None] = {}
    for instruction in instructions:
        if instruction.keyword == "ARG":
            for name, default, _ in _arg_names(instruction.args):
                (stage_args if found else global_args)[name] = default
        elif instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            image = _substitute(words[0], global_args) if words else None
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            found.append(Stage(image or "", alias.lower(), instruction.line))
            stage_args = {}
        elif instruction.keyword == "USER" and found:
            user = _substitute(instruction.args.strip(), {**global_args, **stage_args})
            if user is not None:
                found[-1].users.append((user, instruction.line))
    return found


def _arg_names(args: str) -> list[tuple[str, str | None, int]]:
    """`ARG A B=1`: (name, default, offset of the name)."""
    result = []
    for match in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)(?:=(\"[^\"]*\"|'[^']*'|\S*))?", args):
        default = match.group(2)
        if default is not None:
            default = default.strip("\"'")
        result.append((match.group(1), default, match.start(1)))
    return result


# --- BOT703: root --------------------------------------------------------------------------------

def _deciding_stage(found: list[Stage]) -> tuple[int, tuple[str, int] | None]:
    """The stage that decides the final image's user, following `FROM <earlier stage>`: its
    index and its last USER, or None when the chain reaches an outside image without one.
    A stage can only build on an earlier one, so the walk ends."""
    index = len(found) - 1
    while True:
        stage = found[index]
        if stage.users:
            return index, stage.users[-1]
        parent = next((i for i in range(index) if found[i].alias
                       and found[i].alias == stage.base.lower()), None)
        if parent is None:
            return index, None
        index = parent


def _root_user(found: list[Stage]) -> Hit | None:
    """BOT703 for the image the Dockerfile builds: its final stage."""
    if not found:
        return None
    table = _table()
    index, user = _deciding_stage(found)
    if user is not None:
        name, line = user
        if name.split(":")[0].strip().lower() not in table["root_users"]:
            return None
        where = "" if index == len(found) - 1 else f" (inherited from stage `{found[index].alias}`)"
        return Hit("BOT703", line, 1,
                   f"`USER {name}` is the last user of the image{where}: the bot runs as root "
                   "in its container. Switch to an unprivileged user before the entry point.",
                   evidence={"user": name})
    base = found[index].base
    if not base:
        return None  # `FROM ${BASE}` without a default: the user is not known
    image = base.lower().split("@")[0]
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if any(fnmatch.fnmatchcase(image if ":" in p else name, p) for p in table["nonroot_images"]):
        return None
    return Hit("BOT703", found[-1].line, 1,
               f"The image never switches to an unprivileged user: its final stage builds on "
               f"`{base}`, which runs as root, and sets no `USER`. Add `RUN useradd -m bot` "
               "and `USER bot` before the entry point.", evidence={"base_image": base})


# --- BOT704: secrets in the image ----------------------------------------------------------------

def _env_pairs(args: str) -> list[tuple[str, str, int]]:
    """`ENV A=1 B="two words"` or the legacy `ENV A value`: (name, value, offset)."""
    first = args.strip().split(None, 1)
    if not first:
        return []
    if "=" not in first[0]:
        offset = args.find(first[0])
        return [(first[0], first[1] if len(first) > 1 else "", offset)]
    pairs = []
    for match in re.finditer(r"([A-Za-z_][A-Za-z0-9_.\-]*)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)",
                             args):
        pairs.append((match.group(1), match.group(2).strip("\"'"), match.start(1)))
    return pairs


def _secrets(instruction: Instruction) -> list[Hit]:
    hits: list[Hit] = []
    if instruction.keyword == "ARG":
        for name, default, offset in _arg_names(instruction.args):
            info = cred.credential_variable(name)
            if info is None:
                continue
            label = cred.KIND_LABELS.get(info.kind, "credential")
            hits.append(Hit(
                "BOT704", instruction.line_at(offset), 1,
                f"`ARG {name}` passes {cred.with_article(label)} into the build: build "
                "arguments are recorded in the image's history (`docker history --no-trunc`) "
                "with the value given. "
                "Use a BuildKit secret mount (`RUN --mount=type=secret,id=…`) instead.",
                secrets=(default,) if default else (), evidence={"name": name}))
    elif instruction.keyword == "ENV":
        for name, value, offset in _env_pairs(instruction.args):
            info = cred.credential_variable(name)
            if info is None or not value.strip():
                continue
            label = cred.KIND_LABELS.get(info.kind, "credential")
            literal = "$" not in value
            hits.append(Hit(
                "BOT704", instruction.line_at(offset), 1,
                f"`ENV {name}` bakes {cred.with_article(label)} into the image"
                f"{' as a literal' if literal else ''}: anyone who can pull the image reads it "
                "with `docker inspect`. Pass it at run time (`--env-file`, compose secrets).",
                secrets=(value,) if literal else (), evidence={"name": name}))
    elif instruction.keyword in ("COPY", "ADD"):
        hits += _key_file_copies(instruction)
    return hits


def _copy_sources(instruction: Instruction) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """The sources of a COPY/ADD with their offsets, and its `--flag=value` options."""
    first_line = instruction.args.split("\n", 1)[0]
    flags: dict[str, str] = {}
    body = first_line.strip()
    if body.startswith("["):
        try:
            words = [str(w) for w in json.loads(body)]
        except (ValueError, TypeError):
            return [], flags
        return [(w, first_line.find(w)) for w in words[:-1]], flags
    try:
        words = shlex.split(first_line, comments=False, posix=True)
    except ValueError:
        words = first_line.split()
    plain: list[str] = []
    for word in words:
        if word.startswith("--"):
            key, _, value = word[2:].partition("=")
            flags[key.lower()] = value
        else:
            plain.append(word)
    sources = [w for w in plain[:-1] if not w.startswith("<<")]
    return [(w, first_line.find(w)) for w in sources], flags


def _key_file_copies(instruction: Instruction) -> list[Hit]:
    sources, flags = _copy_sources(instruction)
    if "from" in flags:
        return []  # from another stage or image: reported where it entered the build
    hits = []
    for source, offset in sources:
        if _URL.match(source):
            continue
        name = PurePosixPath(source).name.lower()
        if any(fnmatch.fnmatchcase(name, p) for p in _table()["key_files"]) and not is_example(
                name):
            hits.append(Hit(
                "BOT704", instruction.line_at(max(offset, 0)), 1,
                f"`{instruction.keyword} {source}` puts a key file into the image: every layer "
                "is readable by whoever can pull it, even if a later step deletes the file. "
                "Mount it at run time (a volume or compose `secrets:`).",
                evidence={"source": source}))
    return hits


# --- BOT705: fetched and run ---------------------------------------------------------------------

def _remote_add(instruction: Instruction) -> Hit | None:
    if instruction.keyword != "ADD":
        return None
    sources, flags = _copy_sources(instruction)
    for source, offset in sources:
        if _URL.match(source) and "checksum" not in flags and not _PINNED_GIT.search(source):
            return Hit("BOT705", instruction.line_at(max(offset, 0)), 1,
                       f"`ADD {source}` downloads at build time with no checksum: the image "
                       "gets whatever the URL serves that day. Add `--checksum=sha256:…` or "
                       "download a pinned release and verify it.",
                       evidence={"url": source})
    return None


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish"})
_SEGMENTS = re.compile(r"&&|\|\||;|\n|\$\(|<\(|`|\)|\b(?:sh|bash|zsh|dash|ksh|ash)\s+-[a-zA-Z]*c"
                       r"[a-zA-Z]*(?=\s)")
_WORD = re.compile(r"\S+")


def _command_word(stage: str) -> tuple[str, list[str], int] | None:
    """The command a pipeline stage runs (wrappers such as `sudo -E` and `X=1` skipped), its
    arguments, and the offset of the command word in `stage`."""
    wrappers = set(_table()["wrappers"])
    words = [(m.group().strip("\"'"), m.start()) for m in _WORD.finditer(stage)]
    position = 0
    while position < len(words):
        word = words[position][0]
        base = word.rsplit("/", 1)[-1].lower()
        if base in wrappers or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or (
                position > 0 and word.startswith("-") and words[position - 1][0].rsplit(
                    "/", 1)[-1].lower() in wrappers):
            position += 1
            continue
        return base, [w for w, _ in words[position + 1:]], words[position][1]
    return None


def _interpreter(command: str) -> str | None:
    base = re.sub(r"^(python|pypy)[0-9.]*$", r"\1", command)
    return base if base in _table()["interpreters"] else None


def _reads_program_from_stdin(interpreter: str, arguments: list[str]) -> bool:
    """`| bash`, `| sh -s -- --yes`, `| python3 -` run what they read; `| sh -c "…"`,
    `| python3 -c "…"`, `| python -m json.tool` or `| perl -ne …` read data."""
    for argument in arguments:
        if argument in ("-", "--"):
            return True
        if argument.startswith("-") and not argument.startswith("--"):
            letters = set(argument[1:])
            code = {"c"} if interpreter in _SHELLS else set("cemnprE")
            if letters & code:
                return False
            continue
        return interpreter in _SHELLS and "-s" in arguments
    return True


def download_pipes(command: str) -> list[tuple[int, str, str]]:
    """Where a shell command pipes a download into an interpreter: (offset of the download,
    downloader, interpreter). `curl -fsSL url | sh`, `wget -qO- url | sudo -E bash -`,
    `bash <(curl -s url)`, `sh -c "$(curl -fsSL url)"`."""
    downloaders = set(_table()["downloaders"])
    found: list[tuple[int, str, str]] = []
    for match in re.finditer(r"(\S+)[^\n;&|]*?(?:<\(|\$\(|`)\s*(?:sudo\s+(?:-\S+\s+)*)?(\S+)",
                             command):
        interpreter = _interpreter(match.group(1).strip("\"'").rsplit("/", 1)[-1].lower())
        if interpreter and match.group(2).rsplit("/", 1)[-1].lower() in downloaders:
            found.append((match.start(2), match.group(2), interpreter))
    start = 0
    for separator in [*_SEGMENTS.finditer(command), None]:
        end = separator.start() if separator is not None else len(command)
        found += _pipeline(command[start:end], start, downloaders)
        start = separator.end() if separator is not None else end
    return found


def _pipeline(segment: str, base: int, downloaders: set[str]) -> list[tuple[int, str, str]]:
    stages: list[tuple[str, int]] = []
    position = 0
    for piece in re.split(r"(?<!\|)\|(?!\|)", segment):
        stages.append((piece, position))
        position += len(piece) + 1
    download: tuple[int, str] | None = None
    for text, offset in stages:
        command = _command_word(text)
        if command is None:
            continue
        word, arguments, at = command
        if word in downloaders and download is None:
            download = (base + offset + at, word)
            continue
        interpreter = _interpreter(word)
        if download is not None and interpreter and _reads_program_from_stdin(interpreter,
                                                                               arguments):
            return [(download[0], download[1], interpreter)]
    return []


def _fetch_and_run(instruction: Instruction) -> list[Hit]:
    if instruction.keyword not in ("RUN", "CMD", "ENTRYPOINT"):
        return []
    command = instruction.args
    body = command.strip()
    if body.startswith("["):
        with contextlib.suppress(ValueError, TypeError):
            command = " ".join(str(w) for w in json.loads(body))
    when = ("at build time" if instruction.keyword == "RUN"
            else "each time the container starts")
    hits = []
    for offset, downloader, interpreter in download_pipes(command):
        line = instruction.line_at(offset) if command is instruction.args else instruction.line
        hits.append(Hit("BOT705", line, 1,
                        f"`{instruction.keyword}` pipes a `{downloader}` download into "
                        f"`{interpreter}` {when}: the image runs whatever that URL serves, "
                        "unverified. Download a pinned version and check its hash first.",
                        evidence={"downloader": downloader, "interpreter": interpreter}))
    return hits


# --- all rules ------------------------------------------------------------------------------------

def dockerfile_hits(text: str) -> list[Hit]:
    """BOT703, BOT704 and BOT705 hits of one Dockerfile."""
    instructions = parse(text)
    hits: list[Hit] = []
    for instruction in instructions:
        hits += _secrets(instruction)
        remote = _remote_add(instruction)
        if remote is not None:
            hits.append(remote)
        hits += _fetch_and_run(instruction)
    root = _root_user(stages(instructions))
    if root is not None:
        hits.append(root)
    unique: dict[tuple[str, int], Hit] = {}
    for hit in hits:  # `ARG API_KEY API_SECRET`, or a pipe seen in two forms: one per line
        unique.setdefault((hit.rule_id, hit.line), hit)
    return list(unique.values())
