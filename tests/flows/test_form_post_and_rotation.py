"""form_post replies, and key rotation while clients still verify old tokens."""

from __future__ import annotations

import re
from html import unescape

import requests

from oidc_bridge.oidc.keys import rotate

from .conftest import WEB, Stack
from .rp import Browser, RelyingParty


def test_form_post_answers_with_an_auto_submitting_form_under_a_strict_csp(stack: Stack) -> None:
    rp = stack.rp(WEB)
    _sess, url, secrets_ = rp.start(response_mode="form_post")
    browser = Browser()
    page = browser.go(url, WEB.redirect_uri)
    assert not isinstance(page, str) and page.status_code == 200
    assert f'action="{WEB.redirect_uri}"' in page.text
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
    assert fields["state"] == secrets_["state"] and fields["iss"] == stack.issuer and fields["code"]
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in csp and "form-action http://127.0.0.1:9" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    token = requests.post(
        rp.meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": fields["code"],
            "redirect_uri": WEB.redirect_uri,
            "code_verifier": secrets_["verifier"],
        },
        auth=(WEB.client_id, WEB.client_secret),
        timeout=10,
    )
    assert token.status_code == 200


def test_rotation_signs_new_tokens_with_the_new_key_while_old_ones_still_verify(stack: Stack) -> None:
    before = stack.rp(WEB).login(Browser())
    new_key = rotate(stack.settings.keys_dir)
    after = stack.rp(WEB).login(Browser())
    # A client that fetches the JWKS now verifies both: the old key stays published.
    client = RelyingParty(stack.issuer, WEB)
    client.verify_id_token(before.token["id_token"])
    claims = client.verify_id_token(after.token["id_token"])
    assert claims["sub"] == "zhangsan"
    kids = [k["kid"] for k in requests.get(client.meta["jwks_uri"], timeout=5).json()["keys"]]
    assert kids[0] == new_key.kid and len(kids) == 2
