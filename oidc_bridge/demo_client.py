"""The demo's sample application: a tiny OIDC relying party, written with requests alone.

It does what any real client does (code flow, PKCE S256, state, nonce, ID token signature
checked against the bridge's JWKS) so the demo shows a real sign-in, not a shortcut.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, Response, redirect, request, session

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sample app</title>
<style>body{{font-family:-apple-system,"Segoe UI","PingFang SC",sans-serif;background:#f3f5f7;margin:0;
display:flex;justify-content:center}}main{{background:#fff;max-width:46rem;margin:2rem 1rem;padding:2rem;
border-radius:10px;box-shadow:0 2px 14px rgba(0,0,0,.08)}}
a.b{{background:#0082ef;color:#fff;padding:.6rem 1.2rem;border-radius:6px;text-decoration:none}}
td,th{{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e8eaed}}
table{{border-collapse:collapse}}pre{{background:#f2f3f5;padding:.6rem;white-space:pre-wrap;word-break:break-all}}
.err{{color:#c0392b}}</style></head><body><main>{body}</main></body></html>"""


def _b64d(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _int(data: str) -> int:
    return int.from_bytes(_b64d(data), "big")


def verify_id_token(id_token: str, jwks: dict[str, Any], issuer: str, client_id: str, nonce: str) -> dict:
    """RS256 signature against the JWKS, then iss, aud, exp and nonce."""
    header_b64, payload_b64, sig_b64 = id_token.split(".")
    header = json.loads(_b64d(header_b64))
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    public.verify(_b64d(sig_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    claims = json.loads(_b64d(payload_b64))
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (
        claims["iss"] != issuer
        or client_id not in aud
        or claims["exp"] < time.time()
        or claims["nonce"] != nonce
    ):
        raise ValueError("ID token claims do not check out")
    return {"header": header, "claims": claims}


def create_client_app(issuer: str, client_id: str, client_secret: str, redirect_uri: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    meta: dict[str, Any] = {}

    def discovered() -> dict[str, Any]:
        if not meta:
            meta.update(requests.get(issuer + "/.well-known/openid-configuration", timeout=5).json())
        return meta

    @app.get("/")
    def home() -> str:
        return PAGE.format(
            body="<h1>Sample app</h1><p>This application signs people in through the bridge, which "
            "sends you to a <b>simulated</b> WeCom page where you pick a person. Inside the WeCom app "
            "the bridge would use WeCom's silent in-app login instead.</p>"
            '<p><a class="b" href="/login">Sign in with WeCom</a></p>'
        )

    @app.get("/login")
    def login() -> Response:
        verifier, state, nonce = (
            secrets.token_urlsafe(48),
            secrets.token_urlsafe(16),
            secrets.token_urlsafe(16),
        )
        session.update(verifier=verifier, state=state, nonce=nonce)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid profile email phone groups",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return redirect(discovered()["authorization_endpoint"] + "?" + query)

    @app.get("/callback")
    def callback() -> str:
        again = '<p><a class="b" href="/login">Sign in again</a></p>'
        if request.args.get("state") != session.get("state"):
            return PAGE.format(body=f'<h1 class="err">State mismatch</h1>{again}')
        if "error" in request.args:
            return PAGE.format(
                body=f'<h1 class="err">Not signed in: {escape(request.args["error"])}</h1>'
                f"<p>{escape(request.args.get('error_description', ''))}</p>{again}"
            )
        token = requests.post(
            discovered()["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": request.args.get("code", ""),
                "redirect_uri": redirect_uri,
                "code_verifier": session["verifier"],
            },
            auth=(client_id, client_secret),
            timeout=10,
        ).json()
        jwks = requests.get(discovered()["jwks_uri"], timeout=5).json()
        checked = verify_id_token(token["id_token"], jwks, issuer, client_id, session["nonce"])
        userinfo = requests.get(
            discovered()["userinfo_endpoint"],
            timeout=5,
            headers={"Authorization": "Bearer " + token["access_token"]},
        ).json()
        rows = "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
            for k, v in checked["claims"].items()
        )
        return PAGE.format(
            body=f"<h1>Signed in as {escape(str(userinfo.get('name', userinfo['sub'])))}</h1>"
            f"<p>The ID token's signature was verified against the bridge's JWKS.</p>"
            f"<h2>ID token claims</h2><table>{rows}</table>"
            f"<h2>Userinfo</h2><pre>{escape(json.dumps(userinfo, ensure_ascii=False, indent=2))}</pre>"
            f"<h2>ID token header</h2><pre>{escape(json.dumps(checked['header']))}</pre>{again}"
        )

    return app
