"""Full WeCom logins per second through the bridge under gunicorn, with their costs and a ceiling.

``python bench/logins.py [--logins 300] [--concurrency 8] [--workers 2]``

Each login is a fresh browser (no cookies): authorize -> the simulator's login page (auto-approve)
-> the bridge's callback -> token (client_secret_basic, PKCE S256) -> userinfo, which must be 200
for zhangsan. The bridge runs as ``gunicorn -w W`` with the image's gunicorn settings
(``gunicorn_conf``: sync workers, metrics shared across workers) on the real Redis (db 14,
flushed before and after); the WeCom simulator runs in its own process so its CPU is not
counted. The floor is ``skeleton_app.py``, a login with the same requests, WeCom calls, Redis
round trips and signature and no logic, logged into the same way: what the bridge costs above
it is its own code. The ceiling is a bare Flask "hello" under the same gunicorn settings, driven
by the same client threads.
Exit status 1 when a login fails or the run did not cost exactly one gettoken.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from harness import (
    DbMonitor,
    Gunicorn,
    SimulatorProcess,
    Timed,
    bench_parser,
    command_counts,
    command_delta,
    fail,
    hello_ceiling,
    interrupt_on_signals,
    measure,
    parse_bench_args,
    print_rows,
    read_events,
    run_threads,
    times,
)
from login_flow import BRIDGE_REQUESTS_PER_LOGIN, CLIENT_SECRET, USERID, Login, write_config
from profiler import Profiler, Summary

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
REDIS_DB = 14
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
# The one command the benchmark itself sends to Redis inside the timed phase (its snapshots).
OWN_COMMANDS = {"info"}
# Its own reads counted by the second read_events: commandstats before and after, and itself.
OWN_READS = 3
# What the floor (skeleton_app.py) does, as the reports name it.
FLOOR_IS = "skeleton_app.py: the same requests, WeCom calls, Redis round trips and signature, no logic"


@dataclass(frozen=True)
class LoginRun:
    timed: Timed
    redis_timed: int  # commandstats delta over the timed phase (server-wide)
    redis_reads: int  # read events over the timed phase (server-wide): round trips
    redis_monitored: dict[str, int]  # MONITOR on our db: command -> calls
    monitor_logins: int
    wecom_calls: dict[str, int] = field(default_factory=dict)  # timed phase, by cgi-bin path
    gettoken: int = 0  # the whole run
    logins_total: int = 0
    profile: Summary | None = None  # with --profile


def bridge_server(workers: int, tmp: Path, sim: SimulatorProcess) -> Gunicorn:
    """The bridge under ``gunicorn -w workers`` on Redis db 14 and the simulator; not started yet."""
    from oidc_bridge.oidc.keys import generate_key

    generate_key(tmp / "keys")  # on disk before the workers start, so they all sign with it
    config = tmp / "oidc-bridge.toml"
    env = {**os.environ, "OIDC_BRIDGE_CONFIG": str(config)}
    server = Gunicorn("oidc_bridge.wsgi:app", workers, env, tmp / "bridge.log", REPO)
    write_config(config, server.url, REDIS_URL, sim)
    return server


def bench_logins(args: argparse.Namespace, tmp: Path, sim: SimulatorProcess, admin: redis.Redis) -> LoginRun:
    """Warm up, time N logins (CPU, Redis commands, WeCom calls around them), then count Redis exactly."""
    server = bridge_server(args.workers, tmp, sim)
    try:
        server.start().wait_ready("/readyz")
        login = Login(server.url, sim.url)
        _, _, errors = run_threads(args.warmup, args.concurrency, login)
        if errors:
            fail("warm-up logins", errors, server)

        reads_before = read_events(admin)
        calls_before, redis_before = sim.calls(), command_counts(admin)
        cpu_before = server.cpu_seconds()
        with profiled(args.profile, server) as profiler:
            wall, latencies, errors = run_threads(args.logins, args.concurrency, login)
        cpu = server.cpu_seconds() - cpu_before
        redis_after, calls_after = command_counts(admin), sim.calls()
        reads_after = read_events(admin)
        if errors:
            fail("timed logins", errors, server)

        # MONITOR slows Redis, so it counts a separate, untimed, sequential phase.
        with DbMonitor(REDIS_URL, REDIS_DB) as monitor:
            _, _, errors = run_threads(args.monitor_logins, 1, login)
        if errors:
            fail("MONITOR logins", errors, server)
        calls_end = sim.calls()
    finally:
        server.stop()
    return LoginRun(
        timed=Timed(wall, latencies, cpu),
        redis_timed=command_delta(redis_before, redis_after, OWN_COMMANDS),
        redis_reads=reads_after - reads_before - OWN_READS,
        redis_monitored=monitor.commands,
        monitor_logins=args.monitor_logins,
        wecom_calls={
            path: n - calls_before.get(path, 0)
            for path, n in calls_after.items()
            if path.startswith("/cgi-bin/") and n > calls_before.get(path, 0)
        },
        gettoken=calls_end.get("/cgi-bin/gettoken", 0),
        logins_total=args.warmup + args.logins + args.monitor_logins,
        profile=profiler.summary() if profiler else None,
    )


@contextlib.contextmanager
def profiled(out_dir: Path | None, server: Gunicorn) -> Iterator[Profiler | None]:
    """py-spy on every worker for the block when ``--profile`` was given (it adds CPU of its own,
    so a profiled run's figures are for reading the profile, not for the notes)."""
    if out_dir is None:
        yield None
        return
    with Profiler(server.worker_pids(), out_dir) as profiler:
        yield profiler


def bench_floor(
    args: argparse.Namespace, log_dir: Path, sim: SimulatorProcess, redis_url: str = REDIS_URL
) -> Timed:
    """The stack's floor: ``skeleton_app.py`` (a login's unavoidable work, no logic) logged into the
    same way, under the same gunicorn settings, on the same Redis and simulator; ``redis_url=""``
    keeps its state in memory instead (one worker only)."""
    if not redis_url and args.workers != 1:
        raise ValueError("a floor with its state in memory runs one worker")
    env = dict(os.environ)  # completed below once the server's port, so its issuer, is known
    server = Gunicorn("skeleton_app:app", args.workers, env, log_dir / "skeleton.log", BENCH_DIR)
    env.update(
        SKELETON_ISSUER=server.url,
        SKELETON_REDIS_URL=redis_url,
        SKELETON_WECOM_URL=sim.url,
        SKELETON_CORP_ID=sim.corp_id,
        SKELETON_AGENT_ID=sim.agent_id,
        SKELETON_SECRET=sim.secret,
        SKELETON_CLIENT_SECRET=CLIENT_SECRET,
    )
    try:
        server.start().wait_ready("/healthz")
        login = Login(server.url, sim.url)
        measure(server, "warm-up skeleton logins", args.warmup, args.concurrency, login)
        return measure(server, "skeleton logins", args.logins, args.concurrency, login)
    finally:
        server.stop()


def bench_ceiling(args: argparse.Namespace, tmp: Path) -> Timed:
    return hello_ceiling(
        args.workers, args.concurrency, args.warmup * BRIDGE_REQUESTS_PER_LOGIN, args.hello_requests, tmp
    )


def report(args: argparse.Namespace, run: LoginRun, floor: Timed, ceiling: Timed) -> bool:
    """Print the figures; False when the run did not cost exactly one gettoken."""
    t = run.timed
    per_request_ms = t.cpu_ms / BRIDGE_REQUESTS_PER_LOGIN
    bridge_rps = t.rate * BRIDGE_REQUESTS_PER_LOGIN
    k = run.monitor_logins
    by_command = ", ".join(f"{c} {n / k:g}" for c, n in sorted(run.redis_monitored.items()))
    wecom = ", ".join(
        f"{p.removeprefix('/cgi-bin/')} {n / t.count:.2f}" for p, n in sorted(run.wecom_calls.items())
    )
    rows = [
        ("logins/s", f"{t.rate:.1f}"),
        ("latency p50 / p99", f"{t.ms(50):.1f} ms / {t.ms(99):.1f} ms"),
        (
            "bridge CPU per login",
            f"{t.cpu_ms:.2f} ms (gunicorn master + workers, user+sys; "
            f"{per_request_ms:.2f} ms per bridge request)",
        ),
        (
            "gettoken calls",
            f"{run.gettoken} in the whole run of {run.logins_total} logins "
            f"(= {1000 * run.gettoken / run.logins_total:.2f} per 1,000 logins)",
        ),
        ("WeCom API calls per login", wecom or "none"),
        (
            "Redis commands per login",
            f"{sum(run.redis_monitored.values()) / k:.1f} on db {REDIS_DB} "
            f"(MONITOR, {k} logins: {by_command}); "
            f"{run.redis_timed / t.count:.1f} by commandstats over the timed phase",
        ),
        (
            "Redis round trips per login",
            f"{run.redis_reads / t.count:.1f} (requests Redis read in the timed phase; a pipeline is one)",
        ),
        (
            "floor: CPU per login",
            f"{floor.cpu_ms:.2f} ms ({FLOOR_IS})",
        ),
        (
            "bridge above the floor",
            f"{t.cpu_ms - floor.cpu_ms:.2f} ms a login = {100 * (1 - floor.cpu_ms / t.cpu_ms):.0f}% of its "
            "CPU: the bridge's own code (checks, sessions, cookies, logs, metrics)",
        ),
        (
            "ceiling: hello requests/s",
            f"{ceiling.rate:.0f} ({ceiling.count} GETs, p50 {ceiling.ms(50):.1f} ms)",
        ),
        ("ceiling: CPU per request", f"{ceiling.cpu_ms:.2f} ms"),
        (
            "login rate / ceiling",
            f"{bridge_rps:.0f} bridge requests/s = {100 * bridge_rps / ceiling.rate:.1f}% of the ceiling; "
            f"one login = {ceiling.rate / t.rate:.1f} hello requests",
        ),
        (
            "CPU per request / ceiling",
            f"{times(per_request_ms, ceiling.cpu_ms)} a hello request "
            f"(a login costs {times(t.cpu_ms, ceiling.cpu_ms)} hellos)",
        ),
    ]
    print(
        f"bench/logins.py: {t.count} logins (+{args.warmup} warm-up), concurrency {args.concurrency}, "
        f"gunicorn -w {args.workers} (sync, gunicorn_conf), Redis db {REDIS_DB}, {os.cpu_count()} CPUs, "
        f"{BRIDGE_REQUESTS_PER_LOGIN} bridge requests + 1 WeCom page per login"
    )
    print_rows(rows)
    if run.profile:
        print(f"  profile (py-spy --gil, share of the workers' samples; stacks in {args.profile}):")
        for line in run.profile.lines():
            print(f"    {line}")
    if run.gettoken != 1:
        print(f"FAILED: expected exactly one gettoken in the run, saw {run.gettoken}", file=sys.stderr)
        return False
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__, "untimed logins first")
    parser.add_argument("--logins", type=int, default=300, help="timed logins (default 300)")
    parser.add_argument(
        "--monitor-logins", type=int, default=10, help="logins counted by MONITOR (default 10)"
    )
    parser.add_argument("--hello-requests", type=int, help="ceiling GETs (default max(1000, 4 x logins))")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the workers in the timed phase, stacks to DIR"
    )
    args = parse_bench_args(parser, argv, ("logins", "monitor_logins"))
    args.hello_requests = args.hello_requests or max(1000, BRIDGE_REQUESTS_PER_LOGIN * args.logins)
    return args


def run_bench(body: Callable[[redis.Redis, SimulatorProcess, Path], bool]) -> int:
    """Redis db 14 flushed around ``body``, the simulator and a temporary directory for its duration.

    Exit status: 0 when ``body`` returns True, 1 when False, 2 without Redis, 130 when interrupted.
    """
    interrupt_on_signals()
    admin = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        admin.ping()
    except redis.ConnectionError:
        print(f"Redis is not answering at {REDIS_URL}", file=sys.stderr)
        return 2
    sim: SimulatorProcess | None = None
    try:
        admin.flushdb()
        sim = SimulatorProcess(auto_approve=USERID)
        with tempfile.TemporaryDirectory(prefix="oidc-bridge-bench-") as tmp:
            return 0 if body(admin, sim, Path(tmp)) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if sim is not None:
            sim.stop()
        admin.flushdb()
        admin.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body(admin: redis.Redis, sim: SimulatorProcess, tmp: Path) -> bool:
        run = bench_logins(args, tmp, sim, admin)
        return report(args, run, bench_floor(args, tmp, sim), bench_ceiling(args, tmp))

    return run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
