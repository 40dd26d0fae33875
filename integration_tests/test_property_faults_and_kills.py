"""Property: whatever the fault schedule and wherever the sync is killed, no record is lost.

Random faults hit every route; the companies scroll also gets its own kinds (expiry, "please
restart the scroll" 500s, answers served and then lost), several in a row on one request, on any
page. Each example kills the sync at random points and resumes it from its last states.

CI runs a few examples (six, in two tests that run at once); a longer profile runs by hand:
    SOURCE_INTERCOM_PROPERTY_EXAMPLES=40 .venv/bin/python -m pytest integration_tests/test_property_faults_and_kills.py
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration_tests.harness import SCROLL_EXPIRY, START_TS, catalog_for, config_for, discovered_streams, scroll_expiry_env, sync_through_kills
from intercom_emulator import EmulatorServer, RequestRecord, Workspace, WorkspaceSizes, running_emulator
from source_intercom.stream_facts import stream_facts

SIZES = WorkspaceSizes(
    admins=3, teams=2, tags=4, segments=3, companies=140, company_segments_per_company=1, contacts=200,
    conversations=30, parts_per_conversation=4, activity_logs=80, tickets=20, conversations_over_part_cap=0,
)
STREAMS = list(stream_facts())
# Every fault kind but "timeout" and "429", which have their own tests: here they would only add
# waits (a read timeout; the rest of a 10 s rate-limit window).
FAULTS = ("500", "502", "503", "504", "reset", "truncated")
SCROLL_FAULTS = ("truncated", "reset", "502", "504", "500", "503", "scroll_expired", "scroll_restart_500")
EXAMPLES = int(os.environ.get("SOURCE_INTERCOM_PROPERTY_EXAMPLES", "6"))
# The examples run in this many tests, each drawing its own (the suite's workers run them at once).
PARTS = 2


def storm_the_scroll(server: EmulatorServer, seed: int, rate: float, in_a_row: int = 3) -> None:
    """Each scroll request gets a random scroll fault with probability ``rate``, at most
    ``in_a_row`` times in a row for the same request (the same scroll_param)."""
    rng, lock, streak = random.Random(seed), threading.Lock(), Counter()

    def maybe_fault(request: RequestRecord) -> None:
        if request.path != "/companies/scroll":
            return
        key = (request.query.get("scroll_param") or [""])[0]
        with lock:
            if streak[key] < in_a_row and rng.random() < rate:
                streak[key] += 1
                server.inject_fault(r"^/companies/scroll$", rng.choice(SCROLL_FAULTS), times=1)
            else:
                streak[key] = 0

    server.on_request(maybe_fault)


@pytest.mark.long(50)
@pytest.mark.parametrize("part", range(PARTS))
@settings(max_examples=-(-EXAMPLES // PARTS), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fault_seed=st.integers(0, 10_000),
    fault_rate=st.sampled_from([0.0, 0.03, 0.08]),
    scroll_fault_rate=st.sampled_from([0.0, 0.15, 0.3]),
    kill_points=st.lists(st.integers(5, 600), min_size=0, max_size=2),
)
def test_no_record_is_lost_under_random_faults_and_kills(part: int, fault_seed: int, fault_rate: float, scroll_fault_rate: float, kill_points: List[int]) -> None:
    workspace = Workspace(seed=fault_seed % 97, sizes=SIZES, span_days=200)
    with running_emulator(workspace, token="tok-property", fault_rate=fault_rate, fault_seed=fault_seed, fault_kinds=FAULTS,
                          scroll_ttl=SCROLL_EXPIRY) as server:
        storm_the_scroll(server, fault_seed, scroll_fault_rate)
        config = config_for(server)
        catalog: Any = catalog_for(discovered_streams(config), STREAMS)
        sync = sync_through_kills(config, catalog, kill_points, env=scroll_expiry_env(SCROLL_EXPIRY))
        faults = server.stats()["faults_injected"]
    assert sync.finished, "\n".join(sync.log)
    for stream in STREAMS:
        missing = workspace.expected_ids(stream, START_TS) - set(sync.records[stream])
        assert not missing, f"{stream}: lost {sorted(missing, key=str)[:5]} ({faults} faults)\n" + "\n".join(sync.log)
