"""Self-tests: the Reporting Data Export endpoints as the 2.16 OpenAPI description defines them, on a
test clock (jobs pending, complete, failed, expired downloads), the 5-pending-jobs limit, the scope."""
from __future__ import annotations

import csv
import gzip
import io
from typing import Any, Iterator, List

import pytest
import requests

from intercom_emulator import EmulatorServer, Workspace, WorkspaceSizes, running_emulator
from intercom_emulator.reporting import DATASET_BY_ID, MAX_PENDING_JOBS, ReportingExports, csv_cell
from intercom_emulator.tests.emulator_client import DAY, TOKEN

H = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.16", "Accept": "application/json"}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_800_000_000.0)


@pytest.fixture
def emu(clock: Clock) -> Iterator[EmulatorServer]:
    workspace = Workspace(seed=3, sizes=WorkspaceSizes(), span_days=200, anchor_time=int(clock.now))
    exports = ReportingExports(pending_seconds=10, download_ttl=60, clock=clock)
    with running_emulator(workspace, token=TOKEN, reporting_scope=True, reporting=exports) as server:
        yield server


def enqueue(server: EmulatorServer, **body: Any) -> requests.Response:
    return requests.post(server.url + "/export/reporting_data/enqueue", headers=H, json=body, timeout=10)


def conversation_job(server: EmulatorServer, start: int, end: int) -> requests.Response:
    attributes = [a.qualified_id for a in DATASET_BY_ID["conversation"].attributes]
    return enqueue(server, dataset_id="conversation", attribute_ids=attributes, start_time=start, end_time=end)


def status(server: EmulatorServer, job: str) -> dict:
    return requests.get(f"{server.url}/export/reporting_data/{job}", headers=H, timeout=10).json()


def download(server: EmulatorServer, job: str, accept: str = "application/octet-stream") -> requests.Response:
    return requests.get(f"{server.url}/download/reporting_data/{job}", headers={**H, "Accept": accept}, timeout=10)


def test_get_datasets_lists_each_dataset_with_its_time_attribute_and_qualified_attributes(emu: EmulatorServer) -> None:
    answer = requests.get(emu.url + "/export/reporting_data/get_datasets", headers=H, timeout=10).json()
    assert answer["type"] == "list"
    assert {d["id"] for d in answer["data"]} == {"conversation", "ticket", "admin_status_change"}
    for dataset in answer["data"]:
        assert set(dataset) == {"id", "name", "description", "default_time_attribute_id", "attributes"}
        assert dataset["default_time_attribute_id"] in {a["id"] for a in dataset["attributes"]}
        for attribute in dataset["attributes"]:
            assert set(attribute) == {"id", "qualified_id", "name"} and attribute["qualified_id"].endswith("." + attribute["id"])


def test_a_job_is_pending_then_complete_and_its_download_is_the_windows_rows_as_gzip_csv(emu: EmulatorServer, clock: Clock) -> None:
    start, end = int(clock.now) - 30 * DAY, int(clock.now) - 10 * DAY
    job = conversation_job(emu, start, end).json()
    assert job["status"] == "pending" and job["download_url"] == ""
    assert status(emu, job["job_identifier"])["status"] == "pending"
    clock.now += 10
    done = status(emu, job["job_identifier"])
    assert done["status"] == "complete" and done["download_url"].endswith(f"/download/reporting_data/{job['job_identifier']}")
    assert done["download_expires_at"]
    answer = requests.get(done["download_url"], headers={**H, "Accept": "application/octet-stream"}, timeout=10, stream=True)
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Content-Type"] == "application/octet-stream"
    text = gzip.decompress(answer.raw.read(decode_content=False))   # the body as sent: gzip
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    dataset = DATASET_BY_ID["conversation"]
    expected = [{a.id: csv_cell(row.get(a.id), a, dataset) for a in dataset.attributes} for row in emu.reporting_rows.rows("conversation", start, end)]
    assert rows == expected and len(rows) > 10


def test_the_download_needs_the_octet_stream_accept_header(emu: EmulatorServer, clock: Clock) -> None:
    job = conversation_job(emu, int(clock.now) - DAY, int(clock.now)).json()["job_identifier"]
    clock.now += 10
    assert download(emu, job, accept="application/json").status_code == 406


