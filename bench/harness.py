"""The processes a benchmark drives and the counters it reads: gunicorn, the simulator, Redis, threads.

Everything runs on 127.0.0.1, every loop is bounded, and every process started here is stopped
here: ``stop()`` in a ``finally``, plus a parent-death signal so a killed benchmark leaves nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis
import requests

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when the benchmark dies, even by SIGKILL (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# gunicorn ----------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the ``(comm)`` field: index 0 is the state, 1 the ppid, 11.. the times."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


class LoggedProcess:
    """A server subprocess on a free loopback port, in its own session, logging to a file."""

    stop_timeout = 15.0

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to the session it leads if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


class Gunicorn(LoggedProcess):
    """``gunicorn -c python:oidc_bridge.gunicorn_conf -w N -b 127.0.0.1:PORT APP``: the image's own
    settings (sync workers, metrics shared through files), with the worker count and
    a loopback port given on the command line, which win over the file's."""

    def __init__(self, app: str, workers: int, env: dict[str, str], log_path: Path, pythonpath: Path) -> None:
        super().__init__(log_path)
        self.workers = workers
        self._argv = [
            sys.executable, "-m", "gunicorn",
            "-c", "python:oidc_bridge.gunicorn_conf",
            "-w", str(workers),
            "-b", f"127.0.0.1:{self.port}",
            "--pythonpath", str(pythonpath),
            "--log-level", "warning",
            app,
        ]  # fmt: skip
        self._env = env
        self._cwd = pythonpath

    def start(self) -> Gunicorn:
        """Start serving; the port (and so ``url``) is known before, for the config that names it."""
        self.proc = subprocess.Popen(
            self._argv,
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the benchmark only; it stops gunicorn in order
            preexec_fn=_die_with_parent,
        )
        return self

    def _started(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise RuntimeError("gunicorn not started")
        return self.proc

    def wait_ready(self, path: str, attempts: int = 150) -> None:
        """Poll ``path`` until it answers 200 and every worker has started."""
        proc = self._started()
        for _ in range(attempts):
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                ok = requests.get(self.url + path, timeout=2).status_code == 200
                if ok and len(self.worker_pids()) == self.workers:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not become ready on {self.url}{path}:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        master = self._started().pid
        pids = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    if int(_stat_fields(int(entry.name))[1]) == master:
                        pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers; reaped workers count through cutime/cstime."""
        fields = _stat_fields(self._started().pid)
        ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        for pid in self.worker_pids():
            with contextlib.suppress(OSError, IndexError):
                ticks += sum(int(v) for v in _stat_fields(pid)[11:13])
        return ticks / _CLK_TCK


# the WeCom simulator in its own process ----------------------------------------------------------


def _simulator_main(conn: Connection, auto_approve: str) -> None:
    """Child: serve until told to stop or until the benchmark is gone (the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
    _die_with_parent()
    from oidc_bridge.wecom_sim import Directory, SimulatorServer

    sim = SimulatorServer(Directory.sample())
    sim.auto_approve = auto_approve
    sim.start()
    try:
        d = sim.directory
        conn.send({"url": sim.base_url, "corp_id": d.corp_id, "agent_id": d.agent_id, "secret": d.secret})
        while True:
            message = conn.recv()
            if message != "calls":
                break
            conn.send(sim.stats.calls)
    except (EOFError, OSError):
        pass
    finally:
        sim.stop()
        conn.close()


class SimulatorProcess:
    """The simulator in a separate process, so its CPU is not the bridge's; its counters via a Pipe."""

    def __init__(self, auto_approve: str) -> None:
        ctx = multiprocessing.get_context("fork")  # started before any thread exists
        self._conn, child = ctx.Pipe()
        sys.stdout.flush()
        self.proc = ctx.Process(target=_simulator_main, args=(child, auto_approve), daemon=True)
        self.proc.start()
        child.close()
        if not self._conn.poll(30):
            raise RuntimeError("the WeCom simulator did not start")
        info: dict[str, str] = self._conn.recv()
        self.url = info["url"]
        self.corp_id = info["corp_id"]
        self.agent_id = info["agent_id"]
        self.secret = info["secret"]

    def calls(self) -> dict[str, int]:
        """Requests the simulator has served so far, by path."""
        self._conn.send("calls")
        if not self._conn.poll(10):
            raise RuntimeError("the WeCom simulator did not answer")
        return self._conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        self._conn.close()


# Redis ---------------------------------------------------------------------------------------


def command_counts(r: redis.Redis) -> dict[str, int]:
    """``INFO commandstats``: calls per command since the server started (all dbs, all clients)."""
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in r.info("commandstats").items()}


def read_events(r: redis.Redis) -> int:
    """``INFO stats`` total_reads_processed: the requests Redis has read from its clients. A
    pipeline arrives in one read, so over a phase this counts round trips, not commands."""
    return int(r.info("stats")["total_reads_processed"])


def command_delta(before: dict[str, int], after: dict[str, int], ignore: set[str]) -> int:
    return sum(n - before.get(cmd, 0) for cmd, n in after.items() if cmd not in ignore)


class DbMonitor:
    """MONITOR, keeping only commands on one db: exact, but slows Redis, so never in a timed phase."""

    def __init__(self, url: str, db: int) -> None:
        self._url = url
        self._db = db
        self.commands: dict[str, int] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-monitor", daemon=True)

    def _run(self) -> None:
        client = redis.Redis.from_url(self._url, socket_timeout=30)
        try:
            with client.monitor() as m:
                self._ready.set()
                while not self._stop.is_set():
                    event = m.next_command()
                    if event.get("db") == self._db and event.get("client_type") != "lua":
                        name = str(event["command"]).split(" ", 1)[0].lower()
                        self.commands[name] = self.commands.get(name, 0) + 1
        except (redis.RedisError, OSError):
            self._ready.set()
        finally:
            client.close()

    def __enter__(self) -> DbMonitor:
        self._thread.start()
        self._ready.wait(10)
        time.sleep(0.05)  # MONITOR is acknowledged before the thread reads; let it settle
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # MONITOR blocks until the next command; one PING on another db wakes it.
        poke = redis.Redis.from_url(self._url, db=0, socket_timeout=5)
        with contextlib.closing(poke), contextlib.suppress(redis.RedisError):
            poke.ping()
        self._thread.join(timeout=10)


# client threads ----------------------------------------------------------------------------


def run_threads(
    count: int, concurrency: int, job: Callable[[requests.Session], None]
) -> tuple[float, list[float], list[str]]:
    """Run ``job`` ``count`` times on ``concurrency`` threads, each with its own Session.

    Returns (wall seconds, per-job latencies in seconds, error messages).
    """
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        nonlocal issued
        with requests.Session() as session:
            while True:
                with lock:
                    if issued >= count or len(errors) >= 10:
                        return
                    issued += 1
                start = time.perf_counter()
                try:
                    job(session)
                except Exception as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker, name=f"client-{i}", daemon=True) for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, errors


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Timed:
    """A timed phase: wall time, each job's latency, and the server's CPU over the phase."""

    wall: float
    latencies: list[float]
    cpu: float

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.wall

    @property
    def cpu_ms(self) -> float:
        """Server CPU per job, milliseconds."""
        return 1000 * self.cpu / self.count

    def ms(self, p: float) -> float:
        return 1000 * percentile(self.latencies, p)


