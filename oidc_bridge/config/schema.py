"""Typed, frozen settings: the config file parsed once at start.

Every default is documented beside it; ``loader.py`` fills these from TOML and
``validate.py`` does the cross-field checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

InappScope = Literal["auto", "snsapi_base", "snsapi_privateinfo"]
SubjectPolicy = Literal["userid", "corp_userid", "hash"]


@dataclass(frozen=True)
class WeComSettings:
    """One WeCom self-built app: the corp, the app's AgentId and Secret, and where WeCom lives."""

    corp_id: str
    agent_id: str
    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    # Overridable so tests and the demo can point at the simulator.
    api_base: str = "https://qyapi.weixin.qq.com"
    oauth_base: str = "https://open.weixin.qq.com"
    sso_base: str = "https://login.work.weixin.qq.com"
    # "auto": snsapi_privateinfo only when the client's scopes want email, phone or picture.
    inapp_scope: InappScope = "auto"
    # WW_verify_*.txt name -> content, served at the issuer's root for WeCom's domain check.
    verify_files: dict[str, str] = field(default_factory=dict)
    # A hung WeCom must not hold a worker: ~3 s to connect, ~5 s to read (wecom-api.md §3).
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    # Department id -> name cache lifetime, seconds.
    department_cache_ttl: int = 300
    # Web login page language: "" (WeCom decides), "zh" or "en".
    lang: str = ""
    # When WeCom gives no email (apps created after 2022-06-20 get none from the browser login),
    # synthesize "{userid}@{email_domain}" with email_verified false; "" never invents one.
    email_domain: str = ""
    # How long email, mobile, avatar and gender from an in-app login (with consent) are
    # remembered, so a later browser login of the same person still has them; 0 forgets at once.
    remember_private_fields: int = 30 * 24 * 3600
    # Names this app in client settings (``wecom_apps``) and in the authorize parameter
    # ``wecom_app``; lowercase letters, digits and "-".
    id: str = "main"
    # Shown when a person chooses which WeCom to sign in with; defaults to the corp ID.
    name: str = ""
    # More apps, of this corp or of others ([[wecom.apps]]): each inherits every key of [wecom]
    # it does not set itself, except id, name and apps.
    apps: tuple[WeComSettings, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name or f"WeCom {self.corp_id}"


AuthMethod = Literal["", "client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True)
class ClientSettings:
    """One registered OIDC client."""

    client_id: str
    redirect_uris: tuple[str, ...]
    # Neither secret nor hash: a public client, which must use PKCE S256.
    client_secret: str | None = field(default=None, repr=False)
    # An Argon2 hash of the secret (``oidc-bridge hash-secret``), so the config holds no secret.
    client_secret_hash: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    # Shown to people on pages ("Sign in to Grafana"); defaults to client_id.
    name: str = ""
    # "" accepts client_secret_basic or client_secret_post for confidential clients.
    token_endpoint_auth_method: AuthMethod = ""
    # Scopes this client may be granted; empty means every scope the bridge supports.
    scopes: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    # Issue refresh tokens even when the client does not ask for offline_access.
    refresh_tokens: bool = False
    # Per-client lifetimes in seconds; absent means the [tokens] defaults.
    access_token_lifetime: int | None = None
    id_token_lifetime: int | None = None
    refresh_token_lifetime: int | None = None
    # OIDC Back-Channel Logout 1.0: where to POST a logout token when the session ends.
    backchannel_logout_uri: str | None = None
    # Who may use this client: WeCom department ids (sub-departments included) and userids.
    # Both empty: everyone the WeCom app lets sign in.
    allowed_departments: tuple[int, ...] = ()
    allowed_users: tuple[str, ...] = ()
    # WeCom tags (标签), by id (an integer) or name (a string); a tag on a department covers its
    # sub-departments. Any of the three lists matching lets the person in. Setting it on any
    # client makes every login look the person's tags up (one cached index, department_cache_ttl).
    allowed_tags: tuple[int | str, ...] = ()
    # The WeCom apps ([wecom] id, [[wecom.apps]] ids) people may sign in to this client through;
    # empty: every configured app. With more than one, people choose (or the client sends
    # ``wecom_app`` on the authorization request).
    wecom_apps: tuple[str, ...] = ()
    # Extra claim names for apps that read their own (NocoBase reads "phone"): alias -> claim.
    claim_aliases: dict[str, str] = field(default_factory=dict)
    # "names" (department names) or "ids" (department ids as strings) in the groups claim.
    groups_claim: Literal["names", "ids"] = "names"
    # Lowercase preferred_username, for apps that compare usernames case-sensitively.
    lowercase_username: bool = False
    # OIDC third-party-initiated login: {issuer}/start/{client_id} sends the browser here with
    # ?iss=..., so a WeCom app homepage opens the client already signing in.
    initiate_login_uri: str | None = None

    @property
    def is_public(self) -> bool:
        return self.client_secret is None and self.client_secret_hash is None

    @property
    def display_name(self) -> str:
        return self.name or self.client_id


@dataclass(frozen=True)
class TokenSettings:
    """Lifetimes, in seconds."""

    access_token_lifetime: int = 3600
    id_token_lifetime: int = 3600
    # RFC 6749 recommends at most 10 minutes; one minute is plenty for a server-side exchange.
    code_lifetime: int = 60
    # How long a parked login may wait for WeCom's callback.
    login_lifetime: int = 600
    # A refresh-token family's absolute lifetime; each refresh rotates the token within it.
    refresh_token_lifetime: int = 14 * 24 * 3600


@dataclass(frozen=True)
class SessionSettings:
    """The bridge's own SSO session: a second client signs in without a second WeCom login."""

    # Ends after this long without use (Keycloak's "SSO Session Idle").
    idle_lifetime: int = 8 * 3600
    # Ends this long after the WeCom login, however busy (Keycloak's "SSO Session Max").
    absolute_lifetime: int = 24 * 3600


@dataclass(frozen=True)
class Settings:
    """The whole configuration."""

    issuer: str
    wecom: WeComSettings
    clients: tuple[ClientSettings, ...]
    # None: the in-process store (fakeredis), right for one process only.
    redis_url: str | None = None
    keys_dir: Path = Path("keys")
    # Every store key starts with this, so one Redis can serve several bridges.
    store_prefix: str = "oidc-bridge:"
    tokens: TokenSettings = field(default_factory=TokenSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    # What ``sub`` is: "userid" (WeCom's userid), "corp_userid" ("{corp_id}/{userid}", unique
    # across corps), or "hash" (an opaque HMAC of corp and userid with ``subject_salt``).
    subject: SubjectPolicy = "userid"
    subject_salt: str = field(default="", repr=False)
    # The setup page at {issuer}/setup is off unless this is set; sign in with any user name and
    # this as the password (HTTP Basic). Use env: or file: to keep it out of the file.
    setup_token: str = field(default="", repr=False)
    # How many reverse proxies (TLS terminators) in front may set X-Forwarded-*; 0 trusts none.
    # URLs always come from ``issuer``, so this only decides the client IP and scheme Flask sees.
    trusted_proxies: int = 0
    # "text" or "json" log lines.
    log_format: str = "text"
    log_level: str = "INFO"
    # The file these settings came from, for messages; None when built in code.
    source: str | None = None

    @property
    def wecom_apps(self) -> tuple[WeComSettings, ...]:
        """Every WeCom app people can sign in through: [wecom] first, then [[wecom.apps]]."""
        return (self.wecom, *self.wecom.apps)

    def client(self, client_id: str) -> ClientSettings | None:
        for c in self.clients:
            if c.client_id == client_id:
                return c
        return None
