"""Test helper: ``with running_emulator(...) as server:``."""
from __future__ import annotations

import contextlib
import threading
import time

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


class ManualClock:
    """A clock (seconds) that moves only when the test moves it, for the delays the emulator models
    (``Workspace(clock=...)``: the contacts index delay; ``scroll_clock=...``: the scroll's expiry),
    so that a busy machine cannot end a delay early. Starts at the current unix time."""

    def __init__(self, start: float | None = None):
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
