"""Run the simulator over real HTTP in a background thread, as tests, the demo and benchmarks need."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sim_app
from .directory import Directory
from .faults import Faults
from .state import SimClock, SimState, Stats

# How often the serving loop checks for stop(): short, so a test's teardown is not 0.5 s (the default).
_POLL_INTERVAL = 0.02


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: benchmarks make thousands. Errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


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

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        handler = _QuietHandler if self._quiet else WSGIRequestHandler
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"wecom-sim:{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests hung on a delay fault are released first."""
        server, self._server = self._server, None
        if server is None:
            return
        self.faults.clear()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` with the real port, once started."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self._server.port}"

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
