"""The errcode table: categories, admin hints, and what is parsed out of errmsg."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oidc_bridge.connectors.wecom.errcodes import (
    ERRCODES,
    error_from_response,
    refusal_for,
    unreachable,
    wrong_endpoint,
)
from oidc_bridge.errors import AccessDenied, ServerError, TemporarilyUnavailable

IP_ERRMSG = (
    "not allow to access from your ip, hint: [1706848717432011565347844], from ip: 203.0.113.5, "
    "more info at https://open.work.weixin.qq.com/devtool/query?e=60020"
)
CJK = re.compile(r"[\u4e00-\u9fff]")

# Every row of wecom-api.md §4, with the category the spec gives it.
SPEC_ROWS = {
    40001: "config",
    40013: "config",
    40056: "config",
    40091: "config",
    48002: "config",
    50001: "config",
    50002: "user",
    50003: "config",
    60011: "user",
    60020: "config",
    60111: "user",
    80001: "config",
    84014: "user",
    84015: "user",
    84025: "config",
    40014: "transient",
    42001: "transient",
    40029: "user",
    42003: "user",
    45009: "rate_limit",
    45033: "rate_limit",
    -1: "transient",
}


@pytest.mark.parametrize(("errcode", "category"), sorted(SPEC_ROWS.items()))
def test_every_documented_errcode_has_its_category_and_a_hint(errcode: int, category: str) -> None:
    assert errcode in ERRCODES
    err = error_from_response("user/get", {"errcode": errcode, "errmsg": "x"})
    assert (err.errcode, err.category) == (errcode, category)
    assert err.admin_hint and err.user_message


def test_untrusted_ip_names_the_ip_and_the_console_setting() -> None:
    err = error_from_response("user/get", {"errcode": 60020, "errmsg": IP_ERRMSG})
    assert err.from_ip == "203.0.113.5"
    assert err.request_hint == "1706848717432011565347844"
    assert err.admin_hint == (
        "add IP 203.0.113.5 to the app's Trusted IP list (企业可信IP) in the WeCom admin console; "
        "takes about a minute"
    )
    assert err.category == "config"
    assert isinstance(err.as_oauth_error(), ServerError)


def test_untrusted_ip_without_from_ip_still_says_what_to_do() -> None:
    err = error_from_response("user/get", {"errcode": 60020, "errmsg": "not allow"})
    assert err.from_ip is None
    assert "Trusted IP list" in err.admin_hint


def test_unknown_errcode_is_a_config_error_pointing_at_the_devtool() -> None:
    err = error_from_response("user/get", {"errcode": 99999, "errmsg": "新错误"})
    assert err.category == "config"
    assert "99999" in err.admin_hint
    assert "https://open.work.weixin.qq.com/devtool/query?e=99999" in err.admin_hint


def test_chinese_errmsg_stays_in_detail() -> None:
    err = error_from_response("auth/getuserinfo", {"errcode": 40029, "errmsg": "不合法的oauth_code"})
    assert "不合法的oauth_code" in err.detail
    assert not CJK.search(err.user_message)
    assert "不合法" not in err.admin_hint
    assert isinstance(err.as_oauth_error(), AccessDenied)


@given(errcode=st.integers(min_value=-(2**31), max_value=2**31).filter(bool), tail=st.text())
def test_errmsg_never_reaches_the_person_or_the_admin_hint(errcode: int, tail: str) -> None:
    errmsg = "错误" + tail  # no hint of ours contains this word
    err = error_from_response("user/get", {"errcode": errcode, "errmsg": errmsg})
    assert errmsg in err.detail
    assert "错误" not in err.admin_hint
    assert not CJK.search(err.user_message)


@given(errmsg=st.text())
def test_decisions_ignore_errmsg_text(errmsg: str) -> None:
    a = error_from_response("user/get", {"errcode": 45009, "errmsg": errmsg})
    assert a.category == "rate_limit"
    assert isinstance(a.as_oauth_error(), TemporarilyUnavailable)


def test_hint_and_ip_are_parsed_from_any_errcode() -> None:
    err = error_from_response(
        "gettoken", {"errcode": 40001, "errmsg": "invalid credential, hint: [123], from ip: 198.51.100.7"}
    )
    assert (err.request_hint, err.from_ip) == ("123", "198.51.100.7")
    assert "Secret" in err.admin_hint


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [(50002, "outside_visible_range"), (60011, "outside_visible_range"), (60111, "not_found")],
)
def test_membership_errcodes_become_login_refusals(errcode: int, reason: str) -> None:
    refusal = refusal_for(error_from_response("user/get", {"errcode": errcode, "errmsg": "no"}))
    assert refusal is not None
    assert refusal.reason == reason
    assert refusal.user_message


def test_other_errcodes_are_not_refusals() -> None:
    assert refusal_for(error_from_response("user/get", {"errcode": 40029})) is None
    assert refusal_for(unreachable("user/get", "timed out")) is None


def test_unreachable_and_wrong_endpoint() -> None:
    down = unreachable("user/get", "timed out")
    assert (down.errcode, down.category) == (None, "transient")
    assert isinstance(down.as_oauth_error(), TemporarilyUnavailable)
    wrong = wrong_endpoint("user/get", 404)
    assert (wrong.errcode, wrong.category) == (None, "config")
    assert "api_base" in wrong.admin_hint
