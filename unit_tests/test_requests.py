"""The HTTP requests the connector sends, checked with requests-mock (no server)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional

import pytest
import requests_mock as rm
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer
from airbyte_cdk.test.entrypoint_wrapper import read
from airbyte_cdk.test.state_builder import StateBuilder

from source_intercom import SourceIntercom

START = "2024-01-01T00:00:00Z"
START_TS = 1704067200
CONFIG = {"access_token": "unit-token", "start_date": START}


def catalog(*names: str, incremental: bool = False) -> Any:
    return ConfiguredAirbyteCatalogSerializer.load(
        {
            "streams": [
                {
                    "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                    "sync_mode": "incremental" if incremental else "full_refresh",
                    "destination_sync_mode": "append",
                }
                for name in names
            ]
        }
    )


def sync(config: Dict[str, Any], *names: str, incremental: bool = False, state: Optional[List[Any]] = None) -> Any:
    configured = catalog(*names, incremental=incremental)
    source = SourceIntercom(catalog=configured, config=config, state=state)
    return read(source, config, configured, state)


def test_every_request_sends_the_token_accept_and_the_exact_version_string(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.intercom.io/admins", json={"type": "admin.list", "admins": [{"id": "1"}]})
    output = sync(CONFIG, "admins")
    assert [r.record.data["id"] for r in output.records] == ["1"]
    headers = requests_mock.request_history[0].headers
    assert headers["Authorization"] == "Bearer unit-token"
    assert headers["Accept"] == "application/json"
    assert headers["Intercom-Version"] == "2.11" and isinstance(headers["Intercom-Version"], str)


@pytest.mark.parametrize(
    "extra, host",
    [
        ({}, "https://api.intercom.io"),
        ({"region": "eu"}, "https://api.eu.intercom.io"),
        ({"region": "au"}, "https://api.au.intercom.io"),
        ({"region": "eu", "base_url": "https://proxy.example.com/intercom/"}, "https://proxy.example.com/intercom"),
    ],
)
def test_region_or_base_url_selects_the_host(requests_mock: rm.Mocker, extra: Dict[str, str], host: str) -> None:
    requests_mock.get(f"{host}/teams", json={"type": "team.list", "teams": [{"id": "7"}]})
    output = sync({**CONFIG, **extra}, "teams")
    assert len(output.records) == 1
    assert requests_mock.request_history[0].url == f"{host}/teams"


def test_segments_ask_for_counts_and_data_attributes_ask_for_their_model_with_archived(requests_mock: rm.Mocker) -> None:
    requests_mock.get("https://api.intercom.io/segments", json={"type": "segment.list", "segments": [{"id": "s", "updated_at": START_TS + 5}]})
    requests_mock.get("https://api.intercom.io/data_attributes", json={"type": "list", "data": [{"full_name": "name", "name": "name"}]})
    sync(CONFIG, "segments", "company_attributes", "contact_attributes")
    queries = sorted(str(r.qs) for r in requests_mock.request_history)
    assert queries == sorted(
        [str({"include_count": ["true"]}), str({"model": ["company"], "include_archived": ["true"]}), str({"model": ["contact"], "include_archived": ["true"]})]
    )


def _search_page(key: str, records: List[Dict[str, Any]], next_cursor: Optional[str]) -> Dict[str, Any]:
    pages: Dict[str, Any] = {"type": "pages", "page": 1, "per_page": 150, "total_pages": 2}
    if next_cursor:
        pages["next"] = {"page": 2, "starting_after": next_cursor}
    return {"type": "list", key: records, "total_count": len(records), "pages": pages}


def test_conversation_search_pages_by_150_ascending_with_exact_bounds(requests_mock: rm.Mocker, monkeypatch: Any) -> None:
    bodies: List[Dict[str, Any]] = []

    def answer(request: Any, context: Any) -> Dict[str, Any]:
        body = request.json()
        bodies.append(body)
        if "starting_after" in body["pagination"]:
            return _search_page("conversations", [{"id": "2", "updated_at": START_TS + 20}], None)
        if body["query"]["value"][0]["value"] == START_TS - 1:  # the first 30-day slice
            return _search_page("conversations", [{"id": "1", "updated_at": START_TS + 10}], "cursor-2")
        return _search_page("conversations", [], None)

    requests_mock.post("https://api.intercom.io/conversations/search", json=answer)
    output = sync(CONFIG, "conversations")
    assert {r.record.data["id"] for r in output.records} == {"1", "2"}
    first_pages = [b for b in bodies if "starting_after" not in b["pagination"]]
    first = min(first_pages, key=lambda body: body["query"]["value"][0]["value"])  # slices run in parallel
    assert first["pagination"] == {"per_page": 150}
    assert first["sort"] == {"field": "updated_at", "order": "ascending"}
    low, high = first["query"]["value"]
    assert (low["field"], low["operator"], low["value"]) == ("updated_at", ">", START_TS - 1)
    assert (high["field"], high["operator"]) == ("updated_at", "<")
    assert {"per_page": 150, "starting_after": "cursor-2"} in [b["pagination"] for b in bodies]


def test_contacts_query_reads_whole_days_and_keeps_exact_seconds(requests_mock: rm.Mocker) -> None:
    bodies: List[Dict[str, Any]] = []
    inside, before = {"id": "in", "updated_at": START_TS + 5}, {"id": "before", "updated_at": START_TS - 5}

    def answer(request: Any, context: Any) -> Dict[str, Any]:
        bodies.append(request.json())
        first_slice = request.json()["query"]["value"][0]["value"] == START_TS - 90000
        return _search_page("data", [before, inside] if first_slice else [], None)

    requests_mock.post("https://api.intercom.io/contacts/search", json=answer)
    output = sync(CONFIG, "contacts")
    assert [r.record.data["id"] for r in output.records] == ["in"]
    low, high = min((body["query"]["value"] for body in bodies), key=lambda query: query[0]["value"])
    assert low["operator"] == ">" and low["value"] == START_TS - 90000  # the start's whole day, any time zone
    assert high["operator"] == "<"


def test_contacts_incremental_re_reads_the_indexing_margin_before_the_state(requests_mock: rm.Mocker) -> None:
    bookmark = START_TS + 10 * 86400
    bodies: List[Dict[str, Any]] = []
    requests_mock.post(
        "https://api.intercom.io/contacts/search",
        json=lambda request, context: bodies.append(request.json()) or _search_page("data", [], None),
    )
    state = StateBuilder().with_stream_state("contacts", {"updated_at": str(bookmark)}).build()
    sync(CONFIG, "contacts", incremental=True, state=state)
    low = min(body["query"]["value"][0]["value"] for body in bodies)
    assert low == bookmark - 3600 - 90000


def test_companies_scroll_passes_the_scroll_param_and_stops_on_an_empty_page(requests_mock: rm.Mocker) -> None:
    pages = iter(
        [
            {"type": "list", "data": [{"id": "a", "updated_at": START_TS + 1}], "scroll_param": "p1"},
            {"type": "list", "data": [{"id": "b", "updated_at": START_TS + 2}], "scroll_param": "p2"},
            {"type": "list", "data": [], "scroll_param": "p3"},
        ]
    )
    requests_mock.get("https://api.intercom.io/companies/scroll", json=lambda request, context: next(pages))
    output = sync(CONFIG, "companies")
    assert [r.record.data["id"] for r in output.records] == ["a", "b"]
    assert [r.qs.get("scroll_param") for r in requests_mock.request_history] == [None, ["p1"], ["p2"]]


def test_company_ids_that_look_like_numbers_stay_strings_in_company_segments(requests_mock: rm.Mocker) -> None:
    # Intercom's company ids are 24 hex digits; one like 23468792e059446532274827 reads as a float
    # (too big: inf), and the CDK once turned it into None when it rendered the added company_id.
    company = "23468792e059446532274827"
    pages = iter([{"type": "list", "data": [{"id": company, "updated_at": START_TS + 1}], "scroll_param": "p"}, {"type": "list", "data": [], "scroll_param": "p"}])
    requests_mock.get("https://api.intercom.io/companies/scroll", json=lambda request, context: next(pages))
    requests_mock.get(f"https://api.intercom.io/companies/{company}/segments", json={"type": "list", "data": [{"id": "s1"}]})
    output = sync(CONFIG, "company_segments")
    assert [(r.record.data["company_id"], r.record.data["id"]) for r in output.records] == [(company, "s1")]


def test_activity_logs_read_one_range_and_fetch_its_pages_at_once(requests_mock: rm.Mocker) -> None:
    start = int(time.time()) - 400 * 86400
    base = "https://api.intercom.io/admins/activity_logs"

    def page(request: Any, context: Any) -> Dict[str, Any]:
        number = int(request.qs.get("page", ["1"])[0])
        return {"type": "activity_log.list", "activity_logs": [{"id": str(number), "created_at": start + number}],
                "pages": {"type": "pages", "page": number, "per_page": 1, "total_pages": 3}}

    requests_mock.get(base, json=page)
    output = sync({**CONFIG, "start_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))}, "activity_logs")
    assert sorted(r.record.data["id"] for r in output.records) == ["1", "2", "3"]
    assert len(requests_mock.request_history) == 3  # one range, no window of its own per month
    for request in requests_mock.request_history:  # every page of the same closed range
        assert request.qs["created_at_after"] == [str(start)] and int(request.qs["created_at_before"][0]) >= start + 400 * 86400 - 5
    assert sorted(r.qs.get("page", ["1"])[0] for r in requests_mock.request_history) == ["1", "2", "3"]


def test_conversation_parts_carry_their_conversation(requests_mock: rm.Mocker) -> None:
    requests_mock.post(
        "https://api.intercom.io/conversations/search",
        json=lambda request, context: _search_page("conversations", [{"id": "9", "updated_at": START_TS + 9}] if not request.json()["query"]["value"][0]["value"] > START_TS + 86400 * 20 else [], None),
    )
    requests_mock.get(
        "https://api.intercom.io/conversations/9",
        json={
            "type": "conversation", "id": "9", "created_at": START_TS, "updated_at": START_TS + 9,
            "conversation_parts": {"type": "conversation_part.list", "total_count": 1, "conversation_parts": [{"id": "p1", "updated_at": START_TS + 9}]},
        },
    )
    output = sync(CONFIG, "conversation_parts")
    assert [r.record.data for r in output.records] == [
        {"id": "p1", "updated_at": START_TS + 9, "conversation_id": "9", "conversation_created_at": START_TS, "conversation_updated_at": START_TS + 9}
    ]


def test_an_incremental_sync_emits_only_parts_updated_since_the_state(requests_mock: rm.Mocker) -> None:
    bookmark = START_TS + 86400
    requests_mock.post(
        "https://api.intercom.io/conversations/search",
        json=lambda request, context: _search_page("conversations", [{"id": "9", "updated_at": bookmark + 60, "source": {"body": "..."}}], None),
    )
    parts = [{"id": "old", "updated_at": bookmark - 60}, {"id": "same-second", "updated_at": bookmark}, {"id": "new", "updated_at": bookmark + 60},
             {"id": "no-cursor"}]
    requests_mock.get(
        "https://api.intercom.io/conversations/9",
        json={"type": "conversation", "id": "9", "created_at": START_TS, "updated_at": bookmark + 60,
              "conversation_parts": {"type": "conversation_part.list", "total_count": 3, "conversation_parts": parts}},
    )
    state = StateBuilder().with_stream_state(
        "conversation_parts",
        {"use_global_cursor": True, "state": {"updated_at": str(bookmark)}, "lookback_window": 0,
         "parent_state": {"conversations": {"updated_at": bookmark}}},
    ).build()
    output = sync(CONFIG, "conversation_parts", incremental=True, state=state)
    assert [r.record.data["id"] for r in output.records] == ["same-second", "new", "no-cursor"]
    assert output.most_recent_state.stream_state.state == {"updated_at": str(bookmark + 60)}


def test_manifest_schemas_equal_the_schema_files() -> None:
    import sys
    from pathlib import Path

    tools = Path(__file__).resolve().parent.parent / "tools"
    sys.path.insert(0, str(tools))
    import schemas  # tools/schemas.py

    manifest = Path(__file__).resolve().parent.parent / "source_intercom" / "manifest.yaml"
    assert schemas.manifest_schemas(manifest) == schemas.load_schema_files()
    assert json.dumps(schemas.load_schema_files())  # all JSON


def test_each_stream_of_a_shared_reading_names_its_role_and_the_streams_of_the_others() -> None:
    # A stream takes its records from a shared reading: its role must be one the reading has, the
    # reading's streams must name it in that role, and the parent read for a substream's
    # partitions must be the reading's partitions role (only id and updated_at).
    from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

    from source_intercom.components import ROLES
    from source_intercom.source import load_manifest

    manifest = ManifestReferenceResolver().preprocess_manifest(load_manifest())
    readers = {}
    for name, stream in manifest["definitions"]["streams"].items():
        parameters = stream.get("$parameters", {})
        if "reading" in parameters:
            readers[name] = parameters
            assert parameters["reading_streams"][parameters["role"]] == name, name
            assert set(parameters["reading_streams"]) == set(ROLES[parameters["reading"]]), name
        for parent in stream.get("retriever", {}).get("partition_router", {}).get("parent_stream_configs", []):
            parent_parameters = parent["stream"]["$parameters"]
            assert parent_parameters["role"] == "partitions", name
            assert parent_parameters["reading_streams"]["partitions"] == name, name
    assert sorted(readers) == sorted(["companies", "contacts", "contact_tags", "contact_companies", "conversations", "tickets", "ticket_parts", "activity_logs"])
    assert "stream_groups" not in manifest


def test_every_partitioned_stream_keeps_one_global_cursor() -> None:
    # components.py lets the CDK drop finished partitions' cursors early; that is only safe when
    # no stream keeps a cursor per partition.
    from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

    from source_intercom.source import load_manifest

    manifest = ManifestReferenceResolver().preprocess_manifest(load_manifest())
    for name, stream in manifest["definitions"]["streams"].items():
        if "partition_router" in stream.get("retriever", {}) and "incremental_sync" in stream:
            assert stream["incremental_sync"].get("global_substream_cursor") is True, name
