"""The HTTP requests the connector sends, in-process and without a server.

Requests whose shape is known in advance are declared with the CDK's ``HttpMocker``: a request
the connector sends that is not declared fails the read, and one declared that it does not send
(or sends more or fewer times than it has answers) fails the test. Searches, whose bodies depend
on how the connector cuts its time windows, are answered by requests-mock callbacks instead.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest
import requests_mock as rm
from airbyte_cdk.models import ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import read
from airbyte_cdk.test.mock_http import HttpMocker, HttpRequest, HttpResponse
from airbyte_cdk.test.state_builder import StateBuilder

from source_intercom import SourceIntercom
from source_intercom.stream_facts import stream_facts

API = "https://api.intercom.io"
START = "2024-01-01T00:00:00Z"
START_TS = 1704067200
CONFIG = {"access_token": "unit-token", "start_date": START}


class DeclaredHttpMocker(HttpMocker):
    """The CDK's HttpMocker, remembering what was declared on it so that the test can check that
    each declared request was sent exactly as many times as it has answers (the HttpMocker
    decorator checks "at least", and only in its decorator form, which pytest cannot inject)."""

    def __init__(self) -> None:
        super().__init__()
        self.declared: List[Tuple[HttpRequest, int]] = []

    def get(self, request: HttpRequest, responses: Union[HttpResponse, List[HttpResponse]]) -> None:
        super().get(request, responses)
        self.declared.append((request, len(responses) if isinstance(responses, list) else 1))

    def post(self, request: HttpRequest, responses: Union[HttpResponse, List[HttpResponse]]) -> None:
        super().post(request, responses)
        self.declared.append((request, len(responses) if isinstance(responses, list) else 1))

    def assert_every_declared_request_sent(self) -> None:
        assert self.declared, "no request was declared"
        for request, times in self.declared:
            self.assert_number_of_calls(request, times)


@pytest.fixture
def http_mocker() -> Iterator[DeclaredHttpMocker]:
    with DeclaredHttpMocker() as mocker:
        # discover and check may list the reporting datasets: here a token without the scope (no
        # reporting streams), on every host a test uses, however many times it is asked, so not
        # among the declared.
        for host in (API, "https://api.eu.intercom.io", "https://api.au.intercom.io", "https://proxy.example.com/intercom"):
            HttpMocker.get(mocker, HttpRequest(f"{host}/export/reporting_data/get_datasets"),
                           HttpResponse(json.dumps({"type": "error.list", "errors": [{"code": "forbidden"}]}), 403))
        yield mocker
    mocker.assert_every_declared_request_sent()


def answer(body: Dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status)


def catalog(*names: str, incremental: bool = False) -> ConfiguredAirbyteCatalog:
    mode = SyncMode.incremental if incremental else SyncMode.full_refresh
    builder = CatalogBuilder()
    for name in names:
        key = [[field] for field in stream_facts()[name].primary_key]
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(name).with_sync_mode(mode).with_primary_key(key))
    return builder.build()


def sync(config: Dict[str, Any], *names: str, incremental: bool = False, state: Optional[List[Any]] = None) -> Any:
    configured = catalog(*names, incremental=incremental)
    source = SourceIntercom(catalog=configured, config=config, state=state)
    return read(source, config, configured, state)


def test_every_request_sends_the_token_accept_and_the_exact_version_string(http_mocker: DeclaredHttpMocker) -> None:
    # Declared headers must be among the request's, with equal values: a version sent as a number
    # or as bytes ("2.11" != b"2.11") would not match, and the read would fail.
    headers = {"Authorization": "Bearer unit-token", "Accept": "application/json", "Intercom-Version": "2.11"}
    http_mocker.get(HttpRequest(f"{API}/admins", headers=headers), answer({"type": "admin.list", "admins": [{"id": "1"}]}))
    output = sync(CONFIG, "admins")
    assert [r.record.data["id"] for r in output.records] == ["1"]


@pytest.mark.parametrize(
    "extra, host",
    [
        ({}, "https://api.intercom.io"),
        ({"region": "eu"}, "https://api.eu.intercom.io"),
        ({"region": "au"}, "https://api.au.intercom.io"),
        ({"region": "eu", "base_url": "https://proxy.example.com/intercom/"}, "https://proxy.example.com/intercom"),
    ],
)
def test_region_or_base_url_selects_the_host(http_mocker: DeclaredHttpMocker, extra: Dict[str, str], host: str) -> None:
    # The URL exactly: host, path and no query.
    http_mocker.get(HttpRequest(f"{host}/teams"), answer({"type": "team.list", "teams": [{"id": "7"}]}))
    output = sync({**CONFIG, **extra}, "teams")
    assert len(output.records) == 1


def test_segments_ask_for_counts_and_data_attributes_ask_for_their_model_with_archived(http_mocker: DeclaredHttpMocker) -> None:
    # Exactly these three queries, one request each: any other request fails the read.
    http_mocker.get(HttpRequest(f"{API}/segments", query_params={"include_count": "true"}),
                    answer({"type": "segment.list", "segments": [{"id": "s", "updated_at": START_TS + 5}]}))
    attributes = answer({"type": "list", "data": [{"full_name": "name", "name": "name"}]})
    for model in ("company", "contact"):
        http_mocker.get(HttpRequest(f"{API}/data_attributes", query_params={"model": model, "include_archived": "true"}), attributes)
    output = sync(CONFIG, "segments", "company_attributes", "contact_attributes")
    assert sorted(r.record.stream for r in output.records) == ["company_attributes", "contact_attributes", "segments"]


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


def test_companies_scroll_passes_the_scroll_param_and_stops_on_an_empty_page(http_mocker: DeclaredHttpMocker) -> None:
    # Each continuation can only be asked for with the scroll_param of the page before it: the
    # declared requests are sent in this order, each once, and nothing after the empty page.
    scroll = f"{API}/companies/scroll"
    http_mocker.get(HttpRequest(scroll), answer({"type": "list", "data": [{"id": "a", "updated_at": START_TS + 1}], "scroll_param": "p1"}))
    http_mocker.get(HttpRequest(scroll, query_params={"scroll_param": "p1"}),
                    answer({"type": "list", "data": [{"id": "b", "updated_at": START_TS + 2}], "scroll_param": "p2"}))
    http_mocker.get(HttpRequest(scroll, query_params={"scroll_param": "p2"}), answer({"type": "list", "data": [], "scroll_param": "p3"}))
    output = sync(CONFIG, "companies")
    assert [r.record.data["id"] for r in output.records] == ["a", "b"]


def test_company_ids_that_look_like_numbers_stay_strings_in_company_segments(http_mocker: DeclaredHttpMocker) -> None:
    # Intercom's company ids are 24 hex digits; one like 23468792e059446532274827 reads as a float
    # (too big: inf), and the CDK once turned it into None when it rendered the added company_id.
    company = "23468792e059446532274827"
    scroll = f"{API}/companies/scroll"
    http_mocker.get(HttpRequest(scroll), answer({"type": "list", "data": [{"id": company, "updated_at": START_TS + 1}], "scroll_param": "p"}))
    http_mocker.get(HttpRequest(scroll, query_params={"scroll_param": "p"}), answer({"type": "list", "data": [], "scroll_param": "p"}))
    http_mocker.get(HttpRequest(f"{API}/companies/{company}/segments"), answer({"type": "list", "data": [{"id": "s1"}]}))
    output = sync(CONFIG, "company_segments")
    assert [(r.record.data["company_id"], r.record.data["id"]) for r in output.records] == [(company, "s1")]


def test_activity_logs_are_read_in_yearly_slices_each_to_its_last_page(requests_mock: rm.Mocker) -> None:
    start = int(time.time()) - 400 * 86400
    logs = [{"id": str(i), "created_at": start + i * 70 * 86400} for i in range(6)]  # over 350 days: two slices

    def page(request: Any, context: Any) -> Dict[str, Any]:
        after, before = int(request.qs["created_at_after"][0]), int(request.qs["created_at_before"][0])
        inside = sorted((log for log in logs if after <= log["created_at"] <= before), key=lambda log: -log["created_at"])  # newest first
        number, total = int(request.qs.get("page", ["1"])[0]), max(1, -(-len(inside) // 2))
        return {"type": "activity_log.list", "activity_logs": inside[(number - 1) * 2:number * 2],
                "pages": {"type": "pages", "page": number, "per_page": 2, "total_pages": total}}

    requests_mock.get("https://api.intercom.io/admins/activity_logs", json=page)
    output = sync({**CONFIG, "start_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))}, "activity_logs")
    assert sorted(r.record.data["id"] for r in output.records) == ["0", "1", "2", "3", "4", "5"]
    history = [r for r in requests_mock.request_history if r.path == "/admins/activity_logs"]
    slices = sorted({(r.qs["created_at_after"][0], r.qs["created_at_before"][0]) for r in history})
    assert len(slices) == 2 and int(slices[1][0]) == int(slices[0][1]) + 1  # two slices of a year, back to back
    assert len(history) == 4  # 3 pages in the first year, 1 in the rest


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


def test_an_incremental_sync_emits_every_part_of_each_conversation_updated_since_the_state(requests_mock: rm.Mocker) -> None:
    # The cursor is the conversation's updated_at: a conversation updated since the state brings
    # all its parts (the warehouse dedupes on id), so a sync resumed from a checkpoint misses none.
    bookmark = START_TS + 86400
    requests_mock.post(
        "https://api.intercom.io/conversations/search",
        json=lambda request, context: _search_page("conversations", [{"id": "9", "created_at": START_TS, "updated_at": bookmark + 60, "source": {"body": "..."}}], None),
    )
    parts = [{"id": "old", "updated_at": bookmark - 60}, {"id": "same-second", "updated_at": bookmark}, {"id": "new", "updated_at": bookmark + 60},
             {"id": "no-cursor"}]
    requests_mock.get(
        "https://api.intercom.io/conversations/9",
        json={"type": "conversation", "id": "9", "created_at": START_TS, "updated_at": bookmark + 60,
              "conversation_parts": {"type": "conversation_part.list", "total_count": 4, "conversation_parts": parts}},
    )
    state = StateBuilder().with_stream_state("conversation_parts", {"conversation_updated_at": str(bookmark)}).build()
    output = sync(CONFIG, "conversation_parts", incremental=True, state=state)
    assert [r.record.data["id"] for r in output.records] == ["old", "same-second", "new", "no-cursor"]
    assert {r.record.data["conversation_updated_at"] for r in output.records} == {bookmark + 60}
    assert output.most_recent_state.stream_state.conversation_updated_at == str(bookmark + 60)
