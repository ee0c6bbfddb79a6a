"""A relying party for the tests: Authlib's OAuth2 client plus a cookie-keeping "browser".

The browser follows redirects one by one across the bridge and the WeCom simulator and stops
at the client's redirect_uri, which is never served: the test reads the code from it.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():
    # Authlib's JOSE module is deprecated in favour of joserfc; it still validates ID tokens well.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
WECOM_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/116.0 Mobile Safari/537.36 wxwork/4.1.38 MicroMessenger/7.0.1 NetType/WIFI Language/zh"
)


class Browser:
    """requests.Session with a User-Agent, following redirects until it leaves our hosts."""

    def __init__(self, user_agent: str = DESKTOP_UA) -> None:
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent

    def go(self, url: str, stop_prefix: str, max_hops: int = 10) -> requests.Response | str:
        """Follow redirects; return the URL once it starts with stop_prefix, else the last response."""
        for _ in range(max_hops):
            if url.startswith(stop_prefix):
                return url
            response = self.http.get(url, allow_redirects=False, timeout=15)
            if response.status_code not in (301, 302, 303, 307):
                return response
            url = requests.compat.urljoin(url, response.headers["Location"])
        raise AssertionError("too many redirects")


@dataclass
class Client:
    """A registered client as the relying party sees it."""

    client_id: str
    redirect_uri: str
    client_secret: str | None = None


@dataclass
class LoginResult:
    token: dict[str, Any]
    id_claims: dict[str, Any]
    userinfo: dict[str, Any]
    callback_url: str


class RelyingParty:
    """Discovery, authorization URL with PKCE and nonce, code exchange, ID token validation."""

    def __init__(self, issuer: str, client: Client) -> None:
        self.issuer = issuer
        self.client = client
        self.meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.jwks = JsonWebKey.import_key_set(requests.get(self.meta["jwks_uri"], timeout=10).json())

    def session(self, scope: str) -> OAuth2Session:
        return OAuth2Session(
            self.client.client_id,
            self.client.client_secret,
            scope=scope,
            redirect_uri=self.client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.client.client_secret else "none",
        )

    def start(
        self, scope: str = "openid profile email", **extra: str
    ) -> tuple[OAuth2Session, str, dict[str, str]]:
        sess = self.session(scope)
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = sess.create_authorization_url(
            self.meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier, **extra
        )
        return sess, url, {"verifier": verifier, "nonce": nonce, "state": state}

    def finish(self, sess: OAuth2Session, callback_url: str, secrets_: dict[str, str]) -> LoginResult:
        query = parse_qs(urlsplit(callback_url).query)
        assert query.get("iss") == [self.issuer], "RFC 9207 iss missing or wrong"
        token = sess.fetch_token(
            self.meta["token_endpoint"],
            authorization_response=callback_url,
            code_verifier=secrets_["verifier"],
            state=secrets_["state"],
        )
        claims = self.verify_id_token(token["id_token"], nonce=secrets_["nonce"])
        # Sent by hand: Authlib's session treats a token within 60 s of expiry as already expired.
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        userinfo = requests.get(self.meta["userinfo_endpoint"], headers=bearer, timeout=10).json()
        return LoginResult(token, dict(claims), userinfo, callback_url)

    def verify_id_token(self, id_token: str, nonce: str | None = None) -> dict[str, Any]:
        options = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce:
            options["nonce"] = {"essential": True, "value": nonce}
        claims = jwt.decode(id_token, self.jwks, claims_options=options)
        claims.validate()
        return dict(claims)

    def login(self, browser: Browser, scope: str = "openid profile email", **extra: str) -> LoginResult:
        sess, url, secrets_ = self.start(scope, **extra)
        landed = browser.go(url, self.client.redirect_uri)
        assert isinstance(landed, str), f"login stopped at a page: {getattr(landed, 'status_code', '?')}"
        return self.finish(sess, landed, secrets_)
