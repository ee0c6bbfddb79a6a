"""A real simulator on a free loopback port per test, reached over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from oidc_bridge.wecom_sim import SimulatorServer

from .support import SimClient


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture
def wecom(sim: SimulatorServer) -> Iterator[SimClient]:
    with requests.Session() as http:
        yield SimClient(sim, http)
