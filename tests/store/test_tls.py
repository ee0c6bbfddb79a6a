"""rediss:// against a real redis-server speaking TLS: the store verifies the server's certificate
and keeps its connections, the sync worker's own one included (no new TLS handshake a command)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from oidc_bridge.errors import StoreUnavailable
from oidc_bridge.store.redis_store import RedisStore

from ..own_redis import free_port

LOOPBACK = "127.0.0.1"

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "redis.crt", directory / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_redis_url(tmp_path: Path) -> Iterator[str]:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
            "--tls-auth-clients", "no", "--save", "", "--appendonly", "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    try:
        deadline = time.monotonic() + 5
        while True:
            if proc.poll() is not None:
                pytest.skip("this redis-server cannot speak TLS")
            try:
                redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server with TLS did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("one_thread", [False, True])
def test_a_rediss_store_works_and_keeps_its_connections(tls_redis_url: str, one_thread: bool) -> None:
    admin = redis.Redis.from_url(tls_redis_url)
    before = admin.info("stats")["total_connections_received"]
    store = RedisStore.from_url(tls_redis_url, "tls:", 2, one_thread=one_thread)
    for i in range(50):
        store.set("k", f"值{i}", 60)
        with store.batch():
            store.set("b", str(i), 60)
        assert store.get("k") == f"值{i}" and store.getdel("b") == str(i)
    opened = admin.info("stats")["total_connections_received"] - before
    assert opened <= 2, f"{opened} connections for 200 commands: a TLS handshake per command"
    admin.close()


def test_a_rediss_store_refuses_a_server_it_cannot_verify(tls_redis_url: str) -> None:
    unverified = tls_redis_url.split("?")[0]  # the system's CAs, which never signed this certificate
    store = RedisStore.from_url(unverified, "tls:", 2, one_thread=True)
    with pytest.raises(StoreUnavailable):
        store.ping()
