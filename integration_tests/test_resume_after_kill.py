"""End to end: a sync killed (SIGKILL) at random points and resumed from its last states loses nothing.

Like a platform would: the messages a killed run printed before it died are kept (records go to
the destination, the last STATE of each stream is persisted); the next attempt starts from those
states. A run that exits non-zero by itself is retried the same way. The union of the records
of every attempt must cover the ground truth (``Workspace.expected_ids``) of every stream.
"""

from __future__ import annotations

import random
import time
from collections import Counter

from integration_tests.workspaces import TOKEN, small_workspace
from intercom_emulator import running_emulator
from integration_tests.harness import START_TS, catalog_for, config_for, discovered_streams, scroll_expiry_env, sync_through_kills

KILLS = 3
MAX_ATTEMPTS = 10


def test_killed_syncs_resume_without_losing_records() -> None:
    ws = small_workspace()
    # latency slows the sync so that kills land mid-stream; a killed run leaves its companies
    # scroll open: a short scroll_ttl lets it expire within the test (Intercom: about a minute).
    with running_emulator(ws, token=TOKEN, latency=0.02, scroll_ttl=3.0) as server:
        config = config_for(server)
        catalog = catalog_for(discovered_streams(config))
        streams = [s["stream"]["name"] for s in catalog["streams"]]
        expected_messages = sum(len(ws.expected_ids(s, START_TS)) for s in streams)

        rng = random.Random(424242)
        started = time.monotonic()
        sync = sync_through_kills(config, catalog, [rng.randint(20, int(expected_messages * 0.9)) for _ in range(KILLS)], MAX_ATTEMPTS, scroll_expiry_env(3.0))
        records, log, kills, finished = sync.records, sync.log, sync.kills, sync.finished
        elapsed = time.monotonic() - started
        print("\n" + "\n".join(log))

        assert finished, "no attempt completed:\n" + "\n".join(log)
        assert kills >= 1, "no run was killed mid-sync: the test did not exercise a resume\n" + "\n".join(log)

        lines = []
        total_duplicates = 0
        for stream in streams:
            expected = ws.expected_ids(stream, START_TS)
            got = set(records[stream])
            missing = expected - got
            assert not missing, (
                f"{stream}: {len(missing)} of {len(expected)} records were never emitted across the killed and "
                f"resumed runs, e.g. {sorted(missing, key=str)[:5]}\n" + "\n".join(log)
            )
            assert got <= expected, f"{stream}: unknown keys {sorted(got - expected, key=str)[:5]}"
            dup = sum(n - 1 for n in Counter(records[stream]).values() if n > 1)
            total_duplicates += dup
            lines.append(f"{stream:<18} expected={len(expected):5d} emitted={len(records[stream]):5d} duplicates={dup}")
        print("\n".join(lines))
        print(f"{kills} kills, {len(log)} attempts, {total_duplicates} duplicate records in total, {elapsed:.1f} s")
