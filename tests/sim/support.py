"""A small client that speaks to the simulator over HTTP as a bridge would, and page helpers."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from oidc_bridge.wecom_sim import SimulatorServer

CALLBACK = "http://127.0.0.1:5556/wecom/callback"


class SimClient:
    """What a bridge does, reduced to the calls tests need."""

    def __init__(self, sim: SimulatorServer, http: requests.Session) -> None:
        self.sim = sim
        self.http = http

    def url(self, path: str) -> str:
        return urljoin(self.sim.base_url, path)

    # cgi-bin

    def gettoken(self, corpid: str | None = None, secret: str | None = None) -> dict[str, Any]:
        d = self.sim.directory
        params = {"corpid": corpid or d.corp_id, "corpsecret": secret or d.secret}
        return self.http.get(self.url("/cgi-bin/gettoken"), params=params, timeout=5).json()

    def token(self) -> str:
        return self.gettoken()["access_token"]

    def api(self, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        params["access_token"] = self.token() if token is None else token
        return self.http.get(self.url(path), params=params, timeout=5).json()

    def exchange(self, code: str) -> dict[str, Any]:
        return self.api("/cgi-bin/auth/getuserinfo", code=code)

    def detail(self, ticket: Any) -> dict[str, Any]:
        url = self.url("/cgi-bin/auth/getuserdetail")
        params = {"access_token": self.token()}
        return self.http.post(url, params=params, json={"user_ticket": ticket}, timeout=5).json()

    # login pages

    def sso_params(self, redirect_uri: str = CALLBACK, state: str = "h4ndle") -> dict[str, str]:
        d = self.sim.directory
        return {
            "login_type": "CorpApp",
            "appid": d.corp_id,
            "agentid": d.agent_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }

    def oauth_params(
        self,
        scope: str = "snsapi_base",
        state: str = "h4ndle",
        redirect_uri: str = CALLBACK,
        agentid: bool = True,
    ) -> dict[str, str]:
        d = self.sim.directory
        params = {
            "appid": d.corp_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
        }
        if agentid:
            params["agentid"] = d.agent_id
        return params

    def open(self, path: str, params: dict[str, str] | None = None) -> requests.Response:
        """A browser GET that does not follow redirects: we look at where WeCom sends it."""
        return self.http.get(self.url(path), params=params, allow_redirects=False, timeout=5)

    def sso(self, **kw: str) -> requests.Response:
        return self.open("/wwlogin/sso/login", self.sso_params(**kw))

    def oauth(self, **kw: Any) -> requests.Response:
        return self.open("/connect/oauth2/authorize", self.oauth_params(**kw))

    def login(self, userid: str, flow: str = "sso", **kw: Any) -> dict[str, str]:
        """Log in via auto_approve; the callback's query parameters."""
        self.sim.auto_approve = userid
        try:
            resp = self.sso(**kw) if flow == "sso" else self.oauth(**kw)
        finally:
            self.sim.auto_approve = None
        assert resp.status_code == 302, resp.text
        return callback_params(resp)


def callback_params(resp: requests.Response) -> dict[str, str]:
    query = urlsplit(resp.headers["Location"]).query
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def links(page: str) -> dict[str, str]:
    """The page's links keyed by data-userid or data-action."""
    found = re.findall(r'data-(?:userid|action)="([^"]+)"[^>]*href="([^"]+)"', page)
    return {key: html.unescape(href) for key, href in found}


def page_errcode(page: str) -> int | None:
    match = re.search(r'data-errcode="(-?\d+)"', page)
    return int(match.group(1)) if match else None
