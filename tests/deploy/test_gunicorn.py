"""The image's exact command, run here without Docker: gunicorn with oidc_bridge.gunicorn_conf.

The command line is parsed from the Dockerfile's CMD (and the health check from its
HEALTHCHECK), so the tests and the image cannot drift apart. Everything is on 127.0.0.1: the
bridge on a free port, the real Redis's db 10 (flushed before and after, nothing else).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from .dockerfile import healthcheck_argv, instruction, json_argv

pytestmark = pytest.mark.redis

DEPLOY_DB = 10  # this module owns db 10 of the real Redis and flushes only it
CLIENT_ID = "app"
CLIENT_SECRET = "app-secret-0123456789abcdef"
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable(name: str) -> str:
    """The venv's own console script for a command the image finds on its PATH."""
    if name == "python":
        return sys.executable
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed in {path.parent}"
    return str(path)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def deploy_redis() -> Iterator[None]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=DEPLOY_DB, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("the real Redis on 127.0.0.1:6379 is not running")
    client.flushdb()
    yield
    client.flushdb()
    client.close()


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid``, from /proc (no ps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def server(tmp_path: Path, deploy_redis: None) -> Iterator[Server]:
    port = _free_port()
    config = tmp_path / "oidc-bridge.toml"
    config.write_text(
        f"""
issuer = "http://127.0.0.1:{port}"
redis_url = "redis://127.0.0.1:6379/{DEPLOY_DB}"
keys_dir = "{tmp_path / "keys"}"
store_prefix = "deploy-test:"

[wecom]
corp_id = "ww0123456789abcdef"
agent_id = "1000002"
secret = "env:TEST_WECOM_SECRET"
# Never called by these tests: nothing listens on port 9.
api_base = "http://127.0.0.1:9"
oauth_base = "http://127.0.0.1:9"
sso_base = "http://127.0.0.1:9"

[[clients]]
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
redirect_uris = ["http://127.0.0.1:9/callback"]
"""
    )
    env = dict(os.environ)
    env.update(
        OIDC_BRIDGE_CONFIG=str(config),
        OIDC_BRIDGE_BIND=f"127.0.0.1:{port}",
        OIDC_BRIDGE_WORKERS="2",
        OIDC_BRIDGE_THREADS="4",
        TEST_WECOM_SECRET="wecom-secret-for-the-test",
    )
    for name in ("GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    argv = json_argv(instruction("CMD"))
    argv[0] = _executable(argv[0])
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    srv = Server(proc, port, env, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}:\n{srv.output()}"
            try:
                if _get(srv.base + "/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"not ready in {START_TIMEOUT} s:\n{srv.output()}"
            time.sleep(0.1)
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def test_the_image_command_serves_readyz_and_discovery(server: Server) -> None:
    status, body = _get(server.base + "/readyz")
    assert status == 200
    assert json.loads(body)["checks"] == {"store": "ok", "signing_key": "ok"}

    status, body = _get(server.base + "/.well-known/openid-configuration")
    assert status == 200
    discovery = json.loads(body)
    assert discovery["issuer"] == server.base
    assert discovery["token_endpoint"].startswith(server.base)
    status, body = _get(discovery["jwks_uri"])
    assert status == 200 and json.loads(body)["keys"]

    # Two workers under one master, as OIDC_BRIDGE_WORKERS asked (the second may still be
    # booting when the first answers /readyz).
    deadline = time.monotonic() + 10
    while len(_children(server.proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_children(server.proc.pid)) == 2

    # The image's HEALTHCHECK command, as Docker would run it, passes.
    argv = healthcheck_argv()
    argv[0] = _executable(argv[0])
    done = subprocess.run(argv, env=server.env, capture_output=True, text=True, timeout=10, check=False)
    assert done.returncode == 0, done.stderr


def test_threads_run_the_gthread_worker_and_its_small_pools_serve_every_thread(server: Server) -> None:
    assert "Using worker: gthread" in server.output()
    # 2 workers x 4 threads, each worker holding at most 5 Redis connections: 24 requests at once
    # all pass the store check (a thread finding the pool busy waits instead of failing).
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda _: _get(server.base + "/readyz")[0], range(96)))
    assert statuses == [200] * 96


def test_access_log_has_paths_but_never_query_strings(server: Server) -> None:
    secret_code = "CODEfromWeComMustNotBeLogged"
    status, _ = _get(f"{server.base}/readyz?code={secret_code}&state=STATEmustNotBeLogged")
    assert status == 200
    deadline = time.monotonic() + 5
    while "GET /readyz 200" not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    output = server.output()
    assert secret_code not in output
    assert "STATEmustNotBeLogged" not in output


def test_metrics_sum_every_worker(server: Server) -> None:
    """Each request may land on either worker; /metrics counts them all, whichever answers."""
    for _ in range(12):
        assert _get(server.base + "/healthz")[0] == 200
    deadline = time.monotonic() + 10
    while True:
        status, body = _get(server.base + "/metrics")
        assert status == 200
        counts = [
            float(line.rpartition(" ")[2])
            for line in body.decode().splitlines()
            if line.startswith("oidc_bridge_http_requests_total{") and 'endpoint="ops.healthz"' in line
        ]
        if sum(counts) >= 12:
            break
        assert time.monotonic() < deadline, body.decode()[:3000]
        time.sleep(0.1)
    assert sum(counts) == 12


def _read_response(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_lets_the_request_in_flight_finish(server: Server) -> None:
    body = (
        "grant_type=authorization_code&code=not-a-real-code"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
        f"&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    ).encode()
    head = (
        f"POST /token HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    half = len(body) // 2
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        # A slow client: the headers and half the body, so a worker is busy reading the rest.
        sock.sendall(head + body[:half])
        time.sleep(1.0)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.proc.poll() is None, "the master quit with a request in flight"
        sock.sendall(body[half:])
        response = _read_response(sock)

    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 4"), response[:300]
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert payload["error"] == "invalid_grant"

    assert server.proc.wait(timeout=25) == 0, server.output()
    # The listener is gone with it.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass


def test_a_bad_config_stops_the_server_with_one_line(tmp_path: Path) -> None:
    """The app loads in the master (preload_app): no loop of workers failing to boot."""
    missing = tmp_path / "missing.toml"
    env = {k: v for k, v in os.environ.items() if k not in ("GUNICORN_CMD_ARGS", "OIDC_BRIDGE_WORKERS")}
    env.update(OIDC_BRIDGE_CONFIG=str(missing), OIDC_BRIDGE_BIND=f"127.0.0.1:{_free_port()}")
    argv = json_argv(instruction("CMD"))
    argv[0] = _executable(argv[0])
    done = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{missing}: config file not found")
