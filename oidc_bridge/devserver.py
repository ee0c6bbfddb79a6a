"""A WSGI server in a background thread, on loopback: for the demo and the integration tests.

Production runs under gunicorn; this exists so one process can host the bridge, the WeCom
simulator and a sample client together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[..., Any]


class _PathOnlyLog(WSGIRequestHandler):
    """Access log lines without the query string: it carries codes and states."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log("info", '"%s %s" %s', self.command, self.path.split("?", 1)[0], code)


class _Deferred:
    """Lets the server bind its port before the app (which needs the URL) exists."""

    def __init__(self) -> None:
        self.app: WSGIApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "app not mounted yet"
        return self.app(environ, start_response)


class ServerThread:
    """Bind first (port 0 picks a free port), mount the app, then start."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._deferred = _Deferred()
        self._server: BaseWSGIServer = make_server(
            host, port, self._deferred, threaded=True, request_handler=_PathOnlyLog
        )
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, app: WSGIApp) -> ServerThread:
        self._deferred.app = app
        self._thread.start()
        return self

    def stop(self) -> None:
        """Safe whether or not ``start`` ran: shutdown() would wait forever for a loop never started."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
