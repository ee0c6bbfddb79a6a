"""The command line as an operator meets it: one-line config errors, keys, serve, check."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from oidc_bridge import cli
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
ENV = {"CLI_WECOM_SECRET": "s"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "OIDC_BRIDGE_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "oidc_bridge", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


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


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The whole of stderr, which must be exactly one line, with exit status 2."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


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
        (('keys_dir = "keys"', 'keys_dir = "keys"\nlog_format = "xml"'), "log_format"),
    ],
)
@pytest.mark.parametrize("command", [("keys", "list"), ("serve",), ("check",)])
def test_a_config_mistake_is_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, change: tuple[str, str], key: str, command: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, GOOD.replace(*change))
    line = one_line(run(*command, "--config", str(config), cwd=tmp_path, env=ENV))
    assert line.startswith(f"{config}: {key}: ")


def test_several_mistakes_still_print_only_the_first(tmp_path: Path) -> None:
    text = GOOD.replace('"https://sso.example.com"', "7").replace("env:CLI_WECOM_SECRET", "env:UNSET_X")
    config = write_config(tmp_path, text)
    assert one_line(run("keys", "list", "--config", str(config), cwd=tmp_path)).startswith(
        f"{config}: issuer: "
    )


def test_duplicate_client_and_bad_toml(tmp_path: Path) -> None:
    block = GOOD[GOOD.index("[[clients]]") :]
    duplicate = write_config(tmp_path, GOOD + block)
    assert ": clients[1].client_id: duplicate" in one_line(
        run("check", "--config", str(duplicate), cwd=tmp_path, env=ENV)
    )
    broken = write_config(tmp_path, GOOD.replace("[wecom]", "[wecom"))
    assert "line 4" in one_line(run("serve", "--config", str(broken), cwd=tmp_path, env=ENV))


def test_a_missing_config_file_says_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert one_line(run("serve", "--config", str(missing), cwd=tmp_path)).startswith(
        f"{missing}: config file not found"
    )
    from_env = one_line(run("check", cwd=tmp_path, env={"OIDC_BRIDGE_CONFIG": str(missing)}))
    assert from_env.startswith(f"{missing}: ")
    default = one_line(run("keys", "list", cwd=tmp_path))
    assert default.startswith(f"{tmp_path / 'oidc-bridge.toml'}: config file not found")


def test_keys_generate_rotate_list(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    generated = run("keys", "generate", "--keys-dir", str(keys), cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    rotated = run("keys", "rotate", "--keys-dir", str(keys), cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    first_kid, new_kid = generated.stdout.strip(), rotated.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first_kid) and new_kid != first_kid
    files = sorted(keys.glob("*.pem"))
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700

    listing = run("keys", "list", "--keys-dir", str(keys), cwd=tmp_path).stdout.splitlines()
    assert len(listing) == 2
    rows = [line.split() for line in listing]
    assert [r[0] for r in rows] == [new_kid, first_kid]
    assert [r[1] for r in rows] == ["RS256", "RS256"]
    assert all(ISO_UTC.match(r[2]) for r in rows)
    assert [r[3] for r in rows] == ["current", "previous"]
    assert {r[4] for r in rows} == {str(f) for f in files}


def test_keys_generate_es256_and_rotation_keeps_the_algorithm(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    assert run("keys", "generate", "--alg", "ES256", "--keys-dir", str(keys), cwd=tmp_path).returncode == 0
    assert run("keys", "rotate", "--keys-dir", str(keys), cwd=tmp_path).returncode == 0
    listing = run("keys", "list", "--keys-dir", str(keys), cwd=tmp_path).stdout.splitlines()
    assert [line.split()[1] for line in listing] == ["ES256", "ES256"]


def test_keys_use_the_configs_keys_dir_relative_to_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, GOOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run("keys", "generate", "--config", str(config), cwd=elsewhere, env=ENV).returncode == 0
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 1
    listing = run("keys", "list", cwd=elsewhere, env={**ENV, "OIDC_BRIDGE_CONFIG": str(config)})
    assert "current" in listing.stdout


def test_an_empty_keys_dir_lists_nothing_and_says_so(tmp_path: Path) -> None:
    result = run("keys", "list", "--keys-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "" and "no keys" in result.stderr


def test_a_broken_key_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    bad = tmp_path / "k" / "123-bad.pem"
    bad.write_text("garbage")
    line = one_line(run("keys", "list", "--keys-dir", str(tmp_path / "k"), cwd=tmp_path))
    assert line.startswith(f"{bad}: keys_dir: ")


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("keys",),
        ("keys", "generate", "--alg", "HS256"),
        ("serve", "--port", "http"),
        ("serve", "--port", "70000"),
        ("serve", "--workers", "0"),
    ],
)
def test_usage_mistakes_exit_2_with_argparse_usage(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and "usage: oidc-bridge" in result.stderr


def test_ctrl_c_exits_130_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_demo", interrupted)
    assert cli.main(["demo"]) == 130
    assert capsys.readouterr().err == ""


def test_workers_are_one_without_redis_and_scale_with_cpus_with_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.cli"):
        assert cli._workers(None, None) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "no redis_url: in-process store: for one process only"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.cli"):
        assert cli._workers(4, None) == 1
    assert len(caplog.records) == 2 and "running 1 worker, not 4" in caplog.records[1].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.cli"):
        assert cli._workers(3, "redis://127.0.0.1:6379/0") == 3
        assert cli._workers(None, "redis://127.0.0.1:6379/0") == min(2 * (os.cpu_count() or 1) + 1, 8)
    assert not caplog.records


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_the_app_under_gunicorn_and_warns_about_the_in_process_store(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path, GOOD.replace("https://sso.example.com", f"http://127.0.0.1:{port}"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidc_bridge",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--workers",
            "3",
        ],
        cwd=tmp_path,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        for _ in range(200):
            assert proc.poll() is None, proc.communicate()[1]
            try:
                status = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    warnings = [line for line in stderr.splitlines() if "in-process store: for one process only" in line]
    assert len(warnings) == 1
    assert "running 1 worker, not 3" in stderr
    assert "generated a new signing key" in stderr  # first start, fresh keys_dir
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 1


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
        # The report says it all: no stray, unformatted log lines from the WeCom client.
        assert "wecom call failed" not in blocked.stderr, blocked.stderr
        for output in (ok.stdout + ok.stderr, blocked.stdout + blocked.stderr):
            assert directory.secret not in output and "grafana-secret" not in output


def test_hash_secret_makes_a_hash_the_config_accepts_and_that_authenticates(tmp_path: Path) -> None:
    from oidc_bridge.config.loader import load_config
    from oidc_bridge.oidc.clients import ClientRegistry

    made = subprocess.run(
        [sys.executable, "-m", "oidc_bridge", "hash-secret"],
        input="a-long-client-secret-123\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    hashed = made.stdout.strip()
    assert hashed.startswith("$argon2") and "a-long-client-secret-123" not in made.stdout
    text = GOOD.replace('client_secret = "file:grafana.secret"', f"client_secret_hash = '{hashed}'")
    settings = load_config(write_config(tmp_path, text), env={"CLI_WECOM_SECRET": "s"})
    client = ClientRegistry(settings.clients).authenticate(
        None, {"client_id": "grafana", "client_secret": "a-long-client-secret-123"}
    )
    assert client.client_id == "grafana"
    short = subprocess.run(
        [sys.executable, "-m", "oidc_bridge", "hash-secret"],
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2
