"""Deployment rules (BOT701, BOT703-BOT708) in deployment files: Dockerfiles, compose files and
bot API configs, each read the way its consumer reads it. Python web servers: test_web.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from botscan.analyzers.files import deployment_findings, reads
from botscan.analyzers.files.dockerfile import download_pipes, parse
from botscan.deps import AuditSettings
from botscan.model import NoticeKind
from botscan.scan import ScanOptions, scan


def found(path: str, text: str) -> set[tuple[int, str]]:
    findings, notices = deployment_findings(path, text.encode())
    assert not notices, notices
    return {(f.location.line, f.rule_id) for f in findings}


# --- which files ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("Dockerfile", True), ("docker/Dockerfile.prod", True), ("api.Dockerfile", True),
    ("Containerfile", True), ("docker-compose.yml", True), ("compose.yaml", True),
    ("deploy/docker-compose.prod.yml", True), ("docker-compose-freqai.yml", True),
    ("user_data/config.json", True), ("config.example.json", False),
    ("tests/testdata/config.json", False), ("dockerfile.md", False), ("README.md", False),
    ("notes/compose.txt", False),
])
def test_which_files_are_deployment_files(path: str, expected: bool) -> None:
    assert reads(path) is expected


# --- Dockerfile parsing ---------------------------------------------------------------------------

def test_continuations_drop_comment_lines_and_keep_physical_lines() -> None:
    [run] = parse("RUN apt-get update \\\n  # a comment inside\n\n  && curl -fsSL https://x.sh \\\n"
                  "  | sh\n")
    assert run.keyword == "RUN" and "comment" not in run.args
    assert run.line_at(run.args.index("curl")) == 4
    assert run.line_at(run.args.index("| sh")) == 5


def test_escape_directive_and_heredoc() -> None:
    instructions = parse("# escape=`\nFROM mcr.microsoft.com/windows/servercore\n"
                         "RUN echo a `\n    b\nRUN <<EOF\nset -e\n"
                         "curl -fsSL https://x | bash\nEOF\nUSER app\n")
    assert [i.keyword for i in instructions] == ["FROM", "RUN", "RUN", "USER"]
    assert instructions[1].args == "echo a     b"
    heredoc = instructions[2]
    assert heredoc.line_at(heredoc.args.index("curl")) == 7


# --- BOT703 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/bot.py\"]\n", {(1, "BOT703")}),
    ("FROM python:3.12-slim\nRUN useradd -m bot\nUSER bot\n", set()),
    ("FROM python:3.12-slim\nUSER bot\nRUN x\nUSER root\nCMD y\n", {(4, "BOT703")}),
    ("FROM python:3.12-slim\nUSER 0:0\n", {(2, "BOT703")}),
    # multi-stage: only the final stage matters, and it inherits from an earlier stage
    ("FROM python:3.12 AS build\nRUN make\nFROM python:3.12-slim\nCOPY --from=build /a /a\n"
     "USER 1000\n", set()),
    ("FROM python:3.12 AS base\nUSER bot\nFROM base AS final\nCMD x\n", set()),
    ("FROM python:3.12 AS build\nUSER bot\nFROM python:3.12-slim\nCMD x\n", {(3, "BOT703")}),
    ("ARG TARGET=0\nFROM python:3.12 AS t0\nFROM python:3.12 AS t1\nUSER bot\n"
     "FROM t${TARGET} AS final\n", {(5, "BOT703")}),
    ("ARG TARGET=1\nFROM python:3.12 AS t0\nFROM python:3.12 AS t1\nUSER bot\n"
     "FROM t${TARGET} AS final\n", set()),
    # base images that already run unprivileged; an unknown base is not judged
    ("FROM freqtradeorg/freqtrade:stable\nRUN pip install --user x\n", set()),
    ("FROM gcr.io/distroless/python3-debian12:nonroot\nCOPY . /app\n", set()),
    ("FROM gcr.io/distroless/python3-debian12\nCOPY . /app\n", {(1, "BOT703")}),
    ("ARG BASE\nFROM ${BASE}\nCOPY . /app\n", set()),
    ("FROM scratch\nCOPY bot /bot\n", {(1, "BOT703")}),
    ("ARG USERNAME=root\nFROM python:3.12\nUSER ${USERNAME}\n", {(3, "BOT703")}),
])
def test_root_user(text: str, expected: set[tuple[int, str]]) -> None:
    assert found("Dockerfile", text) == expected


# --- BOT704 ---------------------------------------------------------------------------------------

def test_secrets_in_env_arg_and_copied_key_files() -> None:
    text = ("FROM python:3.12\n"
            "ARG BINANCE_API_SECRET\n"                        # 2: kept in the history
            "ARG API_KEY=k4Jd8sLq2Wm9Xz7Pv3Nb6Rt1Yc5Hf0Ge\n"  # 3
            "ARG PASS_THROUGH=1\n"                            # 4: `pass` alone is no credential
            "ARG GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\n"  # 5: a public key id
            "ENV BINANCE_API_SECRET=$BINANCE_API_SECRET\n"    # 6
            "ENV OKX_PASSPHRASE hunter2hunter2\n"             # 7: legacy form
            "ENV API_KEY_FILE=/run/secrets/api_key\n"         # 8: a path to a secret
            "ENV TELEGRAM_TOKEN=\n"                           # 9: empty
            "COPY .env /app/.env\n"                           # 10
            "COPY .env.example /app/\n"                       # 11
            "COPY --chown=bot:bot keys/binance.pem config.json /app/\n"  # 12
            "COPY --from=build /root/.ssh/id_rsa /tmp/\n"     # 13: from a stage
            "COPY [\"id_ed25519\", \"/root/.ssh/\"]\n"        # 14
            "USER bot\n")
    assert found("Dockerfile", text) == {(2, "BOT704"), (3, "BOT704"), (6, "BOT704"),
                                         (7, "BOT704"), (10, "BOT704"), (12, "BOT704"),
                                         (14, "BOT704")}


def test_literal_secret_in_env_is_redacted_everywhere() -> None:
    secret = "k4Jd8sLq2Wm9Xz7Pv3Nb6Rt1Yc5Hf0GeUu2Tt"
    findings, _ = deployment_findings("Dockerfile", (
        f"FROM python:3.12\nENV BINANCE_API_SECRET={secret}\nUSER bot\n").encode())
    [finding] = findings
    assert secret not in finding.message and secret not in finding.snippet
    assert secret not in json.dumps(finding.evidence)


# --- BOT705 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "expected"), [
    ("curl -fsSL https://get.example.sh | sh", ("curl", "sh")),
    ("curl -fsSL https://get.example.sh | sudo -E bash -", ("curl", "bash")),
    ("wget -qO- https://x | sh -s -- --prefix /opt", ("wget", "sh")),
    ("curl -sSL https://install.python-poetry.org | python3 -", ("curl", "python")),
    ("curl -LsSf https://astral.sh/uv/install.sh | env UV_INSTALL_DIR=/u sh", ("curl", "sh")),
    ("curl -s https://x | tee /tmp/i.sh | bash", ("curl", "bash")),
    ('sh -c "$(curl -fsSL https://x)"', ("curl", "sh")),
    ("bash <(curl -s https://x)", ("curl", "bash")),
    ('eval "$(wget -qO- https://x)"', ("wget", "eval")),
    ('/bin/bash -c "curl -fsSL https://x | bash"', ("curl", "bash")),
    # data read from a download, not run
    ("curl -s https://api.github.com/x | python3 -c 'import json,sys; print(1)'", None),
    ("curl -s https://x | python -m json.tool", None),
    ("curl -s https://x | jq -r .tag_name", None),
    ("curl -s https://x | sh -c 'cat > /tmp/f'", None),
    ("curl -s https://x | perl -ne 'print if /v/'", None),
    ("curl -o /tmp/i.sh https://x && sha256sum -c i.sha && sh /tmp/i.sh", None),
    ('echo "curl x | sh" > README', None),
    ("VERSION=$(curl -s https://x | jq -r .tag)", None),
])
def test_download_pipes(command: str, expected: tuple[str, str] | None) -> None:
    pipes = download_pipes(command)
    if expected is None:
        assert pipes == []
    else:
        assert [(d, i) for _, d, i in pipes][:1] == [expected]


def test_remote_add_and_fetch_and_run_lines() -> None:
    text = ("FROM python:3.12\n"
            "ADD https://example.com/ta-lib.tar.gz /tmp/\n"   # 2
            "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d"
            " https://example.com/ta-lib.tar.gz /tmp/\n"      # 3
            "ADD https://github.com/a/b.git#3f786850e387550fdab836ed7e6dc881de23001b /src\n"  # 4
            "ADD vendor.tar.gz /opt/\n"                       # 5
            "RUN apt-get update \\\n"                         # 6
            "  && curl -fsSL https://deb.nodesource.com/setup_20.x \\\n"  # 7
            "  | bash -\n"                                    # 8
            "RUN <<EOF\n"                                     # 9
            "set -eux\n"
            "wget -qO- https://x/install.sh | sh\n"           # 11
            "EOF\n"
            'ENTRYPOINT ["sh", "-c", "curl -s https://x/boot.sh | sh"]\n'  # 13
            "USER bot\n")
    assert found("Dockerfile", text) == {(2, "BOT705"), (7, "BOT705"), (11, "BOT705"),
                                         (13, "BOT705")}


# --- compose: BOT706-BOT708 -----------------------------------------------------------------------

def test_published_ports() -> None:
    text = """services:
  bot:
    image: acme/bot
    ports:
      - "8080:8080"
      - 127.0.0.1:8081:8081
      - "0.0.0.0:8082:8082"
      - "[::]:8083:8083"
      - "[::1]:8084:8084"
      - "::1:8085:8085"
      - "9000-9005:9000-9005"
      - "3000"
      - 3001/udp
      - "192.168.1.20:8086:8086"
      - "localhost:8087:8087"
      - "${API_PORT:-8088}:8088"
      - "${BIND_IP:-127.0.0.1}:8089:8089"
      - "${BIND_IP}:8090:8090"
      - target: 80
        published: "8091"
      - target: 81
        host_ip: 127.0.0.1
        published: 8092
      - target: 82
    expose:
      - "6379"
  web:
    image: nginx:1.27
    ports: ["80:80", "443:443"]
  proxy:
    image: docker.io/library/traefik:v3.1
    ports:
      - "443:443"
