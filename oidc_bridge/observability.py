"""Logging with request/login ids and a redaction filter, so no secret, code, token or ticket
reaches a log line. No Flask import here: ``web/`` binds the ids, this module only reads them.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import math
import re
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

REDACTED = "[REDACTED]"
_HANDLER_NAME = "oidc-bridge"

# --- context: who a log line is about --------------------------------------------------------

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_login_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("login_id", default=None)
_client_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_id", default=None)
_CONTEXT: dict[str, contextvars.ContextVar[str | None]] = {
    "request_id": _request_id,
    "login_id": _login_id,
    "client_id": _client_id,
}


def new_request_id() -> str:
    """A short random id that ties a request's log lines to the error id a person is shown."""
    return secrets.token_hex(8)


def _vars_for(fields: Mapping[str, str | None]) -> list[tuple[contextvars.ContextVar[str | None], Any]]:
    unknown = set(fields) - set(_CONTEXT)
    if unknown:
        raise TypeError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    return [(_CONTEXT[name], value) for name, value in fields.items()]


def bind(**fields: str | None) -> None:
    """Set request_id / login_id / client_id for the rest of the current context."""
    for var, value in _vars_for(fields):
        var.set(value)


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Set fields for a block and restore them after, so a worker thread does not leak them."""
    tokens = [(var, var.set(value)) for var, value in _vars_for(fields)]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def clear_context() -> None:
    """Forget all fields: call at the start of a request, since WSGI threads are reused."""
    for var in _CONTEXT.values():
        var.set(None)


def current_context() -> dict[str, str | None]:
    """The fields that the next log line in this context will carry."""
    return {name: var.get() for name, var in _CONTEXT.items()}


# --- redaction ----------------------------------------------------------------------------------

_SECRET_NAMES = frozenset(
    {
        "code",
        "access_token",
        "refresh_token",
        "id_token",
        "id_token_hint",
        "client_secret",
        "corpsecret",
        "secret",
        "user_ticket",
        "code_verifier",
        "password",
        "token",
        "ticket",
    }
)
# Names that are secret only as keys of a mapping (headers, extra fields), not in free text.
_SECRET_MAPPING_KEYS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Any "<something>_token", "wecom.secret", "jsapi_ticket", "db-password" is a secret too; "code"
# is not generalised, so errcode and status_code stay readable.
_GENERIC_SECRET = r"(?:[A-Za-z0-9]+[_.-])+(?:token|secret|ticket|password)"
_KEY = r"(?:" + _GENERIC_SECRET + "|" + "|".join(sorted(_SECRET_NAMES, key=len, reverse=True)) + ")"
_GENERIC_SECRET_RE = re.compile(_GENERIC_SECRET, re.IGNORECASE)

_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,4}")
_AUTHORIZATION_RE = re.compile(
    r"(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?:([A-Za-z][A-Za-z0-9-]*)[ \t]+)?([^\s\"',;]+)",
    re.IGNORECASE,
)
# A bare bearer credential (RFC 6750 b64token); "token_type=Bearer expires_in=7200" is left alone.
_BEARER_RE = re.compile(r"(\bbearer[ \t]+)[A-Za-z0-9._~+/-]{8,}=*(?![A-Za-z0-9._~+/=-])", re.IGNORECASE)
# A quoted value, possibly cut short (an unterminated quote runs to the end of the text).
_QUOTED_VALUE = r"\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?"
# "key": "value" and 'key': 'value' (JSON, Python reprs); the opening quote may be lost in
# truncated or badly quoted text. A nested object is left to the keys inside it.
_QUOTED_KEY_RE = re.compile(
    r"((?<![A-Za-z0-9_.-])[\"']?" + _KEY + r"[\"']\s*:\s*)(" + _QUOTED_VALUE + r"|[^\s,{}\[\]\"']+)",
    re.IGNORECASE,
)
# key=value in query strings, form bodies, URLs (also %3D-encoded inside another parameter).
_PARAM_RE = re.compile(
    r"((?:(?<![A-Za-z0-9_.-])|(?<=%3F)|(?<=%26))" + _KEY + r"[ \t]*(?:=|%3D)[ \t]*)"
    r"(" + _QUOTED_VALUE + r"|[^\s&#\"'<>]+)",
    re.IGNORECASE,
)

# Every pattern above needs one of these words (each secret name contains one), so text without
# any of them skips the five substitutions: most log values are ids, paths and numbers.
_TRIGGER_WORDS = r"code|token|secret|ticket|password|eyJ|bearer|authorization"
_MAYBE_SECRET_RE = re.compile(_TRIGGER_WORDS, re.IGNORECASE)


class SecretRegistry:
    """Literal secrets known at start (WeCom secret, client secrets), replaced wherever they appear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        # One search that finds any literal or any trigger word: most log values have neither,
        # and then nothing below can change them (redact_text).
        self.screen: re.Pattern[str] = _MAYBE_SECRET_RE

    def add(self, value: str) -> None:
        if not value or not value.strip():
            return  # an empty "secret" would match between every two characters
        # The same secret URL-encoded or JSON-escaped is still the secret.
        forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
        forms |= {json.dumps(value, ensure_ascii=as_ascii)[1:-1] for as_ascii in (True, False)}
        with self._lock:
            self._values |= forms
            alternatives = "|".join(map(re.escape, sorted(self._values, key=len, reverse=True)))
            self._pattern = re.compile(alternatives)
            self.screen = re.compile(f"(?i:{_TRIGGER_WORDS})|{alternatives}")

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None
            self.screen = _MAYBE_SECRET_RE

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


