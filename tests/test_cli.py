"""The command line as an operator meets it: one-line config errors, keys, check."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from oidc_bridge.wecom_sim import Directory, SimulatorServer

GOOD = """
issuer = "https://sso.example.com"
keys_dir = "keys"
[wecom]
corp_id = "{corp}"
agent_id = "{agent}"
secret = "env:CLI_WECOM_SECRET"
api_base = "{api}"
[[clients]]
client_id = "grafana"
client_secret = "file:grafana.secret"
redirect_uris = ["https://grafana.example.com/login/generic_oauth"]
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oidc_bridge", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(
    tmp_path: Path,
    text: str,
    api: str = "http://127.0.0.1:9",
    corp: str = "ww0123456789abcdef",
    agent: str = "1000002",
) -> Path:
    (tmp_path / "grafana.secret").write_text("grafana-secret\n")
    path = tmp_path / "oidc-bridge.toml"
    path.write_text(text.format(corp=corp, agent=agent, api=api))
    return path


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("env:CLI_WECOM_SECRET", "env:CLI_UNSET_VARIABLE"), "wecom.secret"),
        (("https://sso.example.com", "http://sso.example.com"), "issuer"),
        (('agent_id = "{agent}"', 'agent_idd = "{agent}"'), "wecom.agent_idd"),
        (("file:grafana.secret", "file:missing.secret"), "clients[0].client_secret"),
        (
            ('redirect_uris = ["https://grafana.example.com/login/generic_oauth"]', "redirect_uris = []"),
            "clients[0].redirect_uris",
        ),
        (('keys_dir = "keys"', "keys_dir = 7"), "keys_dir"),
        (('client_id = "grafana"', 'client_id = "grafana"\nname = 5'), "clients[0].name"),
    ],
)
def test_a_config_mistake_is_one_line_naming_the_key_and_exit_2(tmp_path: Path, change, key) -> None:
    config = write_config(tmp_path, GOOD.replace(*change))
    result = run("keys", "list", "--config", str(config), cwd=tmp_path, env={"CLI_WECOM_SECRET": "s"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f": {key}: " in lines[0] and str(config) in lines[0]
    assert "Traceback" not in result.stderr


def test_duplicate_client_and_bad_toml_and_missing_file(tmp_path: Path) -> None:
    block = GOOD[GOOD.index("[[clients]]") :]
    for text in (GOOD + block, GOOD.replace("[wecom]", "[wecom")):
        result = run(
            "keys",
            "list",
            "--config",
            str(write_config(tmp_path, text)),
            cwd=tmp_path,
            env={"CLI_WECOM_SECRET": "s"},
        )
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    missing = run("serve", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_keys_generate_rotate_list(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    assert run("keys", "generate", "--keys-dir", str(keys), cwd=tmp_path).returncode == 0
    assert run("keys", "rotate", "--keys-dir", str(keys), cwd=tmp_path).returncode == 0
    files = sorted(keys.glob("*.pem"))
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    listing = run("keys", "list", "--keys-dir", str(keys), cwd=tmp_path).stdout.splitlines()
    assert len(listing) == 2 and "current" in listing[0] and "previous" in listing[1]
    es = run("keys", "generate", "--alg", "ES256", "--keys-dir", str(keys), cwd=tmp_path)
    assert "ES256" in es.stdout


def test_check_names_the_ip_to_trust_and_never_prints_the_secret(tmp_path: Path) -> None:
    directory = Directory.sample()
    with SimulatorServer(directory) as sim:
        config = write_config(tmp_path, GOOD, sim.base_url, directory.corp_id, directory.agent_id)
        env = {"CLI_WECOM_SECRET": directory.secret}
        ok = run("check", "--config", str(config), cwd=tmp_path, env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "sso.example.com" in ok.stdout and "https://sso.example.com/wecom/callback" in ok.stdout
        directory.trusted_ips = ("198.51.100.7",)
        blocked = run("check", "--config", str(config), cwd=tmp_path, env=env)
        assert blocked.returncode == 1
        assert "60020" in blocked.stdout and "127.0.0.1" in blocked.stdout
        for output in (ok.stdout + ok.stderr, blocked.stdout + blocked.stderr):
            assert directory.secret not in output and "grafana-secret" not in output
