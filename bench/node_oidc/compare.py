"""Benchmark (d): full logins through node-oidc-provider and through the bridge, CPU per login side by side.

``python bench/node_oidc/compare.py [--logins 2000] [--concurrency 8] [--workers 1]``

It needs Node (>= 18), npm (once, for ``npm ci`` here: oidc-provider as package-lock.json pins
it), Redis. tests/test_bench_smoke.py runs it with a few logins, to keep it working.
node runs twice: with its default memory adapter (the issue's comparison), then with its state in
Redis (``redis_adapter.mjs``, after the project's own example), as the bridge's is.

node: ``server.mjs`` (oidc-provider, pinned in ``package.json``), one process, in-memory adapter, one
client like the bridge's bench client (client_secret_basic, PKCE S256 required, RS256) and an
interaction that logs zhangsan in and grants "openid profile" without a page. A login is a fresh
browser (no cookies): GET /auth -> /interaction/<uid> -> /auth/<uid> -> the code in the redirect ->
POST /token -> GET /me (userinfo, must be zhangsan): 5 requests to node. Node's CPU (user+sys, all
its threads) is read from /proc/<pid>/stat around the timed phase.

bridge: ``bench/logins.py``'s own timed phase (``bench_logins``: gunicorn -w W, one worker by
default as node is one process, Redis db 14, the WeCom simulator in its own process, its CPU
excluded), same N, concurrency and warm-up. A bridge
login is 4 bridge requests, plus the simulator's login page, and the bridge's own WeCom API calls
(getuserinfo, user/get...) and Redis round trips, none of which node has to do.

floor: ``bench/skeleton_app.py`` through the same logins (``bench_floor``): the bridge's requests,
WeCom calls, Redis round trips and signature with no logic, so what any bridge on this stack
(gunicorn, Flask, requests, redis-py) costs at the least; then (one worker) the same with its
state in the worker's memory instead of Redis, like for like with node's memory adapter.

Prints CPU ms per login and logins/s for each, and the ratio bridge/node (target: bridge <= node),
and the floor's ratios to node.
Exit status 1 when a login fails, 2 without Redis or Node.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/: harness, login_flow, logins

import requests  # noqa: E402
from harness import (  # noqa: E402
    _CLK_TCK,
    LoggedProcess,
    Timed,
    _die_with_parent,
    _stat_fields,
    bench_parser,
    parse_bench_args,
    run_threads,
)
from login_flow import (  # noqa: E402
    BRIDGE_REQUESTS_PER_LOGIN,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    USERID,
    Login,
    _expect,
    _no_follow,
)
from logins import FLOOR_IS, REDIS_DB, REDIS_URL, bench_floor, bench_logins, run_bench  # noqa: E402

NODE_REQUESTS_PER_LOGIN = 5  # auth, interaction, auth resume, token, userinfo


@dataclass(frozen=True)
class NodeLogin(Login):
    """The same login against node-oidc-provider: its interaction logs zhangsan in without a page."""

    authorize_path = "/auth"
    userinfo_path = "/me"

    def to_client(self, http: requests.Session, first: str) -> str:
        _expect(
            first.startswith(self.issuer + "/interaction/"),
            f"auth did not start an interaction: {first[:80]}",
        )
        url = first
        for _ in range(4):  # interaction -> auth resume -> client; bounded
            if url.startswith(REDIRECT_URI):
                break
            _expect(url.startswith(self.issuer + "/"), f"left the provider: {url[:80]}")
            url = self._redirect(http.get(url, **_no_follow()))
        return url


class NodeServer(LoggedProcess):
    """``node server.mjs``: one process; its state in memory, or in Redis at ``redis_url``."""

    stop_timeout = 10.0

    def __init__(self, log_path: Path, redis_url: str | None = None) -> None:
        super().__init__(log_path)
        self.redis_url = redis_url

    def start(self) -> NodeServer:
        env = {
            **os.environ,
            "NODE_ENV": "production",
            "PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": REDIRECT_URI,
            "ACCOUNT": USERID,
            **({"REDIS_URL": self.redis_url} if self.redis_url else {}),
        }
        self.proc = subprocess.Popen(
            ["node", "server.mjs"],
            env=env,
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return self

    def wait_ready(self, attempts: int = 150) -> None:
        assert self.proc is not None
        for _ in range(attempts):
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with status {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/.well-known/openid-configuration", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"node did not become ready on {self.url}:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the node process (every thread: main loop, libuv pool, GC)."""
        assert self.proc is not None
        return sum(int(v) for v in _stat_fields(self.proc.pid)[11:13]) / _CLK_TCK


