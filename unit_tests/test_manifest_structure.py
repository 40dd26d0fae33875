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
from source_intercom.source import load_manifest
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


def test_each_stream_of_a_shared_reading_names_its_role_and_the_streams_of_the_others(manifest: Dict[str, Any]) -> None:
    # A stream takes its records from a shared reading: its role must be one the reading has, the
    # reading's streams must name it in that role, and the parent read for a substream's
    # partitions must be the reading's partitions role (only id and updated_at).
    readers: Set[str] = set()
    partitioned: Set[str] = set()
    for name, stream in manifest["definitions"]["streams"].items():
        parameters = stream.get("$parameters", {})
        if "reading" in parameters:
            readers.add(name)
            assert parameters["reading_streams"][parameters["role"]] == name, name
            assert set(parameters["reading_streams"]) == set(ROLES[parameters["reading"]]), name
        for parent in stream.get("retriever", {}).get("partition_router", {}).get("parent_stream_configs", []):
            parent_parameters = parent["stream"]["$parameters"]
            assert parent_parameters["role"] == "partitions", name
            assert parent_parameters["reading_streams"]["partitions"] == name, name
            partitioned.add(name)
    # Every stream a reading names takes its records from it: in its own role, or (partitions)
    # through its parent; and every one is a stream of the manifest.
    named = manifest["definitions"]["reading_streams"]
    assert set(named) == set(ROLES)
    assert readers == {stream for roles in named.values() for role, stream in roles.items() if role != "partitions"}
    assert partitioned == {roles["partitions"] for roles in named.values() if "partitions" in roles}
    assert readers | partitioned <= set(stream_facts())
    assert "stream_groups" not in manifest


def test_every_partitioned_stream_keeps_one_global_cursor(manifest: Dict[str, Any]) -> None:
    # components.py lets the CDK drop finished partitions' cursors early; that is only safe when
    # no stream keeps a cursor per partition.
    for name, stream in manifest["definitions"]["streams"].items():
        if "partition_router" in stream.get("retriever", {}) and "incremental_sync" in stream:
            assert stream["incremental_sync"].get("global_substream_cursor") is True, name
