"""setuptools manifests: `setup.cfg`, and `setup.py` read as a syntax tree, never run.

`setup.py` is a program; in a downloaded bot it may be hostile (BOT5xx covers install-time
code). Only what is written literally is read: `install_requires=[...]` lists of strings, or a
module-level name bound to such a list. Anything computed (read from a file, built in a loop)
is reported as not read, because knowing it would mean running the file.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from packaging.requirements import InvalidRequirement

from botscan.analyzers.python.analyzer import PARSE_CAP_BYTES
from botscan.analyzers.python.engine import Pathological
from botscan.analyzers.python.engine import parse as parse_python
from botscan.deps.declared import Role, parse_pep508
from botscan.deps.requirements import Include, Parsed
from botscan.deps.tomlread import ManifestError

_ROLES = {"install_requires": Role.DEPENDENCY, "tests_require": Role.DEPENDENCY,
          "setup_requires": Role.BUILD, "extras_require": Role.DEPENDENCY}
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.-]+)\s*[=:]\s*(?P<value>.*)$")


def _cfg_values(text: str) -> list[tuple[str, str, int, str]]:
    """(section, key, line, one value line) for every line of every multi-line INI value."""
    found: list[tuple[str, str, int, str]] = []
    section, key = "", ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if (match := _SECTION.match(raw)) is not None:
            section, key = match.group("name").strip(), ""
            continue
        if raw[:1].isspace() and key:
            found.append((section, key, number, stripped))
        elif (match := _KEY.match(raw)) is not None:
            key = match.group("key").strip()
            if match.group("value").strip():
                found.append((section, key, number, match.group("value").strip()))
    return found


def parse_setup_cfg(manifest: str, text: str) -> Parsed:
    out = Parsed()
    for section, key, line, value in _cfg_values(text):
        if section == "options" and key in _ROLES:
            role = _ROLES[key]
        elif section == "options.extras_require":
            role = Role.DEPENDENCY
        else:
            continue
        if value.startswith("file:"):
            for target in value[len("file:"):].split(","):
                if target.strip():
                    out.includes.append(Include(manifest, line, target.strip(), False))
            continue
        try:
            out.declared.append(parse_pep508(value, manifest, line, role))
        except InvalidRequirement:
            out.problems.append(f"line {line}: not a PEP 508 requirement: {value[:80]!r}")
    return out


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _SetupReader:
    def __init__(self, manifest: str, module: cst.Module,
                 names: dict[str, cst.BaseExpression]) -> None:
        self.manifest = manifest
        self.out = Parsed()
        self.positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        self.names = names

    def line(self, node: cst.CSTNode) -> int:
        where: CodeRange | None = self.positions.get(node)
        return where.start.line if where is not None else 1

    def resolve(self, node: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(node, cst.Name) and node.value in self.names:
            return self.names[node.value]
        return node

    def requirements(self, keyword: str, node: cst.BaseExpression, role: Role) -> None:
        value = self.resolve(node)
        if not isinstance(value, (cst.List, cst.Tuple)):
            self.out.problems.append(
                f"line {self.line(node)}: {keyword} is computed, not a literal list; its "
                "dependencies were not read (that would mean running setup.py)")
            return
        for element in value.elements:
            text = _literal(element.value)
            line = self.line(element.value)
            if text is None:
                self.out.problems.append(f"line {line}: a {keyword} entry is not a literal "
                                         "string; not read")
                continue
            try:
                self.out.declared.append(parse_pep508(text, self.manifest, line, role))
            except InvalidRequirement:
                self.out.problems.append(f"line {line}: not a PEP 508 requirement: "
                                         f"{text[:80]!r}")

    def call(self, call: cst.Call) -> None:
        for arg in call.args:
            if arg.star == "**":
                self.out.problems.append(f"line {self.line(arg)}: setup() takes **keywords "
                                         "computed at run time; dependencies they hold were "
                                         "not read")
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword not in _ROLES:
                continue
            if keyword != "extras_require":
                self.requirements(keyword, arg.value, _ROLES[keyword])
                continue
            extras = self.resolve(arg.value)
            if not isinstance(extras, cst.Dict):
                self.out.problems.append(f"line {self.line(arg.value)}: extras_require is "
                                         "computed, not a literal dict; not read")
                continue
            for element in extras.elements:
                if isinstance(element, cst.DictElement):
                    self.requirements(keyword, element.value, Role.DEPENDENCY)


def _is_setup(func: cst.BaseExpression) -> bool:
    return (isinstance(func, cst.Name) and func.value == "setup") or (
        isinstance(func, cst.Attribute) and func.attr.value == "setup")


class _Collect(cst.CSTVisitor):
    """The `setup(...)` calls, and the names bound exactly once to a value anywhere.

    `install_requires = [...]` is often a local of a `main()` that calls `setup`: a name with
    one binding in the file is resolved whatever its scope; a name bound twice is not.
    """

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.bound: dict[str, cst.BaseExpression | None] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if _is_setup(node.func):
            self.calls.append(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                name = target.target.value
                single = len(node.targets) == 1 and name not in self.bound
                self.bound[name] = node.value if single else None

    def names(self) -> dict[str, cst.BaseExpression]:
        return {name: value for name, value in self.bound.items() if value is not None}


def parse_setup_py(manifest: str, text: str) -> Parsed:
    """Raises ManifestError when the file cannot be parsed as Python 3, or is too large to
    parse safely (libcst needs about 500 bytes of memory per byte of source)."""
    if len(text) > PARSE_CAP_BYTES:
        raise ManifestError(f"over the {PARSE_CAP_BYTES:,}-character parse limit")
    try:
        module = parse_python(text)
    except Pathological as exc:
        raise ManifestError(f"not parsed ({exc})") from None
    except (cst.ParserSyntaxError, SyntaxError, RecursionError, ValueError):
        raise ManifestError("not parsed as Python 3 (syntax error)") from None
    collected = _Collect()
    module.visit(collected)
    reader = _SetupReader(manifest, module, collected.names())
    for call in collected.calls:
        reader.call(call)
    return reader.out
