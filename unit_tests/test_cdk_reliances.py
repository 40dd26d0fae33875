"""Where the installed airbyte-cdk lacks an internal the package relies on, the connector still
builds and runs with the CDK's own behaviour, and says once what it could not apply (the other
reliances are tested end to end in integration_tests/test_cdk_reliances_fail_soft.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor

from source_intercom import components
from source_intercom.source import SourceIntercom


@pytest.fixture(autouse=True)
def no_warning_given_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())


def _warnings(caplog: pytest.LogCaptureFixture) -> list:
    return [r.getMessage() for r in caplog.records if "could not apply" in r.getMessage()]


def test_without_the_partition_cursor_cap_the_cdk_keeps_its_own(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER")
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("the cap on partition cursors", components._keep_only_partition_cursors_in_flight)
    assert not hasattr(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER")
    assert len(_warnings(caplog)) == 1 and "the cap on partition cursors" in _warnings(caplog)[0]


def test_without_the_record_queue_the_source_still_builds(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    build = ConcurrentSource.__init__

    def without_queue(self: Any, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        del self._queue

    monkeypatch.setattr(ConcurrentSource, "__init__", without_queue)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        SourceIntercom(config={"access_token": "x", "start_date": "2020-01-01T00:00:00Z"})
    assert len(_warnings(caplog)) == 1 and "queue of records waiting for stdout" in _warnings(caplog)[0]


def test_an_optimisation_that_fails_returns_nothing_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise AttributeError("_renamed")

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert components.cdk_reliance("a test optimisation", broken) is None
        assert components.cdk_reliance("a test optimisation", broken) is None
        assert components.cdk_reliance("another", lambda: 42) == 42
    assert _warnings(caplog) == [
        "source-intercom could not apply a test optimisation on this airbyte-cdk (AttributeError: _renamed); the sync goes on with the CDK's own behaviour."
    ]


def test_without_the_filters_decoding_each_answer_is_decoded_by_the_cdk_and_by_the_records(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    def renamed(self: Any, response: Any) -> Any:  # a later CDK's method, no longer a staticmethod
        return response.json()

    monkeypatch.setattr(HttpResponseFilter, "_safe_response_json", renamed)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("one decoding of each answer", components._filters_decode_once)
    assert HttpResponseFilter.__dict__["_safe_response_json"] is renamed
    assert len(_warnings(caplog)) == 1 and "one decoding of each answer" in _warnings(caplog)[0]


def test_the_cli_builds_the_protocols_serializers_without_field_docstrings_and_writes_the_same() -> None:
    import subprocess
    import sys

    write_a_message = (
        "import json; from airbyte_cdk.models import AirbyteLogMessage, AirbyteMessage, AirbyteMessageSerializer, Level, Type; "
        "print(json.dumps(AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.INFO, message='m')))))"
    )
    in_the_cli = (
        "from source_intercom.startup import import_the_cdk; import_the_cdk(); import attributes_doc; "
        "print(attributes_doc.get_attributes_doc.__name__); " + write_a_message
    )
    cli = subprocess.run([sys.executable, "-c", in_the_cli], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    cdk = subprocess.run([sys.executable, "-c", write_a_message], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    assert cli == ["_no_docstrings", *cdk]


def test_after_airbyte_cdk_is_imported_the_start_up_changes_nothing() -> None:
    import attributes_doc

    from source_intercom.startup import skip_field_docstrings

    before = attributes_doc.get_attributes_doc
    assert skip_field_docstrings() is False and attributes_doc.get_attributes_doc is before


def test_a_sub_streams_state_is_emitted_every_minute_not_every_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = ConcurrentPerPartitionCursor.__new__(ConcurrentPerPartitionCursor)
    now = 1_000_000.0
    monkeypatch.setattr(components.time, "time", lambda: now)
    cursor._last_emission_time = now - 61
    assert cursor._throttle_state_message() == now
    cursor._last_emission_time = now - 59
    assert cursor._throttle_state_message() is None


def test_without_the_state_throttle_the_cdk_keeps_its_own(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(ConcurrentPerPartitionCursor, "_throttle_state_message")
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        components.cdk_reliance("a sub-stream's state every minute", components._checkpoint_sub_streams_every_minute)
    assert not hasattr(ConcurrentPerPartitionCursor, "_throttle_state_message")
    assert len(_warnings(caplog)) == 1 and "state every minute" in _warnings(caplog)[0]
