"""Local Intercom REST API emulator (stdlib only) used by the connector's tests and benchmarks."""
from .data import PRESETS, Workspace, WorkspaceSizes
from .server import EmulatorServer, RequestRecord
from .testing import running_emulator

__all__ = ["Workspace", "WorkspaceSizes", "EmulatorServer", "running_emulator", "RequestRecord", "PRESETS"]
