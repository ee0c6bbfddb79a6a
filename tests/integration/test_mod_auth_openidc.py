"""A second, independent relying party: Apache httpd with mod_auth_openidc (Debian packages).

Apache does discovery, the PKCE authorization request, the code exchange and the ID token
validation itself; the test only plays the browser. Needs
``apt-get install -y --no-install-recommends apache2 libapache2-mod-auth-openidc``;
skipped when either is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests

from oidc_bridge.app import create_app
from oidc_bridge.config.schema import ClientSettings, Settings, WeComSettings
from oidc_bridge.devserver import ServerThread
from oidc_bridge.store.memory_store import memory_store
from oidc_bridge.wecom_sim import Directory, SimulatorServer

from ..flows.rp import DESKTOP_UA

MODULES = Path("/usr/lib/apache2/modules")
APACHE = shutil.which("apache2") or ("/usr/sbin/apache2" if Path("/usr/sbin/apache2").exists() else None)

pytestmark = pytest.mark.skipif(
    APACHE is None or not (MODULES / "mod_auth_openidc.so").exists(),
    reason="apache2 and libapache2-mod-auth-openidc are not installed",
)

CLIENT_ID = "apache"
CLIENT_SECRET = "apache-secret-0123456789abcdef"
LOAD = (
    "mpm_prefork",
    "authn_core",
    "authz_core",
    "authz_user",
    "alias",
    "mime",
    "cgi",
    "auth_openidc",
)
CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'REMOTE_USER=%s\\n' "$REMOTE_USER"
printf 'OIDC_CLAIM_name=%s\\n' "$OIDC_CLAIM_name"
printf 'OIDC_CLAIM_iss=%s\\n' "$OIDC_CLAIM_iss"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apache_conf(root: Path, port: int, issuer: str) -> str:
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    loads = "\n".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so" for m in LOAD)
    return f"""\
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
DefaultRuntimeDir "{root}"
Mutex file:{root} default
ErrorLog "{root}/error.log"
LogLevel warn auth_openidc:info
{user}{loads}
TypesConfig /dev/null
DocumentRoot "{root}/htdocs"

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {CLIENT_ID}
OIDCClientSecret {CLIENT_SECRET}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase test-passphrase-0123456789
OIDCPKCEMethod S256
OIDCScope "openid profile"
OIDCRemoteUserClaim preferred_username
OIDCPassClaimsAs environment
OIDCHTTPTimeoutLong 10
OIDCHTTPTimeoutShort 5

ScriptAlias /protected/whoami "{root}/whoami.cgi"
<Location /protected>
    AuthType openid-connect
    Require valid-user
