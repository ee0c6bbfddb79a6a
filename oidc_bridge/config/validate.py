"""Cross-field checks on parsed settings: what a type alone cannot say."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ..errors import ConfigError
from .schema import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_issuer(s: Settings) -> None:
    def err(message: str) -> ConfigError:
        return ConfigError(message, key="issuer", file=s.source)

    parts = urlsplit(s.issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise err("must be an absolute https URL, e.g. https://sso.example.com")
    if parts.query or parts.fragment:
        raise err("must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise err("http is allowed only for loopback hosts; use https")


def _check_clients(s: Settings) -> None:
    seen: set[str] = set()
    for i, c in enumerate(s.clients):
        key = f"clients[{i}]"
        if not c.client_id:
            raise ConfigError("must not be empty", key=f"{key}.client_id", file=s.source)
        if c.client_id in seen:
            raise ConfigError(f"duplicate client_id {c.client_id!r}", key=f"{key}.client_id", file=s.source)
        seen.add(c.client_id)
        if not c.redirect_uris:
            raise ConfigError(
                "at least one redirect URI is required", key=f"{key}.redirect_uris", file=s.source
            )
        if c.client_secret is not None and not c.client_secret:
            raise ConfigError(
                "must not be empty (omit it for a public client)", key=f"{key}.client_secret", file=s.source
            )
        for j, uri in enumerate((*c.redirect_uris, *c.post_logout_redirect_uris)):
            parts = urlsplit(uri)
            if (
                not parts.scheme
                or not (parts.netloc or parts.scheme not in ("http", "https"))
                or parts.fragment
            ):
                name = "redirect_uris" if j < len(c.redirect_uris) else "post_logout_redirect_uris"
                raise ConfigError(
                    f"{uri!r} must be an absolute URI without a fragment", key=f"{key}.{name}", file=s.source
                )


def _check_numbers(s: Settings) -> None:
    for name in ("access_token_lifetime", "id_token_lifetime", "code_lifetime", "login_lifetime"):
        if getattr(s.tokens, name) <= 0:
            raise ConfigError("must be a positive number of seconds", key=f"tokens.{name}", file=s.source)
    for name in ("connect_timeout", "read_timeout"):
        if not 0 < getattr(s.wecom, name) <= 30:
            raise ConfigError("must be between 0 and 30 seconds", key=f"wecom.{name}", file=s.source)
    if s.log_format not in ("text", "json"):
        raise ConfigError("must be 'text' or 'json'", key="log_format", file=s.source)
    for name in ("corp_id", "agent_id", "secret"):
        if not getattr(s.wecom, name):
            raise ConfigError("must not be empty", key=f"wecom.{name}", file=s.source)
    if s.redis_url is not None and urlsplit(s.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("must be a redis://, rediss:// or unix:// URL", key="redis_url", file=s.source)


def validate(settings: Settings) -> None:
    _check_issuer(settings)
    _check_clients(settings)
    _check_numbers(settings)
