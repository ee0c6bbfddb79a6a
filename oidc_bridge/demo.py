"""``oidc-bridge demo``: the bridge, a simulated WeCom and a sample app, all on loopback.

Everything lives in this one process: the WeCom simulator (the person picks a simulated user
on its page), the bridge on the in-process store with a freshly generated key in a temporary
directory, and a confidential sample client that signs in through it.
"""

from __future__ import annotations

import logging
import secrets
import signal
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from .app import create_app
from .config.schema import ClientSettings, Settings, WeComSettings
from .demo_client import ClientConfig, create_client_app
from .devserver import ServerThread, WSGIApp
from .observability import configure_logging
from .oidc.keys import generate_key
from .store.memory_store import memory_store
from .wecom_sim import Directory, SimulatorServer

CLIENT_ID = "sample-app"
log = logging.getLogger(__name__)


@dataclass
class Demo:
    """The running pieces; ``stop()`` ends them all and removes the temporary key."""

    sim: SimulatorServer
    bridge: ServerThread
    client: ServerThread
    _cleanup: ExitStack = field(repr=False)

    @property
    def issuer(self) -> str:
        return self.bridge.url

    @property
    def client_url(self) -> str:
        """The one page a person opens: the sample app's home."""
        return self.client.url + "/"

    def stop(self) -> None:
        self._cleanup.close()


def build_demo(port: int = 0) -> Demo:
    """Start everything on 127.0.0.1 and return; the bridge listens on ``port`` (0: any free one)."""
    with ExitStack() as cleanup:
        # Bind the bridge first: its port is the one the person asked for, and may be taken.
        bridge, mount_bridge = _bound(cleanup, port)
        client, mount_client = _bound(cleanup, 0)
        keys = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="oidc-bridge-demo-keys-"))
        # Generated here, so the bridge's "back this key up" warning, meant for real deployments,
        # does not fire: this key is thrown away on exit by design.
        key = generate_key(Path(keys), "RS256")
        log.info("demo signing key %s in a temporary directory, removed on exit", key.kid)
        directory = Directory.sample()
        sim = cleanup.enter_context(SimulatorServer(directory))
        client_cfg = ClientConfig(
            issuer=bridge.url,
            client_id=CLIENT_ID,
            client_secret=secrets.token_urlsafe(32),
            redirect_uri=client.url + "/callback",
        )
        settings = _bridge_settings(bridge.url, sim.base_url, directory, client_cfg, Path(keys))
        mount_bridge(create_app(settings, store=memory_store()))
        mount_client(create_client_app(client_cfg))
        return Demo(sim, bridge, client, cleanup.pop_all())
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow errors


def _bound(cleanup: ExitStack, port: int) -> tuple[ServerThread, Callable[[WSGIApp], None]]:
    """A bound server and its mount function; stopped with the rest even if it never got an app."""
    server = ServerThread(port=port)
    cleanup.callback(server.stop)
    return server, server.start


def _bridge_settings(
    issuer: str, sim_url: str, directory: Directory, client: ClientConfig, keys_dir: Path
) -> Settings:
    return Settings(
        issuer=issuer,
        wecom=WeComSettings(
            corp_id=directory.corp_id,
            agent_id=directory.agent_id,
            secret=directory.secret,
            api_base=sim_url,
            oauth_base=sim_url,
            sso_base=sim_url,
        ),
        clients=(
            ClientSettings(
                client.client_id,
                (client.redirect_uri,),
                client_secret=client.client_secret,
                name="Sample app",
            ),
        ),
        keys_dir=keys_dir,
    )


def run_demo(port: int = 8000) -> int:
    """Serve until Ctrl-C. Logs are paths only: codes and tokens never reach them."""
    configure_logging("INFO")
    # A port already taken: werkzeug says so plainly on stderr and exits with status 1.
    demo = build_demo(port)
    print(
        "\nwecom-oidc-bridge demo: WeCom, its people and the app are all simulated, on this machine only."
        f"\n\n    Open {demo.client_url}\n\nPress Ctrl-C to stop.\n",
        flush=True,
    )
    # A service manager's SIGTERM ends the demo as Ctrl-C does, so the temporary key is removed.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping the demo.", flush=True)
    finally:
        demo.stop()
        logging.shutdown()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
