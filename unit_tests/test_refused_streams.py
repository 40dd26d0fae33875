"""RefusedStreamErrorHandler: a stream Intercom refuses is skipped while the connection check's
endpoint answers, and fails the sync as a config error when that endpoint is refused too."""

from __future__ import annotations

import json
from typing import Any, Optional, Union

import pytest
import requests
import requests_mock as rm
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import ErrorHandler, ErrorResolution, ResponseAction

from source_intercom import components
from source_intercom.components import RefusedStreamErrorHandler

BASE = "https://proxy.example.com/intercom"
SKIP = ErrorResolution(ResponseAction.IGNORE, None, "Skipping stream")
PLAN = {"type": "error.list", "errors": [{"code": "api_plan_restricted", "message": "Active subscription needed."}]}


class IgnoreRefusals(ErrorHandler):
    """The manifest's filters, as far as these tests need them: 401/403 ignored, 500 retried."""

    max_retries = 6
    max_time = None

    def interpret_response(self, response: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        if isinstance(response, requests.Response) and response.status_code in (401, 403):
            return SKIP
        return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, "retry")


def refused(path: str = "/articles", status: int = 403, token: str = "tok") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(PLAN).encode()
    response.request = requests.Request("GET", f"{BASE}{path}?per_page=150", headers={"Authorization": f"Bearer {token}", "Intercom-Version": "2.16"}).prepare()
    return response


def handler(api_path: str = "/articles") -> RefusedStreamErrorHandler:
    message = "{{ parameters.name }} {{ status_code }} {{ response.errors[0].code }}"
    return RefusedStreamErrorHandler(IgnoreRefusals(), {}, {"name": "articles", "api_path": api_path}, "/me", message)


@pytest.fixture(autouse=True)
def fresh_answers(monkeypatch: Any) -> None:
    monkeypatch.setattr(components, "_API_ANSWERS", components._ApiAnswers(wait_seconds=0))


def test_a_refused_stream_is_skipped_while_the_check_endpoint_answers(requests_mock: rm.Mocker) -> None:
    check = requests_mock.get(f"{BASE}/me", json={"type": "admin", "id": "1"})
    assert handler().interpret_response(refused()) is SKIP
    assert handler().interpret_response(refused()) is SKIP
    assert check.call_count == 1  # asked once for the sync's refusals
    sent = check.last_request.headers
    assert sent["Authorization"] == "Bearer tok" and sent["Intercom-Version"] == "2.16"


def test_a_refusal_of_the_check_endpoint_too_is_a_config_error_with_its_answer(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/me", status_code=403, json=PLAN)
    resolution = handler().interpret_response(refused())
    assert resolution.response_action == ResponseAction.FAIL and resolution.failure_type == FailureType.config_error
    assert resolution.error_message == "articles 403 api_plan_restricted"


def test_a_check_endpoint_that_says_nothing_is_asked_again_then_taken_for_an_api_that_answers(requests_mock: rm.Mocker, monkeypatch: Any) -> None:
    check = requests_mock.get(f"{BASE}/me", [{"status_code": 500, "json": {}}, {"status_code": 429, "json": {}}, {"status_code": 403, "json": PLAN}])
    assert handler().interpret_response(refused()).response_action == ResponseAction.FAIL
    assert check.call_count == 3
    monkeypatch.setattr(components, "_API_ANSWERS", components._ApiAnswers(wait_seconds=0))  # a new sync
    requests_mock.get(f"{BASE}/me", status_code=503, json={})
    assert handler().interpret_response(refused()) is SKIP


def test_a_path_with_a_partition_asks_the_check_endpoint_on_the_host(requests_mock: rm.Mocker) -> None:
    check = requests_mock.get("https://proxy.example.com/me", json={})
    assert handler("/tickets/{id}").interpret_response(refused("/tickets/7")) is SKIP
    assert check.call_count == 1


def test_other_answers_are_the_manifests_filters_own(requests_mock: rm.Mocker) -> None:
    check = requests_mock.get(f"{BASE}/me", status_code=403, json=PLAN)
    server_error = refused()
    server_error.status_code = 500
    assert handler().interpret_response(server_error).response_action == ResponseAction.RETRY
    assert handler().interpret_response(requests.ConnectionError()).response_action == ResponseAction.RETRY
    assert check.call_count == 0