</Location>
"""


@dataclass
class ApacheRP:
    url: str
    issuer: str
    sim: SimulatorServer
    error_log: Path


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"apache2 exited with {proc.returncode}:\n{read(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"apache2 did not listen on {port} within {timeout}s:\n{read(log)}")


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no error log)"


@pytest.fixture
def apache_rp() -> Iterator[ApacheRP]:
    sim = SimulatorServer(Directory.sample())
    sim.start()
    sim.auto_approve = "zhangsan"
    bridge = ServerThread()
    port = free_port()
    # Apache's children run as www-data: a directory of our own they can read (pytest's are 0700).
    root = Path(tempfile.mkdtemp(prefix="oidc-bridge-apache-"))
    proc: subprocess.Popen | None = None
    try:
        corp = sim.directory
        settings = Settings(
            issuer=bridge.url,
            wecom=WeComSettings(
                corp_id=corp.corp_id,
                agent_id=corp.agent_id,
                secret=corp.secret,
                api_base=sim.base_url,
                oauth_base=sim.base_url,
                sso_base=sim.base_url,
                connect_timeout=1.0,
                read_timeout=1.5,
            ),
            clients=(
                ClientSettings(
                    CLIENT_ID,
                    (f"http://127.0.0.1:{port}/protected/redirect_uri",),
                    client_secret=CLIENT_SECRET,
                    name="Apache",
                    post_logout_redirect_uris=(f"http://127.0.0.1:{port}/signed-out",),
                ),
            ),
            keys_dir=root / "keys",
        )
        bridge.start(create_app(settings, store=memory_store("apache-test:")))

        os.chmod(root, 0o755)
        (root / "htdocs").mkdir()
        cgi = root / "whoami.cgi"
        cgi.write_text(CGI)
        cgi.chmod(0o755)
        conf = root / "httpd.conf"
        conf.write_text(apache_conf(root, port, bridge.url))
        log = root / "error.log"
        # -X: one process in the foreground, so terminating it stops everything. Messages from
        # before ErrorLog is open go to stderr: into the same file.
        with open(log, "ab") as console:
            proc = subprocess.Popen(
                [APACHE or "apache2", "-f", str(conf), "-X"],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(port, proc, log)
        yield ApacheRP(f"http://127.0.0.1:{port}", bridge.url, sim, log)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        bridge.stop()
        sim.stop()
        shutil.rmtree(root, ignore_errors=True)


def follow(http: requests.Session, url: str, seen: list[str]) -> requests.Response:
    """Follow redirects one by one (at most 12), recording each hop as "status url"."""
    response = None
    for _ in range(12):
        response = http.get(url, allow_redirects=False, timeout=15)
        seen.append(f"{response.status_code} {url}")
        if response.status_code not in (301, 302, 303, 307):
            return response
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("too many redirects:\n" + "\n".join(seen))


def browser() -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = DESKTOP_UA
    return http


def sign_in(apache_rp: ApacheRP, http: requests.Session) -> tuple[requests.Response, list[str]]:
    seen: list[str] = []
    response = follow(http, apache_rp.url + "/protected/whoami", seen)
    trail = "\n".join(seen)
    assert response.status_code == 200, f"{trail}\n{response.text}\n{read(apache_rp.error_log)}"
    return response, seen


def test_apache_signs_zhangsan_in_through_the_bridge(apache_rp: ApacheRP) -> None:
    http = browser()
    response, seen = sign_in(apache_rp, http)
    for hop in seen:
        url = hop.split(" ", 1)[1]
        if url.startswith(apache_rp.issuer + "/authorize"):
            query = parse_qs(urlsplit(url).query)
            # What Apache asked for: the code flow with PKCE S256 and the configured scopes.
            assert query["client_id"] == [CLIENT_ID]
            assert query["response_type"] == ["code"]
            assert query["code_challenge_method"] == ["S256"]
            assert query["scope"][0].split() == ["openid", "profile"]
    trail = "\n".join(seen)
    hops = [line.split(" ", 1)[1] for line in seen]
    assert any(h.startswith(apache_rp.issuer + "/authorize") for h in hops), trail
    assert any(h.startswith(apache_rp.sim.base_url) for h in hops), trail
    assert any("/protected/redirect_uri?" in h for h in hops), trail
    body = dict(line.split("=", 1) for line in response.text.splitlines() if "=" in line)
    assert body["REMOTE_USER"] == "zhangsan"
    assert body["OIDC_CLAIM_iss"] == apache_rp.issuer
    assert body["OIDC_CLAIM_name"]

    # The session cookie now carries the login: a second request goes straight through.
    again = http.get(apache_rp.url + "/protected/whoami", allow_redirects=False, timeout=15)
    assert again.status_code == 200
    assert "REMOTE_USER=zhangsan" in again.text


def test_apache_logout_ends_the_bridge_session(apache_rp: ApacheRP) -> None:
    http = browser()
    sign_in(apache_rp, http)
    target = f"{apache_rp.url}/signed-out"
    seen: list[str] = []
    follow(http, f"{apache_rp.url}/protected/redirect_uri?logout={quote(target, safe='')}", seen)
    trail = "\n".join(seen)
    hops = [line.split(" ", 1)[1] for line in seen]
    # Apache sent the browser to the bridge's end_session_endpoint, which sent it back.
    logout = [h for h in hops if h.startswith(apache_rp.issuer + "/logout")]
    assert logout, trail
    query = parse_qs(urlsplit(logout[0]).query)
    assert query["post_logout_redirect_uri"] == [target], trail
    assert "id_token_hint" in query, trail
    assert hops[-1] == target, trail

    # Apache's session and the bridge's are both gone: the next visit goes to WeCom again.
    seen = []
    response = follow(http, apache_rp.url + "/protected/whoami", seen)
    assert response.status_code == 200
    assert "REMOTE_USER=zhangsan" in response.text
    assert any(h.split(" ", 1)[1].startswith(apache_rp.sim.base_url) for h in seen), "\n".join(seen)
