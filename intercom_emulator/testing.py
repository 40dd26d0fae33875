"""Test helper: ``with running_emulator(...) as server:``."""
from __future__ import annotations

import contextlib

from .workspace import Workspace
from .server import EmulatorServer


@contextlib.contextmanager
def running_emulator(workspace: Workspace | None = None, **server_kwargs):
    """Start an EmulatorServer on a free loopback port (port=0 unless given); always stop it."""
    server_kwargs.setdefault("port", 0)
    server = EmulatorServer(workspace if workspace is not None else Workspace(), **server_kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
