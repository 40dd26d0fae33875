"""End to end: streams that need a permission (or an API version) of their own are skipped without
it, the sync going on; deleted conversations reach the destination."""

from __future__ import annotations

import random
from typing import Any, Dict, List

import pytest

from integration_tests.harness import START_TS, Run, catalog_for, config_for, discovered_streams, run_cli
from intercom_emulator import Workspace, running_emulator
from source_intercom.stream_facts import stream_facts

OTHERS = ["admins", "tags", "conversations"]  # streams the denial must not touch


def read(server: Any, names: List[str], state: Any = None) -> Run:
    config = config_for(server)
    return run_cli("read", config, catalog_for(discovered_streams(config), names), state=state)


def assert_complete(run: Run, workspace: Workspace, streams: List[str]) -> None:
    for stream in streams:
        assert run.key_set(stream) == workspace.expected_ids(stream, START_TS), stream


@pytest.mark.parametrize(
    "denied, skipped, permission",
    [
        ({"tickets": 403}, ["tickets", "ticket_parts", "ticket_contacts"], "Read tickets"),
        ({"ticket_types": 401}, ["ticket_types"], "Read tickets"),
        ({"articles": 403}, ["articles"], "Read and list articles"),
        ({"help_center": 403}, ["help_center_collections", "help_centers"], "Read and list articles"),
        ({"news": 401}, ["news_items", "newsfeeds"], "Read and list news items and newsfeeds"),
        ({"deleted_conversations": 403}, ["deleted_conversations"], "Read conversations"),
        ({"teams": 403}, ["teams", "team_admins"], "Read admins"),
        ({"calls": 401}, ["calls"], "Read calls"),
        ({"ticket_states": 403}, ["ticket_states"], "Read tickets"),
    ],
)
def test_a_token_without_a_streams_permission_skips_that_stream_and_the_sync_succeeds(
    workspace: Workspace, denied: Dict[str, int], skipped: List[str], permission: str
) -> None:
    with running_emulator(workspace, token="tok-denied", denied=denied) as server:
        run = read(server, skipped + OTHERS)
    assert run.returncode == 0 and not run.errors, run.errors
    for stream in skipped:
        assert run.records.get(stream, []) == [], stream
        assert any(f"Skipping stream '{stream}'" in line and f'"{permission}"' in line for line in run.logs("WARN", "INFO")), (stream, run.logs())
    assert_complete(run, workspace, OTHERS)


def test_deleted_conversations_are_skipped_where_intercom_lacks_api_2_16(workspace: Workspace) -> None:
    versions = ("2.7", "2.8", "2.9", "2.10", "2.11")
    with running_emulator(workspace, token="tok-old", supported_versions=versions) as server:
        run = read(server, ["deleted_conversations"] + OTHERS)
    assert run.returncode == 0 and not run.errors, run.errors
    assert run.records.get("deleted_conversations", []) == []
    assert any("Skipping stream 'deleted_conversations'" in line and "2.16" in line for line in run.logs()), run.logs()
    assert_complete(run, workspace, OTHERS)


def test_only_the_deleted_conversations_and_reporting_requests_ask_for_api_2_16(workspace: Workspace, emulator: Any) -> None:
    run = read(emulator, ["deleted_conversations", "conversations", "tickets"])
    assert run.returncode == 0, run.errors
    assert run_cli("discover", config_for(emulator)).returncode == 0  # lists the reporting datasets (a read of none does not)
    emulator.wait_idle()
    versions = {(r.path, r.headers.get("intercom-version")) for r in emulator.requests}
    assert ("/conversations/deleted", "2.16") in versions
    assert ("/export/reporting_data/get_datasets", "2.16") in versions
    newer = ("/conversations/deleted", "/export/reporting_data/get_datasets")
    assert {version for path, version in versions if path not in newer} == {"2.11"}


