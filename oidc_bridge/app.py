"""The Flask application factory."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .config.schema import Settings
from .metrics import Metrics
from .observability import bind, clear_context, new_request_id, register_secret
from .oidc.discovery import Endpoints
from .services import Services, build_services
from .store.base import Store
from .web import oidc, ops, setup, wecom
from .web.json_provider import FastJSONProvider
from .web.render import register_error_handlers
from .web.security import add_security_headers

# One line per request, in the bridge's own format (JSON too) and with its request id; the path,
# never the query string or the Referer, which carry codes and states.
access_log = logging.getLogger("oidc_bridge.access")


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    services: Services | None = None,
    metrics: Metrics | None = None,
) -> Flask:
    """Build the services and mount every route under the issuer's path."""
    prefix = Endpoints(settings.issuer).path_prefix
    app = Flask(
        __name__,
        static_folder="web/static",
        static_url_path=prefix + "/static",
        template_folder="web/templates",
    )
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json = FastJSONProvider(app)
    svc = services or build_services(settings, store, metrics)
    app.extensions["oidc_bridge"] = svc
    app.register_blueprint(oidc.bp, url_prefix=prefix or None)
    app.register_blueprint(wecom.bp, url_prefix=prefix or None)
    app.register_blueprint(ops.bp, url_prefix=prefix or None)
    app.register_blueprint(setup.bp, url_prefix=prefix or None)
    # WeCom checks the verification file at the domain root, whatever the issuer's path.
    app.register_blueprint(wecom.verify_bp)
    register_error_handlers(app)
    app.after_request(add_security_headers)
    _register_known_secrets(settings)
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    @app.before_request
    def _request_context() -> None:
        # Worker threads are reused: start every request with a fresh context and id.
        clear_context()
        bind(request_id=new_request_id())
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count_and_log_request(response: Response) -> Response:
        started = g.get("metrics_started")
        elapsed = time.perf_counter() - started if started is not None else 0.0
        # Metrics by endpoint name, never the path: a path may be anything a client sends.
        endpoint = request.endpoint or "unmatched"
        svc.metrics.http_request(endpoint, request.method, response.status_code, elapsed)
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "ms": round(elapsed * 1000, 1),
                "remote_addr": request.remote_addr,
                "user_agent": request.headers.get("User-Agent") or None,
            },
        )
        return response

    return app


def _register_known_secrets(settings: Settings) -> None:
    """Secrets known at start are scrubbed from every log line, wherever they appear."""
    register_secret(settings.wecom.secret)
    for client in settings.clients:
        if client.client_secret:
            register_secret(client.client_secret)
