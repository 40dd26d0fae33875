"""The real `source-intercom` CLI against the project's Intercom emulator: spec, check, discover, read."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import datetime, timezone
from typing import Any, Dict

import pytest

from integration_tests.cli_process import CLI, ForkedRun, forking_enabled, start_cli
from integration_tests.harness import START_TS, Run, catalog_for, config_for, discovered_streams, run_cli
from integration_tests.request_budget import fewest_requests
from intercom_emulator import Workspace, running_emulator
from source_intercom.stream_facts import stream_facts

ALL_STREAMS = list(stream_facts())


def test_spec_lists_every_config_field_with_secrets_marked() -> None:
    run = run_cli("spec", cli=[CLI])  # the console script itself, from the interpreter's start
    assert run.returncode == 0
    spec = run.of_type("SPEC")[0]["spec"]
    properties = spec["connectionSpecification"]["properties"]
    assert set(properties) == {
        "access_token", "start_date", "region", "base_url", "lookback_window", "num_workers", "max_requests_per_minute",
        "client_id", "client_secret", "reporting_lookback_days",
    }
    assert {name for name, p in properties.items() if p.get("airbyte_secret")} == {"access_token", "client_id", "client_secret"}
    assert properties["region"]["enum"] == ["us", "eu", "au"] and properties["region"]["default"] == "us"
    assert (properties["num_workers"]["maximum"], properties["num_workers"]["default"]) == (40, 40)
    assert (properties["max_requests_per_minute"]["minimum"], properties["max_requests_per_minute"]["maximum"]) == (100, 10000)
    assert "default" not in properties["max_requests_per_minute"]  # none: as many as Intercom's headers allow
    reporting_lookback = properties["reporting_lookback_days"]
    assert (reporting_lookback["minimum"], reporting_lookback["maximum"], reporting_lookback["default"]) == (0, 365, 14)
    oauth = spec["advanced_auth"]["oauth_config_specification"]["oauth_connector_input_specification"]
    assert oauth["consent_url"].startswith("https://app.intercom.com/oauth?")
    assert oauth["access_token_url"].startswith("https://api.intercom.io/auth/eagle/token?")


def what_it_said(run: Run) -> Dict[str, Any]:
    """A run's exit code, records (whole), last state per stream and errors, without the times they
    were emitted at or the order in which concurrent streams happened to finish."""
    return {
        "exit": run.returncode,
        "records": {stream: sorted(json.dumps(record, sort_keys=True) for record in records) for stream, records in run.records.items()},
        "final_state": sorted(map(repr, run.final_state())),
        "errors": [(error["failure_type"], error["message"]) for error in run.errors],
        "status": [m["connectionStatus"] for m in run.of_type("CONNECTION_STATUS")],
    }


@pytest.mark.parametrize(
    "command, streams, state",
    [
        ("read", ["admins", "tags", "segments", "companies"], None),
        ("read", ["contacts"], [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "contacts"}, "stream_state": {"updated_at": "garbage"}}}]),
        ("check", None, None),
    ],
    ids=["a-sync", "an-unreadable-state-raised-as-an-exception", "check"],
)
def test_a_forked_run_says_what_the_console_script_says(emulator: Any, command: str, streams: Any, state: Any) -> None:
    """The harness forks most runs from a process that imported the CLI already (cli_process);
    the console script started from scratch must say the same, errors and exit code included."""
    config = config_for(emulator)
    catalog = catalog_for(discovered_streams(config), streams) if streams else None
    forked = run_cli(command, config, catalog, state)
    script = run_cli(command, config, catalog, state, cli=[CLI])
    assert what_it_said(forked) == what_it_said(script)
    assert forked.records or forked.errors or forked.of_type("CONNECTION_STATUS"), forked.stderr[-2000:]


@pytest.mark.skipif(not forking_enabled(), reason="SOURCE_INTERCOM_TEST_FORK=0: every run is started anew")
def test_a_run_with_other_startup_variables_is_started_anew_not_forked(tmp_path: Any) -> None:
    with open(tmp_path / "output.txt", "w") as output:
        same = start_cli(["spec"], output.fileno(), output.fileno())
        other = start_cli(["spec"], output.fileno(), output.fileno(), {**os.environ, "PYTHONPATH": str(tmp_path)})
        assert isinstance(same, ForkedRun) and isinstance(other, subprocess.Popen)
        assert (same.wait(120), other.wait(120)) == (0, 0)
    assert (tmp_path / "output.txt").read_text().count('"type":"SPEC"') == 2


def test_check_succeeds_with_a_good_token_in_one_request(emulator: Any) -> None:
    run = run_cli("check", config_for(emulator))
    assert run.returncode == 0, run.stderr
    assert run.connection_status()["status"] == "SUCCEEDED"
    emulator.wait_idle()  # a request is logged just after its answer
    assert len(emulator.requests) == 1
    request = emulator.requests[0]
    assert request.headers["authorization"] == f"Bearer {emulator.token}"
    assert request.headers["intercom-version"] == "2.11"
    assert request.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    "server_options, token, expected",
    [
        ({}, "wrong-token", ["401", "region", "admins"]),
        ({"other_region_tokens": ("eu-token",)}, "eu-token", ["401", "region"]),
        ({"plan_restricted": True}, None, ["api_plan_restricted", "subscription"]),
        ({"denied": {"admins": 403}}, None, ["403", "Read admins"]),
    ],
    ids=["bad-token", "token-of-another-region", "plan-without-api", "missing-permission"],
)
def test_check_fails_with_an_actionable_message(server_options: Dict[str, Any], token: Any, expected: list) -> None:
    with running_emulator(Workspace(seed=1), token="good-token", **server_options) as server:
        config = config_for(server, access_token=token or "good-token")
        run = run_cli("check", config)
    assert run.returncode == 0, run.stderr
    status = run.connection_status()
    assert status["status"] == "FAILED"
    for fragment in expected:
        assert fragment in status["message"]
    assert "stream ''" not in status["message"].replace("\\", "")  # the stream is named
    assert config["access_token"] not in run.stdout + run.stderr


@pytest.mark.long(40)
def test_check_fails_when_the_host_is_unreachable() -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_cli("check", {"access_token": "tok-unreachable-123", "start_date": "2024-01-01T00:00:00Z", "base_url": f"http://127.0.0.1:{port}"})
    assert run.connection_status()["status"] == "FAILED" or run.errors
    assert "tok-unreachable-123" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "change, field",
    [
        ({"access_token": ""}, "access_token"),
        ({"access_token": "Bearer abc"}, "access_token"),
        ({"start_date": "2024-02-30T00:00:00Z"}, "start_date"),
        ({"start_date": "01/02/2024"}, "start_date"),
        ({"region": "mars"}, "region"),
        ({"base_url": "http://intercom-proxy.example.com"}, "base_url"),
        ({"num_workers": 0}, "num_workers"),
        ({"num_workers": "ten"}, "num_workers"),
        ({"max_requests_per_minute": 50}, "max_requests_per_minute"),
        ({"lookback_window": -1}, "lookback_window"),
    ],
)
@pytest.mark.parametrize("command", ["check", "discover", "read"])
def test_invalid_config_is_refused_before_any_request(emulator: Any, command: str, change: Dict[str, Any], field: str) -> None:
    config = {**config_for(emulator), **change}
    catalog = {"streams": []} if command == "read" else None
    run = run_cli(command, config, catalog)
    if command == "check":
        assert run.returncode == 0
        message = run.connection_status()["message"]
        assert run.connection_status()["status"] == "FAILED"
    else:
        assert run.returncode == 1
        error = run.errors[-1]
        assert error["failure_type"] == "config_error"
        message = error["message"]
    assert f"'{field}'" in message
    assert emulator.requests == []


# The one place that writes every stream's key and cursor out by hand: everything else reads them
# from the manifest (source_intercom.stream_facts), and this holds the manifest to them.
EXPECTED_STREAMS = {
    # stream: (primary key, cursor field or None for full refresh only)
    "admins": (["id"], None),
    "teams": (["id"], None),
    "team_admins": (["team_id", "id"], None),
    "tags": (["id"], None),
    "segments": (["id"], "updated_at"),
    "company_attributes": (["full_name"], None),
    "contact_attributes": (["full_name"], None),
    "conversation_attributes": (["full_name"], None),
    "companies": (["id"], "updated_at"),
    "company_segments": (["company_id", "id"], "company_updated_at"),
    "company_tags": (["company_id", "id"], "company_updated_at"),
    "contacts": (["id"], "updated_at"),
    "contact_tags": (["contact_id", "id"], "contact_updated_at"),
    "contact_companies": (["contact_id", "id"], "contact_updated_at"),
    "conversations": (["id"], "updated_at"),
    "conversation_parts": (["id"], "conversation_updated_at"),
    "conversation_tags": (["conversation_id", "id"], "conversation_updated_at"),
    "conversation_contacts": (["conversation_id", "id"], "conversation_updated_at"),
    "conversation_teammates": (["conversation_id", "id"], "conversation_updated_at"),
    "deleted_conversations": (["id"], "deleted_at"),
    "activity_logs": (["id"], "created_at"),
    "tickets": (["id"], "updated_at"),
    "ticket_parts": (["id"], "ticket_updated_at"),
    "ticket_contacts": (["ticket_id", "id"], "ticket_updated_at"),
    "ticket_types": (["id"], None),
    "ticket_states": (["id"], None),
    "calls": (["id"], "updated_at"),
    "articles": (["id"], "updated_at"),
    "help_center_collections": (["id"], "updated_at"),
    "help_centers": (["id"], None),
    "news_items": (["id"], "updated_at"),
    "newsfeeds": (["id"], None),
    "subscription_types": (["id"], None),
}


def test_discover_offers_every_stream_with_its_key_and_cursor(emulator: Any) -> None:
    run = run_cli("discover", config_for(emulator))  # not the harness's cached catalog: a real discover here
    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    streams = {s["name"]: s for s in run.catalog()["streams"]}
    assert sorted(streams) == sorted(EXPECTED_STREAMS)
    for name, (key, cursor) in EXPECTED_STREAMS.items():
        assert streams[name]["source_defined_primary_key"] == [[field] for field in key], name
        if cursor is None:
            assert streams[name]["supported_sync_modes"] == ["full_refresh"], name
        else:
            assert streams[name]["supported_sync_modes"] == ["full_refresh", "incremental"], name
            assert streams[name]["default_cursor_field"] == [cursor], name
    # One request: the list of reporting datasets (refused here: this token lacks the scope).
    assert [r.path for r in emulator.requests] == ["/export/reporting_data/get_datasets"]


def test_full_sync_returns_exactly_the_workspace_with_few_requests_more_than_the_fewest(emulator: Any, workspace: Workspace) -> None:
    config = config_for(emulator)
    catalog = catalog_for(discovered_streams(config))
    emulator.reset_stats()
    run = run_cli("read", config, catalog)
    assert run.returncode == 0, run.errors
    emulator.wait_idle()
    fewest = fewest_requests(workspace, emulator, START_TS, ALL_STREAMS)
    assert len(emulator.requests) <= 1.03 * sum(fewest.values()), (len(emulator.requests), fewest)
    for stream in ALL_STREAMS:
        keys = run.keys(stream)
        assert len(keys) == len(set(keys)), f"{stream}: duplicates"
        assert set(keys) == workspace.expected_ids(stream, START_TS), stream
    parts = run.records["conversation_parts"]
    assert all(part["conversation_id"] and part["conversation_updated_at"] for part in parts)
    assert any(line.startswith("Conversation") and "500 most recent" in line for line in run.logs("WARN"))
    assert any(line.startswith("Ticket") and "500 most recent" in line for line in run.logs("WARN"))
    assert all(segment["company_id"] for segment in run.records["company_segments"])
    # Every contact's lists whole, in the embedded lists' shape, whatever Intercom cut at 10.
    assert any(workspace.contact_tag_ids(c["id"])[10:] for c in run.records["contacts"]), "no contact with more than 10 tags"
    for contact in run.records["contacts"]:
        for name, truth in (("tags", workspace.contact_tag_ids(contact["id"])), ("companies", workspace.contact_company_ids(contact["id"])), ("notes", workspace.contact_note_ids(contact["id"]))):
            listing = contact[name]
            assert sorted(item["id"] for item in listing["data"]) == sorted(truth), (contact["id"], name)
            assert (listing["total_count"], listing["has_more"]) == (len(truth), False), (contact["id"], name)
            assert all(set(item) == {"type", "id", "url"} for item in listing["data"]), (contact["id"], name)


def test_full_sync_honours_start_date(emulator: Any, workspace: Workspace) -> None:
    start = workspace.now() - 60 * 86400
    start_date = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = config_for(emulator, start_date=start_date)
    names = ["contacts", "conversations", "companies", "activity_logs", "tickets"]
    run = run_cli("read", config, catalog_for(discovered_streams(config), names))
    assert run.returncode == 0, run.errors
    for stream in names:
        assert run.key_set(stream) == workspace.expected_ids(stream, start), stream
        assert workspace.expected_ids(stream, start) != workspace.expected_ids(stream, START_TS), "start_date must matter"


def test_tickets_without_permission_are_skipped_and_the_sync_succeeds(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-tickets-denied", denied={"tickets": 403}) as server:
        config = config_for(server)
        run = run_cli("read", config, catalog_for(discovered_streams(config), ["tickets", "admins"]))
    assert run.returncode == 0, run.errors
    assert run.records.get("tickets", []) == []
    assert run.key_set("admins") == workspace.expected_ids("admins")
    assert any("Read tickets" in line for line in run.logs())


def test_a_stream_without_permission_fails_alone_with_the_permission_named(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-no-conversations", denied={"conversations": 403}) as server:
        config = config_for(server)
        run = run_cli("read", config, catalog_for(discovered_streams(config), ["conversations", "admins", "tags"]))
    assert run.returncode == 1
    assert run.key_set("admins") == workspace.expected_ids("admins")
    assert run.key_set("tags") == workspace.expected_ids("tags")
    messages = " ".join(error["message"] for error in run.errors)
    assert "Read conversations" in messages


def test_the_access_token_never_appears_in_any_output(workspace: Workspace) -> None:
    secret = "tok-SECRET-4f9d2c7e1b"
    client_secret = "cs-SECRET-8a7b6c5d"
    outputs = []
    with running_emulator(workspace, token=secret, denied={"conversations": 403}) as server:
        good = config_for(server, access_token=secret, client_id="client-id-1", client_secret=client_secret)
        bad = {**good, "access_token": secret + "-wrong"}
        catalog = catalog_for(discovered_streams(good), ["admins", "conversations", "contacts"])
        for config in (good, bad):
            for command, extra in (("check", ()), ("discover", ()), ("read", ()), ("read", ("--debug",))):
                run = run_cli(command, config, catalog if command == "read" else None, extra_args=extra)
                outputs.append(run.stdout + run.stderr)
        invalid = {**good, "start_date": "not-a-date", "num_workers": "x"}
        outputs.append(run_cli("check", invalid).stdout)
    everything = "\n".join(outputs)
    assert "Bearer" in everything or "admins" in everything  # the runs did produce output
    assert secret not in everything
    assert client_secret not in everything
