"""Per-client access policy and claim shaping."""

from __future__ import annotations

import pytest

from oidc_bridge.config.schema import ClientSettings
from oidc_bridge.connectors.base import Identity
from oidc_bridge.errors import LoginRefused
from oidc_bridge.oidc.claims import claims_for_client, claims_from_identity
from oidc_bridge.oidc.policy import check_access

ZHANGSAN = claims_from_identity(
    Identity(
        user_id="ZhangSan",
        name="张三",
        phone_number="+86 138",
        groups=("研发部",),
        department_ids=(2,),
        department_ancestry=(2, 1),
    )
)


def client(**kwargs: object) -> ClientSettings:
    return ClientSettings("app", ("https://a/cb",), client_secret="x" * 20, name="Grafana", **kwargs)


def test_no_restriction_lets_everyone_in() -> None:
    check_access(client(), ZHANGSAN)


@pytest.mark.parametrize(
    "allowed",
    [{"allowed_departments": (1,)}, {"allowed_departments": (2,)}, {"allowed_users": ("ZhangSan",)}],
)
def test_a_parent_department_or_the_userid_lets_the_person_in(allowed) -> None:
    check_access(client(**allowed), ZHANGSAN)


def test_someone_outside_is_refused_with_the_apps_name() -> None:
    with pytest.raises(LoginRefused) as refused:
        check_access(client(allowed_departments=(3,), allowed_users=("lisi",)), ZHANGSAN)
    assert refused.value.reason == "not_allowed"
    assert "Grafana" in refused.value.user_message


def test_private_department_claims_never_reach_a_client() -> None:
    shaped = claims_for_client(ZHANGSAN, ["openid", "profile", "groups", "phone"], client())
    assert not [k for k in shaped if k.startswith("_")]
    assert shaped["groups"] == ["研发部"]


def test_aliases_group_ids_and_lowercase_usernames() -> None:
    shaped = claims_for_client(
        ZHANGSAN,
        ["openid", "profile", "groups", "phone"],
        client(claim_aliases={"phone": "phone_number"}, groups_claim="ids", lowercase_username=True),
    )
    assert shaped["phone"] == shaped["phone_number"] == "+86 138"
    assert shaped["groups"] == ["2"]
    assert shaped["preferred_username"] == "zhangsan"
    assert ZHANGSAN["sub"] == "ZhangSan", "sub is never changed by shaping"


def test_an_alias_only_appears_when_its_scope_was_granted() -> None:
    shaped = claims_for_client(ZHANGSAN, ["openid"], client(claim_aliases={"phone": "phone_number"}))
    assert "phone" not in shaped


def test_subject_policies() -> None:
    from dataclasses import replace

    from oidc_bridge.config.schema import Settings, WeComSettings
    from oidc_bridge.oidc.subject import subject_for

    base = Settings(issuer="https://sso.example.com", wecom=WeComSettings("wwcorp", "1", "s"), clients=())
    assert subject_for(base, "zhangsan") == "zhangsan"
    assert subject_for(replace(base, subject="corp_userid"), "zhangsan") == "wwcorp/zhangsan"
    hashed = replace(base, subject="hash", subject_salt="s" * 16)
    opaque = subject_for(hashed, "zhangsan")
    assert opaque == subject_for(hashed, "zhangsan") and "zhangsan" not in opaque
    assert opaque != subject_for(replace(hashed, subject_salt="t" * 16), "zhangsan")
    assert opaque != subject_for(replace(hashed, wecom=WeComSettings("other", "1", "s")), "zhangsan")
