"""``oidc-bridge demo``: the bridge, a simulated WeCom and a sample app, all on loopback."""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .app import create_app
from .config.schema import ClientSettings, Settings, WeComSettings
from .demo_client import create_client_app
from .devserver import ServerThread
from .observability import configure_logging
from .store.memory_store import memory_store
from .wecom_sim import Directory, SimulatorServer


@dataclass
class Demo:
    sim: SimulatorServer
    bridge: ServerThread
    client: ServerThread
    keys: tempfile.TemporaryDirectory[str]

    @property
    def issuer(self) -> str:
        return self.bridge.url

    @property
    def client_url(self) -> str:
        return self.client.url + "/"

    def stop(self) -> None:
        for server in (self.client, self.bridge):
            server.stop()
        self.sim.stop()
        self.keys.cleanup()


def build_demo(port: int = 0) -> Demo:
    """Start everything; the person picks a simulated user on the WeCom page (no auto-approve)."""
    directory = Directory.sample()
    sim = SimulatorServer(directory).start()
    bridge = ServerThread(port=port)
    client = ServerThread()
    client_secret = secrets.token_urlsafe(24)
    redirect_uri = client.url + "/callback"
    keys = tempfile.TemporaryDirectory(prefix="oidc-bridge-demo-keys-")
    settings = Settings(
        issuer=bridge.url,
        wecom=WeComSettings(
            corp_id=directory.corp_id,
            agent_id=directory.agent_id,
            secret=directory.secret,
            api_base=sim.base_url,
            oauth_base=sim.base_url,
            sso_base=sim.base_url,
        ),
        clients=(
            ClientSettings("sample-app", (redirect_uri,), client_secret=client_secret, name="Sample app"),
        ),
        keys_dir=Path(keys.name),
    )
    bridge.start(create_app(settings, store=memory_store()))
    client.start(create_client_app(bridge.url, "sample-app", client_secret, redirect_uri))
    return Demo(sim, bridge, client, keys)


def run_demo(port: int = 8000) -> int:
    configure_logging("WARNING")
    demo = build_demo(port)
    print("wecom-oidc-bridge demo: everything is simulated and runs on this machine.")
    print(f"  bridge (issuer): {demo.issuer}")
    print(f"  simulated WeCom: {demo.sim.base_url}")
    print(f"\nOpen {demo.client_url} and sign in. Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        demo.stop()
        logging.shutdown()
    return 0
