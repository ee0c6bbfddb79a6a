"""[[wecom.apps]]: more WeCom apps, of the same corp or of others, and clients pinned to them."""

from __future__ import annotations

import pytest

from oidc_bridge.config.loader import load_config
from oidc_bridge.config.validate import ConfigErrors

from .conftest import ENV, WriteConfig

HEAD = """\
issuer = "https://sso.example.com"
subject = "corp_userid"

[wecom]
corp_id = "wwhq"
agent_id = "1000002"
secret = "env:WECOM_SECRET"
name = "Example HQ"
api_base = "https://wecom-proxy.example.com"
email_domain = "example.com"
"""

CLIENT = """
[[clients]]
client_id = "grafana"
client_secret = "file:grafana.secret"
redirect_uris = ["https://grafana.example.com/login/generic_oauth"]
"""

FACTORY = """
[[wecom.apps]]
id = "factory"
name = "Example Factory"
corp_id = "wwfactory"
agent_id = "1000002"
secret = "factory-secret"
"""


def errors_of(write_config: WriteConfig, text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(write_config(text), env=ENV)
    return [str(e) for e in caught.value.errors]


def test_an_app_inherits_what_it_does_not_set_but_never_the_secret_or_agent(
    write_config: WriteConfig,
) -> None:
    s = load_config(write_config(HEAD + FACTORY + CLIENT + 'wecom_apps = ["factory"]\n'), env=ENV)
    main, factory = s.wecom_apps
    assert (main.id, main.display_name) == ("main", "Example HQ")
    assert (factory.id, factory.display_name, factory.corp_id) == ("factory", "Example Factory", "wwfactory")
    assert factory.secret == "factory-secret" and factory.agent_id == "1000002"
    assert factory.api_base == "https://wecom-proxy.example.com" and factory.email_domain == "example.com"
    assert factory.apps == () and s.clients[0].wecom_apps == ("factory",)


def test_a_second_app_of_the_same_corp_needs_only_its_own_agent_and_secret(write_config: WriteConfig) -> None:
    app = '\n[[wecom.apps]]\nid = "oa"\nagent_id = "1000007"\nsecret = "oa-secret"\n'
    s = load_config(write_config(HEAD.replace('subject = "corp_userid"\n', "") + app + CLIENT), env=ENV)
    assert [(a.corp_id, a.agent_id) for a in s.wecom_apps] == [("wwhq", "1000002"), ("wwhq", "1000007")]
    assert s.wecom_apps[1].secret == "oa-secret"


def test_an_app_without_its_own_agent_and_secret_is_refused(write_config: WriteConfig) -> None:
    errors = errors_of(write_config, HEAD + '\n[[wecom.apps]]\nid = "oa"\n' + CLIENT)
    assert any("wecom.apps[0].agent_id: missing required key" in e for e in errors), errors
    assert any("wecom.apps[0].secret: missing required key" in e for e in errors), errors


def test_a_client_naming_an_unknown_app_gets_a_suggestion(write_config: WriteConfig) -> None:
    errors = errors_of(write_config, HEAD + FACTORY + CLIENT + 'wecom_apps = ["factroy"]\n')
    assert errors == [
        f"{write_config('').parent / 'oidc-bridge.toml'}: clients[0].wecom_apps: no WeCom app has id "
        "'factroy'; did you mean 'factory'?"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (FACTORY.replace('id = "factory"', 'id = "main"'), "wecom.apps[0].id: duplicate WeCom app id 'main'"),
        (
            FACTORY.replace('corp_id = "wwfactory"', 'corp_id = "wwhq"'),
            "app 1000002 of corp wwhq is listed twice",
        ),
        (FACTORY.replace('id = "factory"', 'id = "Factory!"'), "wecom.apps[0].id: must be 1-32 lowercase"),
        ('\n[[wecom.apps]]\nid = "x"\nagent_id = "1"\nsecret = "s"\napps = []\n', "apps cannot be nested"),
        ('\n[wecom.apps]\nid = "x"\n', "wecom.apps: must be an array of tables"),
    ],
)
def test_app_mistakes_are_one_line_each(write_config: WriteConfig, extra: str, expected: str) -> None:
    errors = errors_of(write_config, HEAD + extra + CLIENT)
    assert any(expected in e for e in errors), errors


def test_userid_subjects_cannot_serve_two_corps(write_config: WriteConfig) -> None:
    errors = errors_of(
        write_config, HEAD.replace('subject = "corp_userid"', 'subject = "userid"') + FACTORY + CLIENT
    )
    assert any('subject: subject = "userid" cannot tell apart' in e for e in errors), errors


def test_settings_never_show_a_secret_in_their_repr(write_config: WriteConfig) -> None:
    top = 'setup_token = "setup-token-0123456789"\nsubject = "hash"\nsubject_salt = "salt-0123456789abcdef"\n'
    text = top + HEAD.replace('subject = "corp_userid"\n', "") + FACTORY + CLIENT
    shown = repr(load_config(write_config(text), env=ENV))
    for secret in ("wecom-secret", "factory-secret", "grafana-secret", "setup-token-", "salt-0123"):
        assert secret not in shown
