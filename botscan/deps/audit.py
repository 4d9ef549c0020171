"""Known vulnerabilities of exact pins, looked up with pip-audit without installing anything.

Security (DESIGN invariant 1): pip-audit only ever sees a requirements file that botscan wrote
itself, of `name==version` lines it parsed, in a temporary directory that is also the working
directory (so `python -m` cannot import a module planted in the scanned tree). With `-r FILE
--no-deps --disable-pip` pip-audit parses that file and queries the service per pin; it builds
and installs nothing. Nothing from the scanned tree (paths, URLs, `-e`, markers, options) is
passed on.

Honesty (libraries.md): exit 1 with a parseable output file means vulnerabilities; non-zero
without one means the tool failed (DNS, refused connection, HTTP 500 are uncaught tracebacks);
exit 0 can still hide pins the service could not look up (`skip_reason`). Every pin that did
not get an answer is returned as not audited, with the reason.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from botscan.deps.cache import AuditCache
from botscan.model import Advisory

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"
PYPI_URL = "https://pypi.org/pypi"
_SOCKET_TIMEOUT_MAX = 30
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PIN_SUFFIX = re.compile(r":\s*[^\s:]+ \([^()]*\)\s*$")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout)(?::\s*(?P<message>.+))?$")


@dataclass(frozen=True)
class Pin:
    name: str
    """Canonical name."""
    version: str
    """Normalised version."""


@dataclass
class AuditOutcome:
    advisories: dict[Pin, list[Advisory]] = field(default_factory=dict)
    """Pins the service answered for (an empty list: no known vulnerability)."""
    skipped: dict[Pin, str] = field(default_factory=dict)
    """Pins the service could not look up (pip-audit's `skip_reason`)."""
    failed: set[Pin] = field(default_factory=set)
    """Pins of a pip-audit run that failed as a whole (network, service, timeout)."""
    errors: list[str] = field(default_factory=list)
    """Why those runs failed."""
    cached: int = 0


def service_key(service: str, osv_url: str | None) -> str:
    """Identifies the vulnerability source: part of the cache key and of notices."""
    return f"osv {osv_url or DEFAULT_OSV_URL}" if service == "osv" else f"pypi {PYPI_URL}"


def _layers(pins: Sequence[Pin]) -> list[list[Pin]]:
    """Pins split so that no run holds two versions of one package.

    pip-audit refuses a requirements file with one name at two versions ("duplicate
    requirements"), which a repository with several manifests easily has.
    """
    layers: list[list[Pin]] = []
    for pin in pins:
        for layer in layers:
            if all(p.name != pin.name for p in layer):
                layer.append(pin)
                break
        else:
            layers.append([pin])
    return layers


def _reason(stderr: str) -> str:
    """The line of pip-audit's error output that says what went wrong.

    Failures are uncaught tracebacks whose last exception is often a bare wrapper
    (`ServiceError`) raised from the informative one (`HTTPError: 500 Server Error …`), so the
    last exception line that carries a message wins.
    """
    lines = [_ANSI.sub("", line).strip() for line in stderr.splitlines() if line.strip()]
    raised = [m for m in map(_EXCEPTION.match, lines) if m is not None]
    with_message = [m.group(0) for m in raised if m.group("message")]
    logged = [line for line in lines if "error" in line.lower()]
    candidates = with_message or [m.group(0) for m in raised] or logged or lines
    chosen = candidates[-1] if candidates else "no error output"
    return chosen if len(chosen) <= 240 else chosen[:239] + "…"


def _advisories(vulns: Any) -> list[Advisory]:
    found = []
    for vuln in vulns if isinstance(vulns, list) else []:
        if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
            continue
        description = " ".join(str(vuln.get("description") or "").split())
        found.append(Advisory(
            id=vuln["id"],
            aliases=tuple(sorted(str(a) for a in vuln.get("aliases") or ())),
            fix_versions=tuple(str(v) for v in vuln.get("fix_versions") or ()),
            description=description[:500]))
    return sorted(found, key=lambda a: a.id)


def _command(requirements: Path, output: Path, cache: Path, service: str,
             osv_url: str | None, timeout: float) -> list[str]:
    socket_timeout = max(1, min(_SOCKET_TIMEOUT_MAX, math.ceil(timeout)))
    command = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps",
               "--disable-pip", "-f", "json", "-o", str(output), "--progress-spinner", "off",
               "--desc", "on", "--aliases", "on", "--cache-dir", str(cache),
               "--timeout", str(socket_timeout), "-s", service]
    if service == "osv":
        # Always explicit: PIP_AUDIT_OSV_URL in the environment must not make the service
        # differ from the one the cache and the notices name.
        command += ["--osv-url", osv_url or DEFAULT_OSV_URL]
    return command


