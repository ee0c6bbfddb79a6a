"""Token-endpoint throughput (code and refresh grants) and discovery/JWKS against a hello ceiling.

``python bench/endpoints.py [--tokens 300] [--gets 2000] [--concurrency 8] [--workers 2]``

The bridge runs as ``gunicorn -w W`` with the image's gunicorn settings (``gunicorn_conf``: sync
workers, metrics shared across workers) on the real Redis (db 14, flushed before and after) with the
WeCom simulator in its own process, as in ``bench/logins.py``. Untimed: N full logins up to the
code (scope ``openid profile offline_access``, so every code grant issues a refresh token). Timed,
one request per job: the N ``POST /token`` code redemptions (client_secret_basic, PKCE S256), then
N refresh-grant POSTs, each refresh token used exactly once (every refresh rotates; the new token
goes back in the queue). Then M GETs each of ``/.well-known/openid-configuration`` and ``/jwks.json``,
and M GETs of a bare Flask "hello" under the same gunicorn settings and client threads (the ceiling).
Exit status 1 when any request fails; the discovery/JWKS ratios (target >= 0.8) are only reported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

import requests
from harness import (
    SimulatorProcess,
    Timed,
    bench_parser,
    hello_ceiling,
    measure,
    parse_bench_args,
    print_rows,
    times,
)
from login_flow import TIMEOUT, Grant, Login, LoginFailed
from logins import REDIS_DB, bridge_server, run_bench

SCOPE = "openid profile offline_access"
RATIO_TARGET = 0.8
# The bridge's default code lifetime: every prepared code must be redeemed before it expires.
CODE_LIFETIME = 60


def get_json(url: str, check: Callable[[dict], bool], what: str) -> Callable[[requests.Session], None]:
    """A GET that must answer 200 with JSON passing ``check``."""

    def job(http: requests.Session) -> None:
        response = http.get(url, timeout=TIMEOUT)
        if response.status_code != 200 or not check(response.json()):
            raise LoginFailed(f"{what}: {response.status_code} {response.text[:120]}")

    return job


def bench_tokens(
    args: argparse.Namespace, login: Login, sim: SimulatorProcess, server_measure: Callable[..., Timed]
) -> tuple[Timed, Timed, Timed, dict[str, int]]:
    """Prepare N codes, time their redemption, then time N rotating refreshes.

    Returns (preparation, code grant, refresh grant, WeCom calls during the refresh phase).
    """
    grants: deque[Grant] = deque()
    refresh_tokens: deque[str] = deque()
    prepared = server_measure(
        "preparing codes", args.tokens, lambda http: grants.append(login.authorize(http))
    )
    if prepared.wall > CODE_LIFETIME / 2:
        print(f"warning: preparing the codes took {prepared.wall:.0f} s; use fewer --tokens", file=sys.stderr)

    def redeem(http: requests.Session) -> None:
        body = login.redeem(http, grants.popleft())
        if "refresh_token" not in body:
            raise LoginFailed(f"no refresh_token for scope {body.get('scope')!r}")
        refresh_tokens.append(body["refresh_token"])

    def refresh(http: requests.Session) -> None:
        old = refresh_tokens.popleft()
        body = login.token(http, {"grant_type": "refresh_token", "refresh_token": old})
        if not body.get("refresh_token") or body["refresh_token"] == old or "access_token" not in body:
            raise LoginFailed("the refresh grant did not rotate the refresh token")
        refresh_tokens.append(body["refresh_token"])

    code_grant = server_measure("code grant", args.tokens, redeem)
    calls_before = sim.calls()
    refresh_grant = server_measure("refresh grant", args.tokens, refresh)
    calls_after = sim.calls()
    wecom = {
        path: n - calls_before.get(path, 0)
        for path, n in calls_after.items()
        if path.startswith("/cgi-bin/") and n > calls_before.get(path, 0)
    }
    return prepared, code_grant, refresh_grant, wecom


def figures(name: str, t: Timed) -> tuple[str, str]:
    return (
        name,
        f"{t.rate:.0f} req/s, p50 {t.ms(50):.1f} ms / p99 {t.ms(99):.1f} ms, "
        f"server CPU {t.cpu_ms:.2f} ms/request ({t.count} requests)",
    )


def ratio(name: str, t: Timed, ceiling: Timed) -> tuple[str, str]:
    r = t.rate / ceiling.rate
    verdict = "met" if r >= RATIO_TARGET else "NOT met"
    return (
        f"{name} / ceiling",
        f"{r:.2f} (target >= {RATIO_TARGET}: {verdict}; CPU {times(t.cpu_ms, ceiling.cpu_ms)} a hello)",
    )


def body(args: argparse.Namespace, sim: SimulatorProcess, tmp: Path) -> bool:
    server = bridge_server(args.workers, tmp, sim)
    try:
        server.start().wait_ready("/readyz")

        def server_measure(what: str, count: int, job: Callable[[requests.Session], None]) -> Timed:
            return measure(server, what, count, args.concurrency, job)

        login = Login(server.url, sim.url, scope=SCOPE)
        server_measure("warm-up logins", args.warmup, login)
        prepared, code_grant, refresh_grant, wecom = bench_tokens(args, login, sim, server_measure)

        discovery = get_json(
            server.url + "/.well-known/openid-configuration",
            lambda d: d.get("issuer") == server.url,
            "discovery",
        )
        jwks = get_json(server.url + "/jwks.json", lambda d: bool(d.get("keys")), "jwks")
        server_measure("warm-up discovery", args.warmup, discovery)
        timed_discovery = server_measure("discovery", args.gets, discovery)
        server_measure("warm-up jwks", args.warmup, jwks)
        timed_jwks = server_measure("jwks", args.gets, jwks)
    finally:
        server.stop()
    ceiling = hello_ceiling(args.workers, args.concurrency, args.warmup, args.gets, tmp)

    per_refresh = ", ".join(
        f"{p.removeprefix('/cgi-bin/')} {n / refresh_grant.count:.2f}" for p, n in sorted(wecom.items())
    )
    rows = [
        ("codes prepared (untimed)", f"{prepared.count} logins up to the code in {prepared.wall:.1f} s"),
        figures("token: code grant", code_grant),
        figures("token: refresh grant", refresh_grant),
        ("  WeCom calls per refresh", per_refresh or "none"),
        figures("discovery", timed_discovery),
        figures("jwks", timed_jwks),
        figures("ceiling: hello", ceiling),
        ratio("discovery", timed_discovery, ceiling),
        ratio("jwks", timed_jwks, ceiling),
        (
            "token grants / ceiling",
            f"code {code_grant.rate / ceiling.rate:.2f}, refresh {refresh_grant.rate / ceiling.rate:.2f}",
        ),
    ]
    print(
        f"bench/endpoints.py: {args.tokens} code + {args.tokens} refresh grants, {args.gets} GETs per "
        f"endpoint (+{args.warmup} warm-up each), concurrency {args.concurrency}, gunicorn -w {args.workers} "
        f"(sync, gunicorn_conf), Redis db {REDIS_DB}, {os.cpu_count()} CPUs"
    )
    print_rows(rows)
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__, "untimed requests before each phase")
    parser.add_argument("--tokens", type=int, default=300, help="codes, and refreshes, timed (default 300)")
    parser.add_argument("--gets", type=int, default=2000, help="GETs per discovery/JWKS/hello (default 2000)")
    return parse_bench_args(parser, argv, ("tokens", "gets"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(lambda admin, sim, tmp: body(args, sim, tmp))


if __name__ == "__main__":
    sys.exit(main())
