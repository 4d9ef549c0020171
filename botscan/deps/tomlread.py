"""Reading TOML and JSON manifests safely: a malformed file is an error to report, not a crash."""

from __future__ import annotations

import json
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


class ManifestError(Exception):
    """The manifest cannot be read at all; its dependencies are unknown (a notice says so)."""


def load_toml(text: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ManifestError(f"invalid TOML: {str(exc)[:160]}") from None
    return data


def load_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"invalid JSON: {str(exc)[:160]}") from None
    if not isinstance(data, dict):
        raise ManifestError("not a JSON object")
    return data


def table(data: Any, *keys: str) -> dict[str, Any]:
    """`data[k1][k2]…` when every step is a table, else an empty table."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def strings(value: Any) -> list[str]:
    """The strings of a TOML array (other members ignored), or [] when it is not an array."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