def _run(layer: list[Pin], number: int, workdir: Path, service: str, osv_url: str | None,
         timeout: float) -> AuditOutcome:
    """One pip-audit process over `layer`."""
    outcome = AuditOutcome()
    requirements = workdir / f"pins-{number}.txt"
    output = workdir / f"audit-{number}.json"
    requirements.write_text("".join(f"{p.name}=={p.version}\n" for p in layer),
                            encoding="utf-8")
    command = _command(requirements, output, workdir / "http-cache", service, osv_url, timeout)
    try:
        done = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return _failed(layer, f"pip-audit did not finish within {timeout:g} s")
    except OSError as exc:
        return _failed(layer, f"pip-audit could not be started ({exc.strerror})")
    report: Any = None
    if done.returncode in (0, 1):
        try:
            report = json.loads(output.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        return _failed(layer, f"pip-audit failed (exit {done.returncode}): "
                              f"{_reason(done.stderr)}")
    by_name = {p.name: p for p in layer}
    for entry in report["dependencies"]:
        if not isinstance(entry, dict):
            continue
        pin = by_name.pop(canonicalize_name(str(entry.get("name", ""))), None)
        if pin is None:
            continue
        if "skip_reason" in entry:
            # "…could not be audited: requests (2.19.0)": the pin is said elsewhere.
            outcome.skipped[pin] = _PIN_SUFFIX.sub("", str(entry["skip_reason"])).strip()
        else:
            outcome.advisories[pin] = _advisories(entry.get("vulns"))
    for pin in by_name.values():
        outcome.skipped[pin] = "pip-audit did not report on it"
    return outcome


def _failed(layer: list[Pin], reason: str) -> AuditOutcome:
    return AuditOutcome(failed=set(layer), errors=[reason])


def audit(pins: Sequence[Pin], service: str, osv_url: str | None, timeout: float,
          cache: AuditCache) -> AuditOutcome:
    """Look every pin up (cache first); each pin ends in `advisories` or in `skipped`."""
    outcome = AuditOutcome()
    todo: list[Pin] = []
    for pin in dict.fromkeys(pins):
        hit = cache.get(pin.name, pin.version)
        if hit is None:
            todo.append(pin)
        else:
            outcome.advisories[pin] = hit
            outcome.cached += 1
    if not todo:
        return outcome
    layers = _layers(todo)
    with tempfile.TemporaryDirectory(prefix="botscan-audit-") as temp, \
            ThreadPoolExecutor(max_workers=len(layers)) as pool:
        futures = [pool.submit(_run, layer, number, Path(temp), service, osv_url, timeout)
                   for number, layer in enumerate(layers)]
        for layer, future in zip(layers, futures, strict=True):
            try:
                part = future.result()
            except OSError as exc:
                part = _failed(layer, f"pip-audit could not be run ({exc})")
            outcome.advisories.update(part.advisories)
            outcome.skipped.update(part.skipped)
            outcome.failed |= part.failed
            outcome.errors.extend(part.errors)
    for pin in todo:
        if pin in outcome.advisories:
            cache.put(pin.name, pin.version, outcome.advisories[pin])
    return outcome
