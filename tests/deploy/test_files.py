"""The deployment files: the Dockerfile's user and health check, the compose file, the example config.

No Docker engine runs here and no image can be pulled, so the compose file is checked with
Debian's ``docker-compose config`` (``apt-get install -y docker-compose``); that test skips when
the tool is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oidc_bridge.config.loader import load_config

from .dockerfile import REPO, healthcheck_argv, instruction, instructions, json_argv

COMPOSE_ENV = {
    "WECOM_CORP_ID": "ww0123456789abcdef",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "wecom-secret-for-the-test",
    "GRAFANA_CLIENT_SECRET": "grafana-secret-0123456789",
}


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for name, args in instructions() if name == "USER"]
    assert users, "the Dockerfile sets no USER: the bridge would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # The last USER comes after every RUN, so nothing at run time is root.
    names = [name for name, _ in instructions()]
    last_run = max(i for i, n in enumerate(names) if n == "RUN")
    assert last_run < max(i for i, n in enumerate(names) if n == "USER")


def test_dockerfile_healthcheck_asks_readyz() -> None:
    argv = healthcheck_argv()
    assert argv[0] == "python"
    assert "/readyz" in argv[-1]
    assert "curl" not in instruction("HEALTHCHECK")


def test_dockerfile_basics() -> None:
    assert instruction("FROM").startswith("python:3.11-slim")
    assert instruction("EXPOSE") == "8000"
    assert "OIDC_BRIDGE_CONFIG=/etc/oidc-bridge/oidc-bridge.toml" in instruction("ENV", all_of=True)
    assert "/var/lib/oidc-bridge/keys" in instruction("VOLUME")
    assert json_argv(instruction("CMD")) == [
        "gunicorn",
        "-c",
        "python:oidc_bridge.gunicorn_conf",
        "oidc_bridge.wsgi:app",
    ]
    runs = instruction("RUN", all_of=True)
    assert "pip install ." in runs and "[test]" not in runs


def test_dockerignore_keeps_keys_and_environments_out() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "keys", "*.pem", "tests"):
        assert entry in ignored


def _compose(tool: str, *args: str, with_secrets: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", *COMPOSE_ENV))}
    if with_secrets:
        env.update(COMPOSE_ENV)
    return subprocess.run(
        [tool, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml"), "config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_validates_with_docker_compose() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (apt-get install -y docker-compose)")
    done = _compose(tool)
    assert done.returncode == 0, done.stderr
    resolved = done.stdout
    assert "condition: service_healthy" in resolved
    assert "image: redis:7" in resolved
    assert f"WECOM_SECRET: {COMPOSE_ENV['WECOM_SECRET']}" in resolved
    assert "/readyz" in resolved
    assert sorted(_compose(tool, "--services").stdout.split()) == ["bridge", "redis"]
    assert sorted(_compose(tool, "--volumes").stdout.split()) == ["keys", "redis-data"]

    # Without the secrets in the environment compose refuses, naming the variable.
    done = _compose(tool, with_secrets=False)
    assert done.returncode != 0
    assert "WECOM_" in done.stderr or "GRAFANA_" in done.stderr


def test_compose_file_text() -> None:
    """What the services must say, read from the file itself (no YAML library in the venv)."""
    text = (REPO / "docker-compose.yml").read_text()
    bridge = text.split("\n  bridge:\n", 1)[1].split("\n  redis:\n", 1)[0]
    redis = text.split("\n  redis:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    assert "build: ." in bridge
    assert "\n    command:" not in bridge, "the bridge runs the image's CMD"
    assert "- ./deploy/oidc-bridge.toml:/etc/oidc-bridge/oidc-bridge.toml:ro" in bridge
    assert "- keys:/var/lib/oidc-bridge/keys" in bridge
    assert "condition: service_healthy" in bridge
    assert "/readyz" in bridge
    assert "image: redis:7\n" in redis
    assert '["redis-server", "--appendonly", "yes"]' in redis
    assert '["CMD", "redis-cli", "ping"]' in redis
    assert "- redis-data:/data" in redis


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in COMPOSE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = load_config(str(REPO / "deploy" / "oidc-bridge.toml"))
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.issuer.startswith("https://")
    assert settings.trusted_proxies == 1
    assert settings.keys_dir == Path("/var/lib/oidc-bridge/keys")
    assert settings.wecom.secret == COMPOSE_ENV["WECOM_SECRET"]
    # The file itself holds no secret: every one comes through env:.
    text = (REPO / "deploy" / "oidc-bridge.toml").read_text()
    for line in text.splitlines():
        if line.split("=")[0].strip() in ("secret", "client_secret"):
            assert '"env:' in line


def test_the_preloaded_app_is_frozen_out_of_the_workers_garbage_collections() -> None:
    """gunicorn calls pre_fork in the master before each worker starts (a subprocess: importing
    the config module sets the metrics directory for the whole process)."""
    code = (
        "import gc, oidc_bridge.gunicorn_conf as conf; import oidc_bridge.app; "
        "before = gc.get_freeze_count(); conf.pre_fork(None, None); print(before, gc.get_freeze_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    assert before == 0 and after > 10_000
