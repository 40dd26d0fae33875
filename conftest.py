"""Shared pytest fixtures: the project's Intercom emulator on a free loopback port.

Fixtures only: what tests share otherwise (workspace sizes, tokens, helpers) lives in importable
modules, ``integration_tests/workspaces.py`` and ``integration_tests/harness.py``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from integration_tests.workspaces import TOKEN, small_workspace
from intercom_emulator import EmulatorServer, Workspace, running_emulator


@pytest.fixture
def workspace() -> Workspace:
    """A fresh shared small workspace, for a test that may change it."""
    return small_workspace()


@pytest.fixture
def emulator(workspace: Workspace) -> Iterator[EmulatorServer]:
    """The emulator serving ``workspace``, for this test alone (it may inject faults or count requests)."""
    with running_emulator(workspace, token=TOKEN) as server:
        yield server
