"""Log lines carry request and login ids, and never a secret, code, token or ticket."""

from __future__ import annotations

import io
import json
import logging
import string
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oidc_bridge import observability as obs

FORM_BODY = "grant_type=authorization_code&code=AUTHCODE1&code_verifier=VERIFIER1"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ6aGFuZ3NhbiJ9.c2lnbmF0dXJlLWJ5dGVz"
SECRET_NAMES = [
    "code",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "corpsecret",
    "secret",
    "user_ticket",
    "code_verifier",
    "password",
    "token",
    "ticket",
    "id_token_hint",
]


@dataclass
class Captured:
    fmt: str
    stream: io.StringIO
    log: logging.Logger

    def output(self) -> str:
        return self.stream.getvalue()

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.output().splitlines()]


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    """configure_logging as the app does, with the handler's stream swapped for a buffer."""
    root = logging.getLogger()
    old_level = root.level
    obs.configure_logging("DEBUG", request.param)
    handler = next(h for h in root.handlers if h.get_name() == "oidc-bridge")
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        yield Captured(request.param, stream, logging.getLogger("oidc_bridge.test"))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        obs.forget_secrets()
        obs.clear_context()


# --- redaction ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_each_secret_parameter_is_redacted_in_a_query_string(captured: Captured, name: str) -> None:
    captured.log.info("callback GET /cb?%s=S3CRET-VALUE-42&state=keep-me", name)
    out = captured.output()
    assert "S3CRET-VALUE-42" not in out
    assert f"{name}=[REDACTED]" in out
    assert "state=keep-me" in out


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_each_secret_key_is_redacted_in_json_text(captured: Captured, name: str) -> None:
    captured.log.info('WeCom answered {"errcode": 0, "%s": "S3CRET-VALUE-42", "expires_in": 7200}', name)
    out = captured.output()
    assert "S3CRET-VALUE-42" not in out
    assert "7200" in out


@pytest.mark.parametrize(
    ("template", "arg", "secret"),
    [
        (
            "token request body %s",
            FORM_BODY,
            "AUTHCODE1",
        ),
        (
            "token request body %s",
            FORM_BODY,
            "VERIFIER1",
        ),
        ("redirecting to %s", "https://rp.example/cb?state=s&code=AUTHCODE2#frag", "AUTHCODE2"),
        (
            "fetching %s",
            "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=CORPSECRET3",
            "CORPSECRET3",
        ),
        ("nested %s", "redirect_uri=https%3A%2F%2Frp%2Fcb%3Fcode%3DAUTHCODE4", "AUTHCODE4"),
        ("python repr %s", {"refresh_token": "REFRESH5", "scope": "openid"}, "REFRESH5"),
        ("headers %s", "Authorization: Basic d2ViYXBwOnNlY3JldA==", "d2ViYXBwOnNlY3JldA=="),
        ("headers %s", "Authorization: Bearer ACCESS-TOKEN-6abcdef", "ACCESS-TOKEN-6abcdef"),
        ("headers %s", {"Authorization": "Bearer ACCESS-TOKEN-7abcdef"}, "ACCESS-TOKEN-7abcdef"),
        ("sent %s to the client", "bearer ACCESS-TOKEN-8abcdef", "ACCESS-TOKEN-8abcdef"),
        ("issued id_token %s", JWT, JWT.split(".")[1]),
        ("kwargs %s", "Callback(code='AUTHCODE9', state='s')", "AUTHCODE9"),
        ("wecom %s", "user_ticket: 'TICKET10' and jsapi_ticket=TICKET11", "TICKET11"),
        ("wecom %s", "{'user_ticket': 'TICKET10'}", "TICKET10"),
    ],
)
def test_secrets_in_messages_and_args_are_redacted(
    captured: Captured, template: str, arg: object, secret: str
) -> None:
    captured.log.warning(template, arg)
    out = captured.output()
    assert secret not in out
    assert obs.REDACTED in out


