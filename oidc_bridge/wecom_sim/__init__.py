"""A WeCom simulator for tests and the demo, reached only over HTTP."""

from .directory import Directory, SimDepartment, SimTag, SimUser
from .server import SimulatorServer

__all__ = ["Directory", "SimDepartment", "SimTag", "SimUser", "SimulatorServer"]