def test_a_sixth_pending_job_is_refused_with_429_until_one_completes(emu: EmulatorServer, clock: Clock) -> None:
    now = int(clock.now)
    for k in range(MAX_PENDING_JOBS):
        assert conversation_job(emu, now - (k + 1) * DAY, now - k * DAY).status_code == 200
    refused = conversation_job(emu, now - 9 * DAY, now - 8 * DAY)
    assert refused.status_code == 429
    assert refused.json()["errors"][0] == {"code": "rate_limit_exceeded",
                                           "message": "Exceeded rate limit of 5 pending reporting dataset export jobs"}
    clock.now += 10     # the five complete: a new job is taken
    assert conversation_job(emu, now - 9 * DAY, now - 8 * DAY).status_code == 200
    counts = emu.stats()["reporting"]
    assert counts["max_pending"] == MAX_PENDING_JOBS and counts["refused_pending"] == 1 and counts["enqueued"] == 6


def test_jobs_fail_at_the_chosen_rate_and_downloads_expire(emu: EmulatorServer, clock: Clock) -> None:
    emu.reporting.fail_next_jobs(1)
    failed = conversation_job(emu, int(clock.now) - DAY, int(clock.now)).json()["job_identifier"]
    emu.reporting.expire_next_downloads(1)
    expiring = conversation_job(emu, int(clock.now) - DAY, int(clock.now)).json()["job_identifier"]
    kept = conversation_job(emu, int(clock.now) - DAY, int(clock.now)).json()["job_identifier"]
    clock.now += 10
    assert status(emu, failed)["status"] == "failed" and download(emu, failed).status_code == 404
    assert download(emu, expiring).status_code == 404
    assert download(emu, kept).status_code == 200
    clock.now += 60     # the download_ttl
    assert download(emu, kept).status_code == 404
    assert emu.stats()["reporting"]["expired_downloads"] == 2
    with running_emulator(Workspace(seed=3, sizes=WorkspaceSizes()), token=TOKEN, reporting_scope=True,
                          reporting=ReportingExports(pending_seconds=0, failure_rate=1.0, clock=clock)) as always:
        job = conversation_job(always, int(clock.now) - DAY, int(clock.now)).json()
        assert job["status"] == "failed"


@pytest.mark.parametrize("body, message", [
    ({"attribute_ids": ["conversation.conversation_id"], "start_time": 1, "end_time": 2}, "'dataset_id' is a required parameter"),
    ({"dataset_id": "imaginary", "attribute_ids": ["x"], "start_time": 1, "end_time": 2}, "imaginary is not a valid dataset_id"),
    ({"dataset_id": "conversation", "start_time": 1, "end_time": 2}, "'attribute_ids' is a required parameter"),
    ({"dataset_id": "conversation", "attribute_ids": [], "start_time": 1, "end_time": 2}, "attribute_ids must contain at least one attribute_id"),
    ({"dataset_id": "conversation", "attribute_ids": "conversation.channel", "start_time": 1, "end_time": 2},
     "'attribute_ids' not an array must be of type Array"),
    ({"dataset_id": "conversation", "attribute_ids": ["conversation.non_existent"], "start_time": 1, "end_time": 2},
     "attribute_ids invalid for conversation dataset: conversation.non_existent"),
])
def test_enqueue_answers_the_documented_400s(emu: EmulatorServer, body: dict, message: str) -> None:
    answer = enqueue(emu, **body)
    assert answer.status_code == 400 and answer.json()["errors"][0] == {"code": "bad_request", "message": message}


def test_a_window_older_than_the_retention_is_refused(emu: EmulatorServer, clock: Clock) -> None:
    old = int(clock.now) - 731 * DAY
    answer = conversation_job(emu, old, old + DAY)
    assert answer.status_code == 400 and "retention" in answer.json()["errors"][0]["message"]


def test_a_token_without_the_scope_is_refused_on_every_reporting_endpoint() -> None:
    with running_emulator(Workspace(seed=3, sizes=WorkspaceSizes()), token=TOKEN) as server:
        answers: List[requests.Response] = [
            requests.get(server.url + "/export/reporting_data/get_datasets", headers=H, timeout=10),
            enqueue(server, dataset_id="conversation"),
            status_answer := requests.get(server.url + "/export/reporting_data/job1", headers=H, timeout=10),
            download(server, "job1"),
        ]
        admins = requests.get(server.url + "/admins", headers=H, timeout=10)
    assert status_answer in answers
    assert [a.status_code for a in answers] == [403] * 4 and admins.status_code == 200


def test_the_reporting_endpoints_start_at_api_2_15(emu: EmulatorServer) -> None:
    answer = requests.get(emu.url + "/export/reporting_data/get_datasets", headers={**H, "Intercom-Version": "2.14"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "intercom_version_invalid"
