"""``oidc-bridge``: serve, demo, keys, check. A config error is one line and exit status 2.

Heavy modules (Flask, gunicorn, the app) are imported inside the commands that need them, so
``keys`` and a bad config answer fast and never fail on an unrelated import.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .config.schema import Settings
    from .oidc.keys import SigningKey

log = logging.getLogger("oidc_bridge.cli")

EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
MAX_WORKERS = 8


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _port(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port")
    return value


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", metavar="PATH", help="config file (default $OIDC_BRIDGE_CONFIG, then ./oidc-bridge.toml)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oidc-bridge", description="Sign in with WeCom over OpenID Connect."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the provider under gunicorn")
    _add_config(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--workers",
        type=_positive,
        help=f"default: 1 without redis_url, else 2 x CPUs + 1 (at most {MAX_WORKERS})",
    )
    serve.set_defaults(run=_serve)

    demo = sub.add_parser("demo", help="everything embedded on loopback: bridge, simulated WeCom, sample app")
    demo.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="the bridge's port: issuer http://127.0.0.1:PORT (default 8000); the sample app: any free port",
    )
    demo.set_defaults(run=_demo)

    check = sub.add_parser("check", help="validate the config and call WeCom once")
    _add_config(check)
    check.set_defaults(run=_check)

    hashing = sub.add_parser(
        "hash-secret", help="print an Argon2 hash of a client secret (read from stdin) for client_secret_hash"
    )
    hashing.set_defaults(run=_hash_secret)

    keys = sub.add_parser("keys", help="manage signing keys in keys_dir")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, fn, text in (
        ("generate", _keys_generate, "add a new signing key (it becomes current); prints its kid"),
        ("rotate", _keys_rotate, "a new key of the current algorithm; the old one stays in JWKS"),
        ("list", _keys_list, "list the keys, newest (current) first"),
    ):
        p = keys_sub.add_parser(name, help=text)
        _add_config(p)
        p.add_argument(
            "--keys-dir", metavar="DIR", help="use this directory instead of the config's keys_dir"
        )
        if name == "generate":
            p.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
        p.set_defaults(run=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. Never a traceback for a mistake the operator can fix."""
    try:
        args = _parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _settings(args: argparse.Namespace) -> Settings:
    from .config.loader import load_config

    return load_config(args.config)


# -- serve -----------------------------------------------------------------------------------


def _workers(requested: int | None, redis_url: str | None) -> int:
    """Several workers need a shared store; the in-process one is per process."""
    if not redis_url:
        log.warning("no redis_url: in-process store: for one process only")
        if requested and requested > 1:
            log.warning("running 1 worker, not %d: the in-process store cannot be shared", requested)
        return 1
    return requested or min(2 * (os.cpu_count() or 1) + 1, MAX_WORKERS)


def _serve(args: argparse.Namespace) -> int:
    from .observability import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    workers = _workers(args.workers, settings.redis_url)

    from gunicorn.app.base import BaseApplication

    from . import create_app
    from .threads import worker_threads

    # Built before forking, so a bad key or an unreachable path is one line here, not a worker
    # crash loop; every worker gets a copy and opens its own connections on first use.
    app = create_app(settings)
    options: dict[str, Any] = {
        "bind": f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}",
        "workers": workers,
        # The same variable sizes the app's connection pools (threads.py).
        "threads": worker_threads(),
        "proc_name": "oidc-bridge",
        # Longer than one WeCom call's connect + read timeouts, with room for the retry.
        "timeout": 30,
        "graceful_timeout": 20,
        "accesslog": None,
        # gunicorn 27 opens a control socket in $HOME; two bridges under one home would collide.
        "control_socket_disable": True,
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    log.info("serving %s on %s with %d worker(s)", settings.issuer, options["bind"], workers)
    _Gunicorn().run()
    return 0


# -- demo and check --------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.port)


def _check(args: argparse.Namespace) -> int:
    from .doctor import run_check

    settings = _settings(args)
    # Every WeCom failure is in the report, with what to do; the client's own warning lines
    # would only repeat it, unformatted.
    logging.getLogger("oidc_bridge.connectors.wecom").setLevel(logging.ERROR)
    return run_check(settings)


# -- keys ------------------------------------------------------------------------------------


def _keys_dir(args: argparse.Namespace) -> Path:
    """``--keys-dir`` wins and needs no config file; else the config's ``keys_dir``."""
    if args.keys_dir:
        return Path(args.keys_dir)
    return _settings(args).keys_dir


def _describe(key: SigningKey) -> str:
    return f"{key.alg} key {key.kid} in {key.path}"


def _keys_generate(args: argparse.Namespace) -> int:
    from .oidc.keys import generate_key

    key = generate_key(_keys_dir(args), args.alg)
    print(key.kid)
    print(f"generated {_describe(key)}; it is now current", file=sys.stderr)
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from .oidc.keys import rotate

    key = rotate(_keys_dir(args))
    print(key.kid)
    print(f"rotated: {_describe(key)} is now current; previous keys stay published", file=sys.stderr)
    return 0


def _hash_secret(args: argparse.Namespace) -> int:
    """The secret comes on stdin (or a prompt), never as an argument that ``ps`` would show."""
    import getpass

    from .oidc.clients import hash_secret

    secret = getpass.getpass("client secret: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if len(secret) < 16:
        print("a client secret needs at least 16 characters", file=sys.stderr)
        return 2
    print(hash_secret(secret))
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from .oidc.keys import list_keys

    keys_dir = _keys_dir(args)
    keys = list_keys(keys_dir)
    if not keys:
        print(f"no keys in {keys_dir} (serve generates one on first start)", file=sys.stderr)
    for i, key in enumerate(keys):
        created = datetime.fromtimestamp(key.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        marker = "current" if i == 0 else "previous"
        print(f"{key.kid}  {key.alg}  {created}  {marker}  {key.path}")
    return 0
