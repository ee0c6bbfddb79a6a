"""Signing keys on disk: first start, rotation seen by every worker, and what JWKS publishes."""

from __future__ import annotations

import ast
import base64
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from oidc_bridge.errors import ConfigError
from oidc_bridge.oidc import keys as keys_module
from oidc_bridge.oidc.keys import KeyRing, SigningKey, generate_key, list_keys, load_key, rotate, thumbprint

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _int(b64: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)), "big")


def _verifies(jwk: dict[str, str], key: SigningKey) -> bool:
    """Sign with the private key, verify with a public key rebuilt from the published JWK only."""
    message = b"header.payload"
    if jwk["kty"] == "RSA":
        assert isinstance(key.private_key, rsa.RSAPrivateKey)
        signature = key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        public = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    signature = key.private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    ec_public = ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
    ec_public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    return True


def _write_pem(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_the_kid_is_the_rfc7638_thumbprint() -> None:
    # RFC 7638 §3.1's worked example.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
        "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
        "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM"
        "4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    assert thumbprint({"kty": "RSA", "n": n, "e": "AQAB"}) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_first_start_on_an_empty_dir_makes_one_private_rs256_key_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_dir = tmp_path / "state" / "keys"
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.keys"):
        ring = KeyRing.load_or_create(keys_dir)
    assert [
        r.getMessage().startswith(f"generated a new signing key in {keys_dir}") for r in caplog.records
    ] == [True]
    key = ring.current
    assert key.alg == "RS256" and isinstance(key.private_key, rsa.RSAPrivateKey)
    assert key.private_key.key_size == 2048
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert key.path.name.endswith(f"-{key.kid}.pem") and key.path.name.split("-")[0].isdigit()
    assert ring.keys == [key]
    # The second start reuses it, silently.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="oidc_bridge.oidc.keys"):
        again = KeyRing.load_or_create(keys_dir)
    assert again.current.kid == key.kid and not caplog.records


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_new_key_files_are_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        key = generate_key(tmp_path / "keys", "ES256")
    finally:
        os.umask(old)
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert [p.name for p in key.path.parent.iterdir() if p.name != ".lock"] == [key.path.name]


@pytest.mark.parametrize(("alg", "kty"), [("RS256", "RSA"), ("ES256", "EC")])
def test_the_published_jwk_has_only_public_members_and_verifies_the_key_signatures(
    tmp_path: Path, alg: str, kty: str
) -> None:
    key = generate_key(tmp_path, alg)
    jwk = key.public_jwk()
    assert jwk["kty"] == kty and jwk["kid"] == key.kid and jwk["use"] == "sig" and jwk["alg"] == alg
    assert not PRIVATE_MEMBERS & set(jwk)
    if kty == "EC":
        assert jwk["crv"] == "P-256" and len(jwk["x"]) == len(jwk["y"]) == 43
    assert thumbprint(jwk) == key.kid
    assert _verifies(jwk, key)


def test_rotation_makes_a_new_current_key_and_keeps_the_old_one_published(tmp_path: Path) -> None:
    first = generate_key(tmp_path, "ES256")
    second = rotate(tmp_path)
    assert second.alg == "ES256" and second.kid != first.kid
    assert [k.kid for k in list_keys(tmp_path)] == [second.kid, first.kid]
    ring = KeyRing.load_or_create(tmp_path)
    assert ring.current.kid == second.kid
    assert [k["kid"] for k in ring.jwks()["keys"]] == [second.kid, first.kid]


def test_rotating_an_empty_dir_makes_an_rs256_key(tmp_path: Path) -> None:
    assert rotate(tmp_path / "keys").alg == "RS256"


def test_a_worker_picks_up_a_rotation_made_elsewhere(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path)
    before = ring.current
    assert ring.refresh() is False  # nothing changed: nothing reloaded
    after = rotate(tmp_path)  # e.g. `oidc-bridge keys rotate` in another process
    assert ring.current.kid == before.kid
    assert ring.refresh() is True
    assert ring.current.kid == after.kid
    assert {k["kid"] for k in ring.jwks()["keys"]} == {before.kid, after.kid}


def test_a_broken_file_dropped_in_later_does_not_take_a_running_worker_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ring = KeyRing.load_or_create(tmp_path)
    kid = ring.current.kid
    caplog.clear()
    (tmp_path / "9999999999999999999-broken.pem").write_text("not a key")
    with caplog.at_level(logging.ERROR, logger="oidc_bridge.oidc.keys"):
        assert ring.refresh() is False
        assert ring.refresh() is False  # logged once, not on every request
    assert len(caplog.records) == 1 and "broken.pem" in caplog.records[0].getMessage()
    assert ring.current.kid == kid and len(ring.keys) == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a key at all", "not an unencrypted PEM private key"),
        (b"", "not an unencrypted PEM private key"),
        (
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            ),
            "not an unencrypted PEM private key",
        ),
        (
            ec.generate_private_key(ec.SECP384R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "P-256",
        ),
    ],
    ids=["garbage", "empty", "encrypted", "p-384"],
)
def test_an_unusable_key_file_is_a_config_error_naming_the_file(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "1-bad.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        KeyRing.load_or_create(tmp_path)
    assert caught.value.file == str(path) and words in caught.value.message
    assert str(caught.value).startswith(f"{path}: keys_dir: ")


def test_a_short_rsa_key_is_refused(tmp_path: Path) -> None:
    path = _write_pem(tmp_path / "short.pem", rsa.generate_private_key(65537, 1024))
    with pytest.raises(ConfigError, match="at least 2048 bits"):
        load_key(path)


def test_a_pem_dropped_in_by_hand_is_used_and_dated_by_its_mtime(tmp_path: Path) -> None:
    old = generate_key(tmp_path)
    path = _write_pem(tmp_path / "from-the-vault.pem", ec.generate_private_key(ec.SECP256R1()))
    os.utime(path, (old.created + 60, old.created + 60))
    keys = list_keys(tmp_path)
    assert [k.path for k in keys] == [path, old.path]
    assert keys[0].alg == "ES256" and keys[0].created == pytest.approx(old.created + 60)


def test_the_same_key_twice_is_published_once(tmp_path: Path) -> None:
    key = generate_key(tmp_path)
    (tmp_path / "copy.pem").write_bytes(key.path.read_bytes())
    assert [k.kid for k in list_keys(tmp_path)] == [key.kid]


def test_files_that_are_not_keys_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("keys live here")
    (tmp_path / ".half-written.pem.tmp").write_text("partial")
    (tmp_path / ".hidden.pem").write_text("partial")
    assert list_keys(tmp_path) == []
    assert list_keys(tmp_path / "missing") == []


def test_workers_starting_together_on_an_empty_dir_make_one_key(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    start = threading.Barrier(4)
    kids: list[str] = []

    def worker() -> None:
        start.wait()
        kids.append(KeyRing.load_or_create(keys_dir).current.kid)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(kids)) == 1 and len(kids) == 4
    assert len(list(keys_dir.glob("*.pem"))) == 1


def test_an_unknown_algorithm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RS256 or ES256"):
        generate_key(tmp_path, "HS256")


def test_a_keys_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("oops")
    with pytest.raises(ConfigError) as caught:
        KeyRing.load_or_create(tmp_path / "keys")
    assert caught.value.key == "keys_dir"


def test_the_keys_module_stays_out_of_the_web_store_and_http_layers() -> None:
    tree = ast.parse(Path(keys_module.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"flask", "redis", "fakeredis", "requests", "werkzeug"}


# -- what JWKS publishes after a rotation -------------------------------------------------------

RETAIN = 3600  # what the provider passes: max(id_token_lifetime, access_token_lifetime)
KEEP_UNTIL = RETAIN + keys_module.ROTATION_GRACE_SECONDS


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _key_created_at(keys_dir: Path, seconds: int, alg: str = "RS256") -> Path:
    """A key file dated by its name, as ``generate_key`` names them."""
    private = (
        rsa.generate_private_key(65537, 2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
    )
    return _write_pem(keys_dir / f"{seconds * 10**9}-{alg}.pem", private)


def _published(ring: KeyRing, retain: float | None = RETAIN) -> list[str]:
    return [jwk["kid"] for jwk in ring.jwks(retain)["keys"]]


def test_a_rotated_out_key_stays_published_until_its_tokens_have_expired(tmp_path: Path) -> None:
    _key_created_at(tmp_path, 1_000)
    _key_created_at(tmp_path, 2_000)  # the rotation: from here on nothing is signed with the old key
    clock = Clock(2_000 + KEEP_UNTIL - 1)
    ring = KeyRing.load_or_create(tmp_path, clock=clock)
    new, old = (k.kid for k in ring.keys)
    assert _published(ring) == [new, old]
    clock.now = 2_000 + KEEP_UNTIL
    assert _published(ring) == [new]
    # The key still verifies what it signed, and None publishes everything, as before.
    assert [k.kid for k in ring.keys] == [new, old]
    assert _published(ring, None) == [new, old]


def test_each_older_key_is_kept_for_as_long_as_its_own_successor_is_young(tmp_path: Path) -> None:
    _key_created_at(tmp_path, 1_000)
    _key_created_at(tmp_path, 2_000)
    _key_created_at(tmp_path, 100_000)
    clock = Clock(100_001)
    ring = KeyRing.load_or_create(tmp_path, clock=clock)
    third, second, _first = (k.kid for k in ring.keys)
    assert _published(ring) == [third, second]
    clock.now = 100_000 + KEEP_UNTIL
    assert _published(ring) == [third]
    assert _published(ring, retain=10**9) == [k.kid for k in ring.keys]


def test_a_rotation_to_another_algorithm_retires_the_old_key_the_same_way(tmp_path: Path) -> None:
    _key_created_at(tmp_path, 1_000, "RS256")
    _key_created_at(tmp_path, 2_000, "ES256")
    clock = Clock(2_000 + KEEP_UNTIL - 1)
    ring = KeyRing.load_or_create(tmp_path, clock=clock)
    es256, rs256 = ring.keys
    assert (es256.alg, rs256.alg) == ("ES256", "RS256")
    assert _published(ring) == [es256.kid, rs256.kid]
    clock.now += 1
    assert _published(ring) == [es256.kid]


def test_a_rotation_picked_up_by_refresh_keeps_the_old_key_published(tmp_path: Path) -> None:
    clock = Clock(0)
    ring = KeyRing.load_or_create(tmp_path, clock=clock)
    before = ring.current
    after = rotate(tmp_path)  # `oidc-bridge keys rotate` elsewhere
    assert ring.refresh() is True
    clock.now = after.created + KEEP_UNTIL - 1
    assert _published(ring) == [after.kid, before.kid]
    clock.now = after.created + KEEP_UNTIL
    assert ring.refresh() is False and _published(ring) == [after.kid]


def test_a_refresh_without_a_rotation_only_lists_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = KeyRing.load_or_create(tmp_path)

    def no_reading(path: Path) -> SigningKey:
        raise AssertionError(f"read {path} though nothing changed")

    monkeypatch.setattr(keys_module, "load_key", no_reading)
    assert ring.refresh() is False
    assert ring.jwks(RETAIN)["keys"][0]["kid"] == ring.current.kid
