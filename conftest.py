"""Shared pytest fixtures (the project's Intercom emulator on a free loopback port) and the order
in which the tests start.

What tests share otherwise (workspace sizes, tokens, helpers) lives in importable modules,
``integration_tests/workspaces.py`` and ``integration_tests/harness.py``.
"""

from __future__ import annotations

import itertools
import re
from typing import Iterator, List

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


@pytest.fixture(autouse=True)
def reporting_datasets_refused(request: pytest.FixtureRequest) -> None:
    """Every connector run lists Intercom's reporting datasets (to offer one stream each): where a
    test mocks Intercom with requests_mock, that list answers 403 (a token without the
    export_reporting_data scope, so no reporting streams) unless the test mocks it itself."""
    if "requests_mock" in request.fixturenames:
        request.getfixturevalue("requests_mock").get(
            re.compile(r"/export/reporting_data/get_datasets$"), status_code=403,
            json={"type": "error.list", "errors": [{"code": "forbidden", "message": "no export_reporting_data scope"}]})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: takes half a minute or more of wall time, mostly waiting (a timeout, a retry, a session-wide run); starts first")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Starts each ``long`` test first on a worker of its own. pytest-xdist's work stealing hands
    each of its n workers a contiguous 1/n of the tests at the start, so each ``long`` test goes
    to the head of one such share, the others keeping their order. Left where they were, several
    could land at the end of the run on one worker, adding their minutes to the suite's time."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    long_tests = [item for item in items if item.get_closest_marker("long")]
    if workers < 2 or not long_tests:
        return
    others = iter([item for item in items if not item.get_closest_marker("long")])
    heads: List[List[pytest.Item]] = [[] for _ in range(workers)]
    for index, item in enumerate(long_tests):
        heads[index % workers].append(item)
    ordered: List[pytest.Item] = []
    for share in range(workers):  # the sizes xdist gives: what is left, divided by the workers left
        size = (len(items) - len(ordered)) // (workers - share)
        ordered += heads[share]
        ordered += itertools.islice(others, max(0, size - len(heads[share])))
    ordered += list(others)
    items[:] = ordered
