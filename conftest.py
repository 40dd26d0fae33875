"""Shared pytest fixtures: the project's Intercom emulator on a free loopback port."""

from __future__ import annotations

from typing import Iterator

import pytest

from intercom_emulator import EmulatorServer, Workspace, WorkspaceSizes, running_emulator

SMALL = WorkspaceSizes(
    admins=5, teams=3, tags=12, segments=6, companies=120, company_segments_per_company=2, contacts=400,
    conversations=150, parts_per_conversation=8, activity_logs=300, tickets=60,
)


@pytest.fixture
def workspace() -> Workspace:
    return Workspace(seed=7, sizes=SMALL, span_days=400)


@pytest.fixture
def emulator(workspace: Workspace) -> Iterator[EmulatorServer]:
    with running_emulator(workspace, token="test-token-0123456789") as server:
        yield server
