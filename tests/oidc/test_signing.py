"""JWTs we sign verify with an independent library; anything not exactly ours is refused, one way."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from cryptography.hazmat.primitives import hashes, hmac, serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidc_bridge.errors import BridgeError
from oidc_bridge.oidc import signing as signing_module
from oidc_bridge.oidc.keys import KeyRing, SigningKey, generate_key
from oidc_bridge.oidc.signing import InvalidJwt, at_hash, sign_jwt, verify_jwt

with warnings.catch_warnings():
    # Authlib's JOSE module is deprecated in favour of joserfc; it is still an independent verifier.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as authlib_jwt

ISSUER = "https://sso.example.com"
ALGS = ["RS256", "ES256"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json_b64(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "zhangsan", "aud": "grafana", "iat": now, "exp": now + 300, **extra}


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    """An ES256 key, then a newer RS256 key: both verify."""
    keys_dir = tmp_path_factory.mktemp("keys")
    generate_key(keys_dir, "ES256")
    generate_key(keys_dir, "RS256")
    return KeyRing.load_or_create(keys_dir)


def _key(ring: KeyRing, alg: str) -> SigningKey:
    return next(k for k in ring.keys if k.alg == alg)


def _authlib_decode(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        claims = authlib_jwt.decode(token, JsonWebKey.import_key_set(jwks))
        claims.validate()
    return dict(claims)


@pytest.mark.parametrize("alg", ALGS)
def test_a_signed_token_round_trips_with_its_non_ascii_claims(ring: KeyRing, alg: str) -> None:
    claims = _claims(name="张三", groups=["研发部", "R&D"])
    token = sign_jwt(claims, _key(ring, alg))
    assert verify_jwt(token, ring, audience="grafana", issuer=ISSUER) == claims
    header = json.loads(_unb64(token.split(".")[0]))
    assert header == {"alg": alg, "kid": _key(ring, alg).kid, "typ": "JWT"}
    # Compact JSON, UTF-8 rather than \\u escapes.
    payload = _unb64(token.split(".")[1])
    assert b", " not in payload and "张三".encode() in payload


@pytest.mark.parametrize("alg", ALGS)
def test_authlib_verifies_what_we_sign_against_our_published_jwks(ring: KeyRing, alg: str) -> None:
    claims = _claims(name="张三")
    token = sign_jwt(claims, _key(ring, alg))
    assert _authlib_decode(token, ring.jwks()) == claims


def test_es256_signatures_are_raw_r_and_s_not_der(ring: KeyRing) -> None:
    token = sign_jwt(_claims(), _key(ring, "ES256"))
    assert len(_unb64(token.split(".")[2])) == 64


@pytest.mark.parametrize("alg", ALGS)
def test_a_tampered_payload_is_refused(ring: KeyRing, alg: str) -> None:
    header, _, signature = sign_jwt(_claims(), _key(ring, alg)).split(".")
    forged = _json_b64(_claims(sub="admin"))
    with pytest.raises(InvalidJwt, match="bad signature"):
        verify_jwt(f"{header}.{forged}.{signature}", ring)


@pytest.mark.parametrize("alg", ALGS)
def test_a_tampered_signature_is_refused(ring: KeyRing, alg: str) -> None:
    header, payload, signature = sign_jwt(_claims(), _key(ring, alg)).split(".")
    raw = bytearray(_unb64(signature))
    raw[-1] ^= 1
    with pytest.raises(InvalidJwt, match="bad signature"):
        verify_jwt(f"{header}.{payload}.{_b64(bytes(raw))}", ring)


def test_a_signature_spelled_in_non_canonical_base64url_is_refused(ring: KeyRing) -> None:
    header, payload, signature = sign_jwt(_claims(), _key(ring, "ES256")).split(".")
    # 64 bytes -> 86 characters, the last carrying 2 unused bits: setting one decodes the same.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert _unb64(twin) == _unb64(signature)
    with pytest.raises(InvalidJwt, match="canonical"):
        verify_jwt(f"{header}.{payload}.{twin}", ring)


def _with_header(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    fields = {**json.loads(_unb64(header)), **changes}
    return f"{_json_b64({k: v for k, v in fields.items() if v is not None})}.{payload}.{signature}"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "RS512", None])
def test_an_alg_other_than_the_keys_own_is_refused(ring: KeyRing, alg: str | None) -> None:
    token = _with_header(sign_jwt(_claims(), _key(ring, "RS256")), alg=alg)
    with pytest.raises(InvalidJwt, match="alg"):
        verify_jwt(token, ring)


def test_hs256_signed_with_the_public_key_is_refused(ring: KeyRing) -> None:
    # The classic confusion: HMAC keyed with the PEM of the published RSA key.
    key = _key(ring, "RS256")
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_json_b64({'alg': 'HS256', 'kid': key.kid})}.{_json_b64(_claims())}"
    mac = hmac.HMAC(pem, hashes.SHA256())
    mac.update(signing_input.encode())
    with pytest.raises(InvalidJwt, match="alg"):
        verify_jwt(f"{signing_input}.{_b64(mac.finalize())}", ring)


def test_an_unsigned_token_is_refused(ring: KeyRing) -> None:
    token = f"{_json_b64({'alg': 'none', 'kid': _key(ring, 'RS256').kid})}.{_json_b64(_claims())}."
    with pytest.raises(InvalidJwt):
        verify_jwt(token, ring)


@pytest.mark.parametrize("kid", ["someone-else", "", None, 7])
def test_an_unknown_or_missing_kid_is_refused(ring: KeyRing, kid: Any) -> None:
    token = _with_header(sign_jwt(_claims(), _key(ring, "RS256")), kid=kid)
    with pytest.raises(InvalidJwt, match="kid"):
        verify_jwt(token, ring)


def test_a_kid_swapped_to_our_other_key_is_refused(ring: KeyRing) -> None:
    token = _with_header(sign_jwt(_claims(), _key(ring, "ES256")), kid=_key(ring, "RS256").kid)
    with pytest.raises(InvalidJwt):
        verify_jwt(token, ring)


def test_a_crit_header_is_refused(ring: KeyRing) -> None:
    key = _key(ring, "ES256")
    token = _with_header(sign_jwt(_claims(), key), crit=["exp"])
    with pytest.raises(InvalidJwt, match="crit"):
        verify_jwt(token, ring)


def test_an_expired_token_is_refused_unless_expiry_is_not_checked(ring: KeyRing) -> None:
    now = int(time.time())
    token = sign_jwt(_claims(iat=now - 3700, exp=now - 100), _key(ring, "ES256"))
    with pytest.raises(InvalidJwt, match="expired"):
        verify_jwt(token, ring, issuer=ISSUER, audience="grafana")
    # An expired id_token_hint still names the session it came from.
    claims = verify_jwt(token, ring, issuer=ISSUER, audience="grafana", verify_exp=False)
    assert claims["sub"] == "zhangsan"


def test_expiry_allows_the_leeway_and_follows_the_injected_clock(ring: KeyRing) -> None:
    token = sign_jwt(_claims(exp=1_000_000), _key(ring, "RS256"))
    assert verify_jwt(token, ring, now=1_000_000 + 59)["exp"] == 1_000_000
    with pytest.raises(InvalidJwt, match="expired"):
        verify_jwt(token, ring, now=1_000_000 + 60)
    with pytest.raises(InvalidJwt, match="expired"):
        verify_jwt(token, ring, now=1_000_000 + 1, leeway=0)


@pytest.mark.parametrize(
    "claims",
    [{"sub": "x"}, {"exp": "tomorrow"}, {"exp": True}, {"exp": None}, {"exp": 10**400}, {"exp": -(10**400)}],
    ids=["no-exp", "string", "bool", "null", "huge", "huge-negative"],
)
def test_a_token_without_a_usable_exp_is_refused(ring: KeyRing, claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidJwt):
        verify_jwt(sign_jwt(claims, _key(ring, "RS256")), ring)


def test_a_token_not_valid_yet_is_refused(ring: KeyRing) -> None:
    token = sign_jwt(_claims(nbf=2_000_000), _key(ring, "RS256"))
    with pytest.raises(InvalidJwt, match="nbf"):
        verify_jwt(token, ring, now=2_000_000 - 61, verify_exp=True, leeway=60)


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        ("grafana", True),
        (["nocobase", "grafana"], True),
        ("nocobase", False),
        (["nocobase"], False),
        (None, False),
    ],
)
def test_the_audience_may_be_a_string_or_a_list(ring: KeyRing, aud: Any, ok: bool) -> None:
    token = sign_jwt(_claims(aud=aud), _key(ring, "ES256"))
    if ok:
        assert verify_jwt(token, ring, audience="grafana")["aud"] == aud
    else:
        with pytest.raises(InvalidJwt, match="aud"):
            verify_jwt(token, ring, audience="grafana")


def test_another_issuer_is_refused(ring: KeyRing) -> None:
    token = sign_jwt(_claims(iss="https://evil.example.com"), _key(ring, "RS256"))
    with pytest.raises(InvalidJwt, match="iss"):
        verify_jwt(token, ring, issuer=ISSUER)


def test_an_explicit_typ_is_checked_when_asked(ring: KeyRing) -> None:
    logout = sign_jwt(_claims(), _key(ring, "ES256"), typ="logout+jwt")
    spelled_out = sign_jwt(_claims(), _key(ring, "ES256"), typ="application/Logout+JWT")
    id_token = sign_jwt(_claims(), _key(ring, "ES256"))
    assert verify_jwt(logout, ring, typ="logout+jwt")
    assert verify_jwt(spelled_out, ring, typ="logout+jwt")
    with pytest.raises(InvalidJwt, match="typ"):
        verify_jwt(id_token, ring, typ="logout+jwt")


def test_a_key_no_longer_published_still_verifies_its_tokens(tmp_path: Path) -> None:
    old = generate_key(tmp_path, "RS256")
    token = sign_jwt(_claims(), old)
    generate_key(tmp_path, "RS256")
    ring = KeyRing.load_or_create(tmp_path, clock=lambda: time.time() + 10**6)
    assert old.kid not in {k["kid"] for k in ring.jwks(retain_seconds=3600)["keys"]}
    assert verify_jwt(token, ring)["sub"] == "zhangsan"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d.e",
        "...",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "e30=.e30.AA",
        "W10.e30.AA",  # header [] is not an object
        _b64(b'{"alg":"RS256","alg":"none"}') + ".e30.AA",  # duplicate member
        _b64(b'{"alg":NaN}') + ".e30.AA",
        "ab\n.e30.AA",
        "令牌.e30.AA",
    ],
)
def test_malformed_tokens_are_refused(ring: KeyRing, token: str) -> None:
    with pytest.raises(InvalidJwt):
        verify_jwt(token, ring)


def test_a_deeply_nested_or_oversized_token_is_refused(ring: KeyRing) -> None:
    with pytest.raises(InvalidJwt, match="JSON"):
        verify_jwt(_b64(b"[" * 30_000) + ".e30.AA", ring)
    with pytest.raises(InvalidJwt, match="length"):
        verify_jwt(_b64(b"[" * 100_000) + ".e30.AA", ring)


def _garbage_jwts(ring: KeyRing) -> st.SearchStrategy[Any]:
    """From plain noise to tokens with a real kid and alg, and validly signed odd claims."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    part = st.one_of(st.text(max_size=40), st.binary(max_size=80).map(_b64))
    kids = st.sampled_from([k.kid for k in ring.keys] + ["x"])
    header = st.fixed_dictionaries(
        {"alg": st.sampled_from(["RS256", "ES256", "none", "HS256"]) | json_values, "kid": kids | json_values}
    )
    forged = st.tuples(header.map(_json_b64), json_values.map(_json_b64), part).map(".".join)
    signed = st.tuples(
        st.dictionaries(st.sampled_from(["iss", "aud", "exp", "nbf", "sub"]), json_values),
        st.sampled_from(ring.keys),
    ).map(lambda args: sign_jwt(*args))
    return st.one_of(
        st.text(),
        st.binary(),
        st.none(),
        st.integers(),
        st.lists(part, max_size=5).map(".".join),
        forged,
        signed,
    )


def test_garbage_raises_invalid_jwt_and_nothing_else(ring: KeyRing) -> None:
    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(token=_garbage_jwts(ring), verify_exp=st.booleans())
    def check(token: Any, verify_exp: bool) -> None:
        try:
            verify_jwt(token, ring, audience="grafana", issuer=ISSUER, verify_exp=verify_exp)
        except InvalidJwt as err:
            assert isinstance(err, BridgeError) and err.detail
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{type(exc).__name__} escaped verify_jwt") from exc

    check()


def test_at_hash_is_the_left_half_of_the_sha256() -> None:
    # OIDC Core §3.1.3.6 with a token from the spec's examples, cross-checked by hand.
    token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    digest = hashlib.sha256(token.encode()).digest()
    assert at_hash(token, "RS256") == at_hash(token, "ES256") == _b64(digest[:16])
    assert at_hash(token, "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"
    with pytest.raises(ValueError):
        at_hash(token, "HS256")


def test_the_signing_module_uses_cryptography_only() -> None:
    tree = ast.parse(Path(signing_module.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"jwkest", "oic", "pyop", "authlib", "jwt", "flask", "redis", "requests"}
