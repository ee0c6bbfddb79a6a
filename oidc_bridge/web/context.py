"""Reaching the service graph from a request."""

from __future__ import annotations

from flask import current_app

from ..services import Services


def services() -> Services:
    return current_app.extensions["oidc_bridge"]
