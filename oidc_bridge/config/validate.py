"""Cross-field checks on parsed settings: what a type alone cannot say.

Every check appends to a list instead of raising, so an operator sees every mistake in one
run (Dex's ``cmd/dex/config.go`` habit); the CLI still prints only the first, as one line.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from ..errors import ConfigError
from ..oidc.claims import RESERVED_CLAIMS, SUPPORTED_CLAIMS, SUPPORTED_SCOPES
from .schema import ClientSettings, Settings, WeComSettings

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LANGS = ("", "zh", "en")
LIFETIMES = (
    "access_token_lifetime",
    "id_token_lifetime",
    "code_lifetime",
    "login_lifetime",
    "refresh_token_lifetime",
)
CLIENT_LIFETIMES = ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime")
GRANT_TYPES = ("authorization_code", "refresh_token")
# WeCom names the domain-ownership file WW_verify_<code>.txt; web/wecom.py serves only that shape.
_VERIFY_FILE = re.compile(r"^WW_verify_[A-Za-z0-9]+\.txt$")
_MAX_TIMEOUT = 30.0


class ConfigErrors(ConfigError):
    """Every problem found, in order. ``str()`` is the first one, so it still prints as one line."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        if not errors:
            raise ValueError("ConfigErrors needs at least one error")
        first = errors[0]
        super().__init__(first.message, key=first.key, file=first.file)
        self.errors: tuple[ConfigError, ...] = tuple(errors)


