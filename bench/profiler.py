"""Sampling profiles of running gunicorn workers with py-spy, summarised as the costliest frames.

``py-spy record`` attaches to each worker for the timed phase only (no code in the bridge, no
restart) and writes collapsed stacks; ``summary`` folds them into the functions that hold the
most samples, counted once per stack (inclusive), so "where does a login's CPU go" reads off
the top lines. Only samples holding the GIL count (``--gil``): a sync worker waiting on a
socket (Redis, the simulator, the next request) releases it.

Read it as where the worker holds the GIL, not as its CPU: the samples are wall-clock, so time
the worker was ready but not running (the benchmark shares 2 cores with its clients, Redis and
the simulator) counts too, and native code that releases the GIL (cryptography's RSA signature)
does not. In one run ``fastjson.loads`` held 3% of the samples (12% with the worker pinned to a
core of its own) while ``perf record`` put all of orjson at 0.8% of the worker's CPU and RS256
signing at 6%. Confirm a lead with an A/B of the benchmark before acting on it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PY_SPY_HINT = "py-spy is not installed: pip install py-spy"


class Profiler:
    """``with Profiler(pids, out_dir):`` samples those processes until the block ends."""

    def __init__(self, pids: list[int], out_dir: Path, rate: int = 250) -> None:
        # pip puts it beside the interpreter, which need not be on PATH (a venv not activated).
        exe = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if exe is None:
            raise RuntimeError(PY_SPY_HINT)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.files = [out_dir / f"worker-{pid}.txt" for pid in pids]
        self._argv = [
            [
                exe,
                "record",
                "--gil",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--output",
                str(f),
            ]
            for pid, f in zip(pids, self.files, strict=True)
        ]
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiler:
        quiet = subprocess.DEVNULL
        self._procs = [subprocess.Popen(argv, stdout=quiet, stderr=quiet) for argv in self._argv]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # py-spy writes its output when interrupted, as after Ctrl-C.
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def summary(self, top: int = 15) -> Summary:
        """The costliest frames: our own functions by inclusive share (where to act), and every
        function by self share (where the CPU actually burns)."""
        inclusive: Counter[str] = Counter()
        leaf: Counter[str] = Counter()
        total = 0
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                n = int(count)
                total += n
                frames = [_short(f) for f in stack.split(";")]
                leaf[frames[-1]] += n
                for frame in set(frames):
                    if "(oidc_bridge/" in frame:
                        inclusive[frame] += n
        if not total:
            return Summary([], [])
        return Summary(
            [(f, n / total) for f, n in inclusive.most_common(top)],
            [(f, n / total) for f, n in leaf.most_common(top)],
        )


@dataclass(frozen=True)
class Summary:
    """Frames with their share of all GIL-holding samples."""

    ours: list[tuple[str, float]]
    leaves: list[tuple[str, float]]

    def lines(self) -> list[str]:
        out = ["our code, inclusive:"]
        out += [f"  {100 * share:5.1f}%  {frame}" for frame, share in self.ours]
        out += ["any code, self:"]
        out += [f"  {100 * share:5.1f}%  {frame}" for frame, share in self.leaves]
        return out


def _short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py)``; line numbers vary."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
