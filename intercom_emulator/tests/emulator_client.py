"""What the emulator's self-tests share: the token, a client's headers, a running emulator of a
generated workspace as a fixture, and GET."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import requests

from intercom_emulator import EmulatorServer, Workspace, WorkspaceSizes, running_emulator

TOKEN = "test-token"
H = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.11"}
DAY = 86400


def emulator_fixture(seed: int, sizes: WorkspaceSizes, span_days: int = 200) -> Callable[[], Iterator[EmulatorServer]]:
    """A pytest fixture serving a new workspace of ``sizes`` for each test."""

    @pytest.fixture
    def emu() -> Iterator[EmulatorServer]:
        with running_emulator(Workspace(seed=seed, sizes=sizes, span_days=span_days), token=TOKEN) as server:
            yield server

    return emu


def get(server: EmulatorServer, path: str, headers: dict = H, **params: Any) -> requests.Response:
    return requests.get(server.url + path, headers=headers, params=params, timeout=10)