def npm_install() -> None:
    """``npm ci`` here (exactly package-lock.json) unless oidc-provider and ioredis are installed."""
    if all((HERE / "node_modules" / name / "package.json").exists() for name in ("oidc-provider", "ioredis")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def oidc_provider_version() -> str:
    import json

    path = HERE / "node_modules" / "oidc-provider" / "package.json"
    return json.loads(path.read_text())["version"]


def bench_node(args: argparse.Namespace, log_dir: Path, redis_url: str | None = None) -> Timed:
    server = NodeServer(log_dir / f"node-{'redis' if redis_url else 'memory'}.log", redis_url)
    try:
        server.start().wait_ready()
        login = NodeLogin(server.url, sim_url="")  # no WeCom in front of node
        for what, count in (("warm-up", args.warmup), ("timed", args.logins)):
            cpu_before = server.cpu_seconds()
            wall, latencies, errors = run_threads(count, args.concurrency, login)
            cpu = server.cpu_seconds() - cpu_before
            if errors:
                print(
                    f"FAILED: node {what} logins: {len(errors)} error(s); first: {errors[0]}", file=sys.stderr
                )
                print(f"--- node log (tail) ---\n{server.log_tail()}", file=sys.stderr)
                raise SystemExit(1)
        return Timed(wall, latencies, cpu)
    finally:
        server.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # node after 16 logins costs a third more CPU per login than after 300 (V8 has not optimised
    # its hot paths yet): both sides are measured warm.
    # node serves from one process, so the bridge runs one worker: CPU per login compared like
    # for like. More processes on the same 2 cores cost each login more on either side (the
    # bridge: 6.6 ms a login at -w 1, 7.3 at -w 2, 8.6 at -w 4 in one sitting).
    parser = bench_parser(__doc__, "untimed logins first, each side", warmup=300, workers=1)
    parser.add_argument("--logins", type=int, default=2000, help="timed logins, each side (default 2000)")
    args = parse_bench_args(parser, argv, ("logins",))
    args.monitor_logins = 1  # bench_logins' untimed MONITOR phase: not reported here, kept minimal
    args.profile = None  # bench/logins.py --profile; a profiled bridge would not compare fairly
    return args


def row(name: str, t: Timed, requests_per_login: int) -> str:
    return (
        f"  {name:<10} {t.cpu_ms:8.2f} ms CPU/login ({t.cpu_ms / requests_per_login:.2f} ms x "
        f"{requests_per_login} requests)   {t.rate:7.1f} logins/s   "
        f"p50 {t.ms(50):.1f} ms  p99 {t.ms(99):.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("node and npm are needed", file=sys.stderr)
        return 2
    npm_install()
    results: dict[str, Timed] = {}

    def body(admin, sim, tmp: Path) -> bool:  # type: ignore[no-untyped-def]
        results["node"] = bench_node(args, tmp)
        results["node+redis"] = bench_node(args, tmp, REDIS_URL)
        results["bridge"] = bench_logins(args, tmp, sim, admin).timed
        results["floor"] = bench_floor(args, tmp, sim)
        if args.workers == 1:  # state in one worker's memory, as node's memory adapter
            results["floor, memory"] = bench_floor(args, tmp, sim, redis_url="")
        return True

    status = run_bench(body)
    if status != 0:
        return status
    if any(t.cpu <= 0 for t in results.values()):
        print("too few logins for the CPU clock (10 ms ticks) to count: give more --logins", file=sys.stderr)
        return 1
    node, node_redis, bridge, floor = (results[k] for k in ("node", "node+redis", "bridge", "floor"))
    ratio = bridge.cpu_ms / node.cpu_ms
    node_version = subprocess.check_output(["node", "--version"], text=True).strip()
    print(
        f"bench/node_oidc/compare.py: {args.logins} logins each (+{args.warmup} warm-up), concurrency "
        f"{args.concurrency}, {os.cpu_count()} CPUs; node {node_version} oidc-provider "
        f"{oidc_provider_version()} (1 process; memory adapter, then its Redis adapter on db {REDIS_DB}) "
        f"vs bridge gunicorn -w {args.workers} (sync, gunicorn_conf, Redis, WeCom simulator CPU excluded)"
        + ("" if args.workers == 1 else f"; note: {args.workers} bridge processes against node's one")
    )
    print(row("node", node, NODE_REQUESTS_PER_LOGIN))
    print(row("node+redis", node_redis, NODE_REQUESTS_PER_LOGIN))
    print(row("bridge", bridge, BRIDGE_REQUESTS_PER_LOGIN))
    print(row("floor", floor, BRIDGE_REQUESTS_PER_LOGIN))
    floor_memory = results.get("floor, memory")
    if floor_memory is not None:
        print(row("floor, mem", floor_memory, BRIDGE_REQUESTS_PER_LOGIN))
    print(
        f"  bridge/node CPU per login: {ratio:.2f} ({'meets' if ratio <= 1 else 'misses'} the target <= 1); "
        f"logins/s bridge/node: {bridge.rate / node.rate:.2f}"
    )
    print(f"  bridge/node with its state in Redis too: {bridge.cpu_ms / node_redis.cpu_ms:.2f}")
    print(
        f"  floor/node: {floor.cpu_ms / node.cpu_ms:.2f}, "
        f"floor/node+redis: {floor.cpu_ms / node_redis.cpu_ms:.2f}; "
        f"the bridge's own code costs {bridge.cpu_ms - floor.cpu_ms:.2f} ms a login above the floor "
        f"(bench/{FLOOR_IS})"
    )
    if floor_memory is not None:
        print(
            f"  floor with its state in memory (no Redis, as node's memory adapter)/node: "
            f"{floor_memory.cpu_ms / node.cpu_ms:.2f}"
        )
    print(
        "  note: the bridge's login also includes the WeCom round trip (simulator page, its CPU excluded), "
        "and the bridge's two WeCom API calls, which no node login has"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
