"""What an operator sees when the config file is right, and when one thing in it is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oidc_bridge.config.loader import load_config
from oidc_bridge.config.schema import ClientSettings, TokenSettings
from oidc_bridge.config.validate import ConfigErrors
from oidc_bridge.errors import ConfigError

from .conftest import ENV, GOOD, WriteConfig


def test_a_good_file_fills_every_setting_and_resolves_secrets(write_config: WriteConfig) -> None:
    path = write_config(
        GOOD
        + """
post_logout_redirect_uris = ["https://grafana.example.com/login"]
name = "Grafana"

[[clients]]
client_id = "cli"
redirect_uris = ["http://127.0.0.1/callback", "com.example.app:/oauth"]
"""
    )
    s = load_config(path, env=ENV)
    assert s.issuer == "https://sso.example.com"
    assert s.wecom.secret == "wecom-secret"
    assert s.wecom.api_base == "https://qyapi.weixin.qq.com"
    assert s.keys_dir == path.parent / "keys"
    assert s.source == str(path)
    assert s.redis_url is None
    assert s.tokens == TokenSettings()
    assert s.clients[0] == ClientSettings(
        client_id="grafana",
        client_secret="grafana-secret",
        redirect_uris=("https://grafana.example.com/login/generic_oauth",),
        post_logout_redirect_uris=("https://grafana.example.com/login",),
        name="Grafana",
    )
    assert s.clients[1].is_public


def test_every_documented_key_is_accepted(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config(
        """
issuer = "https://sso.example.com/sso/"
redis_url = "env:REDIS_URL"
keys_dir = "/var/lib/oidc-bridge/keys"
store_prefix = "bridge-a:"
log_format = "json"
log_level = "debug"

[wecom]
corp_id = "ww0123456789abcdef"
agent_id = "1000002"
secret = "file:wecom.secret"
api_base = "http://127.0.0.1:9000"
oauth_base = "http://127.0.0.1:9000"
sso_base = "http://127.0.0.1:9000"
inapp_scope = "snsapi_privateinfo"
verify_files = { "WW_verify_abc123XYZ.txt" = "abc123XYZ" }
connect_timeout = 2
read_timeout = 4.5
department_cache_ttl = 0
lang = "en"

[tokens]
access_token_lifetime = 600
id_token_lifetime = 300
code_lifetime = 30
login_lifetime = 120

[[clients]]
client_id = "grafana"
redirect_uris = ["https://grafana.example.com/cb"]
"""
    )
    (tmp_path / "wecom.secret").write_text("from-a-file\r\n\n", encoding="utf-8")
    s = load_config(path, env={"REDIS_URL": "redis://127.0.0.1:6379/3"})
    # Byte-exact: discovery must echo the issuer as written, trailing slash included.
    assert s.issuer == "https://sso.example.com/sso/"
    assert s.redis_url == "redis://127.0.0.1:6379/3"
    assert s.keys_dir == Path("/var/lib/oidc-bridge/keys")
    assert (s.store_prefix, s.log_format, s.log_level) == ("bridge-a:", "json", "debug")
    assert s.wecom.secret == "from-a-file"
    assert s.wecom.inapp_scope == "snsapi_privateinfo"
    assert s.wecom.verify_files == {"WW_verify_abc123XYZ.txt": "abc123XYZ"}
    assert (s.wecom.connect_timeout, s.wecom.read_timeout) == (2.0, 4.5)
    assert isinstance(s.wecom.connect_timeout, float)
    assert (s.wecom.department_cache_ttl, s.wecom.lang) == (0, "en")
    assert s.tokens == TokenSettings(600, 300, 30, 120)


def test_allowed_tags_take_ids_and_names_in_order(write_config: WriteConfig) -> None:
    text = GOOD + 'allowed_departments = [2]\nallowed_tags = [3, "财务审批", 7]\n'
    client = load_config(write_config(text), env=ENV).clients[0]
    assert client.allowed_tags == (3, "财务审批", 7)
    assert [type(t) for t in client.allowed_tags] == [int, str, int]
    assert client.allowed_departments == (2,)
    assert load_config(write_config(GOOD), env=ENV).clients[0].allowed_tags == ()


def test_the_path_comes_from_the_argument_then_the_environment_then_the_working_dir(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(GOOD)
    assert load_config(env={**ENV, "OIDC_BRIDGE_CONFIG": str(path)}).source == str(path)
    monkeypatch.chdir(tmp_path)
    s = load_config(env=ENV)
    assert s.source == str(path)
    assert s.keys_dir == tmp_path / "keys"  # absolute, whatever the working directory later


def test_the_process_environment_is_the_default(write_config: WriteConfig, monkeypatch) -> None:
    monkeypatch.setenv("WECOM_SECRET", "from-os-environ")
    assert load_config(write_config(GOOD)).wecom.secret == "from-os-environ"


def test_every_problem_is_collected_and_the_first_is_the_one_line(write_config: WriteConfig) -> None:
    path = write_config(
        GOOD.replace('keys_dir = "keys"', 'keys_dir = "keys"\nlog_formatt = "json"').replace(
            "env:WECOM_SECRET", "env:NOT_SET_ANYWHERE"
        )
    )
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, env=ENV)
    assert [e.key for e in caught.value.errors] == ["log_formatt", "wecom.secret"]
    assert str(caught.value) == f"{path}: log_formatt: unknown key; did you mean 'log_format'?"
    assert isinstance(caught.value, ConfigError)


def test_cross_field_problems_are_collected_too(write_config: WriteConfig) -> None:
    path = write_config(GOOD.replace("https://sso", "http://sso").replace('"https://grafana', '"grafana'))
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, env=ENV)
    assert [e.key for e in caught.value.errors] == ["issuer", "clients[0].redirect_uris"]


def test_an_env_value_is_taken_as_is_not_looked_up_again(write_config: WriteConfig) -> None:
    s = load_config(write_config(GOOD), env={"WECOM_SECRET": "env:OTHER"})
    assert s.wecom.secret == "env:OTHER"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_secret_file_names_the_key(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "grafana.secret").chmod(0)
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(GOOD), env=ENV)
    assert caught.value.key == "clients[0].client_secret"
    assert "Permission denied" in caught.value.message
