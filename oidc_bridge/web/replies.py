"""Sending a ClientReply: a 302 with the query, or an auto-submitting form (form_post).

The form page runs under a CSP that allows exactly one inline script, by its hash, and lets
the form post only to the client's own origin.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from flask import Response, redirect, render_template

from ..oidc.transactions import ClientReply
from .security import no_store

AUTO_SUBMIT = "document.forms[0].submit();"
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(AUTO_SUBMIT.encode()).digest()).decode()


def send(reply: ClientReply) -> Response:
    if not reply.form_post:
        return redirect(reply.url(), 302)
    target = reply.target.redirect_uri
    html = render_template("form_post.html", action=target, fields=reply.fields(), script=AUTO_SUBMIT)
    response = no_store(Response(html, mimetype="text/html"))
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else target
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; form-action {origin}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response