def test_a_plan_without_api_access_is_still_an_error_for_a_skippable_stream(workspace: Workspace) -> None:
    with running_emulator(workspace, token="tok-plan", plan_restricted=True) as server:
        run = read(server, ["articles"])
    assert run.returncode == 1
    assert any(error["failure_type"] == "config_error" and "plan" in error["message"] for error in run.errors), run.errors


def test_an_incremental_sync_emits_each_deletion_once(workspace: Workspace, emulator: Any) -> None:
    names = ["deleted_conversations", "conversations", "conversation_parts"]
    first = read(emulator, names)
    assert first.returncode == 0, first.errors
    assert first.key_set("deleted_conversations") == workspace.expected_ids("deleted_conversations", START_TS)
    live = sorted(workspace.expected_ids("conversations", START_TS))
    deleted = set(random.Random(3).sample(live, 3))
    for conversation in deleted:
        workspace.delete_conversation(conversation)
    second = read(emulator, names, state=first.final_state())
    assert second.returncode == 0, second.errors
    emitted = second.keys("deleted_conversations")
    assert deleted <= set(emitted), (deleted, emitted)
    older = set(emitted) - deleted
    assert len(older) <= 1, f"deletions older than the state were sent again: {older}"  # at most the bookmark's own
    assert not deleted & second.key_set("conversations")
    assert not {part["conversation_id"] for part in second.records.get("conversation_parts", [])} & deleted


def test_every_stream_has_a_permission_in_the_docs() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "intercom.md").read_text()
    table = docs[docs.index("## Streams"):docs.index("Cursors are unix seconds")]
    for stream in stream_facts():
        row = next((line for line in table.splitlines() if line.startswith(f"| `{stream}` |")), None)
        assert row is not None, f"{stream} is not in the docs' streams table"
        assert row.rstrip(" |").rsplit("|", 1)[-1].strip(), f"{stream}: no permission in the docs' streams table"


def test_a_full_refresh_of_company_segments_sees_memberships_changed_without_a_company_update(workspace: Workspace) -> None:
    # Intercom's segments are rules: a company can leave or join one while its updated_at stays.
    with running_emulator(workspace, token="tok-rules") as server:
        first = read(server, ["company_segments"])
        changed = workspace.change_company_segments_silently(count=5, seed=3)
        second = read(server, ["company_segments"])
    assert first.returncode == 0 and second.returncode == 0, (first.errors, second.errors)
    before, after = first.key_set("company_segments"), second.key_set("company_segments")
    assert after == workspace.expected_ids("company_segments", START_TS) != before
    moved = {key for key in before ^ after}
    assert moved and {company_id for company_id, _ in moved} <= set(changed)
    # Every row of the second read is its company's current membership, with the company's updated_at.
    companies = {company.id: company.updated_at for company in workspace.companies}
    assert all(row["company_updated_at"] == companies[row["company_id"]] for row in second.records["company_segments"])


def test_a_contact_deleted_between_the_search_and_its_lists_keeps_the_lists_the_search_gave(workspace: Workspace) -> None:
    victim = next(contact for contact in workspace.contacts if len(contact.tag_indexes) > 10)
    with running_emulator(workspace, token="tok-gone") as server:
        def delete_before_its_tags_are_read(request: Any) -> None:
            if request.path == f"/contacts/{victim.id}/tags":
                workspace.contact_by_id.pop(victim.id, None)  # the list endpoints answer 404 User Not Found

        server.on_request(delete_before_its_tags_are_read)
        run = read(server, ["contacts", "contact_tags"])
    assert run.returncode == 0 and not run.errors, run.errors
    assert run.key_set("contacts") == workspace.expected_ids("contacts", START_TS)
    gone = next(record for record in run.records["contacts"] if record["id"] == victim.id)
    assert gone["tags"]["has_more"] is True and len(gone["tags"]["data"]) == 10  # as the search gave it
    assert any(f"Contact {victim.id} was deleted after the search listed it" in line for line in run.logs())
    others = [record for record in run.records["contacts"] if record["id"] != victim.id]
    assert not any(record["tags"].get("has_more") for record in others)
