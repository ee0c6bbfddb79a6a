"""Read the Dockerfile's instructions, so the tests run exactly what the image runs."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        name, _, args = line.partition(" ")
        result.append((name.upper(), args.strip()))
    return result


def instruction(name: str, *, all_of: bool = False) -> str:
    """The arguments of the last ``name`` instruction (the one that counts), or all joined."""
    found = [args for n, args in instructions() if n == name]
    assert found, f"the Dockerfile has no {name}"
    return "\n".join(found) if all_of else found[-1]


def json_argv(args: str) -> list[str]:
    """An exec-form (JSON array) command."""
    argv = json.loads(args.strip())
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), args
    return argv


def healthcheck_argv() -> list[str]:
    return json_argv(instruction("HEALTHCHECK").split(" CMD ", 1)[1])
