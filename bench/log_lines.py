"""What one of the bridge's log lines costs, against a plain standard-library line (the ceiling).

``python bench/log_lines.py [--lines 50000]``

A login writes seven lines (four access lines, three events). Each goes through the context
filter, the redaction filter and the text or JSON formatter (oidc_bridge/observability.py); the
ceiling is the same call through a bare ``logging.StreamHandler`` and ``Formatter("%(message)s")``.
Both write to a real file, one write and flush a line, as a worker's stderr does. Prints CPU
microseconds per line for each, and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from oidc_bridge import observability

ACCESS_ARGS = ("GET", "/authorize", 302)
ACCESS_EXTRA = {"ms": 0.9, "remote_addr": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}


def per_line_us(log: logging.Logger, lines: int) -> float:
    """CPU microseconds per access line, as app.py writes it."""
    started = time.process_time()
    for _ in range(lines):
        log.info("%s %s %s", *ACCESS_ARGS, extra=ACCESS_EXTRA)
    return 1e6 * (time.process_time() - started) / lines


def measured(install: Callable[[Path], None], lines: int) -> float:
    """Install a handler on a fresh file, warm it up, then time ``lines`` lines."""
    with tempfile.TemporaryDirectory() as tmp:
        install(Path(tmp) / "log")
        log = logging.getLogger("oidc_bridge.access")
        per_line_us(log, lines // 10)
        try:
            return per_line_us(log, lines)
        finally:
            for handler in logging.getLogger().handlers:
                handler.close()
            logging.getLogger().handlers.clear()


def bridge(fmt: str) -> Callable[[Path], None]:
    def install(path: Path) -> None:
        observability.configure_logging("INFO", fmt, stream=path.open("w", encoding="utf-8"))
        observability.register_secret("bench-wecom-secret-0123456789")
        observability.bind(request_id="0123456789abcdef", login_id="fedcba9876543210", client_id="grafana")

    return install


def plain(path: Path) -> None:
    handler = logging.StreamHandler(path.open("w", encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=50_000, help="timed lines per variant (default 50000)")
    args = parser.parse_args(argv)
    if args.lines < 10:
        parser.error("--lines must be at least 10")
    ceiling = measured(plain, args.lines)
    print(f"bench/log_lines.py: {args.lines} access lines per variant, one process")
    print(f"  ceiling: plain logging   {ceiling:6.2f} us CPU a line")
    for fmt in ("text", "json"):
        ours = measured(bridge(fmt), args.lines)
        print(f"  bridge, {fmt:<4}            {ours:6.2f} us CPU a line = {ours / ceiling:.1f}x the ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