def test_redaction_keeps_the_scheme_and_the_harmless_fields(captured: Captured) -> None:
    captured.log.info(
        "Authorization: Basic d2ViYXBwOnNlY3JldA== token_type=Bearer expires_in=7200 errcode=40029 "
        "status_code=200 expires_in=7200"
    )
    out = captured.output()
    assert "Authorization: Basic [REDACTED]" in out
    for kept in ("token_type=Bearer", "errcode=40029", "status_code=200", "expires_in=7200"):
        assert kept in out


def test_registered_secrets_are_redacted_wherever_they_appear(captured: Captured) -> None:
    obs.register_secret("wecom-Secret+/=ü-123")
    obs.register_secret("")  # ignored: an empty secret would match everywhere
    captured.log.error(
        "config dump %s, %s, %s",
        "corp secret is wecom-Secret+/=ü-123!",
        "url-encoded: wecom-Secret%2B%2F%3D%C3%BC-123",
        "json-escaped: wecom-Secret+/=\\u00fc-123",
        extra={"note": "plain wecom-Secret+/=ü-123 in an extra field"},
    )
    out = captured.output()
    assert "wecom-Secret" not in out
    assert out.count(obs.REDACTED) >= 3


def test_extra_fields_are_redacted_by_name_and_by_content(captured: Captured) -> None:
    captured.log.info(
        "token request",
        extra={
            "client_secret": "CLIENT-SECRET-1",
            "url": "https://rp/cb?code=AUTHCODE-2&state=ok",
            "headers": {"Authorization": "Basic QUJDOkRFRg==", "Accept": "application/json"},
            "tokens": ["x", JWT],
            "raw": b"refresh_token=REFRESH-3",
            "errcode": 40029,
        },
    )
    out = captured.output()
    for secret in ("CLIENT-SECRET-1", "AUTHCODE-2", "QUJDOkRFRg==", JWT.split(".")[1], "REFRESH-3"):
        assert secret not in out
    assert "application/json" in out
    assert "40029" in out
    if captured.fmt == "json":
        (line,) = captured.json_lines()
        assert line["client_secret"] == obs.REDACTED
        assert line["errcode"] == 40029
        assert line["headers"] == {"Authorization": obs.REDACTED, "Accept": "application/json"}


def test_a_traceback_is_redacted(captured: Captured) -> None:
    try:
        raise RuntimeError("WeCom refused https://qyapi/cgi-bin/auth/getuserinfo?access_token=ACCESS-9")
    except RuntimeError:
        captured.log.exception("callback failed")
    out = captured.output()
    assert "ACCESS-9" not in out
    assert "RuntimeError" in out
    assert "Traceback" in out


# --- context --------------------------------------------------------------------------------------


def test_request_and_login_ids_appear_on_each_line(captured: Captured) -> None:
    rid = obs.new_request_id()
    with obs.bound(request_id=rid, login_id="L0gin32charsAbcdefGhijklmNopqrs", client_id="grafana"):
        captured.log.info("parked the login")
    captured.log.info("after the request")
    if captured.fmt == "text":
        first, second = captured.output().splitlines()
        assert f"[{rid} L0gin32charsAbcdefGhijklmNopqrs] parked the login" in first
        assert "client_id=grafana" in first
        assert "oidc_bridge.test" in first
        assert " INFO " in first
        assert "[- -] after the request" in second
    else:
        first, second = captured.json_lines()
        assert first["request_id"] == rid
        assert first["login_id"] == "L0gin32charsAbcdefGhijklmNopqrs"
        assert first["client_id"] == "grafana"
        assert second["request_id"] is None


def test_bind_lasts_until_cleared(captured: Captured) -> None:
    obs.bind(request_id="req-1")
    obs.bind(client_id="app")
    assert obs.current_context() == {"request_id": "req-1", "login_id": None, "client_id": "app"}
    captured.log.info("one")
    obs.clear_context()
    assert obs.current_context() == {"request_id": None, "login_id": None, "client_id": None}
    assert "req-1" in captured.output()


