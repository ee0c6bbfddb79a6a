"""``oidc-bridge``: serve, demo, keys, check. A config error is one line and exit status 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError

log = logging.getLogger("oidc_bridge.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oidc-bridge", description="Sign in with WeCom over OpenID Connect."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the provider under gunicorn")
    serve.add_argument("--config", help="config file (default $OIDC_BRIDGE_CONFIG, then ./oidc-bridge.toml)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, help="default: 1 without redis_url, else 2 x CPUs + 1 (max 8)")
    serve.set_defaults(run=_serve)

    demo = sub.add_parser("demo", help="everything embedded on loopback: bridge, simulated WeCom, sample app")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(run=_demo)

    check = sub.add_parser("check", help="validate the config and call WeCom once")
    check.add_argument("--config")
    check.set_defaults(run=_check)

    keys = sub.add_parser("keys", help="manage signing keys in keys_dir")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, fn, text in (
        ("generate", _keys_generate, "add a new signing key (it becomes current)"),
        ("rotate", _keys_rotate, "a new key of the current algorithm; the old one stays in JWKS"),
        ("list", _keys_list, "list the keys, newest (current) first"),
    ):
        p = keys_sub.add_parser(name, help=text)
        p.add_argument("--config")
        p.add_argument("--keys-dir", help="use this directory instead of the config's keys_dir")
        if name == "generate":
            p.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
        p.set_defaults(run=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace):
    from .config.loader import load_config

    return load_config(getattr(args, "config", None))


def _serve(args: argparse.Namespace) -> int:
    from .observability import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    workers = args.workers or (min(2 * (os.cpu_count() or 1) + 1, 8) if settings.redis_url else 1)
    if not settings.redis_url:
        log.warning("no redis_url: using the in-process store, which is for one process only")
        if workers > 1:
            log.warning("forcing 1 worker: the in-process store cannot be shared")
            workers = 1
    from gunicorn.app.base import BaseApplication

    from . import create_app

    app = create_app(settings)

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", None)

        def load(self):
            return app

    _Gunicorn().run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.port)


def _check(args: argparse.Namespace) -> int:
    from .doctor import run_check

    return run_check(_settings(args))


def _keys_dir(args: argparse.Namespace) -> Path:
    if args.keys_dir:
        return Path(args.keys_dir)
    return _settings(args).keys_dir


def _keys_generate(args: argparse.Namespace) -> int:
    from .oidc.keys import generate_key

    key = generate_key(_keys_dir(args), args.alg)
    print(f"generated {key.alg} key {key.kid} in {key.path}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from .oidc.keys import rotate

    key = rotate(_keys_dir(args))
    print(f"rotated: {key.alg} key {key.kid} is now current; previous keys stay published")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from .oidc.keys import list_keys

    keys = list_keys(_keys_dir(args))
    if not keys:
        print("no keys (one is generated on first start)")
    for i, key in enumerate(keys):
        created = datetime.fromtimestamp(key.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        marker = "current" if i == 0 else "previous"
        print(f"{key.kid}  {key.alg}  {created}  {marker}  {key.path}")
    return 0
