"""Saved state: Airbyte's older source-intercom state is migrated, anything unreadable is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from integration_tests.harness import catalog_for, config_for, discovered_streams, run_cli
from intercom_emulator import Workspace
from source_intercom.stream_facts import stream_facts


def per_stream(states: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state}} for name, state in states.items()]


def bookmark_in_the_middle(workspace: Workspace) -> int:
    return workspace.now() - 30 * 86400


def airbyte_legacy_state(bookmark: int) -> Dict[str, Any]:
    """The shape Airbyte's source-intercom 0.x saved: integer bookmarks, parents nested in children."""
    return {
        "contacts": {"updated_at": bookmark},
        "conversations": {"updated_at": bookmark},
        "conversation_parts": {"updated_at": bookmark, "conversations": {"updated_at": bookmark}},
        "companies": {"updated_at": bookmark},
        "company_segments": {"updated_at": bookmark, "companies": {"updated_at": bookmark}},
        "activity_logs": {"created_at": bookmark},
        "tickets": {"updated_at": bookmark},
        "segments": {"updated_at": bookmark},
    }


# The streams Airbyte's source-intercom 0.x kept a state for (every one incremental here too).
STREAMS = list(airbyte_legacy_state(0))


def test_every_stream_of_the_legacy_state_is_an_incremental_stream_of_the_manifest() -> None:
    assert all(stream in stream_facts() and stream_facts()[stream].cursor_field for stream in STREAMS), STREAMS


@pytest.mark.parametrize("form", ["per-stream messages", "whole-file object", "LEGACY message"])
def test_airbyte_source_intercom_state_is_migrated_and_resumes_from_its_bookmarks(emulator: Any, workspace: Workspace, tmp_path: Path, form: str) -> None:
    bookmark = bookmark_in_the_middle(workspace)
    legacy = airbyte_legacy_state(bookmark)
    state_file = tmp_path / "state.json"
    content: Any = {"per-stream messages": per_stream(legacy), "whole-file object": legacy, "LEGACY message": [{"type": "LEGACY", "data": legacy}]}[form]
    state_file.write_text(json.dumps(content))
    config = config_for(emulator)
    run = run_cli("read", config, catalog_for(discovered_streams(config), STREAMS), extra_args=("--state", str(state_file)))
    assert run.returncode == 0, [e["message"] for e in run.errors]
    # conversation_parts comes back on its conversations' bookmark: every part of a conversation
    # updated since (the emulator's ground truth for the stream).
    for stream in STREAMS:
        since = workspace.expected_ids(stream, bookmark)
        assert since <= run.key_set(stream), f"{stream}: records after the migrated bookmark are missing"
        assert run.key_set(stream) < workspace.expected_ids(stream, 0) or stream == "segments", f"{stream}: the bookmark was ignored"


@pytest.mark.parametrize(
    "stream, state",
    [
        ("contacts", {"updated_at": "garbage"}),
        ("contacts", {"something_else": 1700000000}),
        ("conversations", {"updated_at": None}),
        ("conversation_parts", {"updated_at": 1700000000}),
        ("conversation_parts", {"use_global_cursor": True, "state": {"updated_at": "x"}, "parent_state": {"conversations": {"updated_at": "1"}}}),
        ("activity_logs", {"updated_at": 1700000000}),
    ],
)
def test_a_state_it_cannot_read_is_refused_before_any_request(emulator: Any, stream: str, state: Dict[str, Any]) -> None:
    config = config_for(emulator)
    catalog = catalog_for(discovered_streams(config), STREAMS)
    emulator.requests.clear()
    run = run_cli("read", config, catalog, per_stream({stream: state}))
    assert run.returncode == 1
    assert not run.records
    # No request at all: the catalog names no reporting stream, so not even their datasets' list.
    assert [r.path for r in emulator.requests] == []
    assert not [line for line in run.stdout.splitlines() if "could not apply" in line]  # refused once, not by a fallback
    error = run.errors[-1]
    assert error["failure_type"] == "config_error"
    assert f"stream '{stream}'" in error["message"] and "reset it" in error["message"]


def test_a_state_file_that_is_not_json_is_refused_with_the_file_named(emulator: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("{not json")
    config = config_for(emulator)
    run = run_cli("read", config, catalog_for(discovered_streams(config), ["contacts"]), extra_args=("--state", str(state_file)))
    assert run.returncode == 1 and not run.records
    assert str(state_file) in run.errors[-1]["message"]
    assert run.errors[-1]["failure_type"] == "config_error"