def test_an_unknown_context_field_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        obs.bind(user="zhangsan")
    with pytest.raises(TypeError), obs.bound(request_id="r", sub="x"):
        pass
    assert obs.current_context()["request_id"] is None


def test_request_ids_are_unique_and_short() -> None:
    ids = {obs.new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and i.isalnum() for i in ids)


# --- format ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("captured", ["json"], indirect=True)
def test_json_lines_parse_and_carry_the_fixed_fields(captured: Captured) -> None:
    with obs.bound(request_id="r1"):
        captured.log.warning("WeCom said no", extra={"errcode": 60020, "ts": "clash", "from_ip": "1.2.3.4"})
        captured.log.debug('quotes " and \\ and\nnewline')
    first, second = captured.json_lines()
    assert set(first) >= {"ts", "level", "logger", "msg", "request_id", "login_id", "client_id", "errcode"}
    assert first["level"] == "WARNING"
    assert first["errcode"] == 60020
    assert first["from_ip"] == "1.2.3.4"
    assert first["ts"] != "clash"
    assert str(first["ts"]).endswith("Z")
    assert second["msg"] == 'quotes " and \\ and\nnewline'
    assert second["errcode"] is None


def test_a_forged_newline_does_not_start_a_new_text_line(captured: Captured) -> None:
    captured.log.info(
        "redirect_uri=%s", "https://x/\n2024-01-01T00:00:00.000Z INFO fake [- -] admin logged in"
    )
    assert len(captured.output().splitlines()) == 1


def test_non_ascii_messages_survive(captured: Captured) -> None:
    captured.log.info("张三 signed in from 研发部 ✓", extra={"person": "李四 王"})
    out = captured.output()
    assert "张三 signed in from 研发部 ✓" in out
    assert "李四 王" in out
    if captured.fmt == "json":
        assert captured.json_lines()[0]["msg"] == "张三 signed in from 研发部 ✓"


def test_configuring_twice_installs_one_handler(captured: Captured) -> None:
    root = logging.getLogger()
    obs.configure_logging("INFO", captured.fmt, stream=captured.stream)
    obs.configure_logging("INFO", captured.fmt, stream=captured.stream)
    assert [h.get_name() for h in root.handlers].count("oidc-bridge") == 1
    captured.log.info("once")
    captured.log.debug("below the level")
    assert captured.output().count("once") == 1
    assert "below the level" not in captured.output()


@pytest.mark.parametrize(("level", "fmt"), [("LOUD", "text"), ("INFO", "xml")])
def test_a_bad_level_or_format_is_refused(level: str, fmt: str) -> None:
    with pytest.raises(ValueError):
        obs.configure_logging(level, fmt)


# --- robustness -----------------------------------------------------------------------------------


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