def one_line(text: str) -> str:
    """Control characters escaped: a key or value from the file must not break the one-line message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: the only hosts an ``http`` issuer may use."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(url: str) -> SplitResult | None:
    """``urlsplit`` that also checks the port, or None: a bad ``[::1`` or ``:99999`` must not crash."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    return parts


class _Checks:
    """Collects the problems of one Settings."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.errors: list[ConfigError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(ConfigError(one_line(message), key=one_line(key), file=self.s.source))

    def issuer(self) -> None:
        issuer = self.s.issuer
        parts = _split(issuer)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail("issuer", f"{issuer!r} must be an absolute https URL, e.g. https://sso.example.com")
            return
        if any(c.isspace() or ord(c) < 0x20 for c in issuer):
            self.fail("issuer", "must not contain spaces or control characters")
        if parts.query or parts.fragment or issuer.endswith(("?", "#")):
            self.fail("issuer", "must not have a query or fragment (OpenID Connect Discovery 1.0 §3)")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            self.fail(
                "issuer", "http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https"
            )

    def clients(self) -> None:
        seen: set[str] = set()
        for i, c in enumerate(self.s.clients):
            key = f"clients[{i}]"
            if not c.client_id:
                self.fail(f"{key}.client_id", "must not be empty")
            elif c.client_id in seen:
                self.fail(f"{key}.client_id", f"duplicate client_id {c.client_id!r}")
            seen.add(c.client_id)
            if c.client_secret is not None and not c.client_secret:
                self.fail(f"{key}.client_secret", "must not be empty (omit it for a public client)")
            if not c.redirect_uris:
                self.fail(f"{key}.redirect_uris", "at least one redirect URI is required")
            self.client_auth(key, c)
            self.client_grants(key, c)
            self.client_apps(key, c)
            for name, uris in (
                ("redirect_uris", c.redirect_uris),
                ("post_logout_redirect_uris", c.post_logout_redirect_uris),
            ):
                for uri in uris:
                    if not _absolute_without_fragment(uri):
                        self.fail(f"{key}.{name}", f"{uri!r} must be an absolute URI without a fragment")

    def client_auth(self, key: str, c: ClientSettings) -> None:
        if c.client_secret is not None and c.client_secret_hash is not None:
            self.fail(f"{key}.client_secret_hash", "give client_secret or client_secret_hash, not both")
        if c.client_secret_hash is not None and not c.client_secret_hash.startswith("$argon2"):
            self.fail(f"{key}.client_secret_hash", "must be an Argon2 hash from 'oidc-bridge hash-secret'")
        method = c.token_endpoint_auth_method
        if method == "none" and not c.is_public:
            self.fail(f"{key}.token_endpoint_auth_method", '"none" is for public clients: remove the secret')
        if method not in ("", "none") and c.is_public:
            self.fail(f"{key}.token_endpoint_auth_method", f"{method} needs a client_secret(_hash)")

    def client_apps(self, key: str, c: ClientSettings) -> None:
        known = [app.id for app in self.s.wecom_apps]
        for app_id in c.wecom_apps:
            if app_id not in known:
                close = difflib.get_close_matches(app_id, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; the apps are {', '.join(known)}"
                self.fail(f"{key}.wecom_apps", f"no WeCom app has id {app_id!r}{hint}")

    def client_grants(self, key: str, c: ClientSettings) -> None:
        for grant in c.grant_types:
            if grant not in GRANT_TYPES:
                self.fail(f"{key}.grant_types", f"{grant!r} is not one of {', '.join(GRANT_TYPES)}")
        if "authorization_code" not in c.grant_types:
            self.fail(f"{key}.grant_types", "must include authorization_code")
        for alias, claim in c.claim_aliases.items():
            if claim not in SUPPORTED_CLAIMS or alias in SUPPORTED_CLAIMS or alias in RESERVED_CLAIMS:
                self.fail(
                    f"{key}.claim_aliases.{alias}",
                    f"must map a new name to one of {', '.join(SUPPORTED_CLAIMS)}",
                )
        for scope in c.scopes:
            if scope not in SUPPORTED_SCOPES:
                self.fail(f"{key}.scopes", f"{scope!r} is not one of {', '.join(SUPPORTED_SCOPES)}")
        if c.scopes and "openid" not in c.scopes:
            self.fail(f"{key}.scopes", "must include openid")
        for name in CLIENT_LIFETIMES:
            value = getattr(c, name)
            if value is not None and value <= 0:
                self.fail(f"{key}.{name}", "must be a positive number of seconds")
        for i, tag in enumerate(c.allowed_tags):
            # WeCom tag ids start at 1 and names are never empty: anything else matches nobody.
            if tag == "" or (isinstance(tag, int) and tag <= 0):
                self.fail(f"{key}.allowed_tags[{i}]", "must be a tag id (1 or more) or a tag name")
        if c.initiate_login_uri is not None and not _absolute_without_fragment(c.initiate_login_uri):
            self.fail(f"{key}.initiate_login_uri", "must be an absolute URI without a fragment")
        if c.backchannel_logout_uri is not None:
            parts = _split(c.backchannel_logout_uri)
            ok = (
                parts is not None
                and parts.hostname
                and not parts.fragment
                and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)))
            )
            if not ok:
                self.fail(f"{key}.backchannel_logout_uri", "must be an https URL (http only on loopback)")

    def wecom(self) -> None:
        """Each app on its own, then what must hold across them."""
        apps = self.s.wecom_apps
        for i, app in enumerate(apps):
            self.wecom_app("wecom" if i == 0 else f"wecom.apps[{i - 1}]", app)
        ids: dict[str, int] = {}
        pairs: set[tuple[str, str]] = set()
        for i, app in enumerate(apps):
            key = "wecom" if i == 0 else f"wecom.apps[{i - 1}]"
            if app.id in ids:
                self.fail(f"{key}.id", f"duplicate WeCom app id {app.id!r}: give each app its own")
            ids[app.id] = i
            if (app.corp_id, app.agent_id) in pairs:
                self.fail(f"{key}.agent_id", f"app {app.agent_id} of corp {app.corp_id} is listed twice")
            pairs.add((app.corp_id, app.agent_id))
        corps = {app.corp_id for app in apps}
        if len(corps) > 1 and self.s.subject == "userid":
            self.fail(
                "subject",
                'subject = "userid" cannot tell apart two people of different corps with the same '
                'userid; with several corps use "corp_userid" or "hash"',
            )

    def wecom_app(self, key: str, w: WeComSettings) -> None:
        if not _APP_ID.fullmatch(w.id):
            self.fail(f"{key}.id", "must be 1-32 lowercase letters, digits or '-', not starting with '-'")
        for name in ("corp_id", "agent_id", "secret"):
            if not getattr(w, name):
                self.fail(f"{key}.{name}", "must not be empty")
        for name in ("api_base", "oauth_base", "sso_base"):
            parts = _split(getattr(w, name))
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                self.fail(f"{key}.{name}", "must be an absolute http(s) URL")
            elif parts.query or parts.fragment:
                self.fail(f"{key}.{name}", "must not have a query or fragment")
        for name in ("connect_timeout", "read_timeout"):
            if not 0 < getattr(w, name) <= _MAX_TIMEOUT:
                self.fail(f"{key}.{name}", f"must be more than 0 and at most {_MAX_TIMEOUT:g} seconds")
        if w.department_cache_ttl < 0:
            self.fail(f"{key}.department_cache_ttl", "must be 0 or more seconds")
        if w.remember_private_fields < 0:
            self.fail(f"{key}.remember_private_fields", "must be 0 or more seconds")
        if w.email_domain and not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", w.email_domain):
            self.fail(f"{key}.email_domain", "must be a domain name like example.com, without @")
        if w.lang not in LANGS:
            self.fail(f"{key}.lang", 'must be "" (WeCom decides), "zh" or "en"')
        for name in w.verify_files:
            if not _VERIFY_FILE.match(name):
                self.fail(
                    f"{key}.verify_files.{name}",
                    "must be the file name WeCom gives, WW_verify_<letters and digits>.txt",
                )

    def tokens(self) -> None:
        for name in LIFETIMES:
            if getattr(self.s.tokens, name) <= 0:
                self.fail(f"tokens.{name}", "must be a positive number of seconds")
        sessions = self.s.sessions
        for name in ("idle_lifetime", "absolute_lifetime"):
            if getattr(sessions, name) <= 0:
                self.fail(f"sessions.{name}", "must be a positive number of seconds")
        if sessions.idle_lifetime > sessions.absolute_lifetime:
            self.fail("sessions.idle_lifetime", "must not exceed sessions.absolute_lifetime")

    def top_level(self) -> None:
        s = self.s
        if s.redis_url is not None and not _redis_url_ok(s.redis_url):
            self.fail(
                "redis_url",
                "must be redis://, rediss://, unix:// or redis+sentinel://host:port[,...]/service[/db]; "
                "leave it out for the in-process store",
            )
        if s.log_format not in LOG_FORMATS:
            self.fail("log_format", f"must be one of {', '.join(map(repr, LOG_FORMATS))}")
        if s.log_level.upper() not in LOG_LEVELS:
            self.fail("log_level", f"must be one of {', '.join(LOG_LEVELS)}")
        if not s.store_prefix:
            self.fail("store_prefix", "must not be empty")
        if s.subject == "hash" and len(s.subject_salt) < 16:
            self.fail("subject_salt", 'subject = "hash" needs a salt of 16+ characters; never change it')
        if s.setup_token and len(s.setup_token) < 16:
            self.fail("setup_token", "must be at least 16 characters (or empty to turn the setup page off)")
        if not 0 <= s.trusted_proxies <= 5:
            self.fail("trusted_proxies", "must be the number of proxies in front, 0 to 5")


_APP_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_SENTINEL_URL = re.compile(r"^redis\+sentinel://[^/\s]+(,[^/\s]+)*/[A-Za-z0-9._-]+(/\d+)?$")


def _redis_url_ok(url: str) -> bool:
    if url.startswith("redis+sentinel://"):
        return bool(_SENTINEL_URL.match(url))
    parts = _split(url)
    return parts is not None and parts.scheme in ("redis", "rediss", "unix")


def _absolute_without_fragment(uri: str) -> bool:
    """A scheme, a host for http(s) (custom schemes of native apps need none), no fragment."""
    parts = _split(uri)
    if parts is None or not parts.scheme or parts.fragment or "#" in uri:
        return False
    return bool(parts.hostname) if parts.scheme in ("http", "https") else bool(parts.path or parts.netloc)


def problems(settings: Settings) -> list[ConfigError]:
    """Every cross-field problem, in the order the keys usually appear in the file."""
    checks = _Checks(settings)
    checks.issuer()
    checks.top_level()
    checks.wecom()
    checks.tokens()
    checks.clients()
    return checks.errors


def validate(settings: Settings) -> None:
    """Raise ``ConfigErrors`` (first problem as its one line) unless the settings are sound."""
    errors = problems(settings)
    if errors:
        raise ConfigErrors(errors)
