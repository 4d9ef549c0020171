"""The CodeExec concept: calls that run Python code or programs, and what they run.

`exec_sink` finds the payload of `exec`/`eval`/`types.FunctionType`, whatever the spelling
(the resolver turns `getattr(builtins, "ex" + "ec")`, `__builtins__["exec"]` and
`__import__("builtins").exec` into `builtins.exec`; lambda wrappers are looked through here).
`process_run` reads the command line a process call runs, as text with `\\0` for what the code
does not say, so command-line knowledge (download-and-run pipelines, `pip install <url>`, the
build probes an honest `setup.py` runs) is a regular expression in `checks/knowledge/code.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from botscan import catalog
from botscan.analyzers.python import concepts
from botscan.analyzers.python.symbols import Assigned, Resolver, Scope, call_text, dotted_name

UNKNOWN = "\x00"


@catalog.derived
def _table() -> dict[str, Any]:
    return catalog.knowledge("code")


@catalog.derived
def _index(section: str) -> concepts.PatternIndex[dict[str, Any]]:
    return concepts.PatternIndex((p, e) for e in _table()[section] for p in e["patterns"])


def _entry(section: str, target: str | None) -> dict[str, Any] | None:
    """The first entry of a section of code.toml whose patterns match a call target."""
    return _index(section).first(target)


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


# --- running Python code ------------------------------------------------------------------------

@dataclass(frozen=True)
class ExecSink:
    name: str
    """What runs the code, for messages: `exec`, `eval`, `types.FunctionType`."""
    payload: cst.BaseExpression


def exec_sink(call: cst.Call, scope: Scope, resolver: Resolver) -> ExecSink | None:
    """The code `call` runs, when it runs code."""
    target = resolver.call_target(call, scope)
    entry = _entry("exec", target)
    if entry is None:
        return _through_lambda(call, scope, resolver)
    positional = _positional(call)
    position = int(entry["position"])
    if target is None or position >= len(positional):
        return None
    return ExecSink(target.removeprefix("builtins."), positional[position].value)


def _through_lambda(call: cst.Call, scope: Scope, resolver: Resolver) -> ExecSink | None:
    """`run = lambda s: exec(s); run(payload)`: the wrapper's argument is the payload."""
    func: cst.BaseExpression | None = call.func
    if isinstance(func, cst.Name):
        bound = [b.value for b in scope.lookup(func.value) if isinstance(b, Assigned)]
        func = bound[0] if bound else None
    if not isinstance(func, cst.Lambda) or not isinstance(func.body, cst.Call):
        return None
    inner = exec_sink(func.body, scope, resolver)
    if inner is None or not isinstance(inner.payload, cst.Name):
        return None
    names = [p.name.value for p in func.params.params]
    if inner.payload.value not in names:
        return None
    index = names.index(inner.payload.value)
    positional = _positional(call)
    if index < len(positional):
        return ExecSink(inner.name, positional[index].value)
    return None


# --- running programs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessRun:
    name: str
    """The call, as written."""
    command: str
    """The command line, its list arguments joined by spaces, `\\0` for unknown parts."""
    pieces: tuple[cst.BaseExpression, ...]
    """The expressions the command is built from (to match a file the code wrote)."""
    argv: str
    """How the command is given: "shell", "list", "varargs" or "file"."""


def process_run(call: cst.Call, scope: Scope, resolver: Resolver) -> ProcessRun | None:
    entry = _entry("process", resolver.call_target(call, scope))
    if entry is None:
        return None
    position = int(entry["position"])
    positional = _positional(call)
    argv = str(entry["argv"])
    chosen: list[cst.BaseExpression] = []
    if argv == "varargs":
        chosen = [a.value for a in positional[position:]]
    elif position < len(positional):
        chosen = [positional[position].value]
    keyword = entry.get("keyword")
    chosen += [a.value for a in call.args if a.keyword is not None
               and a.keyword.value == keyword]
    if not chosen:
        return None
    pieces = _pieces(chosen)
    words = [_text(p, scope, resolver) for p in pieces]
    prefix = entry.get("prefix")
    command = " ".join(([str(prefix)] if prefix else []) + words)
    return ProcessRun(call_text(call.func), command, tuple(pieces), argv)


def _pieces(values: list[cst.BaseExpression]) -> list[cst.BaseExpression]:
    """The words of a command: the elements of a list or tuple literal, or the value itself."""
    pieces: list[cst.BaseExpression] = []
    for value in values:
        if isinstance(value, (cst.List, cst.Tuple)):
            pieces += [e.value for e in value.elements]
        else:
            pieces.append(value)
    return pieces


def _text(node: cst.BaseExpression, scope: Scope, resolver: Resolver) -> str:
    parts = resolver.string_parts(node, scope)
    if parts is None:
        return UNKNOWN
    return "".join(p if p is not None else UNKNOWN for p in parts)


