"""End to end: no num_workers and no catalog makes a sync hang. A reading never waits for a stream
that the CDK may not schedule (its queues spill to disk instead), and never for a CDK worker.

The run's timeout is a hang detector, far above a quiet run's few seconds."""

from __future__ import annotations

import random
from typing import List

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from integration_tests.harness import START_TS, catalog_for, config_for, discovered_streams, run_cli
from integration_tests.workspaces import TOKEN, small_workspace
from intercom_emulator import WorkspaceSizes, Workspace, running_emulator
from source_intercom.stream_facts import stream_facts

HANG = 300  # seconds: a run of these workspaces takes a few seconds on a quiet machine
CONTACTS_FAMILY = ["contacts", "contact_tags", "contact_companies"]


def _assert_complete(run: object, ws: Workspace, streams: List[str]) -> None:
    assert run.returncode == 0, run.stderr[-2000:]  # type: ignore[attr-defined]
    for stream in streams:
        assert run.key_set(stream) == set(ws.expected_ids(stream, START_TS)), stream  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", [1, 2])
def test_one_or_two_workers_read_contacts_with_long_lists_to_the_end(workers: int) -> None:
    ws = small_workspace()  # about a tenth of its contacts have more than 10 tags or companies
    with running_emulator(ws, token=TOKEN) as server:
        config = config_for(server, num_workers=workers)
        run = run_cli("read", config, catalog_for(discovered_streams(config), CONTACTS_FAMILY), timeout=HANG)
        _assert_complete(run, ws, CONTACTS_FAMILY)


SIZES = WorkspaceSizes(
    admins=2, teams=2, tags=6, segments=2, companies=60, company_segments_per_company=1, contacts=120,
    conversations=20, parts_per_conversation=3, activity_logs=30, tickets=10, conversations_over_part_cap=0,
)


@pytest.mark.long(85)
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(workers=st.integers(min_value=1, max_value=40), seed=st.integers(min_value=0, max_value=2**16), size=st.integers(min_value=1, max_value=25))
@example(workers=1, seed=0, size=len(stream_facts()))  # the extremes: one worker, every stream
@example(workers=40, seed=0, size=len(stream_facts()))  # the most workers, every stream
@example(workers=40, seed=0, size=1)  # the most workers, one stream
def test_any_worker_count_and_any_catalog_finish(workers: int, seed: int, size: int) -> None:
    streams = list(stream_facts())
    random.Random(seed).shuffle(streams)
    chosen = streams[:size]
    ws = Workspace(seed=3, sizes=SIZES, span_days=200)
    with running_emulator(ws, token=TOKEN) as server:
        config = config_for(server, num_workers=workers)
        catalog = catalog_for(discovered_streams(config), chosen)
        catalog["streams"].sort(key=lambda entry: chosen.index(entry["stream"]["name"]))  # the catalog's order too
        run = run_cli("read", config, catalog, timeout=HANG)
        _assert_complete(run, ws, chosen)
