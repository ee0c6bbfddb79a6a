"""The benchmarks still run end to end; a whole login run costs exactly one WeCom gettoken."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
BENCH = BENCH_DIR / "logins.py"


def _redis_running() -> bool:
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _run(argv: list[str]) -> str:
    """Run a benchmark; it must exit 0 within 120 s. Returns its stdout."""
    if not _redis_running():
        pytest.skip("the real Redis on 127.0.0.1:6379 is not running")
    proc = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # lets the benchmark stop gunicorn and the simulator
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"the benchmark did not finish in 120 s\n{out}\n{err}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    return out


@pytest.mark.redis
def test_login_benchmark_completes_and_shares_one_gettoken_across_workers() -> None:
    out = _run([str(BENCH), "--logins", "10", "--concurrency", "2"])
    gettoken = re.search(r"gettoken calls\s+(\d+) in the whole run", out)
    assert gettoken is not None, out
    assert gettoken.group(1) == "1", out
    assert "logins/s" in out
    # The floor (skeleton_app.py) went through the same checked logins: id_token, state, userinfo.
    assert re.search(r"floor: CPU per login\s+\d+\.\d\d ms", out), out


@pytest.mark.redis
def test_endpoint_benchmark_completes_and_prints_its_ratios() -> None:
    out = _run(
        [
            str(BENCH_DIR / "endpoints.py"),
            "--tokens",
            "5",
            "--gets",
            "20",
            "--concurrency",
            "2",
            "--warmup",
            "2",
        ]
    )
    for label in ("token: code grant", "token: refresh grant", "discovery / ceiling", "jwks / ceiling"):
        assert re.search(rf"^\s+{re.escape(label)}\s+\S", out, re.MULTILINE), (label, out)
    assert re.search(r"discovery / ceiling\s+\d+\.\d\d \(target >= 0\.8", out), out


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_node_comparison_completes_and_prints_every_ratio() -> None:
    # npm installs oidc-provider (pinned by package-lock.json) into bench/node_oidc the first time.
    out = _run(
        [
            str(BENCH_DIR / "node_oidc" / "compare.py"),
            "--logins",
            "40",
            "--warmup",
            "10",
            "--concurrency",
            "2",
        ]
    )
    for label in ("node", "node+redis", "bridge", "floor", "floor, mem"):
        assert re.search(rf"^\s+{re.escape(label)}\s+\d+\.\d\d ms CPU/login", out, re.MULTILINE), (label, out)
    assert re.search(r"bridge/node CPU per login: \d+\.\d\d \((meets|misses) the target <= 1\)", out), out
    assert re.search(r"floor/node: \d+\.\d\d, floor/node\+redis: \d+\.\d\d", out), out


def test_log_line_benchmark_prints_each_format_against_the_ceiling() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / "log_lines.py"), "--lines", "200"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for fmt in ("text", "json"):
        assert re.search(rf"bridge, {fmt}\s+\d+\.\d\d us CPU a line = \d+\.\dx the ceiling", proc.stdout)
