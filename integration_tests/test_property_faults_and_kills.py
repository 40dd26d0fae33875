"""Property: whatever the fault schedule and wherever the sync is killed, no record is lost."""

from __future__ import annotations

from typing import Any, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration_tests.harness import START_TS, catalog_for, config_for, discovered_streams, sync_through_kills
from intercom_emulator import Workspace, WorkspaceSizes, running_emulator

SIZES = WorkspaceSizes(
    admins=3, teams=2, tags=4, segments=3, companies=40, company_segments_per_company=1, contacts=200,
    conversations=30, parts_per_conversation=4, activity_logs=80, tickets=20, conversations_over_part_cap=0,
)
STREAMS = ["companies", "company_segments", "contacts", "conversations", "conversation_parts", "activity_logs", "tickets", "admins"]
# Every fault kind but "timeout" and "429", which have their own tests: here they would only add
# waits (a 60 s read timeout; the rest of a 10 s rate-limit window).
FAULTS = ("500", "502", "503", "504", "reset", "truncated")


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fault_seed=st.integers(0, 10_000),
    fault_rate=st.sampled_from([0.0, 0.03, 0.08]),
    kill_points=st.lists(st.integers(5, 600), min_size=0, max_size=2),
)
def test_no_record_is_lost_under_random_faults_and_kills(fault_seed: int, fault_rate: float, kill_points: List[int]) -> None:
    workspace = Workspace(seed=fault_seed % 97, sizes=SIZES, span_days=200)
    with running_emulator(workspace, token="tok-property", fault_rate=fault_rate, fault_seed=fault_seed, fault_kinds=FAULTS, scroll_ttl=2.0) as server:
        config = config_for(server)
        catalog: Any = catalog_for(discovered_streams(config), STREAMS)
        sync = sync_through_kills(config, catalog, kill_points)
    assert sync.finished, "\n".join(sync.log)
    for stream in STREAMS:
        missing = workspace.expected_ids(stream, START_TS) - set(sync.records[stream])
        assert not missing, f"{stream}: lost {sorted(missing, key=str)[:5]}\n" + "\n".join(sync.log)
