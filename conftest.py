"""Shared pytest fixtures (the project's Intercom emulator on a free loopback port) and the order
in which the tests start.

What tests share otherwise (workspace sizes, tokens, helpers) lives in importable modules,
``integration_tests/workspaces.py`` and ``integration_tests/harness.py``.
"""

from __future__ import annotations

import itertools
import re
from typing import Iterator, List, Set

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
    """A connector run may list Intercom's reporting datasets (discover offers one stream each): where a
    test mocks Intercom with requests_mock, that list answers 403 (a token without the
    export_reporting_data scope, so no reporting streams) unless the test mocks it itself."""
    if "requests_mock" in request.fixturenames:
        request.getfixturevalue("requests_mock").get(
            re.compile(r"/export/reporting_data/get_datasets$"), status_code=403,
            json={"type": "error.list", "errors": [{"code": "forbidden", "message": "no export_reporting_data scope"}]})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "long(seconds): takes half a minute or more of wall time, mostly waiting (a timeout, a retry, a session-wide run); "
        "starts first. `seconds`, about what it takes on a quiet 2-core machine, only orders the long tests (longest first)",
    )


def _seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    return float(marker.args[0]) if marker and marker.args else 60.0


def _module_fixtures(item: pytest.Item) -> Set[str]:
    """The module-scoped fixtures the test uses (a session-wide run is computed in one of those)."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return {name for name, defs in definitions.items() if defs and defs[-1].scope == "module"}


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Starts the ``long`` tests first, spread over the workers. pytest-xdist's work stealing hands
    each of its n workers a contiguous 1/n of the tests at the start; the long tests go to the
    heads of those shares, longest first, each to the share with the fewest seconds of long tests
    so far (left where they were, several could land at the end of the run on one worker, adding
    their minutes to the suite's time). The tests of a long test's module that use one of its
    module-scoped fixtures (the Builder's answers, the manifest-only runs) follow it in its share:
    elsewhere they would hold another worker while they wait for it."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    long_tests = sorted((item for item in items if item.get_closest_marker("long")), key=_seconds, reverse=True)
    if workers < 2 or not long_tests:
        return
    heads: List[List[pytest.Item]] = [[] for _ in range(workers)]
    seconds = [0.0] * workers
    placed: Set[int] = set()
    for item in long_tests:
        share = seconds.index(min(seconds))
        seconds[share] += _seconds(item)
        shared = _module_fixtures(item)
        followers = [other for other in items if other is not item and id(other) not in placed and other.module is item.module
                     and not other.get_closest_marker("long") and _module_fixtures(other) & shared]
        for one in [item, *followers]:
            heads[share].append(one)
            placed.add(id(one))
    others = iter([item for item in items if id(item) not in placed])
    ordered: List[pytest.Item] = []
    for share in range(workers):  # the sizes xdist gives: what is left, divided by the workers left
        size = (len(items) - len(ordered)) // (workers - share)
        ordered += heads[share]
        ordered += itertools.islice(others, max(0, size - len(heads[share])))
    ordered += list(others)
    items[:] = ordered
