"""The demo, walked through as a person would: sample app → bridge → simulated WeCom → claims."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oidc_bridge.demo import Demo, build_demo
from oidc_bridge.demo_client import ClientConfig, b64url, verify_id_token
from oidc_bridge.observability import configure_logging


@pytest.fixture
def demo() -> Iterator[Demo]:
    running = build_demo(port=0)
    yield running
    running.stop()


@pytest.fixture
def demo_log() -> Iterator[io.StringIO]:
    """The demo's log output, configured as ``run_demo`` does but into a buffer."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    for handler in [h for h in root.handlers if h.get_name() == "oidc-bridge"]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def _link(html: str, marker: str) -> str:
    """The href of the element carrying ``marker`` (an attribute like data-userid="x")."""
    found = re.search(rf'<a [^>]*{marker}[^>]*href="([^"]+)"|<a [^>]*href="([^"]+)"[^>]*{marker}', html)
    assert found, f"no link with {marker}"
    return unescape(found.group(1) or found.group(2))


def _to_chooser(demo: Demo, browser: requests.Session) -> requests.Response:
    home = browser.get(demo.client_url, timeout=10)
    assert "Sign in with WeCom (browser)" in home.text
    chooser = browser.get(urljoin(home.url, _link(home.text, 'data-action="sign-in"')), timeout=10)
    assert chooser.url.startswith(demo.sim.base_url), "the person lands on the simulated WeCom page"
    return chooser


def _choose(demo: Demo, browser: requests.Session, userid: str) -> requests.Response:
    chooser = _to_chooser(demo, browser)
    return browser.get(urljoin(chooser.url, _link(chooser.text, f'data-userid="{userid}"')), timeout=10)


def _to_client_callback(demo: Demo, response: requests.Response) -> bool:
    return response.headers.get("Location", "").startswith(demo.client.url + "/callback?")


def test_choosing_zhangsan_shows_his_verified_claims_and_userinfo(demo: Demo) -> None:
    browser = requests.Session()
    result = _choose(demo, browser, "zhangsan")
    assert result.status_code == 200 and result.url == demo.client.url + "/me"
    assert "Signed in as 张三" in result.text
    assert "signature was verified against the bridge" in result.text
    assert 'data-claim="sub"' in result.text and "zhangsan" in result.text
    assert "研发部" in result.text
    shown = unescape(result.text)
    assert '"alg": "RS256"' in shown, "the raw ID token header is shown"
    assert '"sub": "zhangsan"' in shown, "the userinfo answer is shown"
    assert _link(result.text, 'data-action="sign-in-again"') == "/login"


def test_reloading_the_result_page_does_not_replay_the_code(demo: Demo) -> None:
    browser = requests.Session()
    result = _choose(demo, browser, "zhangsan")
    again = browser.get(result.url, timeout=10)
    assert again.status_code == 200 and "Signed in as 张三" in again.text
    callback = next(r.headers["Location"] for r in result.history if _to_client_callback(demo, r))
    replay = browser.get(callback, timeout=10)
    assert replay.status_code == 400 and "This sign-in does not match" in replay.text


def test_a_disabled_person_sees_why_and_the_app_shows_access_denied(demo: Demo) -> None:
    browser = requests.Session()
    bridge_page = _choose(demo, browser, "wangwu")
    assert bridge_page.status_code == 403 and "disabled" in bridge_page.text
    back = re.search(r'href="([^"]+)"[^>]*>Return to Sample app', bridge_page.text)
    assert back, "the bridge offers a way back to the app"
    landed = browser.get(unescape(back.group(1)), timeout=10)
    assert landed.status_code == 400 and landed.url.startswith(demo.client.url + "/callback")
    assert "Sign-in was refused or cancelled" in landed.text
    assert 'data-error="access_denied"' in landed.text
    assert "Sign in again" in landed.text


def test_cancel_on_the_wecom_page_comes_back_to_the_app_readably(demo: Demo) -> None:
    browser = requests.Session()
    chooser = _to_chooser(demo, browser)
    landed = browser.get(urljoin(chooser.url, _link(chooser.text, 'data-action="cancel"')), timeout=10)
    assert landed.url.startswith(demo.client.url + "/callback")
    assert "Sign-in was refused or cancelled" in landed.text and "access_denied" in landed.text


