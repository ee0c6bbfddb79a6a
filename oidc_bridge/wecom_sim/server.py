"""Run the simulator over real HTTP in a background thread, as tests, the demo and benchmarks need.

Served by waitress, which keeps HTTP/1.1 connections alive as WeCom's API servers do, so the
bridge's pooled connections are reused between calls as in production. werkzeug's development
server closes every connection after one answer, which made each simulated WeCom call pay for
a new TCP connection that a real deployment does not (bench/logins.py).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from .app import create_sim_app
from .directory import Directory
from .faults import Faults
from .state import SimClock, SimState, Stats

# How often the serving loop looks for stop() when idle: a test's teardown waits at most this.
_POLL_INTERVAL = 0.02
# Requests served at once. Tests hang several calls on delay faults while others go on, which a
# small pool would queue behind them.
_THREADS = 16


def _log_requests(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """One stderr line a request, path only: queries carry access tokens and secrets."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            print(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')} {status}", file=sys.stderr)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged


class SimulatorServer:
    """A WeCom simulator on ``base_url``; use as the bridge's api_base, oauth_base and sso_base."""

    def __init__(
        self,
        directory: Directory | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        quiet: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.state = SimState(directory or Directory.sample(), clock=SimClock(clock))
        self.app = create_sim_app(self.state)
        self._quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        app = self.app if self._quiet else _log_requests(self.app)
        # Bound here, so waitress serves exactly this one socket (a host name may resolve to several).
        listener = socket.create_server((self.host, self.port))
        self._server = create_server(
            app,
            sockets=[listener],
            threads=_THREADS,
            connection_limit=1000,
            asyncore_use_poll=True,
            ident="WeCom simulator",
        )
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name=f"wecom-sim:{self.port_served}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests hung on a delay fault are released first."""
        server, self._server = self._server, None
        if server is None:
            return
        self.faults.clear()
        # Requests in flight finish first: a request thread still running after its server's
        # sockets closed would signal through a file descriptor the next server may reuse.
        server.task_dispatcher.shutdown(timeout=5)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _serve(self, server: BaseWSGIServer) -> None:
        """waitress's serving loop, one poll at a time until stop(); then this thread, the only
        one touching the sockets, closes them. (Closing them from stop() through waitress's
        trigger races with the trigger's own write: it can close the pipe it is writing to.)"""
        while not self._stopping.is_set():
            wasyncore.loop(timeout=_POLL_INTERVAL, map=server._map, use_poll=True, count=1)
        wasyncore.close_all(server._map)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` with the real port, once started."""
        return f"http://{self.host}:{self.port_served}"

    @property
    def port_served(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        port: int = self._server.socket.getsockname()[1]
        return port

    # what tests steer and read -----------------------------------------------------------

    @property
    def directory(self) -> Directory:
        return self.state.directory

    @directory.setter
    def directory(self, value: Directory) -> None:
        self.state.directory = value

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def clock(self) -> SimClock:
        return self.state.clock

    @property
    def auto_approve(self) -> str | None:
        """A userid: both login pages skip the chooser (and consent) and log this person in."""
        return self.state.auto_approve

    @auto_approve.setter
    def auto_approve(self, userid: str | None) -> None:
        self.state.auto_approve = userid

    def advance(self, seconds: float) -> None:
        """Move simulated time forward: tokens, codes, tickets and consents age accordingly."""
        self.clock.advance(seconds)

    def expire_tokens(self) -> None:
        """Every access_token issued so far now answers 42001."""
        self.state.credentials.expire_all()

    def invalidate_tokens(self) -> None:
        """Every access_token issued so far now answers 40014."""
        self.state.credentials.invalidate_all()
