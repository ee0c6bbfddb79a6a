"""``oidc-bridge check`` and the setup page: find setup mistakes before a user does, and say
exactly what to set in the WeCom admin console.

gettoken is not guarded by WeCom's trusted-IP list, so after it we make one guarded call
(department/list) to catch 60020 (wecom-api.md §2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .config.schema import Settings, WeComSettings
from .connectors.wecom.client import shared_token_client
from .errors import StoreUnavailable, WeComError
from .oidc.discovery import Endpoints
from .store.base import Store
from .store.factory import build_store

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    detail: str


def console_settings(settings: Settings) -> list[tuple[str, str]]:
    """What the admin enters in the WeCom admin console, exactly."""
    endpoints = Endpoints(settings.issuer)
    parts = urlsplit(settings.issuer)
    default_port = {"https": 443, "http": 80}[parts.scheme]
    domain = parts.hostname or ""
    if parts.port and parts.port != default_port:
        domain = f"{domain}:{parts.port}"
    return (
        [
            ("Web login callback domain (企业微信授权登录 → 授权回调域)", domain),
            ("Trusted domain (网页授权及JS-SDK → 可信域名)", domain),
            ("Callback URL the bridge uses", endpoints.callback_url),
            ("Discovery URL for your applications", endpoints.url(endpoints.discovery_path)),
        ]
        + [
            (f"Corp ID / AgentId{_of(settings, app)}", f"{app.corp_id} / {app.agent_id}")
            for app in settings.wecom_apps
        ]
        + [
            (f"App homepage (工作台应用主页) for {c.display_name}", endpoints.url(f"/start/{c.client_id}"))
            for c in settings.clients
            if c.initiate_login_uri
        ]
    )


def findings(settings: Settings, store: Store | None = None) -> list[Finding]:
    """The store, then WeCom's credentials, then the trusted-IP list, in the order they fail."""
    out: list[Finding] = []
    try:
        store = store or build_store(settings.redis_url, settings.store_prefix)
        store.ping()
        kind = "Redis" if settings.redis_url else "in-process (one process only)"
        out.append(Finding(True, "store", f"{kind} answers"))
    except StoreUnavailable:
        out.append(Finding(False, "store", "Redis at redis_url does not answer"))
        return out
    for app in settings.wecom_apps:
        out.extend(_wecom_findings(app, store, _of(settings, app)))
    return out


def _wecom_findings(app: WeComSettings, store: Store, label: str) -> list[Finding]:
    """gettoken, then one call WeCom guards with the app's trusted-IP list."""
    client = shared_token_client(app, store)
    out: list[Finding] = []
    try:
        client.fetch_access_token()
        out.append(Finding(True, f"WeCom gettoken{label}", "corp ID and app Secret are accepted"))
        client.list_departments()
        out.append(Finding(True, f"WeCom API{label}", "this machine's IP is trusted by the app"))
    except WeComError as err:
        code = f"errcode {err.errcode}" if err.errcode is not None else "no answer"
        out.append(Finding(False, f"WeCom{label} ({code})", err.admin_hint))
    finally:
        client.close()
    return out


def _of(settings: Settings, app: WeComSettings) -> str:
    """ " of app <id>" when there are several apps to tell apart, else nothing."""
    return f" of app {app.id} ({app.display_name})" if len(settings.wecom_apps) > 1 else ""


def run_check(settings: Settings, out: Printer = print) -> int:
    out(f"config OK: {settings.source or 'settings'}")
    for label, value in console_settings(settings):
        out(f"  {label}: {value}")
    results = findings(settings)
    for f in results:
        out(f"{f.what} OK: {f.detail}" if f.ok else f"PROBLEM {f.what}: {f.detail}")
    problems = sum(not f.ok for f in results)
    out("all well" if not problems else f"{problems} problem(s): fix them in the WeCom admin console")
    return 0 if not problems else 1
