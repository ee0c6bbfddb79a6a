"""TOML → typed Settings, once at start. Unknown keys rejected; ``env:``/``file:`` indirection.

Every problem is a ``ConfigError`` naming the key and the file. They are collected and raised
together as ``ConfigErrors`` (Dex's ``cmd/dex/config.go`` habit), whose ``str()`` is the first
one: the CLI prints that single line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import os
import tomllib
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from ..errors import ConfigError
from .schema import ClientSettings, SessionSettings, Settings, TokenSettings, WeComSettings
from .validate import ConfigErrors, one_line, validate

DEFAULT_PATH = "oidc-bridge.toml"
ENV_VAR = "OIDC_BRIDGE_CONFIG"
# Set by the loader itself, never by the file.
_TOP_LEVEL_EXCLUDED = frozenset({"wecom", "tokens", "sessions", "clients", "source"})
# What a [[wecom.apps]] entry never takes from [wecom]: what is each app's own.
_NOT_INHERITED = frozenset({"id", "name", "apps", "agent_id", "secret"})


class _Bad:
    """Marks a value that failed to convert; its error is already recorded."""


_BAD = _Bad()


def _field_names(cls: type[Any], exclude: frozenset[str]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in exclude]


def config_path(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """The argument, else ``$OIDC_BRIDGE_CONFIG``, else ``./oidc-bridge.toml``."""
    return Path(path or env.get(ENV_VAR) or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, resolve and validate the config file; raise ``ConfigErrors`` listing every problem."""
    env = os.environ if env is None else env
    file = Path(os.path.abspath(config_path(path, env)))
    data = _read_toml(file)
    return parse_settings(data, source=str(file), base_dir=file.parent, env=env)


