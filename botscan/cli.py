"""The command line: `botscan scan`, `botscan vet`, `botscan rules`, `botscan explain`.

Exit codes are a contract (CI and pre-commit key on them): 0 when nothing is at or above
`--fail-on`, 1 when something is, 2 for usage and configuration errors. Errors are one line on
stderr, never a traceback. Heavy modules (libcst, the analyzers, the reports) are imported
inside the commands, so `botscan --help` and a one-file pre-commit run start fast.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from botscan import __version__

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "json", "sarif", "html")
FAIL_ON = ("critical", "high", "medium", "low", "never")


def _fail(message: str) -> NoReturn:
    click.echo(f"botscan: error: {message}", err=True)
    sys.exit(2)


def _errors_are_one_line(func: F) -> F:
    """Turn the errors a user can cause (paths, config, rule ids) into one line and exit 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botscan.baseline import BaselineError
        from botscan.catalog import CatalogError
        from botscan.config import ConfigError
        from botscan.diffbase import DiffBaseError

        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            # `botscan rules | head`: the reader left; say nothing more, and do not let the
            # interpreter complain while flushing at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except (ConfigError, CatalogError, BaselineError, DiffBaseError) as exc:
            _fail(str(exc))
        except FileNotFoundError as exc:
            _fail(str(exc) if not exc.filename else f"no such file or directory: {exc.filename}")
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))

    return wrapper  # type: ignore[return-value]


def _split(values: Iterable[str]) -> list[str]:
    """`--select BOT1,BOT4 --select BOT101` -> [BOT1, BOT4, BOT101]."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class _OneLineErrors(click.Group):
    """Click prints usage errors as a Usage/Try/Error block; botscan promises one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as exc:
            if exc.ctx is not None and not sys.argv[1:]:
                click.echo(exc.ctx.get_help())  # plain `botscan`: show what it can do
                sys.exit(0)
            _fail(exc.format_message())
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("aborted")


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="botscan")
def main() -> None:
    """botscan: find what in a trading bot can leak your exchange keys or move your funds."""


def _scan_inputs(func: F) -> F:
    """The options that decide what is scanned and how: shared by `scan` and `baseline
    create`, so a baseline is made from exactly the scan it will be compared with."""
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--select", multiple=True, metavar="IDS",
                     help="Only these rule ids or families (BOT101, BOT4); comma-separated, "
                          "repeatable."),
        click.option("--ignore", multiple=True, metavar="IDS",
                     help="Skip these rule ids or families; comma-separated, repeatable."),
        click.option("--exclude", multiple=True, metavar="PATTERN",
                     help="Skip paths matching this gitignore-style pattern; repeatable."),
        click.option("--no-default-excludes", is_flag=True,
                     help="Also scan virtualenvs, node_modules, caches and build output."),
        click.option("--jobs", "-j", type=click.IntRange(min=1),
                     help="Worker processes [default: all cores]."),
        click.option("--config", "config_path",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Read settings from this TOML file instead of ./.botscan.toml or "
                          "./pyproject.toml."),
        click.option("--no-deps", is_flag=True, help="Skip dependency manifests (BOT6xx)."),
        click.option("--offline", is_flag=True,
                     help="Do not query the vulnerability service; the offline dependency "
                          "rules still run, and the report says the audit was skipped."),
        click.option("--vuln-service", type=click.Choice(("osv", "pypi")), default="osv",
                     show_default=True, help="Vulnerability service for pip-audit."),
        click.option("--osv-url", metavar="URL",
                     help="An OSV-compatible query URL (an organisation's mirror). Pins you "
                          "declare are sent to the service; use a mirror or --offline to keep "
                          "them in."),
        click.option("--history/--no-history", default=None,
                     help="Also scan the git history for credentials removed from the code "
                          "(BOT104) [default: on for directories, off for explicit files]."),
        click.option("--since", metavar="REF",
                     help="Scan only the history not reachable from REF (e.g. origin/main)."),
        click.option("--pack", "packs", multiple=True, metavar="FILE",
                     help="Knowledge pack (TOML) extending the catalog, e.g. an in-house SDK; "
                          "repeatable."),
    ]
    for option in reversed(options):
        func = option(func)
    return _resource_inputs(func)


