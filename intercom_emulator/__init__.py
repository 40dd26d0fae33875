"""Local Intercom REST API emulator (stdlib only) used by the connector's tests and benchmarks."""
from .server import EmulatorServer, RequestRecord
from .sizes import PRESETS, WorkspaceSizes
from .testing import ManualClock, running_emulator
from .workspace import Workspace

__all__ = ["Workspace", "WorkspaceSizes", "EmulatorServer", "running_emulator", "RequestRecord", "PRESETS", "ManualClock"]