def command_names(run: ProcessRun) -> set[str]:
    """The names a command is built from (`path` in `[path, "--x"]` or `f"chmod +x {path}"`)."""
    names: set[str] = set()
    for piece in run.pieces:
        if isinstance(piece, cst.FormattedString):
            names |= {dotted_name(p.expression) or "" for p in piece.parts
                      if isinstance(p, cst.FormattedStringExpression)}
        elif isinstance(piece, cst.BinaryOperation):
            names |= {dotted_name(piece.left) or "", dotted_name(piece.right) or ""}
        else:
            names.add(dotted_name(piece) or "")
    names.discard("")
    return names


@catalog.derived
def _shell_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in _table()["shell"]["download_and_run"])


def downloads_and_runs(command: str) -> bool:
    """`curl … | sh`, `wget -O- … | bash`, `powershell iwr … | iex`, and their kin."""
    return any(p.search(command) for p in _shell_patterns())


@catalog.derived
def _pip_url() -> re.Pattern[str]:
    return re.compile(_table()["shell"]["pip_url"], re.IGNORECASE)


def installs_from_url(command: str) -> bool:
    """`pip install https://…` or `pip install git+https://…`: code fetched at run time."""
    return bool(_pip_url().search(command))


@catalog.derived
def _chmod_exec() -> re.Pattern[str]:
    return re.compile(_table()["shell"]["chmod_exec"], re.IGNORECASE)


def makes_executable(command: str) -> bool:
    """`chmod +x file`, `chmod 755 file`."""
    return bool(_chmod_exec().search(command))


def is_exec_mode(node: cst.BaseExpression) -> bool:
    """A mode for `os.chmod` that lets someone execute the file (`0o755`, `stat.S_IEXEC`)."""
    if isinstance(node, cst.Integer):
        try:
            return bool(int(node.value.replace("_", ""), 0) & 0o111)
        except ValueError:
            return False
    if isinstance(node, cst.BinaryOperation):
        return is_exec_mode(node.left) or is_exec_mode(node.right)
    name = dotted_name(node) or ""
    return name.rsplit(".", 1)[-1] in _table()["shell"]["exec_mode_names"]


def chmod_call(call: cst.Call, scope: Scope,
               resolver: Resolver) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(path, mode) of `os.chmod(path, mode)` or `Path(path).chmod(mode)`."""
    entry = _entry("chmod", resolver.call_target(call, scope))
    positional = [a.value for a in _positional(call)]
    if entry is None or int(entry["mode"]) >= len(positional):
        return None
    mode = positional[int(entry["mode"])]
    if "path" in entry:
        path = int(entry["path"])
        return (positional[path], mode) if path < len(positional) else None
    if isinstance(call.func, cst.Attribute):
        return call.func.value, mode
    return None


def launches(words: list[str], index: int) -> bool:
    """Does a command run its word at `index` as a program or script? The program itself, or
    the argument of a launcher (`bash x.sh`, `python x.py`) or of a program botscan cannot read
    (`[sys.executable, path]`)."""
    if index == 0:
        return True
    program = words[0].rsplit("/", 1)[-1].lower()
    return index == 1 and (UNKNOWN in program or program in _table()["shell"]["launchers"])


def download_file(call: cst.Call, scope: Scope, resolver: Resolver) -> cst.BaseExpression | None:
    """The file a download call saves to (`urlretrieve(url, "x.exe")`: `"x.exe"`)."""
    entry = _entry("download_to_file", resolver.call_target(call, scope))
    if entry is None:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == entry["file_keyword"]:
            return arg.value
    positional = _positional(call)
    position = int(entry["file"])
    return positional[position].value if position < len(positional) else None


def file_write_methods() -> frozenset[str]:
    return frozenset(_table()["file_writes"]["methods"])


@catalog.derived
def is_copy_call(target: str | None) -> bool:
    """`shutil.copyfileobj(src, dst)`: what is read from src is written to dst."""
    return concepts.matches_any(_table()["file_writes"]["copy_calls"], target)


def call_patterns() -> list[str]:
    """Every call this concept recognises by name (for the prefilter)."""
    table = _table()
    sections = ("exec", "process", "chmod", "download_to_file")
    patterns = [p for section in sections for entry in table[section] for p in entry["patterns"]]
    return [*patterns, *table["file_writes"]["copy_calls"]]


# --- install time -------------------------------------------------------------------------------

def install_commands() -> frozenset[str]:
    """setuptools commands that run at `pip install` (cmdclass keys)."""
    return frozenset(_table()["install"]["commands"])


def host_info_patterns() -> list[str]:
    return list(_table()["install"]["host_info"])


@catalog.derived
def collects_host_info(target: str | None) -> bool:
    """`socket.gethostname()`, `getpass.getuser()`…: who and where the machine is."""
    return concepts.matches_any(_table()["install"]["host_info"], target)


_SHELL_OPERATORS = re.compile(r"[|;&`$<>]")


def is_build_probe(run: ProcessRun) -> bool:
    """A constant command of a program a build may ask about its platform (`uname`,
    `git describe`, `pkg-config`), with no shell operator in it."""
    command = run.command.strip()
    if not command or UNKNOWN in command or _SHELL_OPERATORS.search(command):
        return False
    program = command.split()[0].rsplit("/", 1)[-1]
    return program in _table()["install"]["build_probes"]
