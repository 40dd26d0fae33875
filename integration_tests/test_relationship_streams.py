"""End to end through the CLI: the relationship streams that take the rows of lists their parents
embed (company_tags from the companies scroll, conversation_tags, conversation_contacts and
conversation_teammates from the conversations search, ticket_contacts from the tickets search):
each equals the emulator's ground truth in a full sync and after changes in an incremental sync,
and costs no request of its own."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, List, Tuple

from integration_tests.harness import START_TS, Run, catalog_for, config_for, discovered_streams, run_cli
from intercom_emulator import EmulatorServer, Workspace
from intercom_emulator.workspace import EMBEDDED_LIST_STREAMS
from source_intercom.stream_facts import reading_families

# stream -> its parent (the records stream of its reading), and the parent's singular (its rows' prefix)
PARENT = {stream: family[0] for family in reading_families().values() for stream in family[1:] if stream in EMBEDDED_LIST_STREAMS}
SINGULAR = {"companies": "company", "conversations": "conversation", "tickets": "ticket"}
RELATIONSHIPS = sorted(PARENT)
PARENTS = sorted(set(PARENT.values()))


def read(server: EmulatorServer, names: List[str], state: Any = None) -> Run:
    config = config_for(server)
    server.reset_stats()
    run = run_cli("read", config, catalog_for(discovered_streams(config), names), state=state)
    assert run.returncode == 0 and not run.errors, run.errors or run.stderr[-3000:]
    server.wait_idle()
    return run


def requests_made(server: EmulatorServer) -> Counter:
    """The sync's requests by method and path (the reporting datasets' list left out: every read asks it once)."""
    return Counter((r.method, r.path) for r in server.requests if not r.path.startswith("/export/reporting_data/"))


def prefix(stream: str) -> str:
    return SINGULAR[PARENT[stream]]


def test_the_relationship_streams_are_the_five_of_the_issue() -> None:
    assert PARENT == {"company_tags": "companies", "conversation_tags": "conversations", "conversation_contacts": "conversations",
                      "conversation_teammates": "conversations", "ticket_contacts": "tickets"}


def test_each_relationship_stream_equals_the_ground_truth_and_costs_no_request(emulator: EmulatorServer, workspace: Workspace) -> None:
    parents_alone = read(emulator, PARENTS)
    asked_for_the_parents = requests_made(emulator)
    with_relationships = read(emulator, PARENTS + RELATIONSHIPS)
    asked_with_relationships = requests_made(emulator)
    relationships_alone = read(emulator, RELATIONSHIPS)
    asked_for_the_relationships = requests_made(emulator)

    # The same requests, whichever of the reading's streams the sync holds; and no conversation's GET
    # (its parts are conversation_parts' alone).
    assert asked_with_relationships == asked_for_the_parents, (asked_with_relationships - asked_for_the_parents) or (asked_for_the_parents - asked_with_relationships)
    assert asked_for_the_relationships == asked_for_the_parents
    assert not [path for _, path in asked_with_relationships if re.fullmatch(r"/(conversations|tickets)/\d+", path)]

    for run in (with_relationships, relationships_alone):
        for stream in RELATIONSHIPS:
            keys = run.keys(stream)
            assert len(keys) == len(set(keys)), f"{stream}: duplicates"
            assert set(keys) == workspace.expected_ids(stream, START_TS), stream
    for stream in RELATIONSHIPS:
        rows_per_parent = Counter(parent for parent, _ in with_relationships.keys(stream))
        assert max(rows_per_parent.values()) > 1 or stream == "ticket_contacts", f"{stream}: no parent with several rows"
    # Each row: the parent's id, the item's id, the parent's updated_at (as the parent's record says).
    for stream in RELATIONSHIPS:
        owner = prefix(stream)
        updated = {record["id"]: record["updated_at"] for record in parents_alone.records[PARENT[stream]]}
        for row in with_relationships.records[stream]:
            assert set(row) == {f"{owner}_id", "id", f"{owner}_updated_at"}, (stream, row)
            assert isinstance(row["id"], str) and row[f"{owner}_updated_at"] == updated[row[f"{owner}_id"]], (stream, row)


def current_relationships(runs: List[Run], stream: str) -> set:
    """The docs' "current relationships" query on the tables the syncs land (deduplicated on the
    primary key, the later sync's row winning): the rows with their parent's latest updated_at."""
    owner = prefix(stream)
    table: Dict[Tuple[str, str], Dict[str, Any]] = {}
    parents: Dict[str, int] = {}
    for run in runs:
        table.update({(row[f"{owner}_id"], row["id"]): row for row in run.records.get(stream, [])})
        parents.update({record["id"]: record["updated_at"] for record in run.records.get(PARENT[stream], [])})
    return {key for key, row in table.items() if row[f"{owner}_updated_at"] == parents[key[0]]}


def test_an_incremental_sync_emits_the_changed_parents_rows_and_the_current_relationships_equal_the_ground_truth(
    emulator: EmulatorServer, workspace: Workspace
) -> None:
    names = PARENTS + RELATIONSHIPS
    first = read(emulator, names)
    for stream in RELATIONSHIPS:
        assert current_relationships([first], stream) == workspace.expected_ids(stream, START_TS), stream
    version = workspace.version
    tagged = [r for r in workspace.companies if len(r.tag_indexes) >= 2]
    workspace.set_tags("company", tagged[0].id, [workspace.tags[0].id, workspace.tags[5].id])
    workspace.set_tags("company", tagged[1].id, [])  # every tag removed: no current row left
    workspace.update_company(tagged[2].id)  # updated, the same tags: its rows again
    conversations = [r for r in workspace.conversations if not r.deleted and workspace.conversation_teammate_indexes(r)]
    workspace.set_tags("conversation", conversations[0].id, [workspace.tags[3].id])
    workspace.add_conversation_parts(conversations[1].id, n=4)
    workspace.add_conversation(n_parts=5)
    workspace.update_ticket(workspace.tickets[0].id)

    second = read(emulator, names, state=first.final_state())
    for stream in RELATIONSHIPS:
        changed = workspace.changed_ids(stream, version)
        assert changed, f"{stream}: the changes touch none of its rows"
        assert changed <= second.key_set(stream), (stream, sorted(changed - second.key_set(stream))[:5])
        owner = prefix(stream)
        bookmark = int(next(state["stream"]["stream_state"][f"{owner}_updated_at"] for state in first.final_state()
                            if state["stream"]["stream_descriptor"]["name"] == stream))
        assert all(row[f"{owner}_updated_at"] >= bookmark for row in second.records[stream]), f"{stream}: rows older than its state sent again"
        assert current_relationships([first, second], stream) == workspace.expected_ids(stream, START_TS), stream
    assert not any(key[0] == tagged[1].id for key in current_relationships([first, second], "company_tags"))
