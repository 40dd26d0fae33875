"""The facts the manifest declares about each stream (name, primary key, cursor field, API path),
read from the manifest itself: the one place the project's tests, tools and benchmarks take them
from, so that adding a stream means editing the manifest only."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from airbyte_cdk.sources.declarative.parsers.manifest_component_transformer import ManifestComponentTransformer
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

from source_intercom.manifest_file import load_manifest


@dataclass(frozen=True)
class StreamFacts:
    name: str
    primary_key: Tuple[str, ...]
    cursor_field: Optional[str]  # None: full refresh only
    api_path: str

    def key_of(self, record: Dict[str, Any]) -> Any:
        """The record's primary key: the value itself for a one-field key, else a tuple."""
        values = tuple(record[field] for field in self.primary_key)
        return values[0] if len(values) == 1 else values


@functools.lru_cache(maxsize=1)
def stream_facts() -> Dict[str, StreamFacts]:
    """Every stream of the manifest, in the manifest's order."""
    resolved = ManifestReferenceResolver().preprocess_manifest(copy.deepcopy(dict(load_manifest())))
    streams = ManifestComponentTransformer().propagate_types_and_parameters("", resolved, {})["streams"]
    facts = {}
    for stream in streams:
        parameters = stream.get("$parameters", {})
        name = stream.get("name") or parameters["name"]
        key = stream["primary_key"]
        cursor = (stream.get("incremental_sync") or {}).get("cursor_field")
        facts[name] = StreamFacts(name, (key,) if isinstance(key, str) else tuple(key), cursor, parameters.get("api_path", ""))
    return facts


@functools.lru_cache(maxsize=1)
def reading_families() -> Dict[str, Tuple[str, ...]]:
    """The streams of each reading (the manifest's ``reading_streams``), its records' stream first:
    one reading serves them all (components.py, "Readings")."""
    return {reading: tuple(roles.values()) for reading, roles in load_manifest()["definitions"]["reading_streams"].items()}