_registry = SecretRegistry()


def register_secret(value: str) -> None:
    """Redact this literal value from every log line from now on (logging is process-wide)."""
    _registry.add(value)


def forget_secrets() -> None:
    """Drop all registered literals; for tests."""
    _registry.clear()


def _redact_quoted(m: re.Match[str], prefix_group: int, value_group: int) -> str:
    value = m.group(value_group)
    quote = value[0] if value[:1] in ("'", '"') else '"'
    return f"{m.group(prefix_group)}{quote}{REDACTED}{quote}"


def _redact_param(m: re.Match[str]) -> str:
    value = m.group(2)
    if value[:1] in ("'", '"'):
        return _redact_quoted(m, 1, 2)
    return m.group(1) + REDACTED


def _redact_authorization(m: re.Match[str]) -> str:
    scheme = f"{m.group(2)} " if m.group(2) else ""
    return f"{m.group(1)}{scheme}{REDACTED}"


def redact_text(text: str, registry: SecretRegistry | None = None) -> str:
    """Text with every secret-looking value replaced by ``[REDACTED]``."""
    registry = registry or _registry
    if registry.screen.search(text) is None:
        return text  # no registered secret and no trigger word: nothing below would change it
    text = registry.redact(text)
    return text if _MAYBE_SECRET_RE.search(text) is None else _redact_patterns(text)


def _redact_patterns(text: str) -> str:
    # Values by key name first: a later pattern may swallow a key ("Bearer code=...") but by
    # then its value is gone.
    text = _QUOTED_KEY_RE.sub(lambda m: _redact_quoted(m, 1, 2), text)
    text = _PARAM_RE.sub(_redact_param, text)
    text = _JWT_RE.sub(REDACTED, text)
    text = _AUTHORIZATION_RE.sub(_redact_authorization, text)
    return _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, text)


@functools.lru_cache(maxsize=1024)  # a handful of field names, checked on every log line
def is_secret_key(name: str) -> bool:
    """Whether a field or parameter of this name holds a secret."""
    lowered = name.lower()
    return (
        lowered in _SECRET_NAMES
        or lowered in _SECRET_MAPPING_KEYS
        or _GENERIC_SECRET_RE.fullmatch(lowered) is not None
    )


