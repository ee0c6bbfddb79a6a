"""TOML → typed Settings, once at start. Unknown keys rejected; ``env:``/``file:`` indirection.

Every problem is a ``ConfigError`` naming the key and the file, which the CLI prints as one
line with exit status 2 (Dex's ``cmd/dex/config.go`` habit of precise config errors).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from ..errors import ConfigError
from .schema import ClientSettings, Settings, TokenSettings, WeComSettings
from .validate import validate

DEFAULT_PATH = "oidc-bridge.toml"


def config_path(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    return Path(path or env.get("OIDC_BRIDGE_CONFIG") or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, resolve and validate the config file."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    where = str(file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found (set --config or $OIDC_BRIDGE_CONFIG)", file=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file: {type(exc).__name__}", file=where) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=where) from None
    reader = _Reader(where, file.parent, env)
    settings = reader.settings(raw)
    validate(settings)
    return settings


class _Reader:
    """Builds the frozen dataclasses from TOML tables, checking keys and types on the way."""

    def __init__(self, file: str, base_dir: Path, env: Mapping[str, str]) -> None:
        self.file = file
        self.base_dir = base_dir
        self.env = env

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, key=key, file=self.file)

    def settings(self, raw: dict[str, Any]) -> Settings:
        data = dict(raw)
        if "wecom" not in data:
            raise self.error("wecom", "missing required table [wecom]")
        if not data.get("clients"):
            raise self.error("clients", "at least one [[clients]] block is required")
        wecom = self.build(WeComSettings, self.table(data.pop("wecom"), "wecom"), "wecom")
        tokens = self.build(TokenSettings, self.table(data.pop("tokens", {}), "tokens"), "tokens")
        clients_raw = data.pop("clients")
        if not isinstance(clients_raw, list):
            raise self.error("clients", "must be an array of tables ([[clients]])")
        clients = tuple(
            self.build(ClientSettings, self.table(c, f"clients[{i}]"), f"clients[{i}]")
            for i, c in enumerate(clients_raw)
        )
        settings = self.build(Settings, data, "", exclude={"wecom", "tokens", "clients", "source"})
        if not settings.keys_dir.is_absolute():
            settings = dataclasses.replace(settings, keys_dir=self.base_dir / settings.keys_dir)
        return dataclasses.replace(settings, wecom=wecom, tokens=tokens, clients=clients, source=self.file)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return dict(value)

    def build(
        self, cls: type, data: dict[str, Any], prefix: str, exclude: frozenset[str] | set[str] = frozenset()
    ):
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in exclude}
        values: dict[str, Any] = {}
        for name, value in data.items():
            key = f"{prefix}.{name}" if prefix else name
            if name not in fields:
                raise self.error(key, "unknown key")
            values[name] = self.convert(value, hints[name], key)
        for name, f in fields.items():
            missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if missing and name not in values:
                raise self.error(f"{prefix}.{name}" if prefix else name, "missing required key")
        if cls is Settings:
            values.update(wecom=None, tokens=TokenSettings(), clients=())
        return cls(**values)

    def convert(self, value: Any, hint: Any, key: str) -> Any:
        origin, args = get_origin(hint), get_args(hint)
        if origin is tuple:
            if not isinstance(value, list):
                raise self.error(key, "must be a list of strings")
            return tuple(self.convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise self.error(key, "must be a table of strings")
            return {str(k): self.convert(v, str, f"{key}.{k}") for k, v in value.items()}
        if type(None) in args:  # str | None, Path | None
            inner = next(a for a in args if a is not type(None))
            return self.convert(value, inner, key)
        if origin is not None and str(origin).endswith("Literal"):
            text = self.convert(value, str, key)
            if text not in args:
                raise self.error(key, f"must be one of {', '.join(map(repr, args))}")
            return text
        if hint is str or hint is Path:
            if not isinstance(value, str):
                raise self.error(key, "must be a string")
            text = self.indirect(value, key)
            return Path(text) if hint is Path else text
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(key, "must be an integer")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(key, "must be a number")
            return float(value)
        if hint is bool:
            if not isinstance(value, bool):
                raise self.error(key, "must be true or false")
            return value
        raise self.error(key, "unsupported value")

    def indirect(self, value: str, key: str) -> str:
        """``env:NAME`` and ``file:PATH`` keep secrets out of the file."""
        if value.startswith("env:"):
            name = value[4:]
            if name not in self.env:
                raise self.error(key, f"environment variable {name} is not set")
            return self.env[name]
        if value.startswith("file:"):
            path = Path(value[5:])
            path = path if path.is_absolute() else self.base_dir / path
            try:
                return path.read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise self.error(key, f"cannot read {path}: {type(exc).__name__}") from None
        return value