"""
    assert {line for line, rule in found("docker-compose.yml", text) if rule == "BOT706"} == {
        5, 7, 8, 11, 12, 13, 16, 20, 24}


def test_host_privileges_and_docker_socket() -> None:
    text = """services:
  bot:
    image: acme/bot
    privileged: true
    network_mode: host
    pid: host
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - ./user_data:/app/user_data
      - type: bind
        source: /run/docker.sock
        target: /var/run/docker.sock
  safe:
    image: acme/bot
    privileged: false
    network_mode: bridge
    pid: "service:bot"
"""
    assert found("docker-compose.yml", text) == {(4, "BOT707"), (5, "BOT707"), (6, "BOT707"),
                                                 (8, "BOT707"), (10, "BOT707")}


def test_credentials_in_environment_and_build_args() -> None:
    text = """services:
  bot:
    build:
      context: .
      args:
        - GITHUB_TOKEN=ghp_R2d9Xk4LmQ8vTz1WbN6cY3fH7sJ0aP5eU2gK
        - PIP_INDEX_URL=https://pypi.org/simple
    env_file: .env
    environment:
      BINANCE_API_KEY: ${BINANCE_API_KEY}
      BINANCE_API_SECRET: "$BINANCE_API_SECRET"
      OKX_PASSPHRASE: admin
      DB_PASSWORD:
      HBOT_PASSWORD_FILE: /run/secrets/hbot
      TELEGRAM_ENABLED: "true"
      LOG_LEVEL: info
  db:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD=example
      - POSTGRES_USER=bot
      - PGPASSWORD
      - REDIS_PASSWORD=$${LITERAL_DOLLAR}
