"""A read builds the streams its catalog names and no other (source_intercom/source.py,
SourceIntercom.read): the CDK's own read builds every stream of the manifest and the reporting
datasets' (listing the datasets from Intercom) before it picks the catalog's. The records, and
what a catalog stream the source does not have gets, are the CDK's."""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from integration_tests.workspaces import TOKEN
from intercom_emulator import EmulatorServer, Workspace, running_emulator
from source_intercom import components
from source_intercom.source import SourceIntercom

DATASETS = "/export/reporting_data/get_datasets"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> List[List[str]]:
    """The names of the streams each build made, in order."""
    builds: List[List[str]] = []
    create = SourceIntercom._create_streams

    def recorded(self: SourceIntercom, selected: List[Dict[str, Any]], every: List[Dict[str, Any]]) -> Any:
        builds.append([definition["name"] for definition in selected])
        return create(self, selected, every)

    monkeypatch.setattr(SourceIntercom, "_create_streams", recorded)
    return builds


@pytest.fixture
def scoped_emulator(workspace: Workspace) -> Iterator[EmulatorServer]:
    """The emulator, with a token that has the reporting datasets' scope."""
    with running_emulator(workspace, token=TOKEN, reporting_scope=True) as server:
        yield server


def _catalog(*names: str) -> ConfiguredAirbyteCatalog:
    """Full-refresh streams by name: the manifest's, a reporting dataset's, or none of those."""
    builder = CatalogBuilder()
    for name in names:
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(name).with_sync_mode(SyncMode.full_refresh).with_primary_key([["id"]]))
    return builder.build()


def _config(server: EmulatorServer) -> Dict[str, Any]:
    return {"access_token": TOKEN, "start_date": "2020-01-01T00:00:00Z", "base_url": server.url}


def _read(server: EmulatorServer, *names: str) -> EntrypointOutput:
    configured = _catalog(*names)
    return read(SourceIntercom(catalog=configured, config=_config(server)), _config(server), configured)


def _datasets_listed(server: EmulatorServer) -> int:
    return sum(1 for request in server.requests if request.path.split("?")[0] == DATASETS)


def _records(output: EntrypointOutput) -> Dict[str, List[Any]]:
    records: Dict[str, List[Any]] = {}
    for message in output.records:
        records.setdefault(message.record.stream, []).append(message.record.data)
    return records


def test_a_read_builds_its_catalogs_streams_alone_and_lists_no_reporting_dataset(scoped_emulator: EmulatorServer, built: List[List[str]]) -> None:
    output = _read(scoped_emulator, "admins", "teams")
    assert built == [["admins", "teams"]]
    assert _datasets_listed(scoped_emulator) == 0
    assert not output.errors and set(_records(output)) == {"admins", "teams"}


def test_a_catalog_with_a_reporting_stream_lists_the_datasets_and_builds_that_stream(scoped_emulator: EmulatorServer, built: List[List[str]]) -> None:
    configured = _catalog("admins", "reporting_ticket")
    source = SourceIntercom(catalog=configured, config=_config(scoped_emulator))
    streams = source._catalog_streams(configured, *source._stream_definition_steps())
    assert [stream.name for stream in streams] == ["admins", "reporting_ticket"]
    assert built == [["admins", "reporting_ticket"]]
    assert _datasets_listed(scoped_emulator) == 1


def test_the_records_are_the_cdks_and_a_stream_the_source_lacks_is_incomplete(scoped_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _read(scoped_emulator, "admins", "tags", "no_such_stream")
    monkeypatch.setattr(SourceIntercom, "read", ConcurrentDeclarativeSource.read)
    theirs = _read(scoped_emulator, "admins", "tags", "no_such_stream")
    assert _records(ours) == _records(theirs) and set(_records(ours)) == {"admins", "tags"}
    assert ours.get_stream_statuses("no_such_stream") == theirs.get_stream_statuses("no_such_stream") != []
    assert "INCOMPLETE" in [status.name for status in ours.get_stream_statuses("no_such_stream")]


def test_without_the_cdks_steps_as_expected_a_read_builds_every_stream(scoped_emulator: EmulatorServer, built: List[List[str]],
                                                                     monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())
    monkeypatch.setattr(SourceIntercom, "streams", lambda self, config: ConcurrentDeclarativeSource.streams(self, config))
    with caplog.at_level(logging.WARNING):
        output = _read(scoped_emulator, "admins")
    assert len(built) == 1 and len(built[0]) > 30 and "admins" in built[0]
    assert _datasets_listed(scoped_emulator) == 1
    assert set(_records(output)) == {"admins"}
    assert any("only the catalog's streams built for a read" in record.getMessage() for record in caplog.records)
