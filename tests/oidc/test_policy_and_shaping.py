"""Per-client access policy and claim shaping."""

from __future__ import annotations

from dataclasses import replace

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


LISI = claims_from_identity(
    Identity(user_id="lisi", department_ids=(3,), department_ancestry=(3, 1), tags=((1, "财务审批"), (9, "")))
)


@pytest.mark.parametrize("allowed", [(1,), ("财务审批",), (42, "财务审批"), ("其他", 1)])
def test_a_tag_by_id_or_by_name_lets_the_person_in(allowed: tuple[int | str, ...]) -> None:
    check_access(client(allowed_tags=allowed), LISI)


@pytest.mark.parametrize("allowed", [(2,), ("1",), ("研发全员",), ("",)])
def test_an_id_never_matches_a_name_nor_a_name_an_id(allowed: tuple[int | str, ...]) -> None:
    with pytest.raises(LoginRefused) as refused:
        check_access(client(allowed_tags=allowed), LISI)
    assert "department, tag or account" in refused.value.user_message
    assert "tags" in refused.value.detail


def test_the_three_lists_combine_with_or() -> None:
    mixed = client(allowed_departments=(2,), allowed_users=("wangwu",), allowed_tags=("财务审批",))
    check_access(mixed, LISI)  # by tag
    check_access(mixed, ZHANGSAN)  # by department
    with pytest.raises(LoginRefused):
        check_access(replace(mixed, allowed_tags=(5,)), LISI)


def test_a_person_without_tags_has_no_tag_claims_and_only_tags_restrict_them() -> None:
    assert not {"_tag_ids", "_tag_names"} & ZHANGSAN.keys()
    assert (LISI["_tag_ids"], LISI["_tag_names"]) == ([1, 9], ["财务审批"])
    with pytest.raises(LoginRefused):
        check_access(client(allowed_tags=(1,)), ZHANGSAN)


def test_private_tag_claims_never_reach_a_client() -> None:
    every_scope = ["openid", "profile", "email", "phone", "groups", "offline_access"]
    shaped = claims_for_client(LISI, every_scope, client(claim_aliases={"tags": "_tag_names"}))
    assert not [k for k in shaped if k.startswith("_") or k == "tags"]


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