def test_bad_log_calls_never_raise_nor_leak_args(
    captured: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    captured.log.info("two placeholders %s %s", "code=AUTHCODE-1")
    captured.log.info("unprintable %s", Unprintable())
    captured.log.info("unprintable extra", extra={"thing": Unprintable(), "loop": _cyclic()})
    captured.log.info(Unprintable())
    out = captured.output()
    assert "AUTHCODE-1" not in out
    assert len(out.splitlines()) == 4
    assert "Logging error" not in capsys.readouterr().err


def _cyclic() -> dict[str, object]:
    d: dict[str, object] = {"password": "PW"}
    d["self"] = d
    return d


def _record(msg: object, args: tuple[object, ...] = (), **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


@settings(max_examples=300, deadline=None)
@given(text=st.text(), arg=st.text(), extra=st.dictionaries(st.text(max_size=10), st.text()))
def test_random_text_never_makes_the_filter_raise(text: str, arg: str, extra: dict[str, str]) -> None:
    extra = {k: v for k, v in extra.items() if k and k not in obs._RECORD_ATTRS}
    record = _record(text, (arg,), **extra)
    assert obs.RedactingFilter().filter(record) is True
    assert "redaction failed" not in str(record.msg)
    obs.JsonFormatter().format(record)
    obs.TextFormatter().format(record)


SHAPES = ["&{name}={value}&", "?{name}%3D{value}", '{{"{name}": "{value}", ', "{{'{name}': '{value}'"]
SECRET_VALUE = st.text(string.ascii_letters + string.digits + "-_.~+/", min_size=20, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    before=st.text(),
    after=st.text(),
    name=st.sampled_from(SECRET_NAMES),
    value=SECRET_VALUE,
    shape=st.sampled_from(SHAPES),
)
def test_a_secret_parameter_is_redacted_whatever_surrounds_it(
    before: str, after: str, name: str, value: str, shape: str
) -> None:
    text = before + shape.format(name=name, value=value) + after
    assert value not in obs.redact_text(text) or value in before + after


FRAGMENTS = st.sampled_from(
    [
        "code", "Token", "SECRET", "ticket", "password", "eyJ", "=", ":", '"', "&", "%3D", " ", ".",
        "Bearer 0123456789abcdef", "Authorization: Basic dXNlcjpwYXNz", "code=abc", "'secret': 'x'", JWT,
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=14))
def test_the_quick_check_skips_only_text_no_pattern_would_change(pieces: list[str]) -> None:
    """redact_text skips the patterns for text without a trigger word: never a secret missed."""
    text = "".join(pieces)
    assert obs.redact_text(text, obs.SecretRegistry()) == obs._redact_patterns(text)


@pytest.mark.parametrize("name", [*sorted(obs._SECRET_NAMES), "wecom.secret", "jsapi_ticket", "db-password"])
def test_every_secret_name_is_a_trigger_word(name: str) -> None:
    assert obs._MAYBE_SECRET_RE.search(name)


@settings(max_examples=300, deadline=None)
@given(before=st.text(), after=st.text(), secret=SECRET_VALUE, other=SECRET_VALUE)
def test_a_registered_secret_is_redacted_whatever_surrounds_it(
    before: str, after: str, secret: str, other: str
) -> None:
    """The quick screen (trigger words or a registered literal) never lets a registered secret by."""
    registry = obs.SecretRegistry()
    registry.add(other)
    registry.add(secret)
    text = before + secret + after
    assert secret not in obs.redact_text(text, registry) or secret in before + after


@pytest.mark.parametrize("value", [0, 7, -3, 1.7, 0.1, 1e20, float("nan"), float("inf"), True, None])
def test_numbers_in_text_lines_read_as_json_writes_them(value: object) -> None:
    assert obs._text_value(value) == json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(
    message=st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=8).map("".join),
    extra=st.dictionaries(
        st.sampled_from(["url", "user_agent", "remote_addr", "code", "note", "n"]),
        st.one_of(
            st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=8).map("".join),
            st.integers(),
            st.none(),
            st.lists(FRAGMENTS, max_size=3),
        ),
    ),
    secret=SECRET_VALUE,
    with_secret=st.booleans(),
)
def test_the_filter_redacts_a_line_as_each_field_redacted_on_its_own_would(
    message: str, extra: dict[str, object], secret: str, with_secret: bool
) -> None:
    """The filter screens a whole line with one search; never a field left as it would not be."""
    registry = obs.SecretRegistry()
    registry.add(secret)
    if with_secret:
        message += secret
    record = _record(message, (), **extra)
    obs.RedactingFilter(registry).filter(record)
    assert record.msg == obs.redact_text(message, registry)
    for key, value in extra.items():
        expected = obs.REDACTED if obs.is_secret_key(key) and value is not None else value
        assert record.__dict__[key] == obs.redact_value(expected, registry), key
