"""The manifest's structure, read from the manifest itself (no request is sent): what its streams
must declare for the connector's Python components and both runtimes to work."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any, Dict, Set

import pytest
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

from source_intercom.components import ROLES
from source_intercom.manifest_file import load_manifest
from source_intercom.stream_facts import stream_facts

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))
import schemas  # noqa: E402  (tools/schemas.py)


@pytest.fixture(scope="module")
def manifest() -> Dict[str, Any]:
    """The manifest with its $refs resolved."""
    return ManifestReferenceResolver().preprocess_manifest(copy.deepcopy(dict(load_manifest())))


def test_manifest_schemas_equal_the_schema_files() -> None:
    # The manifest-only runtime cannot read schema files: the manifest carries a copy of each.
    assert schemas.manifest_schemas(ROOT / "source_intercom" / "manifest.yaml") == schemas.load_schema_files()
    assert json.dumps(schemas.load_schema_files())  # all JSON


def test_each_stream_of_a_reading_plays_one_role_written_once(manifest: Dict[str, Any]) -> None:
    # reading_streams is the one place that says which stream plays which role; the roles are
    # those components.ROLES knows, every stream named is one of the manifest's, and a stream of a
    # reading (or the parent read for another stream's partitions) finds its role there.
    named = manifest["definitions"]["reading_streams"]
    assert set(named) == set(ROLES)
    for reading, roles in named.items():
        assert set(roles) == set(ROLES[reading]), reading
        assert set(roles.values()) <= set(stream_facts()), reading
    readers: Set[str] = set()
    for name, stream in manifest["definitions"]["streams"].items():
        parameters = stream.get("$parameters", {})
        if "reading" in parameters:
            assert "role" not in parameters, f"{name}: its role is written in reading_streams"
            assert name in parameters["reading_streams"].values(), name
            readers.add(name)
        for parent in stream.get("retriever", {}).get("partition_router", {}).get("parent_stream_configs", []):
            assert parent["stream"]["$parameters"]["reading_for"] == name, name
            readers.add(name)
    assert readers == {stream for roles in named.values() for stream in roles.values()}
    assert "stream_groups" not in manifest


def test_every_partitioned_stream_keeps_one_global_cursor(manifest: Dict[str, Any]) -> None:
    # components.py lets the CDK drop finished partitions' cursors early; that is only safe when
    # no stream keeps a cursor per partition.
    for name, stream in manifest["definitions"]["streams"].items():
        if "partition_router" in stream.get("retriever", {}) and "incremental_sync" in stream:
            assert stream["incremental_sync"].get("global_substream_cursor") is True, name


def _built_by_the_cdk(manifest: Dict[str, Any]) -> None:
    """The CDK's own source (which validates what the package's source does not) on ``manifest``."""
    from airbyte_cdk.models import ConfiguredAirbyteCatalog
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

    import source_intercom.source  # noqa: F401  (serves the manifest's source_declarative_manifest.components)

    ConcurrentDeclarativeSource(catalog=ConfiguredAirbyteCatalog(streams=[]), config={}, state=[], source_config=manifest)


def test_the_manifest_is_valid_against_the_cdks_component_schema() -> None:
    # The package's source skips this check at start-up (source.py); here is where it runs.
    _built_by_the_cdk(copy.deepcopy(dict(load_manifest())))


def test_the_validation_refuses_a_manifest_the_cdk_does_not_know() -> None:
    broken = copy.deepcopy(dict(load_manifest()))
    broken["check"] = {"type": "CheckStream", "stream_names": "not a list"}
    with pytest.raises(Exception, match="declarative_component_schema"):
        _built_by_the_cdk(broken)
