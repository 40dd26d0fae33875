"""End to end through the CLI: team_admins, API 2.16's calls and ticket states, newsfeeds over
several pages, and a workspace whose plan lacks one product (its streams skipped, the sync
succeeding with every other stream complete)."""

from __future__ import annotations

from typing import Any, List

from integration_tests.harness import START_TS, Run, catalog_for, config_for, discovered_streams, run_cli
from intercom_emulator import Workspace, running_emulator

NEW_STREAMS = ["teams", "team_admins", "calls", "ticket_states", "newsfeeds"]


def read(server: Any, names: List[str], state: Any = None) -> Run:
    config = config_for(server)
    return run_cli("read", config, catalog_for(discovered_streams(config), names), state=state)


def test_the_new_streams_equal_the_ground_truth_and_newsfeeds_arrive_from_every_page(workspace: Workspace, emulator: Any) -> None:
    assert len(workspace.newsfeeds) == 24 and len(workspace.calls) > 50  # 3 pages of newsfeeds, 3 of calls
    run = read(emulator, NEW_STREAMS)
    assert run.returncode == 0 and not run.errors, run.errors
    for stream in NEW_STREAMS:
        keys = run.keys(stream)
        assert len(keys) == len(set(keys)), f"{stream}: duplicates"
        assert set(keys) == workspace.expected_ids(stream, START_TS), stream
    assert all(isinstance(row["team_id"], str) and isinstance(row["id"], str) and set(row) == {"team_id", "id"}
               for row in run.records["team_admins"])
    emulator.wait_idle()
    asked = [(r.path, r.query.get("page", ["1"])[0], r.headers.get("intercom-version")) for r in emulator.requests]
    assert sorted(page for path, page, _ in asked if path == "/news/newsfeeds") == ["1", "2", "3"]
    assert sorted(page for path, page, _ in asked if path == "/calls") == ["1", "2", "3"]
    assert sorted(path for path, _, _ in asked if path == "/teams") == ["/teams", "/teams"]  # teams, and team_admins
    assert {version for path, _, version in asked if path in ("/calls", "/ticket_states")} == {"2.16"}
    assert {version for path, _, version in asked if path not in ("/calls", "/ticket_states") and not path.startswith("/export/reporting_data/")} == {"2.11"}


def test_an_incremental_sync_of_calls_emits_the_changed_ones_and_the_table_equals_the_ground_truth(workspace: Workspace, emulator: Any) -> None:
    first = read(emulator, ["calls"])
    assert first.returncode == 0, first.errors
    assert first.key_set("calls") == workspace.expected_ids("calls", START_TS)
    version = workspace.version
    updated = sorted(workspace.expected_ids("calls"))[:3]
    for call in updated:
        workspace.update_call(call)
    added = {workspace.add_call(), workspace.add_call()}
    changed = workspace.changed_ids("calls", version)
    assert changed == set(updated) | added
    second = read(emulator, ["calls"], state=first.final_state())
    assert second.returncode == 0, second.errors
    emitted = second.key_set("calls")
    assert changed <= emitted
    bookmark = max(record["updated_at"] for record in first.records["calls"])
    assert all(record["updated_at"] >= bookmark for record in second.records["calls"]), "calls older than the state were sent again"
    table = {record["id"]: record for record in first.records["calls"] + second.records["calls"]}  # deduplicated on id
    assert set(table) == workspace.expected_ids("calls", START_TS)
    current = {r.id: r.updated_at for r in workspace.calls}
    assert all(table[call]["updated_at"] == current[call] for call in table), "a stale call in the table"


HELP_CENTER = ["articles", "help_center_collections", "help_centers"]
OTHERS = ["admins", "teams", "team_admins", "tags", "newsfeeds", "news_items", "calls", "ticket_states", "ticket_types",
          "conversations", "segments"]


def test_a_plan_without_one_product_skips_its_streams_and_the_sync_succeeds_with_every_other_stream(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-no-help-center", plan_lacks={"articles", "help_center"}) as server:
        run = read(server, HELP_CENTER + OTHERS)
    assert run.returncode == 0 and not run.errors, run.errors
    for stream in HELP_CENTER:
        assert run.records.get(stream, []) == [], stream
        assert any(f"Skipping stream '{stream}'" in line and "api_plan_restricted" in line and "Help Center" in line
                   for line in run.logs("WARN", "INFO")), (stream, run.logs())
    for stream in OTHERS:
        assert run.key_set(stream) == workspace.expected_ids(stream, START_TS), stream
    with_state = {state["stream"]["stream_descriptor"]["name"] for state in run.states if state.get("type") == "STREAM"}
    assert {"segments", "conversations", "news_items", "calls"} <= with_state


def test_a_plan_without_api_access_fails_the_sync_of_streams_that_a_product_would_skip(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-no-api", plan_restricted=True) as server:
        run = read(server, ["calls", "newsfeeds", "tags"])
    assert run.returncode == 1
    assert any(error["failure_type"] == "config_error" and "plan" in error["message"] and "connection check" in error["message"]
               for error in run.errors), run.errors
