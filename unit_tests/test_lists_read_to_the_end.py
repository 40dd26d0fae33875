"""Every list stream (a GET of one list, not a shared reading) reads on whenever Intercom's answer
says there is more, in each of the ways Intercom says it, also where the examples show one page;
and an answer that says nothing of more pages costs one request (requests-mock, in-process).
Each read builds the one stream its catalog names (source_intercom/source.py)."""

from __future__ import annotations

import copy
import time
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import requests_mock as rm
from airbyte_cdk.sources.declarative.parsers.manifest_component_transformer import ManifestComponentTransformer
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

from source_intercom.manifest_file import load_manifest
from unit_tests.test_requests import CONFIG, sync


def list_streams() -> Dict[str, str]:
    """{stream: the key of its records in the answer} for every stream whose retriever reads one list."""
    resolved = ManifestReferenceResolver().preprocess_manifest(copy.deepcopy(dict(load_manifest())))
    streams = ManifestComponentTransformer().propagate_types_and_parameters("", resolved, {})["streams"]
    return {
        stream["$parameters"]["name"]: stream["$parameters"]["records_path"]
        for stream in streams
        if stream["retriever"]["type"] == "SimpleRetriever" and "partition_router" not in stream["retriever"]
        and "step" not in (stream.get("incremental_sync") or {})  # read in time slices (activity_logs): test_requests
    }


REPORTING = "/export/reporting_data/get_datasets"  # asked by discover (and a read of a reporting stream): a token without the scope here


def intercom(key: str, first_page_extra: Optional[Dict[str, Any]]) -> Any:
    """requests-mock's callback for any URL: the list (see ``answering``), the reporting datasets refused."""
    def callback(request: Any, context: Any) -> Dict[str, Any]:
        if urlsplit(request.url).path == REPORTING:
            context.status_code = 403
            return {"type": "error.list", "errors": [{"code": "forbidden", "message": "no export_reporting_data scope"}]}
        extra = first_page_extra(request.url.split("?")[0]) if callable(first_page_extra) else first_page_extra
        return answering(key, extra)(request, context)
    return callback


def list_requests(mocker: rm.Mocker) -> List[Any]:
    return [request for request in mocker.request_history if urlsplit(request.url).path != REPORTING]


LIST_STREAMS = list_streams()
# How an answer says that a page follows it (Intercom's page-number lists, whatever the examples show).
MORE = {
    "pages.next link": lambda url: {"pages": {"type": "pages", "page": 1, "next": url + "?page=2"}},
    "pages.next object": lambda url: {"pages": {"type": "pages", "page": 1, "next": {"page": 2}}},
    "page < total_pages": lambda url: {"pages": {"type": "pages", "page": 1, "per_page": 1, "total_pages": 2}},
    "has_more": lambda url: {"pages": {"type": "pages", "page": 1}, "has_more": True},
}


def record(number: int) -> Dict[str, Any]:
    """A record every stream accepts: a key of each kind, times after start_date, an admin list."""
    now = int(time.time()) - 10
    return {"type": "item", "id": str(number), "full_name": f"attribute.{number}", "admin_ids": [number],
            "updated_at": now, "deleted_at": now, "created_at": now}


def answering(key: str, first_page_extra: Optional[Dict[str, Any]]) -> Any:
    """A callback: page 1 (no `page` parameter) says more with ``first_page_extra``; page 2 is the last."""
    def callback(request: Any, context: Any) -> Dict[str, Any]:
        page = int((parse_qs(urlsplit(request.url).query).get("page") or ["1"])[0])
        if page == 1:
            return {"type": "list", key: [record(1)], **(first_page_extra or {})}
        return {"type": "list", key: [record(2)], "pages": {"type": "pages", "page": 2, "total_pages": 2}}
    return callback


def test_every_list_stream_is_covered() -> None:
    assert {"newsfeeds", "help_centers", "subscription_types", "ticket_types", "ticket_states", "conversation_attributes",
            "calls", "team_admins", "admins", "tags"} <= set(LIST_STREAMS)


@pytest.mark.parametrize("more", sorted(MORE))
@pytest.mark.parametrize("stream", sorted(LIST_STREAMS))
def test_a_list_is_read_to_its_end_whenever_the_answer_says_there_is_more(requests_mock: rm.Mocker,
                                                                          stream: str, more: str) -> None:
    requests_mock.get(rm.ANY, json=intercom(LIST_STREAMS[stream], MORE[more]))
    output = sync(CONFIG, stream)
    assert not output.errors, output.errors
    assert len(output.records) == 2, (stream, more, [r.record.data for r in output.records])
    pages = [parse_qs(urlsplit(r.url).query).get("page") for r in list_requests(requests_mock)]
    assert pages == [None, ["2"]], pages


@pytest.mark.parametrize("stream", sorted(LIST_STREAMS))
def test_a_list_that_says_nothing_of_more_pages_is_one_request(requests_mock: rm.Mocker, stream: str) -> None:
    requests_mock.get(rm.ANY, json=intercom(LIST_STREAMS[stream], {"pages": {"type": "pages", "page": 1, "total_pages": 1}}))
    output = sync(CONFIG, stream)
    assert not output.errors and len(output.records) == 1
    assert len(list_requests(requests_mock)) == 1
