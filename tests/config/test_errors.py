"""One test per config mistake: the exact key named, the file, and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from oidc_bridge.config.loader import load_config
from oidc_bridge.errors import ConfigError

from .conftest import ENV, GOOD, WriteConfig

CLIENT = '[[clients]]\nclient_id = "grafana"\n'
REDIRECT = 'redirect_uris = ["https://grafana.example.com/login/generic_oauth"]'


def first_error(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV if env is None else env)
    return caught.value


def test_a_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    err = first_error(tmp_path / "nope.toml")
    assert err.key is None
    assert (
        str(err)
        == f"{tmp_path / 'nope.toml'}: config file not found (give --config PATH or set $OIDC_BRIDGE_CONFIG)"
    )


def test_a_directory_instead_of_a_file_is_a_config_error(tmp_path: Path) -> None:
    err = first_error(tmp_path)
    assert err.file == str(tmp_path) and "cannot read" in err.message


def test_bad_toml_gives_the_line_number(write_config: WriteConfig) -> None:
    err = first_error(write_config(GOOD.replace("[wecom]", "[wecom")))
    assert err.key is None
    assert "not valid TOML" in err.message and "line 4" in err.message


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "oidc-bridge.toml"
    path.write_bytes(b'issuer = "\xff"\n')
    assert "UTF-8" in first_error(path).message


# (replace this, with that) in the good file -> (the key named, words in the message)
MISTAKES = {
    "unknown top-level key": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nissuerr = "x"'),
        "issuerr",
        "unknown key",
    ),
    "unknown wecom key": (("secret = ", "secrett = "), "wecom.secrett", "unknown key"),
    "unknown client key": ((REDIRECT, REDIRECT + '\nsecret = "x"'), "clients[0].secret", "unknown key"),
    "unknown table": (("[wecom]", "[tokenz]\nx = 1\n[wecom]"), "tokenz", "unknown key"),
    "source is not a key": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nsource = "x"'),
        "source",
        "unknown key",
    ),
    "missing issuer": (('issuer = "https://sso.example.com"', ""), "issuer", "missing required key"),
    "missing corp_id": (('corp_id = "ww0123456789abcdef"', ""), "wecom.corp_id", "missing required key"),
    "missing agent_id": (('agent_id = "1000002"', ""), "wecom.agent_id", "missing required key"),
    "missing secret": (('secret = "env:WECOM_SECRET"', ""), "wecom.secret", "missing required key"),
    "missing client_id": (('client_id = "grafana"', ""), "clients[0].client_id", "missing required key"),
    "missing redirect_uris": ((REDIRECT, ""), "clients[0].redirect_uris", "missing required key"),
    "string lifetime": (
        ("[wecom]", '[tokens]\ncode_lifetime = "x"\n[wecom]'),
        "tokens.code_lifetime",
        "integer",
    ),
    "bool lifetime": (
        ("[wecom]", "[tokens]\ncode_lifetime = true\n[wecom]"),
        "tokens.code_lifetime",
        "integer",
    ),
    "float lifetime": (
        ("[wecom]", "[tokens]\nid_token_lifetime = 1.5\n[wecom]"),
        "tokens.id_token_lifetime",
        "integer",
    ),
    "bool timeout": (
        ("[[clients]]", "connect_timeout = true\n[[clients]]"),
        "wecom.connect_timeout",
        "number",
    ),
    "unquoted agent_id": (('"1000002"', "1000002"), "wecom.agent_id", "put it in quotes"),
    "redirect_uris a string": (
        (REDIRECT, 'redirect_uris = "https://grafana.example.com/cb"'),
        "clients[0].redirect_uris",
        "array of strings",
    ),
    "redirect_uris with a number": (
        (REDIRECT, 'redirect_uris = ["https://grafana.example.com/cb", 7]'),
        "clients[0].redirect_uris[1]",
        "string",
    ),
    "allowed_tags a number": (
        (REDIRECT, REDIRECT + "\nallowed_tags = 3"),
        "clients[0].allowed_tags",
        "must be an array of integers or strings, not an integer",
    ),
    "allowed_tags with a fraction": (
        (REDIRECT, REDIRECT + '\nallowed_tags = [3, "财务审批", 1.5]'),
        "clients[0].allowed_tags[2]",
        "must be an integer or a string, not a number with a fraction",
    ),
    "allowed_tags with true": (
        (REDIRECT, REDIRECT + "\nallowed_tags = [true]"),
        "clients[0].allowed_tags[0]",
        "must be an integer or a string, not true/false",
    ),
    "allowed_tags with an empty name": (
        (REDIRECT, REDIRECT + '\nallowed_tags = [""]'),
        "clients[0].allowed_tags[0]",
        "tag id (1 or more) or a tag name",
    ),
    "allowed_tags with tag id 0": (
        (REDIRECT, REDIRECT + "\nallowed_tags = [0]"),
        "clients[0].allowed_tags[0]",
        "tag id (1 or more) or a tag name",
    ),
    "allowed_departments a string": (
        (REDIRECT, REDIRECT + '\nallowed_departments = "2"'),
        "clients[0].allowed_departments",
        "must be an array of integers, not a string",
    ),
    "wecom not a table": (("[wecom]", 'wecom = "x"\n[wecomm]'), "wecom", "must be a table"),
    "verify_files not a table": (
        ("[[clients]]", 'verify_files = "WW_verify_a.txt"\n[[clients]]'),
        "wecom.verify_files",
        "table",
    ),
    "verify_files value not a string": (
        ("[[clients]]", 'verify_files = { "WW_verify_a1.txt" = 1 }\n[[clients]]'),
        "wecom.verify_files.WW_verify_a1.txt",
        "string",
    ),
    "verify_files odd name": (
        ("[[clients]]", 'verify_files = { "../etc/passwd" = "x" }\n[[clients]]'),
        "wecom.verify_files.../etc/passwd",
        "WW_verify_",
    ),
    "keys_dir a number": (('keys_dir = "keys"', "keys_dir = 7"), "keys_dir", "string"),
    "keys_dir empty": (('keys_dir = "keys"', 'keys_dir = ""'), "keys_dir", "empty"),
    "issuer relative": (("https://sso.example.com", "sso.example.com"), "issuer", "absolute https URL"),
    "issuer not http": (("https://sso.example.com", "ftp://sso.example.com"), "issuer", "absolute https URL"),
    "issuer without host": (("https://sso.example.com", "https:///path"), "issuer", "absolute https URL"),
    "issuer broken ipv6": (("https://sso.example.com", "https://[::1"), "issuer", "absolute https URL"),
    "issuer bad port": (("https://sso.example.com", "https://sso.example.com:99999"), "issuer", "absolute"),
    "issuer query": (
        ("https://sso.example.com", "https://sso.example.com/?a=b"),
        "issuer",
        "query or fragment",
    ),
    "issuer fragment": (
        ("https://sso.example.com", "https://sso.example.com/#x"),
        "issuer",
        "query or fragment",
    ),
    "issuer empty query": (
        ("https://sso.example.com", "https://sso.example.com?"),
        "issuer",
        "query or fragment",
    ),
    "issuer with a space": (("https://sso.example.com", "https://sso.example.com "), "issuer", "spaces"),
    "http issuer": (("https://sso.example.com", "http://sso.example.com"), "issuer", "loopback"),
    "http issuer on a private address": (
        ("https://sso.example.com", "http://10.0.0.1:8000"),
        "issuer",
        "loopback",
    ),
    "http issuer on a loopback-looking name": (
        ("https://sso.example.com", "http://localhost.example.com"),
        "issuer",
        "loopback",
    ),
    "empty redirect_uris": ((REDIRECT, "redirect_uris = []"), "clients[0].redirect_uris", "at least one"),
    "relative redirect_uri": (
        (REDIRECT, 'redirect_uris = ["/login/generic_oauth"]'),
        "clients[0].redirect_uris",
        "absolute URI",
    ),
    "redirect_uri without host": (
        (REDIRECT, 'redirect_uris = ["https:/cb"]'),
        "clients[0].redirect_uris",
        "absolute",
    ),
    "redirect_uri with a fragment": (
        (REDIRECT, 'redirect_uris = ["https://grafana.example.com/cb#x"]'),
        "clients[0].redirect_uris",
        "fragment",
    ),
    "post-logout uri with a fragment": (
        (REDIRECT, REDIRECT + '\npost_logout_redirect_uris = ["https://g.example.com/#"]'),
        "clients[0].post_logout_redirect_uris",
        "fragment",
    ),
    "empty client_secret": (("file:grafana.secret", ""), "clients[0].client_secret", "public client"),
    "unset env var": (
        ("env:WECOM_SECRET", "env:NOT_SET_ANYWHERE"),
        "wecom.secret",
        "NOT_SET_ANYWHERE is not set",
    ),
    "env without a name": (("env:WECOM_SECRET", "env:"), "wecom.secret", "variable name"),
    "missing secret file": (
        ("file:grafana.secret", "file:nope.secret"),
        "clients[0].client_secret",
        "cannot read",
    ),
    "secret file is a directory": (
        ("file:grafana.secret", "file:."),
        "clients[0].client_secret",
        "cannot read",
    ),
    "file without a path": (("file:grafana.secret", "file:"), "clients[0].client_secret", "needs a path"),
    "inapp_scope unknown": (
        ("[[clients]]", 'inapp_scope = "snsapi_userinfo"\n[[clients]]'),
        "wecom.inapp_scope",
        "one of",
    ),
    "inapp_scope a number": (("[[clients]]", "inapp_scope = 1\n[[clients]]"), "wecom.inapp_scope", "string"),
    "zero lifetime": (
        ("[wecom]", "[tokens]\ncode_lifetime = 0\n[wecom]"),
        "tokens.code_lifetime",
        "positive",
    ),
    "negative lifetime": (
        ("[wecom]", "[tokens]\nlogin_lifetime = -5\n[wecom]"),
        "tokens.login_lifetime",
        "positive",
    ),
    "zero timeout": (("[[clients]]", "read_timeout = 0\n[[clients]]"), "wecom.read_timeout", "more than 0"),
    "infinite timeout": (("[[clients]]", "read_timeout = inf\n[[clients]]"), "wecom.read_timeout", "at most"),
    "nan timeout": (
        ("[[clients]]", "connect_timeout = nan\n[[clients]]"),
        "wecom.connect_timeout",
        "more than 0",
    ),
    "negative cache ttl": (
        ("[[clients]]", "department_cache_ttl = -1\n[[clients]]"),
        "wecom.department_cache_ttl",
        "0 or more",
    ),
    "unknown lang": (("[[clients]]", 'lang = "fr"\n[[clients]]'), "wecom.lang", "zh"),
    "empty corp_id": (('corp_id = "ww0123456789abcdef"', 'corp_id = ""'), "wecom.corp_id", "empty"),
    "api_base not a URL": (
        ("[[clients]]", 'api_base = "qyapi.weixin.qq.com"\n[[clients]]'),
        "wecom.api_base",
        "absolute",
    ),
    "unknown log_format": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nlog_format = "xml"'),
        "log_format",
        "'text', 'json'",
    ),
    "unknown log_level": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nlog_level = "LOUD"'),
        "log_level",
        "INFO",
    ),
    "redis_url not redis": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nredis_url = "http://x"'),
        "redis_url",
        "redis://",
    ),
    "redis_url empty": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nredis_url = ""'),
        "redis_url",
        "leave it out",
    ),
    "empty store_prefix": (
        ('keys_dir = "keys"', 'keys_dir = "keys"\nstore_prefix = ""'),
        "store_prefix",
        "empty",
    ),
    "duplicate client_id": (
        (REDIRECT, REDIRECT + "\n" + CLIENT + REDIRECT),
        "clients[1].client_id",
        "duplicate",
    ),
    "empty client_id": (('client_id = "grafana"', 'client_id = ""'), "clients[0].client_id", "empty"),
    "top-level key after a table": (
        (REDIRECT, REDIRECT + '\nredis_url = "redis://x"'),
        "clients[0].redis_url",
        "before the first",
    ),
}


@pytest.mark.parametrize(("change", "key", "words"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_names_its_key_and_file(
    write_config: WriteConfig, change: tuple[str, str], key: str, words: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD, "the change must apply"
    path = write_config(text)
    err = first_error(path)
    assert (err.key, err.file) == (key, str(path))
    assert words in err.message
    line = str(err)
    assert line == f"{path}: {key}: {err.message}" and "\n" not in line


def test_no_clients_at_all(write_config: WriteConfig) -> None:
    err = first_error(write_config(GOOD[: GOOD.index("[[clients]]")]))
    assert err.key == "clients" and "at least one [[clients]]" in err.message


def test_clients_must_be_an_array_of_tables(write_config: WriteConfig) -> None:
    text = GOOD.replace('keys_dir = "keys"', 'keys_dir = "keys"\nclients = "grafana"').replace(
        "[[clients]]", "[x]"
    )
    err = first_error(write_config(text))
    assert err.key == "clients" and "array of tables" in err.message


def test_no_wecom_table_at_all(write_config: WriteConfig) -> None:
    text = GOOD[: GOOD.index("[wecom]")] + GOOD[GOOD.index("[[clients]]") :]
    err = first_error(write_config(text))
    assert err.key == "wecom" and "[wecom]" in err.message


def test_a_secret_never_appears_in_an_error(write_config: WriteConfig) -> None:
    # The value came from the environment; the message says where it came from, not what it is.
    path = write_config(GOOD.replace('issuer = "https://sso.example.com"', 'issuer = "env:ISSUER"'))
    err = first_error(path, {**ENV, "ISSUER": "ftp://sso.example.com"})
    assert err.key == "issuer"
    assert "wecom-secret" not in str(err) and "grafana-secret" not in str(err)


@pytest.mark.parametrize(
    "issuer",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://[::1]:8080/sso",
        "http://localhost:5556/dex",
        "https://sso.example.com/",
        "https://sso.example.com:8443/tenant/a",
    ],
)
def test_loopback_http_and_any_https_issuer_is_accepted(write_config: WriteConfig, issuer: str) -> None:
    s = load_config(write_config(GOOD.replace("https://sso.example.com", issuer)), env=ENV)
    assert s.issuer == issuer
