"""One full login as a browser plus a confidential client would do it, every hop checked.

Kept apart from ``logins.py`` so the flow reads on its own: what a login is, not how it is timed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

if TYPE_CHECKING:
    from harness import SimulatorProcess

USERID = "zhangsan"
CLIENT_ID = "bench"
CLIENT_SECRET = secrets.token_urlsafe(24)
REDIRECT_URI = "http://127.0.0.1:9/bench/callback"  # never served: the code is read from the URL
BRIDGE_REQUESTS_PER_LOGIN = 4  # authorize, callback, token, userinfo
TIMEOUT = 15


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwt_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class LoginFailed(AssertionError):
    pass


@dataclass(frozen=True)
class Grant:
    """An authorization code the client has not redeemed yet, with what redeeming it needs."""

    code: str
    verifier: str
    nonce: str


@dataclass(frozen=True)
class Login:
    """One full login as a browser plus a confidential client; every hop is checked."""

    issuer: str
    sim_url: str
    scope: str = "openid profile"

    # Where this provider keeps its endpoints (node-oidc-provider uses /auth and /me).
    authorize_path = "/authorize"
    userinfo_path = "/userinfo"

    def __call__(self, http: requests.Session) -> None:
        body = self.redeem(http, self.authorize(http))
        info = http.get(
            self.issuer + self.userinfo_path,
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=TIMEOUT,
        )
        _expect(info.status_code == 200, f"userinfo: {info.status_code} {info.text[:200]}")
        _expect(info.json().get("sub") == USERID, f"userinfo is not {USERID}: {info.text[:200]}")

    def authorize(self, http: requests.Session) -> Grant:
        """The browser's part, up to the code in the redirect to the client."""
        http.cookies.clear()  # a new browser each time: no session may skip the login
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": self.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        first = self._redirect(http.get(self.issuer + self.authorize_path, params=query, **_no_follow()))
        to_client = self.to_client(http, first)
        _expect(to_client.startswith(REDIRECT_URI), f"never reached the client: {to_client[:80]}")
        params = parse_qs(urlsplit(to_client).query)
        _expect("error" not in params, f"error: {params}")
        _expect(params.get("state") == [state] and params.get("iss") == [self.issuer], "state or iss wrong")
        _expect("code" in params, f"no code: {sorted(params)}")
        return Grant(params["code"][0], verifier, nonce)

    def to_client(self, http: requests.Session, first: str) -> str:
        """The bridge's hops: authorize -> WeCom (auto-approve) -> callback -> the client."""
        _expect(first.startswith(self.sim_url), f"authorize did not send to WeCom: {first[:80]}")
        to_bridge = self._redirect(http.get(first, **_no_follow()))
        _expect(
            to_bridge.startswith(self.issuer + "/"), f"WeCom did not return to the bridge: {to_bridge[:80]}"
        )
        return self._redirect(http.get(to_bridge, **_no_follow()))

    def redeem(self, http: requests.Session, grant: Grant) -> dict[str, Any]:
        """The client's code grant (client_secret_basic, PKCE); the id_token's nonce and aud checked."""
        body = self.token(
            http,
            {
                "grant_type": "authorization_code",
                "code": grant.code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": grant.verifier,
            },
        )
        claims = _jwt_payload(body["id_token"])
        _expect(
            claims.get("nonce") == grant.nonce and claims.get("aud") in (CLIENT_ID, [CLIENT_ID]), "id_token"
        )
        return body

    def token(self, http: requests.Session, form: dict[str, str]) -> dict[str, Any]:
        """POST /token as the confidential client; it must answer 200."""
        response = http.post(
            self.issuer + "/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT
        )
        _expect(response.status_code == 200, f"token: {response.status_code} {response.text[:200]}")
        return response.json()

    @staticmethod
    def _redirect(response: requests.Response) -> str:
        _expect(response.status_code in (302, 303), f"{response.url[:80]}: {response.status_code}")
        return urljoin(response.url, response.headers["Location"])


def _no_follow() -> dict[str, Any]:
    return {"allow_redirects": False, "timeout": TIMEOUT}


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise LoginFailed(message)


def hello(url: str) -> Callable[[requests.Session], None]:
    """A GET that must answer 200 "hello": the ceiling's unit of work."""

    def job(http: requests.Session) -> None:
        response = http.get(url, timeout=TIMEOUT)
        _expect(response.status_code == 200 and response.text == "hello", f"hello: {response.status_code}")

    return job


def write_config(path: Path, issuer: str, redis_url: str, sim: SimulatorProcess) -> None:
    """The bridge's TOML: Redis, one confidential client, every WeCom base on the simulator."""
    path.write_text(
        f"""issuer = "{issuer}"
redis_url = "{redis_url}"
keys_dir = "keys"
store_prefix = "bench:"
log_level = "INFO"

[wecom]
corp_id = "{sim.corp_id}"
agent_id = "{sim.agent_id}"
secret = "{sim.secret}"
api_base = "{sim.url}"
oauth_base = "{sim.url}"
sso_base = "{sim.url}"
connect_timeout = 2.0
read_timeout = 5.0

[[clients]]
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
name = "Login benchmark"
""",
        encoding="utf-8",
    )
