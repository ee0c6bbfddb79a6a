"""A known-good config file beside each test, edited one line at a time to make each mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GOOD = """\
issuer = "https://sso.example.com"
keys_dir = "keys"

[wecom]
corp_id = "ww0123456789abcdef"
agent_id = "1000002"
secret = "env:WECOM_SECRET"

[[clients]]
client_id = "grafana"
client_secret = "file:grafana.secret"
redirect_uris = ["https://grafana.example.com/login/generic_oauth"]
"""

ENV = {"WECOM_SECRET": "wecom-secret"}

WriteConfig = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Writes the given TOML as ``oidc-bridge.toml`` next to a ``grafana.secret`` file."""
    (tmp_path / "grafana.secret").write_text("grafana-secret\n", encoding="utf-8")

    def write(text: str) -> Path:
        path = tmp_path / "oidc-bridge.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
