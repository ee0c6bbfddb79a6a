"""The demo's sample application: a tiny OIDC relying party written with requests alone.

It does what any real confidential client does (code flow, PKCE S256, state, nonce, the ID
token's RS256 signature checked against the bridge's JWKS) so the demo shows a real sign-in,
not a shortcut. The base install has no OIDC client library, hence the few lines by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, Response, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

SCOPE = "openid profile email phone groups"
TIMEOUT = (3.0, 10.0)
# How long this app waits for you to come back from the bridge, seconds.
PENDING_LIFETIME = 600
# Clock skew tolerated between the bridge and this app when checking exp and iat, seconds.
LEEWAY = 60
# The client's pages get the same strict policy as the bridge's: own stylesheets only.
CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
DEMO_CSS = """
.card.wide { max-width: 54rem; }
.app-bar { display: flex; align-items: center; gap: .6rem; margin: -.5rem 0 1.25rem; padding-bottom: .9rem;
  border-bottom: 1px solid #e8eaed; }
.app-logo { width: 1.8rem; height: 1.8rem; border-radius: 6px; background: #1f2329; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: 600; }
.app-name { font-weight: 600; }
.tag { margin-left: auto; font-size: .75rem; color: #8f959e; border: 1px solid #e4e7eb; border-radius: 999px;
  padding: .1rem .6rem; }
h2 { font-size: 1rem; margin: 1.6rem 0 .5rem; }
.ok { color: #1a7f37; }
.ok::before { content: "✓ "; font-weight: 600; }
a:not(.button) { color: #0065b8; }
.claims th { white-space: nowrap; }
.claims th code { background: none; padding: 0; font-weight: 600; }
.claims thead th { color: #646a73; font-weight: 500; font-size: .8rem; }
.claims .value { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem;
  word-break: break-all; }
.claims .when { display: block; color: #8f959e; font-family: inherit; font-size: .78rem; }
.claims .meaning { color: #646a73; font-size: .82rem; }
.reply { margin: 1rem 0; }
.reply th { width: 9rem; color: #646a73; font-weight: 500; }
.link { margin-left: 1rem; color: #646a73; font-size: .9rem; }
@media (max-width: 40rem) {
  .card { padding: 1.25rem 1rem; }
  .claims thead { display: none; }
  .claims tr { display: block; padding: .45rem 0; border-bottom: 1px solid #e8eaed; }
  .claims th, .claims td { display: block; border: 0; padding: .05rem .25rem; }
}
"""
# What each claim means, for the person reading the result page.
MEANINGS = {
    "iss": "who issued the token: the bridge",
    "sub": "who you are to this app: your WeCom userid",
    "aud": "the app the token was issued to",
    "exp": "the token is not accepted after this",
    "iat": "when the token was issued",
    "auth_time": "when you signed in at WeCom",
    "nonce": "ties the token to this sign-in attempt",
    "at_hash": "ties the token to the access token issued with it",
    "azp": "the app the token was issued to",
    "name": "your name in WeCom",
    "preferred_username": "your WeCom userid",
    "email": "from WeCom (email, or business mail)",
    "email_verified": "whether WeCom vouches for the email",
    "phone_number": "your mobile number in WeCom",
    "phone_number_verified": "whether WeCom vouches for the number",
    "picture": "your WeCom avatar",
    "gender": "as recorded in WeCom",
    "groups": "your WeCom departments",
}
TIME_CLAIMS = ("exp", "iat", "auth_time", "nbf")
# Readable titles for the errors a bridge may send back (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
ERROR_TITLES = {
    "access_denied": "Sign-in was refused or cancelled",
    "login_required": "You need to sign in",
    "temporarily_unavailable": "Sign-in is temporarily unavailable",
    "server_error": "The sign-in service had a problem",
}


class SignInFailed(Exception):
    """Why this sign-in did not complete, in words for the person, plus the bridge's error if any."""

    def __init__(
        self, title: str, explanation: str, error: str = "", description: str = "", status: int = 400
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.explanation = explanation
        self.error = error
        self.description = description


@dataclass(frozen=True)
class ClientConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class Pending:
    """What this app remembers between sending you to the bridge and your return."""

    verifier: str
    nonce: str
    started: float


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64d(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _json_part(data: str) -> dict[str, Any]:
    value = json.loads(_b64d(data))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256."""
    return b64url(hashlib.sha256(verifier.encode()).digest())


def _rsa_key(jwks: dict[str, Any], kid: str | None) -> rsa.RSAPublicKey:
    keys = [k for k in jwks.get("keys", []) if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"]
    if kid is not None:
        keys = [k for k in keys if k.get("kid") == kid]
    if len(keys) != 1:
        raise ValueError(f"no single RSA signing key in the JWKS for kid {kid!r}")
    n, e = (int.from_bytes(_b64d(keys[0][part]), "big") for part in ("n", "e"))
    return rsa.RSAPublicNumbers(e, n).public_key()


def verify_id_token(
    id_token: str, jwks: dict[str, Any], cfg: ClientConfig, nonce: str, access_token: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) once the RS256 signature and iss, aud, azp, exp, iat, nonce, at_hash check out."""
    try:
        header_b64, payload_b64, sig_b64 = id_token.split(".")
        header, claims = _json_part(header_b64), _json_part(payload_b64)
    except ValueError as exc:
        raise ValueError("the ID token is not a signed JWT") from exc
    # Never trust the token to name its own algorithm: only RS256 is accepted here.
    if header.get("alg") != "RS256":
        raise ValueError(f"unexpected signing algorithm {header.get('alg')!r}")
    try:
        _rsa_key(jwks, header.get("kid")).verify(
            _b64d(sig_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:
        raise ValueError("the signature does not match the bridge's key") from exc
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    now = time.time()
    checks = [
        (claims.get("iss") == cfg.issuer, "iss is not the bridge"),
        (cfg.client_id in audiences, "aud does not name this app"),
        (len(audiences) == 1 or claims.get("azp") == cfg.client_id, "azp does not name this app"),
        (isinstance(claims.get("exp"), int) and claims["exp"] > now - LEEWAY, "the token has expired"),
        (isinstance(claims.get("iat"), int) and claims["iat"] < now + LEEWAY, "iat is in the future"),
        (hmac.compare_digest(str(claims.get("nonce", "")), nonce), "the nonce is not this sign-in's"),
    ]
    if access_token is not None and "at_hash" in claims:
        at_hash = b64url(hashlib.sha256(access_token.encode()).digest()[:16])
        checks.append((hmac.compare_digest(claims["at_hash"], at_hash), "at_hash does not match"))
    for ok, reason in checks:
        if not ok:
            raise ValueError(reason)
    return header, claims


class _Memory:
    """Server-side state, so the browser's cookie carries only random handles."""

    LIMIT = 200

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending: dict[str, Pending] = {}
        self.results: dict[str, dict[str, Any]] = {}

    def put(self, table: dict[str, Any], key: str, value: Any) -> None:
        with self._lock:
            table[key] = value
            while len(table) > self.LIMIT:  # the oldest go first: dicts keep insertion order
                table.pop(next(iter(table)))

    def take(self, table: dict[str, Any], key: str) -> Any:
        with self._lock:
            return table.pop(key, None)


def create_client_app(cfg: ClientConfig) -> Flask:
    """The sample app: home, /login (to the bridge), /callback (code exchange), /me (the result)."""
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.secret_key = secrets.token_bytes(32)
    # Every demo server shares the host 127.0.0.1, and cookies ignore ports: keep the name apart.
    app.config["SESSION_COOKIE_NAME"] = "sample_app_session"
    memory = _Memory()
    meta: dict[str, Any] = {}

    def discovered() -> dict[str, Any]:
        if not meta:
            meta.update(_get_json(cfg.issuer + "/.well-known/openid-configuration"))
        return meta

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(SignInFailed)
    def _failed(err: SignInFailed) -> tuple[str, int]:
        page = render_template(
            "demo_error.html",
            title=err.title,
            explanation=err.explanation,
            error=err.error,
            description=err.description,
        )
        return page, err.status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response | tuple[str, int]:
        if isinstance(err, HTTPException):
            return err.get_response()
        # The type only: a message could quote a token, and this log is the demo's terminal.
        log.error("sample app: unexpected %s at %s", type(err).__name__, request.path)
        page = render_template(
            "demo_error.html",
            title="Something went wrong in the sample app",
            explanation=f"It failed with {type(err).__name__}; the demo's terminal has a log line for it.",
            error="",
            description="",
        )
        return page, 500

    @app.get("/demo.css")
    def demo_css() -> Response:
        return Response(DEMO_CSS, mimetype="text/css")

    @app.get("/")
    def home() -> str:
        return render_template("demo_home.html")

    @app.get("/login")
    def login() -> Response:
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        memory.put(memory.pending, state, Pending(verifier, nonce, time.time()))
        session["state"] = state
        query = {
            "client_id": cfg.client_id,
            "redirect_uri": cfg.redirect_uri,
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return redirect(discovered()["authorization_endpoint"] + "?" + urlencode(query), 302)

    @app.get("/callback")
    def callback() -> Response:
        pending = _check_state(memory)
        if "error" in request.args:
            error = request.args["error"]
            raise SignInFailed(
                ERROR_TITLES.get(error, "You were not signed in"),
                "The sign-in service sent you back without signing you in. This is what it said:",
                error,
                request.args.get("error_description", ""),
            )
        # RFC 9207: a callback naming another issuer is a mix-up attack, not a sign-in.
        if request.args.get("iss", cfg.issuer) != cfg.issuer:
            raise SignInFailed(
                "Wrong issuer", "This answer came from a sign-in service this app does not trust."
            )
        result = _finish(discovered(), cfg, pending, request.args.get("code", ""))
        sid = secrets.token_urlsafe(16)
        memory.put(memory.results, sid, result)
        session["sid"] = sid
        # Post/redirect/get: reloading the result must not replay the one-time code.
        return redirect(url_for("me"), 303)

    @app.get("/me")
    def me() -> Response | str:
        result = memory.results.get(session.get("sid", ""))
        if result is None:
            return redirect(url_for("home"), 303)
        return render_template("demo_result.html", **result)

    return app


def _check_state(memory: _Memory) -> Pending:
    """The state must be the one this browser was sent off with, and is good for one return."""
    expected = session.pop("state", None)
    given = request.args.get("state", "")
    pending = memory.take(memory.pending, given) if expected and given == expected else None
    if pending is None or time.time() - pending.started > PENDING_LIFETIME:
        raise SignInFailed(
            "This sign-in does not match",
            "The answer carries a state this browser did not start, or one already used "
            "(a reload, the back button, or a forged link). Nothing was signed in; start again.",
        )
    return pending


def _get_json(url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        # requests.get, not a shared Session: nothing is left open when the demo stops.
        response = requests.get(url, timeout=TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SignInFailed(
            "The sign-in service did not answer",
            f"This app could not read {url.split('?')[0]} ({type(exc).__name__}).",
            status=502,
        ) from exc


def _finish(meta: dict[str, Any], cfg: ClientConfig, pending: Pending, code: str) -> dict[str, Any]:
    """Exchange the code, check the ID token, ask userinfo: what the result page shows."""
    try:
        response = requests.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": cfg.redirect_uri,
                "code_verifier": pending.verifier,
            },
            auth=(cfg.client_id, cfg.client_secret),
            timeout=TIMEOUT,
        )
        token = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SignInFailed(
            "The sign-in service did not answer", "The code could not be exchanged.", status=502
        ) from exc
    if not isinstance(token, dict) or "error" in token or not {"id_token", "access_token"} <= token.keys():
        token = token if isinstance(token, dict) else {}
        raise SignInFailed(
            "The sign-in service refused the code",
            "The code it gave this app could not be exchanged for tokens.",
            str(token.get("error", "no id_token or access_token")),
            str(token.get("error_description", "")),
        )
    jwks = _get_json(meta["jwks_uri"])
    try:
        header, claims = verify_id_token(
            token["id_token"], jwks, cfg, pending.nonce, token.get("access_token")
        )
    except ValueError as exc:
        raise SignInFailed("The ID token was rejected", f"This app does not trust it: {exc}.") from exc
    userinfo = _get_json(
        meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}
    )
    if userinfo.get("sub") != claims["sub"]:
        raise SignInFailed("The userinfo answer was rejected", "It names someone else than the ID token.")
    return {
        "display_name": claims.get("name") or claims["sub"],
        "claims": [_claim_row(name, value) for name, value in claims.items()],
        "userinfo": json.dumps(userinfo, ensure_ascii=False, indent=2),
        "header": json.dumps(header, indent=2),
        "issuer": cfg.issuer,
        "discovery_url": cfg.issuer + "/.well-known/openid-configuration",
    }


def _claim_row(name: str, value: Any) -> dict[str, str]:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    when = ""
    if name in TIME_CLAIMS and isinstance(value, int):
        when = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {"name": name, "value": shown, "when": when, "meaning": MEANINGS.get(name, "")}