"""
    assert found("docker-compose.yml", text) == {(6, "BOT708"), (12, "BOT708"), (20, "BOT708"),
                                                 (23, "BOT708")}


def test_merged_anchors_are_reported_once_at_the_anchor() -> None:
    text = """x-bot: &bot
  image: acme/bot
  ports:
    - "8080:8080"
  environment:
    BINANCE_API_SECRET: kZ3vQ8rX2mN7bW4yT9cF6hJ1sL5pD0aG
services:
  spot:
    <<: *bot
  futures:
    <<: *bot
    ports:
      - "127.0.0.1:8081:8080"
"""
    assert found("docker-compose.yml", text) == {(4, "BOT706"), (6, "BOT708")}


def test_compose_that_is_not_yaml_is_a_notice_and_aliases_are_not_expanded() -> None:
    findings, notices = deployment_findings("docker-compose.yml", b"services: [\n  bot: {\n")
    assert findings == [] and [n.kind for n in notices] == [NoticeKind.NOT_PARSED]
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(9)) + "services:\n  bot:\n    image: acme/bot\n    <<: *j\n"
    started = time.monotonic()
    deployment_findings("docker-compose.yml", laughs.encode())
    assert time.monotonic() - started < 2


# --- bot API configs: BOT701 ----------------------------------------------------------------------

def freqtrade(**api: object) -> str:
    block = {"enabled": True, "listen_ip_address": "0.0.0.0", "listen_port": 8080,
             "jwt_secret_key": "9c2f5a1e7b3d4c8e0f6a2b9d5e1c7f3a", "username": "trader",
             "password": "m3Q9vZ2xK7pL4wRt"}
    block.update(api)
    body = json.dumps({"dry_run": False, "api_server": {k: v for k, v in block.items()
                                                        if v is not None}}, indent=4)
    return "// live config\n" + body


@pytest.mark.parametrize(("api", "fires"), [
    ({}, False),
    ({"password": "SuperSecurePassword"}, True),
    ({"password": ""}, True),
    ({"password": None}, True),
    ({"password": "Tr4der!"}, True),
    ({"jwt_secret_key": "somethingrandom"}, True),
    ({"jwt_secret_key": None}, True),  # freqtrade falls back to the public "super-secret"
    ({"jwt_secret_key": "short"}, True),
    ({"username": "freqtrader", "password": "freqtrader"}, True),
    ({"username": "freqtrader"}, False),  # a default user name with a strong password
    ({"listen_ip_address": "127.0.0.1", "password": ""}, False),
    ({"listen_ip_address": "::", "password": ""}, True),
    ({"enabled": False, "password": ""}, False),
    ({"password": "{{ api_server_password }}"}, False),
])
def test_freqtrade_api_server(api: dict[str, object], fires: bool) -> None:
    text = freqtrade(**api)
    listen = text.splitlines().index(next(line for line in text.splitlines()
                                          if "listen_ip_address" in line)) + 1
    assert found("user_data/config.json", text) == ({(listen, "BOT701")} if fires else set())


def test_freqtrade_api_server_in_examples_and_tests_is_not_a_deployment() -> None:
    text = freqtrade(password="")
    assert found("config_examples/config.example.json", text) == set()
    assert found("tests/testdata/config.json", text) == set()


# --- through the pipeline and every report --------------------------------------------------------

def test_docker_bot_fixture_in_every_format(tmp_path: Path) -> None:
    from botscan import catalog
    from botscan.report import html, json_report, sarif, text

    rules_table = catalog.rules()
    root = Path(__file__).resolve().parent.parent / "fixtures" / "docker_bot"
    result = scan([root], ScanOptions(audit=AuditSettings(offline=True), jobs=1))
    rules = {f.rule_id for f in result.findings}
    assert {"BOT701", "BOT703", "BOT704", "BOT705", "BOT706", "BOT707", "BOT708"} <= rules
    rendered = {
        "text": text.render(result, rules_table, color=False),
        "json": json_report.render(result, rules_table),
        "sarif": sarif.render(result, rules_table),
        "html": html.render(result, rules_table),
    }
    for name, output in rendered.items():
        for rule in ("BOT701", "BOT704", "BOT706", "BOT708"):
            assert rule in output, (name, rule)
        assert "Str0ngButCommitted!2024" not in output, name
