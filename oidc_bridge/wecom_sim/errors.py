"""WeCom error answers: the codes the simulator gives and the errmsg shape WeCom uses.

Real errmsgs end with a request id ("hint"), the caller's IP and a link (Doc 90313; shapes
from public issue reports), and the bridge parses that tail for 60020, so every error carries it.
"""

from __future__ import annotations

import secrets
import time

# errmsg heads, close to WeCom's English texts. The bridge must never decide by these.
ERRMSG: dict[int, str] = {
    -1: "system busy",
    40001: "invalid secret",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40068: "invalid tagid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "secret missing",
    41008: "missing oauth code",
    41009: "missing userid",
    41017: "missing tagid",
    42001: "access_token expired",
    42003: "oauth code expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48002: "api forbidden",
    50001: "redirect_url not in trusted domain",
    50002: "user not in the app's visible range",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    60123: "invalid party id",
    84014: "user ticket expired",
    84015: "invalid user ticket",
    84025: "invalid state, state must match [a-zA-Z0-9]{0,128}",
}

# What the login pages say (WeCom shows Chinese text on its own pages).
PAGE_MESSAGE: dict[int, str] = {
    -31020: "redirect_uri 与配置的授权完成回调域名不一致 (redirect_uri does not match the trusted domain)",
    -31027: "appid 参数错误 (appid is not this corp's CorpID)",
    -31028: "agentid 参数错误 (agentid does not belong to this corp)",
    -31035: "redirect_uri 参数为空 (redirect_uri is empty)",
    -31040: "login_type 参数错误 (login_type must be CorpApp)",
    40013: "appid 参数错误 (appid is not this corp's CorpID)",
    40058: "参数错误 (invalid parameter)",
    50001: "redirect_uri 需使用应用可信域名 (redirect_uri is not under the app's trusted domain)",
    50002: "你没有权限登录此应用 (you are outside this app's visible range)",
    60111: "成员不存在 (no such member)",
    84025: "state 参数不合法 (state must match [a-zA-Z0-9]{0,128})",
}


class SimApiError(Exception):
    """A cgi-bin call's failure, rendered as WeCom's JSON envelope."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg  # verbatim when given, else ERRMSG + the usual tail


class SimPageError(Exception):
    """A login page's failure, rendered as an HTML page (status 200, like WeCom)."""

    def __init__(self, errcode: int, message: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.message = message or PAGE_MESSAGE.get(errcode) or ERRMSG.get(errcode, "错误 (error)")


def new_hint() -> str:
    """A request id shaped like WeCom's: 25 digits, milliseconds first."""
    return f"{int(time.time() * 1000)}{secrets.randbelow(10**12):012d}"


def format_errmsg(errcode: int, remote_addr: str) -> str:
    """``"<text>, hint: [<digits>], from ip: <ip>, more info at https://...?e=<errcode>"``."""
    head = ERRMSG.get(errcode, "error")
    return (
        f"{head}, hint: [{new_hint()}], from ip: {remote_addr}, "
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    )
