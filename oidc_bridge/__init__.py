"""wecom-oidc-bridge: an OpenID Connect Provider that signs people in through WeCom."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from flask import Flask

    from .config.schema import Settings


def create_app(config: Settings) -> Flask:
    """The Flask application factory (imported lazily so the CLI starts fast)."""
    from .app import create_app as _create_app

    return _create_app(config)


__all__ = ["__version__", "create_app"]
