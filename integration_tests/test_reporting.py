"""End to end: Intercom's reporting datasets (Reporting Data Export) as `reporting_<dataset>` streams,
read through export jobs against the emulator: every row, never more than 5 pending jobs, failed
jobs recovered, incremental windows with the lookback, and nothing changed without the scope."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Dict, List, Optional

import pytest

from integration_tests.harness import Run, catalog_for, config_for, discovered_streams, run_cli
from intercom_emulator import Workspace, running_emulator
from intercom_emulator.reporting import DATASETS, MAX_PENDING_JOBS, ReportingExports, iso
from source_intercom.stream_facts import stream_facts

DAY = 86_400
START = "2026-01-01T00:00:00Z"          # overridden per test where the window matters
STREAMS = [f"reporting_{d.id}" for d in DATASETS]
WINDOW = 90 * DAY                       # the manifest's step


def reporting_server(workspace: Workspace, **exports: Any) -> Any:
    # Jobs stay pending a moment unless a test says otherwise: the first poll sees them pending
    # (the tests' runs poll every 0.25 s: integration_tests/job_polls.py).
    exports.setdefault("pending_seconds", 0.2)
    return running_emulator(workspace, token="tok-reporting", reporting_scope=True,
                            reporting=ReportingExports(**exports))


def start_days_ago(workspace: Workspace, days: int) -> str:
    return iso(workspace.anchor - days * DAY)


def discover(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    run = run_cli("discover", config)
    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    return run.catalog()["streams"]


def read(server: Any, config: Dict[str, Any], names: List[str], state: Optional[List[Dict[str, Any]]] = None,
         catalog: Optional[Dict[str, Any]] = None) -> Run:
    """A read of ``names`` from ``catalog``, or from the catalog a new `discover` gives."""
    return run_cli("read", config, catalog or catalog_for(discover(config), names), state=state)


def expected_rows(server: Any, stream: str, start: int) -> List[Dict[str, Any]]:
    """The dataset's rows from ``start`` to now, as the connector emits them: times as in the CSV,
    numbers as numbers, empty cells as nulls."""
    dataset = stream[len("reporting_"):]
    rows = []
    for row in server.reporting_rows.rows(dataset, start, int(time.time()) + 1):
        rows.append({k: iso(v) if k.endswith("_at") and v is not None else v for k, v in row.items()})
    return rows


def canonical(rows: List[Dict[str, Any]]) -> List[str]:
    """Rows comparable whatever the order; an empty cell (None) and an absent field are the same
    (the CDK leaves out fields whose value is null)."""
    return sorted(repr(sorted((k, float(v) if isinstance(v, (int, float)) else v) for k, v in row.items() if v is not None))
                  for row in rows)


def enqueued_windows(server: Any, dataset: str) -> List[tuple]:
    return sorted((r.body["start_time"], r.body["end_time"]) for r in server.requests
                  if r.path == "/export/reporting_data/enqueue" and r.status == 200 and r.body["dataset_id"] == dataset)


def test_discover_offers_one_stream_per_dataset_typed_from_its_attributes(workspace: Workspace) -> None:
    with reporting_server(workspace) as server:
        streams = {s["name"]: s for s in discover(config_for(server))}
        versions = {r.headers.get("intercom-version") for r in server.requests}
    assert set(STREAMS) <= set(streams) and set(streams) - set(STREAMS) == set(stream_facts())
    conversation = streams["reporting_conversation"]
    assert conversation["source_defined_primary_key"] == [["conversation_id"]]
    assert conversation["default_cursor_field"] == ["conversation_started_at"]
    properties = conversation["json_schema"]["properties"]
    assert properties["conversation_started_at"]["format"] == "date-time"
    assert properties["time_to_close"]["type"] == ["null", "number"]
    assert properties["channel"]["type"] == ["null", "string"]
    assert sorted(properties) == sorted(a.id for a in DATASETS[0].attributes)
    assert streams["reporting_admin_status_change"].get("source_defined_primary_key") in (None, [])
    assert versions == {"2.16"}


def test_a_full_sync_emits_every_row_of_every_dataset_with_at_most_five_pending_jobs(workspace: Workspace) -> None:
    with reporting_server(workspace, pending_seconds=1.0) as server:
        config = config_for(server, start_date=start_days_ago(workspace, 200))
        run = read(server, config, STREAMS + ["admins"])
        stats = server.stats()["reporting"]
        start = workspace.anchor - 200 * DAY
        for stream in STREAMS:
            assert canonical(run.records[stream]) == canonical(expected_rows(server, stream, start)), stream
        reporting_versions = {r.headers.get("intercom-version") for r in server.requests if "reporting_data" in r.path}
        other_versions = {r.headers.get("intercom-version") for r in server.requests if "reporting_data" not in r.path}
    assert run.returncode == 0 and not run.errors, run.errors
    assert len(run.records["admins"]) == len(workspace.admins)
    assert stats["enqueued"] == 3 * 3 and stats["downloads"] == 9    # 200 days in 90-day windows
    assert stats["max_pending"] <= MAX_PENDING_JOBS and stats["refused_pending"] == 0, stats
    assert reporting_versions == {"2.16"} and other_versions == {"2.11"}


def test_failed_jobs_are_enqueued_again_and_every_row_arrives(workspace: Workspace) -> None:
    with reporting_server(workspace) as server:
        server.reporting.fail_next_jobs(2)      # each of the two windows fails once
        config = config_for(server, start_date=start_days_ago(workspace, 100))
        run = read(server, config, ["reporting_conversation"])
        stats = server.stats()["reporting"]
        expected = expected_rows(server, "reporting_conversation", workspace.anchor - 100 * DAY)
    assert run.returncode == 0 and not run.errors, run.errors
    assert stats["failed"] == 2 and stats["enqueued"] == 4, stats
    assert canonical(run.records["reporting_conversation"]) == canonical(expected)


def test_a_window_that_keeps_failing_fails_its_stream_only(workspace: Workspace) -> None:
    with reporting_server(workspace, failure_rate=1.0) as server:
        config = config_for(server, start_date=start_days_ago(workspace, 20))
        run = read(server, config, ["reporting_ticket", "admins"])
        stats = server.stats()["reporting"]
    assert run.returncode != 0 and run.errors
    assert stats["enqueued"] == 3, stats         # the CDK's three attempts, then the error
    assert len(run.records["admins"]) == len(workspace.admins)
    assert run.records.get("reporting_ticket", []) == []
    statuses = {m["trace"]["stream_status"]["stream_descriptor"]["name"]: m["trace"]["stream_status"]["status"]
                for m in run.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"}
    assert statuses["admins"] == "COMPLETE" and statuses["reporting_ticket"] == "INCOMPLETE"


@pytest.mark.parametrize("lookback_days", [0, 14, 365])
def test_an_incremental_sync_enqueues_only_the_new_windows_and_the_lookback(workspace: Workspace, lookback_days: int) -> None:
    with reporting_server(workspace) as server:
        config = config_for(server, start_date=start_days_ago(workspace, 60), reporting_lookback_days=lookback_days)
        catalog = catalog_for(discover(config), ["reporting_conversation"])
        first = read(server, config, ["reporting_conversation"], catalog=catalog)
        assert first.returncode == 0 and not first.errors, first.errors
        state = first.final_state()
        saved = int(state[0]["stream"]["stream_state"]["conversation_started_at"])
        # After the sync: new conversations, and recent ones whose metrics changed (closed later).
        added = server.reporting_rows.add("conversation", [int(time.time()) - 60, int(time.time()) - 30])
        changed = server.reporting_rows.change_recent("conversation", 3, within_days=10, seed=7)
        server.reset_stats()
        second = read(server, config, ["reporting_conversation"], state=state, catalog=catalog)
        windows = enqueued_windows(server, "conversation")
    assert second.returncode == 0 and not second.errors, second.errors
    first_start = max(saved - lookback_days * DAY, workspace.anchor - 60 * DAY)
    assert windows[0][0] == first_start, (windows, saved)
    assert all(b - a <= WINDOW + 1 for a, b in windows)
    assert len(windows) == -(-(int(time.time()) - first_start) // WINDOW), windows
    got = {r["conversation_id"]: r for r in second.records["reporting_conversation"]}
    assert {r["conversation_id"] for r in added} <= set(got)
    for row in changed:
        at = row["conversation_started_at"]
        if at >= first_start:   # the lookback reaches it: its new metrics arrive
            assert got[row["conversation_id"]]["time_to_close"] == row["time_to_close"]


def test_a_start_date_older_than_the_retention_is_clipped_to_it(workspace: Workspace) -> None:
    with reporting_server(workspace) as server:
        config = config_for(server, start_date="2020-01-01T00:00:00Z")
        config["reporting_lookback_days"] = 0
        run = read(server, config, ["reporting_ticket"])
        windows = enqueued_windows(server, "ticket")
        refused = [r for r in server.requests if r.path.endswith("/enqueue") and r.status == 400]
    assert run.returncode == 0 and not run.errors, run.errors
    assert not refused
    assert windows[0][0] >= time.time() - 730 * DAY and windows[0][0] <= time.time() - 728 * DAY
    assert any("older than Intercom's reporting retention" in line for line in run.logs("WARN")), run.logs("WARN")


def test_without_the_scope_there_are_no_reporting_streams_a_line_says_why_and_the_rest_syncs(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-no-scope") as server:
        config = config_for(server)
        discovered = run_cli("discover", config)
        names = [s["name"] for s in discovered.catalog()["streams"]]
        run = run_cli("read", config, catalog_for(discovered_streams(config), ["admins", "tags"]))
    assert discovered.returncode == 0 and sorted(names) == sorted(stream_facts())
    assert any("No reporting streams" in line and "export_reporting_data" in line for line in discovered.logs()), discovered.logs()
    assert run.returncode == 0 and not run.errors, run.errors
    assert len(run.records["admins"]) == len(workspace.admins) and len(run.records["tags"]) == len(workspace.tags)


def test_an_expired_download_is_exported_again_and_every_row_arrives(workspace: Workspace) -> None:
    with reporting_server(workspace) as server:
        server.reporting.expire_next_downloads(1)
        config = config_for(server, start_date=start_days_ago(workspace, 60))
        run = read(server, config, ["reporting_conversation"])
        stats = server.stats()["reporting"]
        expected = expected_rows(server, "reporting_conversation", workspace.anchor - 60 * DAY)
    assert run.returncode == 0 and not run.errors, run.errors
    assert stats["expired_downloads"] == 1 and stats["enqueued"] == 2 and stats["downloads"] == 1, stats
    assert canonical(run.records["reporting_conversation"]) == canonical(expected)
    assert any("has expired; exporting" in line for line in run.logs("WARN")), run.logs("WARN")


def test_a_download_that_keeps_expiring_fails_its_stream_only(workspace: Workspace) -> None:
    with reporting_server(workspace) as server:
        server.reporting.expire_next_downloads(10)
        config = config_for(server, start_date=start_days_ago(workspace, 60))
        run = read(server, config, ["reporting_conversation", "admins"])
        stats = server.stats()["reporting"]
    assert run.returncode != 0
    assert stats["enqueued"] == 3 and stats["expired_downloads"] == 3, stats
    assert any("expired 3 times" in error["message"] for error in run.errors), run.errors
    assert len(run.records["admins"]) == len(workspace.admins)


def test_manifest_only_modes_and_the_builder_show_the_packages_reporting_records_and_requests(workspace: Workspace, tmp_path: Any) -> None:
    from integration_tests.test_connector_builder import BuilderBackend
    from integration_tests.test_manifest_only import ALL_MODES, Connector
    from integration_tests.harness import manifest_only_copy

    stream = "reporting_ticket"
    with reporting_server(workspace) as server:
        config = config_for(server, start_date=start_days_ago(workspace, 60))
        (tmp_path / "modes").mkdir()
        (tmp_path / "builder").mkdir()
        catalog = catalog_for(discover(config), [stream], incremental=False)
        with contextlib.closing(Connector(manifest_only_copy(tmp_path / "modes"))) as connector:
            runs = {mode: connector.run(mode, "read", config, catalog) for mode in ALL_MODES}
        with contextlib.closing(BuilderBackend(server, tmp_path / "builder")) as backend:
            backend.user_config = config
            answer = backend.test_read(stream)
        expected = canonical(expected_rows(server, stream, workspace.anchor - 60 * DAY))
    for mode, run in runs.items():
        assert run.returncode == 0 and not run.errors, (mode, run.errors)
        assert canonical(run.records[stream]) == expected, mode
    assert answer.returncode == 0 and not answer.errors(), answer.describe()
    data = answer.data
    shown = [record for one in data["slices"] for page in one["pages"] for record in page["records"]]
    assert canonical(shown) == expected
    # The Builder shows the job's requests: enqueue, poll and download.
    exchanges = [request for one in data["slices"] for request in one.get("auxiliary_requests") or []]
    exchanges += data.get("auxiliary_requests") or []
    titles = " ".join(str(request.get("title")) + " " + str(request.get("type")) for request in exchanges)
    urls = " ".join(str((request.get("request") or {}).get("url")) for request in exchanges)
    pages_urls = " ".join(str((page.get("request") or {}).get("url")) for one in data["slices"] for page in one["pages"])
    assert "/export/reporting_data/enqueue" in urls + pages_urls, titles
    assert "/export/reporting_data/" in urls and "/download/reporting_data/" in urls + pages_urls, (titles, urls, pages_urls)
