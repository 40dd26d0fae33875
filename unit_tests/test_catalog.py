"""`discover` writes its catalog from the resolved stream definitions (source_intercom/catalog.py):
the same catalog, value for value, as the CDK's `discover`, which builds every stream; with the
reporting datasets (the token has their scope) and without."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

import pytest
from airbyte_cdk.models import AirbyteCatalog, AirbyteMessage, AirbyteMessageSerializer, Type
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory

from intercom_emulator import Workspace, running_emulator
from source_intercom import catalog, components
from source_intercom.source import SourceIntercom
from source_intercom.stream_facts import stream_facts

LOGGER = logging.getLogger("airbyte")
TOKEN = "tok-catalog"


def _config(server: Any) -> Dict[str, Any]:
    return {"access_token": TOKEN, "start_date": "2024-01-01T00:00:00Z", "base_url": server.url}


def _json(catalog: AirbyteCatalog) -> Dict[str, Any]:
    """The catalog as the CLI prints it."""
    return AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.CATALOG, catalog=catalog))["catalog"]  # type: ignore[no-any-return]


def _written(config: Dict[str, Any]) -> Dict[str, Any]:
    return _json(SourceIntercom(config=config).discover(LOGGER, config))


def _built_by_the_cdk(config: Dict[str, Any]) -> Dict[str, Any]:
    """The CDK's discover, with the CDK's own resolution of the dynamic streams."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SourceIntercom, "dynamic_streams", ConcurrentDeclarativeSource.dynamic_streams)
        source = SourceIntercom(config=config)
        return _json(ConcurrentDeclarativeSource.discover(source, LOGGER, config))


def _differences(written: Dict[str, Any], built: Dict[str, Any]) -> List[str]:
    by_name = {stream["name"]: stream for stream in built["streams"]}
    differences = [f"order: {[s['name'] for s in written['streams']]} != {list(by_name)}"] if [s["name"] for s in written["streams"]] != list(by_name) else []
    for stream in written["streams"]:
        expected = by_name.get(stream["name"], {})
        differences += [f"{stream['name']}.{key}: {stream.get(key)!r} != {expected.get(key)!r}" for key in sorted(set(stream) | set(expected)) if stream.get(key) != expected.get(key)]
    return differences


@pytest.mark.parametrize("reporting_scope", [False, True], ids=["without the reporting scope", "with the reporting scope"])
def test_the_catalog_written_from_the_definitions_is_the_catalog_the_cdk_builds(workspace: Workspace, reporting_scope: bool) -> None:
    with running_emulator(workspace, token=TOKEN, reporting_scope=reporting_scope) as server:
        written, built = _written(_config(server)), _built_by_the_cdk(_config(server))
    names = {stream["name"] for stream in written["streams"]}
    assert (names > set(stream_facts())) is reporting_scope and names >= set(stream_facts())
    assert _differences(written, built) == []
    assert written == built


def test_the_catalog_is_written_without_building_a_stream(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_building(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a stream was built")

    monkeypatch.setattr(ModelToComponentFactory, "create_default_stream", no_building)
    with running_emulator(workspace, token=TOKEN, reporting_scope=True) as server:
        source = SourceIntercom(config=_config(server))
        assert len(source.discover(LOGGER, _config(server)).streams) > len(stream_facts())


def test_a_definition_catalog_py_does_not_read_makes_the_cdk_build_every_stream(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    read = catalog.airbyte_stream
    monkeypatch.setattr("source_intercom.source.airbyte_stream", lambda definition, config: None if definition["name"] == "contacts" else read(definition, config))
    with running_emulator(workspace, token=TOKEN, reporting_scope=True) as server:
        assert _written(_config(server)) == _built_by_the_cdk(_config(server))


def test_without_the_cdks_steps_discover_is_the_cdks_own(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())
    monkeypatch.delattr(ConcurrentDeclarativeSource, "_stream_configs")
    with running_emulator(workspace, token=TOKEN) as server, caplog.at_level(logging.WARNING, logger="airbyte"):
        with pytest.raises(AttributeError):  # the CDK's own discover needs it too: it is the one that ran
            _written(_config(server))
    assert any("the catalog written from the resolved stream definitions" in record.getMessage() for record in caplog.records)
