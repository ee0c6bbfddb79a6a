"""Whatever a person types into the config, the answer is Settings or a ConfigError, never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidc_bridge.config.loader import load_config, parse_settings
from oidc_bridge.config.schema import Settings
from oidc_bridge.errors import ConfigError

from .conftest import ENV, GOOD

VALID: dict[str, Any] = {
    "issuer": "https://sso.example.com",
    "keys_dir": "keys",
    "wecom": {"corp_id": "ww01", "agent_id": "1000002", "secret": "env:WECOM_SECRET"},
    "tokens": {"code_lifetime": 60},
    "clients": [{"client_id": "grafana", "redirect_uris": ["https://grafana.example.com/cb"]}],
}

# Every typed key, plus a few names that are no key at all.
PATHS: list[tuple[Any, ...]] = [
    *[(k,) for k in ("issuer", "redis_url", "keys_dir", "store_prefix", "log_format", "log_level", "wecomm")],
    ("wecom",),
    ("tokens",),
    ("clients",),
    *[
        ("wecom", k)
        for k in (
            "corp_id",
            "agent_id",
            "secret",
            "api_base",
            "oauth_base",
            "sso_base",
            "inapp_scope",
            "verify_files",
            "connect_timeout",
            "read_timeout",
            "department_cache_ttl",
            "lang",
            "nope",
        )
    ],
    *[
        ("tokens", k)
        for k in ("access_token_lifetime", "id_token_lifetime", "code_lifetime", "login_lifetime")
    ],
    *[
        ("clients", 0, k)
        for k in ("client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris", "name", "x")
    ],
    ("clients", 0),
]

SPECIAL_STRINGS = st.sampled_from(
    [
        "",
        "env:",
        "env:WECOM_SECRET",
        "env:UNSET",
        "file:",
        "file:missing",
        "file:.",
        "auto",
        "snsapi_base",
        "text",
        "json",
        "INFO",
        "https://x.example",
        "http://127.0.0.1:1",
        "http://[::1",
        "https://x:99999",
        "redis://",
        "WW_verify_a.txt",
        "a#b",
        "zh",
    ]
)
SCALARS = st.one_of(
    st.text(max_size=20),
    SPECIAL_STRINGS,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _with(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``data`` with ``path`` set to ``value``, or removed when ``value`` is None.

    A path through something that is no longer a table or array (an earlier change replaced
    it) leaves ``data`` as it is.
    """
    head, rest = path[0], path[1:]
    if isinstance(data, list) and isinstance(head, int) and head < len(data):
        copy_list = list(data)
        copy_list[head] = _with(copy_list[head], rest, value) if rest else value
        return copy_list
    if not isinstance(data, dict) or not isinstance(head, str):
        return data
    copy = dict(data)
    if rest:
        if head in copy:
            copy[head] = _with(copy[head], rest, value)
    elif value is None:
        copy.pop(head, None)
    else:
        copy[head] = value
    return copy


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(PATHS), st.one_of(st.none(), TOML_VALUES)), min_size=1, max_size=3
    )
)
def test_any_value_for_any_key_gives_settings_or_a_config_error(tmp_path: Path, changes) -> None:
    data = VALID
    for path, value in changes:
        data = _with(data, path, value)
    try:
        result = parse_settings(data, source="test.toml", base_dir=tmp_path, env=ENV)
    except ConfigError as err:
        line = str(err)
        assert line.startswith("test.toml: ") and line.isprintable(), line
        return
    assert isinstance(result, Settings)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=len(GOOD)), junk=st.text(min_size=1, max_size=12))
def test_any_typo_in_the_file_gives_settings_or_a_config_error(
    tmp_path: Path, position: int, junk: str
) -> None:
    path = tmp_path / "oidc-bridge.toml"
    (tmp_path / "grafana.secret").write_text("s", encoding="utf-8")
    path.write_text(GOOD[:position] + junk + GOOD[position:], encoding="utf-8")
    try:
        load_config(path, env=ENV)
    except ConfigError as err:
        assert err.file == str(path) and str(err).isprintable(), str(err)