def parse_settings(
    data: Mapping[str, Any],
    *,
    source: str | None = None,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from already-parsed TOML: what ``load_config`` does after reading the file.

    ``base_dir`` anchors relative ``keys_dir`` and ``file:`` paths (default: the working directory).
    """
    reader = _Reader(source, base_dir or Path.cwd(), os.environ if env is None else env)
    settings = reader.settings(data)
    validate(settings)
    return settings


def _read_toml(file: Path) -> dict[str, Any]:
    where = str(file)
    try:
        return tomllib.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (give --config PATH or set $OIDC_BRIDGE_CONFIG)", file=where
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file: {exc.strerror or type(exc).__name__}", file=where
        ) from None
    except UnicodeDecodeError:
        raise ConfigError("the config file is not UTF-8 text", file=where) from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise ConfigError(f"not valid TOML: {exc}", file=where) from None


# How an item type reads in an error: one, and many.
_A = {int: "an integer", str: "a string"}
_MANY = {int: "integers", str: "strings"}


def _plural(hint: Any) -> str:
    """What an array's items must be: "strings", "integers", or "integers or strings"."""
    return " or ".join(_MANY.get(a, "values") for a in (get_args(hint) or (hint,)))


def _kind(value: Any) -> str:
    """How the TOML value reads to the person who wrote it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date/time"
    return type(value).__name__


class _Reader:
    """Builds the frozen dataclasses from TOML tables, recording every problem on the way."""

    def __init__(self, file: str | None, base_dir: Path, env: Mapping[str, str]) -> None:
        self.file = file
        self.base_dir = base_dir
        self.env = env
        self.errors: list[ConfigError] = []

    def fail(self, key: str, message: str) -> _Bad:
        self.errors.append(ConfigError(one_line(message), key=one_line(key), file=self.file))
        return _BAD

    # -- tables ---------------------------------------------------------------------------

    def settings(self, data: Mapping[str, Any]) -> Settings:
        # In document order, so the first error printed is the first mistake in the file.
        values: dict[str, Any] = {}
        tables: dict[str, Any] = {}
        for name, value in data.items():
            if name in _TABLES:
                tables[name] = _TABLES[name](self, value)
            else:
                self.value(Settings, name, value, "", values, exclude=_TOP_LEVEL_EXCLUDED)
        self.missing(Settings, data, "", exclude=_TOP_LEVEL_EXCLUDED)
        if "wecom" not in data:
            self.fail("wecom", "missing required table [wecom] with corp_id, agent_id and secret")
        if "clients" not in data:
            self.fail("clients", "at least one [[clients]] block is required")
        if self.errors:
            raise ConfigErrors(self.errors)
        keys_dir = values.get("keys_dir", Settings.keys_dir)
        values["keys_dir"] = keys_dir if keys_dir.is_absolute() else self.base_dir / keys_dir
        return Settings(
            **values,
            wecom=tables["wecom"],
            tokens=tables.get("tokens", TokenSettings()),
            sessions=tables.get("sessions", SessionSettings()),
            clients=tables["clients"],
            source=self.file,
        )

    def wecom(self, value: Any) -> WeComSettings | _Bad:
        """[wecom], and each [[wecom.apps]] on top of what [wecom] sets."""
        if not isinstance(value, dict) or "apps" not in value:
            return self.section(WeComSettings, value, "wecom")
        own = {k: v for k, v in value.items() if k != "apps"}
        apps = value["apps"]
        if not isinstance(apps, list) or not all(isinstance(a, dict) for a in apps):
            self.section(WeComSettings, own, "wecom")
            return self.fail("wecom.apps", f"must be an array of tables ([[wecom.apps]]), not {_kind(apps)}")
        inherited = {k: v for k, v in own.items() if k not in _NOT_INHERITED}
        built = [self.section(WeComSettings, own, "wecom")]
        for i, app in enumerate(apps):
            if "apps" in app:
                self.fail(f"wecom.apps[{i}].apps", "apps cannot be nested; list every app under [wecom]")
                continue
            built.append(self.section(WeComSettings, {**inherited, **app}, f"wecom.apps[{i}]"))
        if any(isinstance(b, _Bad) for b in built):
            return _BAD
        return dataclasses.replace(built[0], apps=tuple(built[1:]))

    def tokens(self, value: Any) -> TokenSettings | _Bad:
        return self.section(TokenSettings, value, "tokens")

    def sessions(self, value: Any) -> SessionSettings | _Bad:
        return self.section(SessionSettings, value, "sessions")

    def clients(self, value: Any) -> tuple[ClientSettings, ...] | _Bad:
        if not isinstance(value, list):
            return self.fail("clients", f"must be an array of tables ([[clients]]), not {_kind(value)}")
        if not value:
            return self.fail("clients", "at least one [[clients]] block is required")
        built = [self.section(ClientSettings, c, f"clients[{i}]") for i, c in enumerate(value)]
        if any(isinstance(c, _Bad) for c in built):
            return _BAD
        return tuple(built)  # type: ignore[arg-type]

    def section(self, cls: type[Any], value: Any, prefix: str) -> Any:
        """One table as ``cls``, or ``_BAD`` when any of its keys was wrong."""
        if not isinstance(value, dict):
            return self.fail(prefix, f"must be a table, not {_kind(value)}")
        before = len(self.errors)
        values = self.values(cls, value, prefix)
        return _BAD if len(self.errors) > before else cls(**values)

    def values(self, cls: type[Any], data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        """Converted values of the known keys; unknown, mistyped and missing keys are recorded."""
        values: dict[str, Any] = {}
        for name, value in data.items():
            self.value(cls, name, value, prefix, values)
        self.missing(cls, data, prefix)
        return values

    def value(
        self,
        cls: type[Any],
        name: str,
        value: Any,
        prefix: str,
        into: dict[str, Any],
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        key = f"{prefix}.{name}" if prefix else name
        fields = _field_names(cls, exclude)
        if name not in fields:
            self.fail(key, self.unknown(name, fields, prefix))
            return
        converted = self.convert(value, get_type_hints(cls)[name], key)
        if not isinstance(converted, _Bad):
            into[name] = converted

    def missing(
        self, cls: type[Any], data: Mapping[str, Any], prefix: str, exclude: frozenset[str] = frozenset()
    ) -> None:
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and f.name not in exclude and f.name not in data:
                self.fail(f"{prefix}.{f.name}" if prefix else f.name, "missing required key")

    @staticmethod
    def unknown(name: str, fields: list[str], prefix: str) -> str:
        top_level = {f.name for f in dataclasses.fields(Settings)} - _TOP_LEVEL_EXCLUDED
        if prefix and name in top_level:
            return "unknown key (top-level keys must come before the first [table])"
        known = fields if prefix else [*fields, *_TABLES]
        close = difflib.get_close_matches(name, known, n=1)
        return f"unknown key; did you mean {close[0]!r}?" if close else "unknown key"

    # -- values ---------------------------------------------------------------------------

    def convert(self, value: Any, hint: Any, key: str) -> Any:
        origin, args = get_origin(hint), get_args(hint)
        if origin is tuple:
            if not isinstance(value, list):
                return self.fail(key, f"must be an array of {_plural(args[0])}, not {_kind(value)}")
            items = [self.convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
            return _BAD if any(isinstance(v, _Bad) for v in items) else tuple(items)
        if origin is dict:
            if not isinstance(value, dict):
                return self.fail(key, f"must be a table of strings, not {_kind(value)}")
            items_ = {str(k): self.convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
            return _BAD if any(isinstance(v, _Bad) for v in items_.values()) else items_
        if origin is Literal:
            text = self.convert(value, str, key)
            if isinstance(text, _Bad):
                return text
            if text not in args:
                return self.fail(key, f"must be one of {', '.join(map(repr, args))}, not {text!r}")
            return text
        if origin is types.UnionType and type(None) not in args:
            # ``int | str`` (allowed_tags: a tag id or a tag name): the value keeps the type it has.
            if isinstance(value, bool) or not isinstance(value, args):
                return self.fail(key, f"must be {' or '.join(_A[a] for a in args)}, not {_kind(value)}")
            return self.scalar(value, type(value), key)
        if type(None) in args:  # ``str | None``: TOML has no null, so only the other type is possible
            return self.convert(value, next(a for a in args if a is not type(None)), key)
        return self.scalar(value, hint, key)

    def scalar(self, value: Any, hint: Any, key: str) -> Any:
        if hint is str or hint is Path:
            if not isinstance(value, str):
                quote = " (put it in quotes)" if isinstance(value, int | float) else ""
                return self.fail(key, f"must be a string, not {_kind(value)}{quote}")
            text = self.indirect(value, key)
            if hint is Path and not isinstance(text, _Bad) and not text:
                return self.fail(key, "must not be empty")
            return Path(text) if hint is Path and isinstance(text, str) else text
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return self.fail(key, f"must be an integer, not {_kind(value)}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return self.fail(key, f"must be a number, not {_kind(value)}")
            return float(value)
        if hint is bool:
            if not isinstance(value, bool):
                return self.fail(key, f"must be true or false, not {_kind(value)}")
            return value
        return self.fail(key, f"cannot be read from {_kind(value)}")

    def indirect(self, value: str, key: str) -> str | _Bad:
        """``env:NAME`` and ``file:PATH`` keep secrets out of the file (SATOSA's habit)."""
        if value.startswith("env:"):
            name = value[4:]
            if not name:
                return self.fail(key, "env: needs a variable name, e.g. env:WECOM_SECRET")
            if name not in self.env:
                return self.fail(key, f"environment variable {name} is not set")
            return self.env[name]
        if value.startswith("file:"):
            if not value[5:]:
                return self.fail(key, "file: needs a path, e.g. file:/run/secrets/wecom")
            path = Path(value[5:])
            path = path if path.is_absolute() else self.base_dir / path
            try:
                return path.read_bytes().decode("utf-8").rstrip("\r\n")
            except OSError as exc:
                return self.fail(key, f"cannot read {path}: {exc.strerror or type(exc).__name__}")
            except UnicodeDecodeError:
                return self.fail(key, f"{path} is not UTF-8 text")
        return value


# The tables of the file, each read by its own method; every other top-level name is a key.
_TABLES = {
    "wecom": _Reader.wecom,
    "tokens": _Reader.tokens,
    "sessions": _Reader.sessions,
    "clients": _Reader.clients,
}
