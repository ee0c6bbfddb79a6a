"""The one table of WeCom errcodes (Doc 90313, wecom-api.md §4) and the WeComError built from it.

Every decision about a WeCom failure is made from its errcode, never from errmsg text: WeCom
rewords errmsg freely, and it is Chinese. errmsg goes into ``detail`` (logs) and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...errors import LoginRefused, WeComCategory, WeComError

DEVTOOL_URL = "https://open.work.weixin.qq.com/devtool/query?e={errcode}"


@dataclass(frozen=True)
class Errcode:
    """What an errcode means, for the admin (``admin_hint``) and for the person (``user_message``).

    ``refusal`` is set when the errcode means "this person may not sign in": the connector then
    raises LoginRefused with it as the reason instead of a WeComError.
    """

    category: WeComCategory
    admin_hint: str
    user_message: str
    refusal: str | None = None


_ADMIN_FAULT = "Sign-in through WeCom is not set up correctly. Please tell your administrator."
_TRY_AGAIN = "WeCom is busy or could not be reached. Please try again in a minute."
_SIGN_IN_AGAIN = "This WeCom sign-in has expired. Please sign in again."
_BRIDGE_BUG = "The sign-in service made a mistake talking to WeCom. Please tell your administrator."
_SECRET_WRONG = (
    "the app Secret is wrong, was reset, or the app is disabled: copy the Secret again from the "
    "app's page in the WeCom admin console (应用管理 → the app → Secret)"
)
_OUTSIDE_RANGE = (
    "You are not allowed to use this app. Ask your WeCom administrator to add you to its visible range."
)

ERRCODES: Mapping[int, Errcode] = MappingProxyType(
    {
        -1: Errcode(
            "transient", "WeCom answered 'system busy'; it usually passes within seconds", _TRY_AGAIN
        ),
        40001: Errcode("config", _SECRET_WRONG, _ADMIN_FAULT),
        40013: Errcode(
            "config",
            "corp_id is wrong: see My Company (我的企业) → Corp ID in the admin console",
            _ADMIN_FAULT,
        ),
        40014: Errcode(
            "transient", "WeCom ended the access token early; the bridge fetches a new one", _TRY_AGAIN
        ),
        40029: Errcode(
            "user",
            "the login code was invalid, already used or expired; if frequent, check that two servers "
            "are not handling the same callback",
            _SIGN_IN_AGAIN,
        ),
        40056: Errcode(
            "config", "agent_id does not belong to this corp: check the app's AgentId", _ADMIN_FAULT
        ),
        40068: Errcode(
            "config",
            "the tag id is unknown to WeCom: the tag was deleted, or the app cannot see it; check "
            "allowed_tags against the tags in the admin console (通讯录 → 标签)",
            _ADMIN_FAULT,
        ),
        40091: Errcode(
            "config", _SECRET_WRONG + " (the Secret belongs to another corp or app)", _ADMIN_FAULT
        ),
        41001: Errcode("config", "the bridge sent no access_token (a bridge bug)", _BRIDGE_BUG),
        41008: Errcode("config", "the bridge sent no login code (a bridge bug)", _BRIDGE_BUG),
        41017: Errcode("config", "the bridge sent no tagid (a bridge bug)", _BRIDGE_BUG),
        42001: Errcode(
            "transient", "the access token expired early; the bridge fetches a new one", _TRY_AGAIN
        ),
        42003: Errcode("user", "the login code expired (codes last 5 minutes)", _SIGN_IN_AGAIN),
        45009: Errcode(
            "rate_limit",
            "WeCom is limiting calls from this corp or IP (frequency limit); it lifts after 1 to 60 minutes",
            _TRY_AGAIN,
        ),
        45033: Errcode("rate_limit", "WeCom is limiting concurrent calls from this corp or IP", _TRY_AGAIN),
        48002: Errcode(
            "config",
            "this API is not allowed for this Secret: use a self-built app's (自建应用) Secret",
            _ADMIN_FAULT,
        ),
        50001: Errcode(
            "config",
            "the callback domain is not trusted for this app: set the trusted domain to HOST:PORT "
            "exactly (port included, no scheme)",
            _ADMIN_FAULT,
        ),
        50002: Errcode(
            "user",
            "the member is outside the app's visible range (可见范围): widen it if they should sign in",
            _OUTSIDE_RANGE,
            refusal="outside_visible_range",
        ),
        50003: Errcode("config", "the app is disabled: enable it in the WeCom admin console", _ADMIN_FAULT),
        60011: Errcode(
            "user",
            "the user or department is outside the app's visible range (可见范围)",
            _OUTSIDE_RANGE,
            refusal="outside_visible_range",
        ),
        60020: Errcode(
            "config",
            "add this server's egress IP to the app's Trusted IP list (企业可信IP) in the WeCom admin "
            "console; takes about a minute",
            _ADMIN_FAULT,
        ),
        60111: Errcode(
            "user",
            "the userid was not found: the member left, was deleted or is hidden from the app",
            "Your WeCom account was not found in this company. Ask your WeCom administrator.",
            refusal="not_found",
        ),
        80001: Errcode(
            "config",
            "the trusted domain is unverified or has no ICP filing: verify it with the WW_verify file",
            _ADMIN_FAULT,
        ),
        84014: Errcode("user", "the user_ticket expired (tickets last 1800 s)", _SIGN_IN_AGAIN),
        84015: Errcode("user", "the user_ticket is invalid", _SIGN_IN_AGAIN),
        84025: Errcode(
            "config",
            "WeCom refused the state parameter: it must match [a-zA-Z0-9]{0,128} (a bridge bug)",
            _BRIDGE_BUG,
        ),
        # Login-page errors (Doc 98151): shown on WeCom's page, never returned to the bridge, but
        # an admin may read them off a screenshot.
        -31020: Errcode(
            "config",
            "redirect_uri does not match the app's web-login callback domain (授权回调域), port included",
            _ADMIN_FAULT,
        ),
        -31027: Errcode("config", "the login page got a wrong appid: check corp_id", _ADMIN_FAULT),
        -31028: Errcode("config", "the login page got a wrong agentid: check agent_id", _ADMIN_FAULT),
        -31035: Errcode("config", "the login page got an empty redirect_uri (a bridge bug)", _BRIDGE_BUG),
        -31039: Errcode(
            "config",
            "redirect_uri's domain is not the app's trusted domain (可信域名), port included",
            _ADMIN_FAULT,
        ),
        -31040: Errcode("config", "the login page got a wrong login_type (a bridge bug)", _BRIDGE_BUG),
    }
)

# 40014 / 42001: fetch a new access token once and retry the call once (wecom-api.md §3).
TOKEN_EXPIRED = frozenset({40014, 42001})
# Busy / concurrency / frequency: one short bounded retry, then give up (Doc 90312).
RETRY_ONCE = frozenset({-1, 45009, 45033})

# errmsg tail: "..., hint: [1706848717432011565347844], from ip: 203.0.113.5, more info at ..."
_HINT = re.compile(r"hint:\s*\[(\d+)\]")
_FROM_IP = re.compile(r"from ip:\s*([0-9A-Fa-f:.]+[0-9A-Fa-f])")


def lookup(errcode: int) -> Errcode:
    """The table row; an unknown errcode is a config problem the admin can look up."""
    known = ERRCODES.get(errcode)
    if known is not None:
        return known
    return Errcode(
        "config",
        f"WeCom answered errcode {errcode}, unknown to the bridge: see {DEVTOOL_URL.format(errcode=errcode)}",
        _ADMIN_FAULT,
    )


def parse_errmsg_tail(errmsg: str) -> tuple[str | None, str | None]:
    """WeCom's request id (for its support) and the caller IP it saw, when errmsg carries them."""
    hint = _HINT.search(errmsg)
    ip = _FROM_IP.search(errmsg)
    return (hint.group(1) if hint else None, ip.group(1) if ip else None)