def redact_value(value: Any, registry: SecretRegistry | None = None, _depth: int = 0) -> Any:
    """A JSON-friendly copy of ``value`` with secrets removed, by key name and by content."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value, registry)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"), registry)
    if _depth < 6 and isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_key(str(k)) else redact_value(v, registry, _depth + 1)
            for k, v in value.items()
        }
    if _depth < 6 and isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, registry, _depth + 1) for v in value]
    return redact_text(_safe_repr(value), registry)


def _safe_repr(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


# --- filters and formatters -----------------------------------------------------------------------

_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller passed via ``extra=`` (and the context fields)."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}


class ContextFilter(logging.Filter):
    """Copies request_id / login_id / client_id onto each record unless ``extra=`` set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _CONTEXT.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message, args, extra fields, traceback. Never raises."""

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._redact(record)
        except Exception as exc:  # a log line must never take a request down with it
            record.msg = f"[log line dropped: redaction failed with {type(exc).__name__}]"
            record.args = ()
            record.exc_info = record.exc_text = record.stack_info = None
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception as exc:
            # logging's own error report would print the args, secrets included.
            message = f"{_safe_repr(record.msg)} [bad log arguments: {type(exc).__name__}]"
        fields = extra_fields(record)
        # One screening search over the message and every text field at once (a line is mostly
        # ids, paths and numbers): a separator that no trigger word or secret contains keeps a
        # match inside one part, so no match means no part holds anything to redact.
        screen = (self._registry or _registry).screen
        texts = [message, *(v for v in fields.values() if type(v) is str)]
        clean = screen.search("\x00".join(texts)) is None
        record.msg = message if clean else redact_text(message, self._registry)
        record.args = ()
        for key, value in fields.items():
            if value is None:
                continue
            if is_secret_key(key):
                record.__dict__[key] = REDACTED
            elif not (clean and type(value) is str):  # numbers come back from redact_value as they are
                record.__dict__[key] = redact_value(value, self._registry)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._registry)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self._registry)


_last_second: tuple[int, str] = (-1, "")


def _timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds; the date and time formatted once a second, not per line."""
    global _last_second
    second, text = _last_second
    if int(record.created) != second:
        second = int(record.created)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)  # one tuple: a thread reads the old pair or the new one
    return f"{text}.{int(record.msecs):03d}Z"


def _one_line(text: str) -> str:
    """A forged newline in a parameter must not start a fake log line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """``time level logger [request_id login_id] message key=value...``"""

    def format(self, record: logging.LogRecord) -> str:
        fields = extra_fields(record)
        rid = fields.pop("request_id", None) or "-"
        lid = fields.pop("login_id", None) or "-"
        ordered = {k: fields.pop(k, None) for k in ("client_id", "errcode")} | fields
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in ordered.items() if v is not None)
        line = f"{_timestamp(record)} {record.levelname} {record.name} [{rid} {lid}] "
        line += _one_line(record.getMessage()) + (f" {pairs}" if pairs else "")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info):
            if block:
                line += "\n" + block
        return line


_NEEDS_QUOTES_RE = re.compile(r'[\s"=]')


def _text_value(value: Any) -> str:
    if isinstance(value, str) and value and _NEEDS_QUOTES_RE.search(value) is None:
        return value
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)  # as json.dumps writes it, for a fraction of the cost
    return json.dumps(value, ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers; fixed fields win over clashing extras."""

    def format(self, record: logging.LogRecord) -> str:
        fields = extra_fields(record)
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": fields.get("request_id"),
            "login_id": fields.get("login_id"),
            "client_id": fields.get("client_id"),
            "errcode": fields.get("errcode"),
        }
        doc.update((k, v) for k, v in fields.items() if k not in doc)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return json.dumps(doc, ensure_ascii=False, default=str)


_FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def configure_logging(level: str = "INFO", fmt: str = "text", *, stream: TextIO | None = None) -> None:
    """Install the bridge's one root handler (stderr by default); calling again replaces it."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in _FORMATTERS:
        raise ValueError(f"log format must be one of {', '.join(_FORMATTERS)}, not {fmt!r}")
    # What no line of ours prints, logging need not gather for every record (the logging HOWTO,
    # "Optimization"): the caller's file and line, the thread and multiprocessing names. The
    # process id stays: gunicorn's own lines print it.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_FORMATTERS[fmt]())
    root.addHandler(handler)
    root.setLevel(numeric)