def _resource_inputs(func: F) -> F:
    """Where results are cached and how much memory one file may take: every command that
    scans (`scan`, `baseline create`, `vet`) has them."""
    options = [
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Keep results and vulnerability look-ups here [default: "
                          "$BOTSCAN_CACHE_DIR, else the user cache directory]."),
        click.option("--no-cache", is_flag=True,
                     help="Read and write no cache: analyse every file, look every pin up."),
        click.option("--max-file-memory", metavar="SIZE",
                     help="Memory the analysis of one file may use, e.g. 2G or 512M "
                          "[default: 4G]; a file that needs more is scanned as text."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(explicit: Path | None, vetted: Iterable[Path]) -> Any:
    """The configuration in force: `--config`, else the working directory's. For `vet`, not a
    working directory inside the bot being vetted: there the configuration is the bot's own,
    and `cd bot && botscan vet .` would let its pyproject.toml exclude every file."""
    from botscan import config as config_module

    here = Path.cwd().resolve()
    if explicit is None and any(here.is_relative_to(p.resolve()) for p in vetted):
        return config_module.Config()
    return config_module.load(explicit)


def _run_scan(inputs: dict[str, Any], *, everything: bool = False) -> tuple[Any, Any]:
    """Load the configuration, build the scan options, scan. Returns (result, settings).

    `everything` (botscan vet) leaves out the configuration's rule selection and default
    excludes: a downloaded bot is judged by every rule, in every folder."""
    from botscan import cache_dir, catalog
    from botscan import config as config_module
    from botscan.deps import AuditSettings
    from botscan.pool import default_jobs
    from botscan.scan import WORKER_MEMORY_BYTES, ScanOptions
    from botscan.scan import scan as run_scan

    settings = _settings(inputs["config_path"], inputs["paths"] if everything else ())
    cache = None if inputs["no_cache"] else cache_dir.root(inputs["cache_dir"])
    memory = settings.max_file_memory or WORKER_MEMORY_BYTES
    if inputs["max_file_memory"] is not None:
        memory = config_module.parse_size(inputs["max_file_memory"], "--max-file-memory")
    chosen_select = _split(inputs["select"]) or ([] if everything else settings.select)
    chosen_ignore = _split(inputs["ignore"]) + ([] if everything else settings.ignore)
    catalog.expand_selectors(chosen_select + chosen_ignore)  # unknown ids: exit 2
    options = ScanOptions(
        select=tuple(chosen_select),
        ignore=tuple(chosen_ignore),
        exclude=tuple(settings.exclude) + tuple(inputs["exclude"]),
        use_default_excludes=settings.use_default_excludes
        and not inputs["no_default_excludes"] and not everything,
        credential_names=tuple(sorted(settings.credential_names.items())),
        packs=config_module.read_packs(settings.packs + [str(Path(p)) for p in inputs["packs"]]),
        jobs=inputs["jobs"] or settings.jobs or default_jobs(),
        dependencies=not inputs["no_deps"],
        audit=_audit_settings(AuditSettings, inputs["offline"], inputs["vuln_service"],
                              inputs["osv_url"], cache),
        cache_dir=cache,
        memory_limit=memory,
    )
    targets = list(inputs["paths"]) or [Path(".")]
    for target in targets:
        if not target.exists() and not target.is_symlink():
            raise FileNotFoundError(2, "No such file or directory", str(target))
    history = inputs["history"]
    if history is None:  # pre-commit passes files: a history scan there would be noise
        history = any(t.is_dir() for t in targets)
    options = dataclasses.replace(options, history=history, since=inputs["since"],
                                  progress=_Progress() if sys.stderr.isatty() else None)
    try:
        return run_scan(targets, options), settings
    except ValueError as exc:  # --since names no commit
        _fail(str(exc))


@main.command()
@_scan_inputs
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", type=click.Choice(FAIL_ON),
              help="Exit 1 when a finding is at or above this severity [default: high].")
@click.option("--sarif", "also_sarif", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write SARIF to FILE (one scan, several reports).")
@click.option("--json", "also_json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write JSON to FILE.")
@click.option("--html", "also_html", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the HTML report to FILE.")
@click.option("--strict-deps", is_flag=True,
              help="Exit 1 when dependencies could not be audited.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Hide findings recorded in this baseline (botscan baseline create); only "
                   "new findings count for the exit code.")
@click.option("--diff-base", metavar="REF",
              help="Report only findings on lines added or changed since REF (pull requests); "
                   "every finding in a file that is new since REF counts.")
@click.option("--sarif-category", default="botscan/", show_default=True,
              help="runAutomationDetails.id of the SARIF run (GitHub needs a '/').")
@_errors_are_one_line
def scan(fmt: str, output: Path | None, fail_on: str | None, also_sarif: Path | None,
         also_json: Path | None, also_html: Path | None, strict_deps: bool,
         baseline_path: Path | None, diff_base: str | None, sarif_category: str,
         **inputs: Any) -> None:
    """Scan files and directories (default: the current directory)."""
    _refuse_injectable_hook()
    from botscan import baseline as baseline_module
    from botscan import config as config_module
    from botscan.model import NoticeKind

    known = baseline_module.load(baseline_path) if baseline_path is not None else None
    if diff_base is not None and inputs["history"] is None:
        inputs["history"] = False  # a pull request's question is its own lines; see --since
    result, settings = _run_scan(inputs)
    if diff_base is not None:
        from botscan.diffbase import keep_changed

        first = Path(inputs["paths"][0]) if inputs["paths"] else Path(".")
        result = keep_changed(result, first if first.is_dir() else Path("."), diff_base)
    applied = baseline_module.apply(result, known) if known is not None else None
    state = applied.state if applied is not None else None
    for extra_fmt, extra_path in (("sarif", also_sarif), ("json", also_json),
                                  ("html", also_html)):
        if extra_path is not None:
            extra = applied.hide(result) if applied is not None and extra_fmt != "sarif" \
                else result
            extra_path.write_text(_render(extra_fmt, extra, color=False,
                                          sarif_category=sarif_category, baseline_state=state),
                                  encoding="utf-8")
    shown = applied.hide(result) if applied is not None and fmt != "sarif" else result
    report = _render(fmt, shown, color=output is None and _color_wanted(),
                     sarif_category=sarif_category, baseline_state=state)
    if output is not None:
        output.write_text(report, encoding="utf-8")
    else:
        click.echo(report, nl=not report.endswith("\n"))
    threshold = config_module.fail_threshold(fail_on or settings.fail_on)
    counted = applied.hide(result) if applied is not None else result
    failing = threshold is not None and any(f.severity >= threshold for f in counted.active)
    unaudited = strict_deps and any(n.kind is NoticeKind.AUDIT for n in result.notices)
    sys.exit(1 if failing or unaudited else 0)


VET_FAIL_ON = ("dangerous", "review", "never")
_VCS_DIRS = (".git/", ".hg/", ".svn/")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("botscan-report.html"), show_default=True,
              help="Where to write the HTML report.")
@click.option("--no-html", is_flag=True, help="Do not write the HTML report.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True,
              help="What to print: the verdict summary, or the whole JSON report.")
@click.option("--json", "also_json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON report to FILE.")
@click.option("--sarif", "also_sarif", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write SARIF to FILE.")
@click.option("--fail-on", type=click.Choice(VET_FAIL_ON), default="review",
              show_default=True, help="Exit 1 when the verdict is this or worse.")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip paths matching this gitignore-style pattern; repeatable.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Worker processes [default: all cores].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Read settings (credential names, packs) from this TOML file.")
@click.option("--offline", is_flag=True,
              help="Do not query the vulnerability service (the verdict then says the "
                   "dependencies were not audited).")
@click.option("--vuln-service", type=click.Choice(("osv", "pypi")), default="osv",
              show_default=True, help="Vulnerability service for pip-audit.")
@click.option("--osv-url", metavar="URL", help="An OSV-compatible query URL (a mirror).")
@click.option("--no-history", is_flag=True, help="Skip the git history.")
@click.option("--pack", "packs", multiple=True, metavar="FILE",
              help="Knowledge pack (TOML) extending the catalog; repeatable.")
@_resource_inputs
@_errors_are_one_line
def vet(path: Path, output: Path, no_html: bool, fmt: str, also_json: Path | None,
        also_sarif: Path | None, fail_on: str, no_history: bool, **inputs: Any) -> None:
    """Judge a downloaded bot before it gets a key: a directory, a checked-out repository or
    an archive (.zip, .whl, .tar.gz, .tar.bz2, .tar.xz; read in memory, never extracted).

    Everything is on: every rule, every folder, every text file, binaries, the git history and
    the dependency audit. Prints a verdict (dangerous, review, no blocking issues) with a 0-10
    risk score and its parts, the capability profile and the key to create, and writes an HTML
    report. The author's inline suppressions are not honoured. Exit 1 when the verdict is at
    or above --fail-on, 2 on usage errors.
    """
    from botscan import catalog
    from botscan.verdict import LEVELS, judge, unsuppress

    inputs.update(paths=(path,), select=(), ignore=(), no_default_excludes=True,
                  exclude=_VCS_DIRS + tuple(inputs["exclude"]), no_deps=False,
                  history=False if no_history else path.is_dir(), since=None)
    result, _ = _run_scan(inputs, everything=True)
    result = unsuppress(result)
    result.verdict = judge(result, catalog.rules())
    written: list[tuple[str, Path]] = [("json", p) for p in (also_json,) if p is not None]
    written += [("sarif", p) for p in (also_sarif,) if p is not None]
    if not no_html:
        written.append(("html", output))
    for extra_fmt, extra_path in written:
        if extra_fmt == "html":
            from botscan.report import html

            page = html.render(result, catalog.rules(), title=f"botscan vet: {path.name}")
        else:
            page = _render(extra_fmt, result, color=False, sarif_category="botscan/")
        extra_path.write_text(page, encoding="utf-8")
    if fmt == "json":
        click.echo(_render("json", result, color=False, sarif_category="botscan/"), nl=False)
    else:
        from botscan.report import text

        click.echo(text.render_vet(result, catalog.rules(), color=_color_wanted(),
                                   report=None if no_html else str(output)), nl=False)
    failing = fail_on != "never" and LEVELS.index(result.verdict.level) >= LEVELS.index(fail_on)
    sys.exit(1 if failing else 0)


def _refuse_injectable_hook() -> None:
    """Under pre-commit (which sets PRE_COMMIT=1), file names are appended to the command line,
    and a committed file named `--output=setup.py` would be read as an option and overwrite a
    file. The hooks pass `--` before the names; a hook configured without it is refused."""
    if os.environ.get("PRE_COMMIT") == "1" and "--" not in sys.argv[1:]:
        _fail("run by pre-commit without '--' before the file names: a file named like an "
              "option would be read as one; end the hook's args with '--' (see "
              ".pre-commit-hooks.yaml)")


@main.group()
def baseline() -> None:
    """Record today's findings so that only new ones fail a run (`scan --baseline FILE`)."""


@baseline.command("create")
@_scan_inputs
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".botscan-baseline.json"), show_default=True,
              help="Where to write the baseline.")
@_errors_are_one_line
def baseline_create(output: Path, **inputs: Any) -> None:
    """Scan, and write the fingerprints of the current findings (no snippets, no secrets)."""
    from botscan import baseline as baseline_module

    result, _ = _run_scan(inputs)
    output.write_text(baseline_module.create(result), encoding="utf-8")
    click.echo(f"botscan: wrote {len(result.active)} findings to {output}", err=True)


def _audit_settings(factory: Any, offline: bool, service: str, osv_url: str | None,
                    cache: Path | None) -> Any:
    """The audit settings, with look-ups cached in botscan's cache directory (never in the
    scanned tree, where a hostile repository could plant a clean verdict)."""
    try:
        return factory(offline=offline, service=service, osv_url=osv_url,
                       cache_dir=cache / "deps" if cache is not None else None)
    except ValueError as exc:
        _fail(str(exc))


class _Progress:
    """History progress on stderr, only on a terminal and only once it takes a while: stdout
    may be a JSON or SARIF report."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self.started < 2 and not self.shown:
            return
        self.shown = True
        end = "\n" if done >= total else ""
        click.echo(f"\rbotscan: git history {done}/{total} blobs", err=True, nl=False)
        if end:
            click.echo("", err=True)


def _color_wanted() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _render(fmt: str, result: Any, *, color: bool, sarif_category: str,
            baseline_state: Any = None) -> str:
    from botscan import catalog

    rules = catalog.rules()
    if fmt == "json":
        from botscan.report import json_report

        return json_report.render(result, rules)
    if fmt == "sarif":
        from botscan.report import sarif

        return sarif.render(result, rules, category=sarif_category,
                            baseline_state=baseline_state)
    if fmt == "html":
        from botscan.report import html

        return html.render(result, rules)
    from botscan.report import text

    return text.render(result, rules, color=color)


@main.command()
@_errors_are_one_line
def rules() -> None:
    """List every rule: id, severity, confidence and title."""
    from botscan import catalog

    family = ""
    for rule in catalog.rules().values():
        if rule.family != family:
            family = rule.family
            click.echo(f"\n{rule.family}xx  {rule.family_name}" if family != "BOT1"
                       else f"{rule.family}xx  {rule.family_name}")
        click.echo(f"  {rule.id}  {rule.severity.label:<8}  {rule.confidence.label:<6}  "
                   f"{rule.title}")


@main.command()
@click.argument("rule_id")
@_errors_are_one_line
def explain(rule_id: str) -> None:
    """Print a rule's documentation: what it finds, why it matters, how to fix it."""
    from botscan import catalog

    rule = catalog.rules().get(rule_id.strip().upper())
    if rule is None:
        raise catalog.CatalogError(f"unknown rule id: {rule_id!r} (see 'botscan rules')")
    cwe = f"  CWE-{rule.cwe}" if rule.cwe else ""
    click.echo(f"{rule.id}  {rule.title}")
    click.echo(f"severity {rule.severity.label}, confidence {rule.confidence.label}{cwe}, "
               f"family {rule.family}xx ({rule.family_name})\n")
    click.echo(rule.description.strip() + "\n")
    click.echo("How to fix:\n" + rule.remediation.strip())
    if rule.example.strip():
        click.echo("\nExample:\n" + rule.example.strip("\n"))