def wecom_error(call: str, errcode: int, errmsg: str = "") -> WeComError:
    """The WeComError for an errcode WeCom answered to ``call`` (e.g. "user/get")."""
    row = lookup(errcode)
    request_hint, from_ip = parse_errmsg_tail(errmsg)
    admin_hint = row.admin_hint
    if errcode == 60020 and from_ip:
        admin_hint = (
            f"add IP {from_ip} to the app's Trusted IP list (企业可信IP) in the WeCom admin console; "
            "takes about a minute"
        )
    detail = f"WeCom {call}: errcode {errcode}" + (f": {errmsg}" if errmsg else "")
    return WeComError(
        errcode,
        row.category,
        admin_hint,
        row.user_message,
        detail,
        request_hint=request_hint,
        from_ip=from_ip,
    )


def error_from_response(call: str, payload: Mapping[str, Any]) -> WeComError:
    """Turn a failed WeCom JSON answer (``errcode`` present and non-zero) into a WeComError."""
    errcode = int(payload["errcode"])
    errmsg = payload.get("errmsg")
    return wecom_error(call, errcode, errmsg if isinstance(errmsg, str) else "")


def unreachable(call: str, why: str) -> WeComError:
    """WeCom could not be reached or gave no usable answer (timeout, HTTP 5xx, not JSON)."""
    return WeComError(
        None,
        "transient",
        f"WeCom {call} failed ({why}): check this server's network path to WeCom if it persists",
        _TRY_AGAIN,
        f"WeCom {call}: {why}",
    )


def wrong_endpoint(call: str, status: int) -> WeComError:
    """WeCom always answers 200; a 404 or 403 means api_base points somewhere else."""
    return WeComError(
        None,
        "config",
        f"WeCom {call} answered HTTP {status}: check api_base in the [wecom] settings",
        _ADMIN_FAULT,
        f"WeCom {call}: HTTP {status}",
    )


def refusal_for(error: WeComError) -> LoginRefused | None:
    """The LoginRefused an errcode stands for (outside the visible range, not found), or None."""
    row = ERRCODES.get(error.errcode) if error.errcode is not None else None
    if row is None or row.refusal is None:
        return None
    return LoginRefused(row.user_message, detail=error.detail, reason=row.refusal)
