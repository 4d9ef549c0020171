"""A bot's own API or dashboard, configured to listen on every interface with credentials
anyone can guess (BOT701): freqtrade's `api_server` block, and any bot described the same way
in `checks/knowledge/deploy.toml` (`[[api_config]]`).

The config is read with the secrets analyzer's JSON reader (`configs.json_strings`), which
already takes what bots commit (comments, trailing commas) and gives each value with its key
path and position; a second parser would disagree with it on exactly those files.

Example configs and test data are not deployments and are left alone; so are values filled
in at deployment (`{{ password }}`, `${PASSWORD}`), which cannot be judged here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botscan import catalog
from botscan import credentials as cred
from botscan.analyzers.hits import Hit
from botscan.analyzers.secrets import configs, filekinds
from botscan.analyzers.secrets.textmap import TextMap
from botscan.testcode import is_test_path

_TRUE = frozenset({"true", "1"})


@catalog.derived
def _knowledge() -> dict[str, Any]:
    return dict(catalog.knowledge("deploy"))


def reads(path: str) -> bool:
    """Could the file at `path` configure a bot's API? A JSON config that is not an example,
    documentation or test data."""
    kind = filekinds.text_kind(path)
    return (kind is not None and kind.format == filekinds.JSON and not kind.strict
            and not is_test_path(path))


@dataclass(frozen=True)
class _Setting:
    value: str
    offset: int


def _blocks(tm: TextMap, spec: dict[str, Any]) -> list[dict[str, _Setting]]:
    """The settings of each `block` object of the config (normally one)."""
    block = tuple(spec["block"])
    found: dict[str, _Setting] = {}
    for path, value, offset in configs.json_strings(tm, bare=True):
        if len(path) == len(block) + 1 and path[:-1] == block:
            found.setdefault(path[-1], _Setting(value, offset))
    return [found] if found else []


def _weaknesses(spec: dict[str, Any], block: dict[str, _Setting]) -> list[str]:
    limits = _knowledge()["weak_credentials"]
    reasons: list[str] = []
    password = block.get(spec["password"])
    username = block.get(spec["username"])
    weak = cred.weak_password(password.value if password else "", spec["default_passwords"],
                              limits["min_password_length"])
    if weak is not None:
        reasons.append(f"a password that is {weak}" if password else "no password")
        if username is not None and username.value.lower() in {
                u.lower() for u in spec["default_usernames"]}:
            reasons.append(f"the default username `{username.value}`")
    jwt = block.get(spec["jwt_secret"])
    if jwt is None:
        if spec.get("jwt_missing_is_weak"):
            reasons.append(f"no `{spec['jwt_secret']}` (the bot then signs its tokens with a "
                           "public default, so anyone can forge a login)")
    else:
        weak_jwt = cred.weak_password(jwt.value, spec["default_jwt_secrets"],
                                      limits["min_jwt_secret_length"])
        if weak_jwt is not None:
            reasons.append(f"a `{spec['jwt_secret']}` that is {weak_jwt} (anyone can forge a "
                           "login token without the password)")
    return reasons


def api_config_hits(text: str) -> list[Hit]:
    """BOT701 for each configured bot API that listens on every interface with weak
    credentials. Cheap on other JSON: the block's name must occur before anything is parsed."""
    knowledge = _knowledge()
    everywhere = set(knowledge["weak_credentials"]["all_interfaces"])
    hits: list[Hit] = []
    tm: TextMap | None = None
    for spec in knowledge["api_config"]:
        if f'"{spec["block"][-1]}"' not in text:
            continue
        tm = tm or TextMap(text)
        for block in _blocks(tm, spec):
            enabled = block.get(spec["enabled"])
            listen = block.get(spec["listen"])
            if enabled is None or enabled.value.lower() not in _TRUE or listen is None \
                    or listen.value.strip() not in everywhere:
                continue
            reasons = _weaknesses(spec, block)
            if not reasons:
                continue
            secrets = tuple(s.value for k in (spec["password"], spec["jwt_secret"])
                            if (s := block.get(k)) is not None and s.value)
            hits.append(Hit(
                "BOT701", tm.line_of(listen.offset), 1,
                f"{spec['bot']}'s API server is enabled on every interface "
                f"(`{spec['listen']}: {listen.value}`) with {'; '.join(reasons)}: whoever "
                "reaches the port can log in, stop the bot or force trades. Listen on "
                "127.0.0.1 (in Docker, publish the port as `127.0.0.1:8080:8080`) and set a "
                "long random password and JWT secret.",
                secrets=secrets, evidence={"bot": spec["bot"], "weaknesses": reasons}))
    return hits
