"""The simulator's HTML: the login chooser, the privateinfo consent page and error pages.

Small and self-contained (inline CSS, no scripts) because the demo screenshots them; stable
``data-*`` attributes let tests and browser automation find things without parsing prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 background:#f2f4f7;color:#1f2329;
 font:15px/1.5 -apple-system,"PingFang SC","Microsoft YaHei","Segoe UI",sans-serif}
.card{width:380px;background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.08);
 padding:28px 28px 20px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:6px}
.logo{width:32px;height:32px;border-radius:8px;background:#0082ef;color:#fff;font-weight:600;
 display:flex;align-items:center;justify-content:center}
h1{font-size:18px;margin:0}
.sub{color:#646a73;font-size:13px;margin:0 0 18px}
.user{display:flex;align-items:center;gap:12px;padding:10px 12px;margin:8px 0;border:1px solid #e4e7eb;
 border-radius:8px;text-decoration:none;color:inherit}
a.user:hover{border-color:#0082ef;background:#f0f7ff}
.user.off{opacity:.45;cursor:not-allowed}
.face{width:34px;height:34px;border-radius:50%;background:#d6e9fc;color:#0065b8;display:flex;
 align-items:center;justify-content:center;font-weight:600;flex:none}
.note{margin-left:auto;font-size:12px;color:#8f959e}
.actions{display:flex;justify-content:space-between;align-items:center;margin-top:16px}
.btn{display:inline-block;padding:8px 18px;border-radius:6px;background:#0082ef;color:#fff;
 text-decoration:none}
.link{color:#646a73;font-size:13px}
.err{border-left:4px solid #f54a45;background:#fff4f4;padding:10px 12px;border-radius:4px}
.code{font-family:ui-monospace,Menlo,monospace;color:#f54a45}
footer{margin-top:18px;color:#a0a6ae;font-size:12px;text-align:center}
"""


@dataclass(frozen=True)
class ChooserEntry:
    """One person on the chooser; ``href`` None shows them greyed out."""

    userid: str
    name: str
    href: str | None
    note: str = ""


def _layout(title: str, body: str, page: str, lang: str = "zh") -> str:
    html_lang = "en" if lang == "en" else "zh-CN"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<main class="card" data-page="{page}">'
        '<div class="brand"><div class="logo">企</div><h1>企业微信 (simulated)</h1></div>'
        f"{body}<footer>WeCom simulator · not a real WeCom page</footer></main></body></html>"
    )


def chooser_page(intro: str, entries: list[ChooserEntry], cancel_href: str, lang: str = "zh") -> str:
    rows = []
    for e in entries:
        face = f'<span class="face">{escape(e.name[:1])}</span>'
        attrs = f'data-userid="{escape(e.userid)}"'
        label = f"Sign in as {escape(e.name)} ({escape(e.userid)})"
        note = f'<span class="note">{escape(e.note)}</span>' if e.note else ""
        if e.href is None:
            rows.append(f'<div class="user off" {attrs}>{face}{label}{note}</div>')
        else:
            rows.append(f'<a class="user" {attrs} href="{escape(e.href)}">{face}{label}{note}</a>')
    body = (
        f'<p class="sub">{escape(intro)}</p>{"".join(rows)}'
        f'<div class="actions"><a class="link" data-action="cancel" href="{escape(cancel_href)}">'
        "Cancel / 取消</a></div>"
    )
    return _layout("企业微信登录 (simulated)", body, "chooser", lang)


def consent_page(name: str, userid: str, allow_href: str, deny_href: str) -> str:
    body = (
        f'<p class="sub">{escape(name)} ({escape(userid)})</p>'
        "<p>该应用申请获取你的头像、性别、手机、邮箱等信息。<br>"
        "This app asks for your avatar, gender, mobile and email.</p>"
        f'<div class="actions"><a class="link" data-action="deny" href="{escape(deny_href)}">'
        "Deny / 拒绝</a>"
        f'<a class="btn" data-action="allow" href="{escape(allow_href)}">Allow / 允许</a></div>'
    )
    return _layout("授权 (simulated)", body, "consent")


def message_page(errcode: int, message: str) -> str:
    """An error or refusal. Status 200 like WeCom; the errcode is visible and in ``data-errcode``."""
    body = (
        f'<div class="err" data-errcode="{errcode}"><p>{escape(message)}</p>'
        f'<p>errcode: <span class="code">{errcode}</span></p></div>'
    )
    return _layout(f"错误 {errcode} (simulated)", body, "error")