def fail(what: str, errors: list[str], server: Gunicorn) -> None:
    """Report the first error and the server's log, then exit 1 (the ``finally`` blocks still run)."""
    print(f"FAILED: {what}: {len(errors)} error(s); first: {errors[0]}", file=sys.stderr)
    print(f"--- gunicorn log (tail) ---\n{server.log_tail()}", file=sys.stderr)
    raise SystemExit(1)


def measure(
    server: Gunicorn, what: str, count: int, concurrency: int, job: Callable[[requests.Session], None]
) -> Timed:
    """``run_threads`` with the server's CPU around it; any error fails the benchmark."""
    cpu_before = server.cpu_seconds()
    wall, latencies, errors = run_threads(count, concurrency, job)
    cpu = server.cpu_seconds() - cpu_before
    if errors:
        fail(what, errors, server)
    return Timed(wall, latencies, cpu)


def hello_ceiling(workers: int, concurrency: int, warmup: int, count: int, log_dir: Path) -> Timed:
    """The ceiling: the same threads and gunicorn settings against a Flask app that only says hello."""
    from login_flow import hello

    bench_dir = Path(__file__).resolve().parent
    server = Gunicorn("hello_app:app", workers, dict(os.environ), log_dir / "hello.log", bench_dir)
    try:
        server.start().wait_ready("/")
        job = hello(server.url + "/")
        measure(server, "warm-up hello", warmup, concurrency, job)
        return measure(server, "hello", count, concurrency, job)
    finally:
        server.stop()


def interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the ``finally`` blocks stop what was started.

    SIGINT is set explicitly: a shell starting the benchmark in the background may have ignored it.
    """

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)


# command line and report ---------------------------------------------------------------------


def bench_parser(
    doc: str | None, warmup_help: str, warmup: int | None = None, workers: int = 2
) -> argparse.ArgumentParser:
    """The flags every benchmark shares: --concurrency, --workers (the bridge's) and --warmup
    (default ``warmup``, or twice the concurrency)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"bridge gunicorn workers (default {workers})"
    )
    shown = "2 x concurrency" if warmup is None else warmup
    parser.add_argument("--warmup", type=int, default=warmup, help=f"{warmup_help} (default {shown})")
    return parser


def parse_bench_args(
    parser: argparse.ArgumentParser, argv: list[str] | None, counts: Sequence[str]
) -> argparse.Namespace:
    """Parsed, with ``counts`` (and concurrency, workers) at least 1 and the warm-up defaulted."""
    args = parser.parse_args(argv)
    for name in ("concurrency", "workers", *counts):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.warmup = 2 * args.concurrency if args.warmup is None else max(1, args.warmup)
    return args


def times(cpu_ms: float, ceiling_cpu_ms: float) -> str:
    """``cpu_ms`` as a multiple of the ceiling's; "n/a" when too few requests for the CPU clock
    (10 ms ticks) to count any."""
    return f"{cpu_ms / ceiling_cpu_ms:.1f}x" if ceiling_cpu_ms > 0 else "n/a"


def print_rows(rows: Sequence[tuple[str, str]]) -> None:
    """label  value, one a line, the values aligned."""
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
