"""The gunicorn entry: ``gunicorn "oidc_bridge.wsgi:app"`` reads ``$OIDC_BRIDGE_CONFIG``."""

from __future__ import annotations

import sys

from .config.loader import load_config
from .errors import ConfigError
from .observability import configure_logging

try:
    _settings = load_config()
except ConfigError as err:
    # One line, no traceback, and gunicorn stops the worker with a non-zero status.
    print(str(err), file=sys.stderr)
    raise SystemExit(2) from None

configure_logging(_settings.log_level, _settings.log_format)

from . import create_app  # noqa: E402

app = create_app(_settings)
