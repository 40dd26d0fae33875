"""Rate limits, transient faults and vanished records, through the real CLI against the emulator."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from collections import Counter
from typing import Any, Dict, Iterator

import pytest

from integration_tests.harness import CLI_TIMEOUT, SCROLL_EXPIRY, CLI, START_TS, catalog_for, config_for, discovered_streams, file_args, run_cli, scroll_expiry_env
from intercom_emulator import EmulatorServer, RequestRecord, Workspace, WorkspaceSizes, running_emulator
from source_intercom.stream_facts import stream_facts

ALL_STREAMS = list(stream_facts())
COMPACT = WorkspaceSizes(
    admins=3, teams=2, tags=5, segments=4, companies=60, company_segments_per_company=2, contacts=300,
    conversations=40, parts_per_conversation=5, activity_logs=120, tickets=30, conversations_over_part_cap=0,
)


def assert_complete(run: Any, workspace: Workspace, streams: Any = ALL_STREAMS) -> None:
    assert run.returncode == 0, [e["message"] for e in run.errors]
    for stream in streams:
        assert run.key_set(stream) == workspace.expected_ids(stream, START_TS), stream


@pytest.fixture
def compact_workspace() -> Workspace:
    return Workspace(seed=11, sizes=COMPACT, span_days=300)


def sync_all(server: EmulatorServer) -> Any:
    config = config_for(server)
    return run_cli("read", config, catalog_for(discovered_streams(config)))


def test_a_sync_under_a_tight_rate_limit_is_paced_and_complete(compact_workspace: Workspace) -> None:
    with running_emulator(compact_workspace, token="tok-rate", rate_limit_per_10s=100) as server:
        run = sync_all(server)
        stats = server.stats()
    assert_complete(run, compact_workspace)
    print(f"\n429s drawn under 100 calls/10 s: {stats['rate_limited']} of {stats['total']} requests")
    # Paced from X-RateLimit-Remaining/Reset: only requests already in flight when a window runs out are refused.
    assert stats["rate_limited"] <= 0.05 * stats["total"]


@pytest.mark.long(40)
def test_a_fair_share_cap_is_never_exceeded_in_any_10_second_window(compact_workspace: Workspace) -> None:
    """max_requests_per_minute 300: at most 50 requests in each of Intercom's 10-second windows,
    though the app's limit would allow 1,666 (the connector takes only its share)."""
    with running_emulator(compact_workspace, token="tok-fair", rate_limit_per_10s=1666) as server:
        config = config_for(server, max_requests_per_minute=300)
        catalog = catalog_for(discovered_streams(config))
        server.reset_stats()
        run = run_cli("read", config, catalog)
        server.wait_idle()
        windows = Counter(int(request.started // 10) for request in server.requests)
    assert_complete(run, compact_workspace)
    total = sum(windows.values())
    assert total > 100, "too few requests to span several windows"
    # The connector counts a call in the window it starts it in; the emulator sees it arrive, on a
    # busy machine sometimes after the next window has begun (2026-12-03, under load: 48, 52, 50).
    # What arrival delays cannot change: each call was started in the window it arrived in or in
    # the one before, so the sync's calls fit in 50 for each window it spans and the one before
    # its first (at 1,666 a window they would fit in one), and no window holds two windows' share.
    spanned = max(windows) - min(windows) + 1
    assert total <= 50 * (spanned + 1), sorted(windows.items())
    assert max(windows.values()) <= 2 * 50, sorted(windows.items())


def test_after_a_429_the_retry_waits_for_the_window_to_reset(compact_workspace: Workspace) -> None:
    with running_emulator(compact_workspace, token="tok-429") as server:
        server.inject_fault(r"^/admins$", "429", times=1)
        run = run_cli("read", config_for(server), catalog_for(discovered_streams(config_for(server)), ["admins"]))
        server.wait_idle()  # a request is logged just after its answer
        admins = [r for r in server.requests if r.path == "/admins"]
    assert_complete(run, compact_workspace, ["admins"])
    assert [r.status for r in admins] == [429, 200]
    # The 429 names the end of its 10-second window (X-RateLimit-Reset; the windows are aligned to
    # multiples of 10 unix seconds): the retry waits for it (at least 0.5 s), and no longer than a
    # window, as the connector says when it decides to wait (a busy machine only delays the retry).
    # The wait it logs is the CDK's: the connector's (at most the window, 10 s, plus 0.5 s of
    # jitter) and the second the CDK always adds; a 429 early in a window comes close to 11.5 s.
    window_end = (int(admins[0].started) // 10 + 1) * 10
    assert admins[1].started >= window_end and admins[1].started - admins[0].ended >= 0.5, (admins[0].started, admins[1].started)
    waits = [float(m.group(1)) for m in map(re.compile(r"HTTP 429 on .*retrying in ([0-9.]+) s").search, run.logs()) if m]
    assert len(waits) == 1 and waits[0] <= 11.5, run.logs()


@pytest.mark.parametrize("seed", [1, 2])
def test_five_percent_of_requests_failing_at_random_loses_no_record(compact_workspace: Workspace, seed: int) -> None:
    with running_emulator(compact_workspace, token="tok-faults", fault_rate=0.05, fault_seed=seed, fault_timeout_seconds=2.0) as server:
        run = sync_all(server)
        stats = server.stats()
    assert stats["faults_injected"] >= 5
    assert_complete(run, compact_workspace)


@pytest.mark.parametrize(
    "path, streams",
    [
        (r"^/contacts/search$", ["contacts"]),
        (r"^/companies/scroll$", ["companies"]),
        (r"^/conversations/\d+$", ["conversations", "conversation_parts"]),
        (r"^/admins/activity_logs$", ["activity_logs"]),
    ],
)
def test_a_response_cut_short_is_retried_not_read_as_the_last_page(compact_workspace: Workspace, path: str, streams: list) -> None:
    # A scroll page cut short was served: the scroll moved on, and is read again once it expires
    # (2 s here, in the emulator and the connector; Intercom: about a minute).
    with running_emulator(compact_workspace, token="tok-cut", scroll_ttl=SCROLL_EXPIRY) as server:
        server.inject_fault(path, "truncated", times=2)
        config = config_for(server)
        run = run_cli("read", config, catalog_for(discovered_streams(config), streams), env=scroll_expiry_env(SCROLL_EXPIRY))
        stats = server.stats()
    assert stats["faults_injected"] == 2
    assert_complete(run, compact_workspace, streams)


@pytest.fixture
def vanishing_conversation(compact_workspace: Workspace) -> Iterator[Dict[str, Any]]:
    """An emulator where one conversation is deleted after search lists it, just before its fetch."""
    victim = sorted(compact_workspace.expected_ids("conversations", START_TS))[3]
    with running_emulator(compact_workspace, token="tok-vanish") as server:
        def delete_before_fetch(request: RequestRecord) -> None:
            if request.path == f"/conversations/{victim}":
                compact_workspace.delete_conversation(victim)

        server.on_request(delete_before_fetch)
        yield {"server": server, "victim": victim}


def test_a_conversation_deleted_between_search_and_fetch_is_skipped(vanishing_conversation: Dict[str, Any], compact_workspace: Workspace) -> None:
    server, victim = vanishing_conversation["server"], vanishing_conversation["victim"]
    config = config_for(server)
    run = run_cli("read", config, catalog_for(discovered_streams(config), ["conversation_parts"]))
    assert run.returncode == 0, run.errors
    server.wait_idle()
    assert any(r.path == f"/conversations/{victim}" and r.status == 404 for r in server.requests)
    assert run.key_set("conversation_parts") == compact_workspace.expected_ids("conversation_parts", START_TS)
    assert any(f"Conversation {victim} was not found" in line for line in run.logs())


@pytest.mark.long(80)
def test_a_hung_request_times_out_and_the_sync_keeps_talking(compact_workspace: Workspace) -> None:
    """A connection that never answers is abandoned after the read timeout (a minute: well within a
    platform's heartbeat check of a few minutes) and retried, long before the server would end it."""
    # Held for ten times the read timeout: a connector without one would wait for the server.
    with running_emulator(compact_workspace, token="tok-hang", fault_timeout_seconds=600.0) as server:
        server.inject_fault(r"^/admins$", "timeout", times=1)
        config = config_for(server)
        catalog = catalog_for(discovered_streams(config), ["admins"])  # nothing else to talk meanwhile
        with tempfile.TemporaryDirectory() as folder:
            process = subprocess.Popen([CLI, "read", *file_args(folder, config=config, catalog=catalog)], stdout=subprocess.PIPE, text=True)
            arrivals, lines = [time.monotonic()], []
            for line in process.stdout:  # type: ignore[union-attr]
                arrivals.append(time.monotonic())
                lines.append(line)
            assert process.wait(timeout=CLI_TIMEOUT) == 0
        held = server.stats()["in_flight"]
    records = [json.loads(line) for line in lines if line.startswith('{"type":"RECORD"')]
    assert {r["record"]["data"]["id"] for r in records if r["record"]["stream"] == "admins"} == compact_workspace.expected_ids("admins")
    longest_silence = max(later - earlier for earlier, later in zip(arrivals, arrivals[1:]))
    print(f"\nlongest silence with one hung request: {longest_silence:.1f} s")
    assert longest_silence >= 55  # the 60 s read timeout, then the retry
    assert held == 1, "the sync ended only after the server gave up the hung request: it did not time out by itself"