def test_a_callback_with_a_state_this_browser_did_not_start_signs_no_one_in(demo: Demo) -> None:
    browser = requests.Session()
    browser.get(demo.client.url + "/login", allow_redirects=False, timeout=10)
    forged = browser.get(demo.client.url + "/callback?code=stolen&state=forged", timeout=10)
    assert forged.status_code == 400 and "This sign-in does not match" in forged.text
    assert browser.get(demo.client.url + "/me", timeout=10).url == demo.client_url


def test_a_code_the_bridge_refuses_is_shown_with_the_bridges_error(demo: Demo) -> None:
    browser = requests.Session()
    to_bridge = browser.get(demo.client.url + "/login", allow_redirects=False, timeout=10)
    state = parse_qs(urlsplit(to_bridge.headers["Location"]).query)["state"][0]
    # This browser's own state, with a code the bridge never issued.
    page = browser.get(demo.client.url + "/callback", params={"code": "made-up", "state": state}, timeout=10)
    assert page.status_code == 400
    assert "The sign-in service refused the code" in page.text
    assert 'data-error="invalid_grant"' in page.text


def test_the_demo_logs_paths_but_never_a_code_or_token(demo_log: io.StringIO) -> None:
    demo = build_demo(port=0)
    try:
        result = _choose(demo, requests.Session(), "zhangsan")
    finally:
        demo.stop()
    assert "Signed in as 张三" in result.text
    callback = next(r.headers["Location"] for r in result.history if _to_client_callback(demo, r))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    output = demo_log.getvalue()
    assert '"POST /token" 200' in output and '"GET /callback" 303' in output
    assert code not in output
    assert "eyJ" not in output, "no JWT in the log"
    assert "code=" not in output and "state=" not in output


# The sample app's ID token check, against tokens signed here.

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_CFG = ClientConfig("http://127.0.0.1:9", "sample-app", "secret", "http://127.0.0.1:9/callback")


def _jwks(kid: str = "k1") -> dict[str, Any]:
    numbers = _KEY.public_key().public_numbers()
    n, e = (v.to_bytes((v.bit_length() + 7) // 8, "big") for v in (numbers.n, numbers.e))
    return {
        "keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(n), "e": b64url(e)}]
    }


def _token(header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": _CFG.issuer, "aud": ["sample-app"], "sub": "zhangsan", "iat": now, "exp": now + 60}
    body |= {"nonce": "n-1", **claims}
    head = {"alg": "RS256", "kid": "k1", **(header or {})}
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (head, body))
    signature = _KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def test_the_sample_app_accepts_a_well_signed_id_token() -> None:
    header, claims = verify_id_token(_token(), _jwks(), _CFG, "n-1")
    assert header["kid"] == "k1" and claims["sub"] == "zhangsan"


@pytest.mark.parametrize(
    ("header", "claims", "reason"),
    [
        pytest.param(None, {"nonce": "n-2"}, "nonce", id="another sign-in's nonce"),
        pytest.param(None, {"aud": "other-app"}, "aud", id="issued to another app"),
        pytest.param(None, {"iss": "http://evil.example"}, "iss", id="another issuer"),
        pytest.param(None, {"exp_offset": -3600}, "expired", id="expired"),
        pytest.param({"alg": "HS256"}, {}, "algorithm", id="HS256 instead of RS256"),
        pytest.param({"kid": "unknown"}, {}, "no single RSA", id="unknown key id"),
    ],
)
def test_the_sample_app_rejects_an_id_token_that_does_not_check_out(
    header: dict[str, Any] | None, claims: dict[str, Any], reason: str
) -> None:
    # Built here, not at import: a token made when the module loaded may have expired by now.
    claims = dict(claims)
    if "exp_offset" in claims:
        claims["exp"] = int(time.time()) + claims.pop("exp_offset")
    with pytest.raises(ValueError, match=reason):
        verify_id_token(_token(header, **claims), _jwks(), _CFG, "n-1")


def test_the_sample_app_rejects_a_tampered_id_token() -> None:
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = b64url(json.dumps({**claims, "sub": "admin"}).encode())
    with pytest.raises(ValueError, match="signature"):
        verify_id_token(f"{header}.{forged}.{signature}", _jwks(), _CFG, "n-1")
