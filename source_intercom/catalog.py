"""`discover`'s catalog, written from the stream definitions the CDK resolved, without building the streams.

The CDK's `discover` builds every stream (its requester, paginator, cursor, partition router and
retriever: a third of `discover`'s CPU for the manifest's 33 streams and the reporting datasets)
and asks each for its AirbyteStream, which takes five facts of the definition: the name, the
schema, the primary key, the cursor field and whether a file uploader is set. The package's CLI
reads them from the definitions the CDK resolves for its streams (the manifest's streams and, from
the reporting datasets' list, the dynamic ones), the way the CDK's components read them
(`DefaultStream.as_airbyte_stream`). A definition of another kind (another stream type, schema
loader or cursor) makes the CDK build every stream as usual. unit_tests/test_catalog.py compares
the whole catalog with the CDK's, with and without the reporting datasets.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from airbyte_cdk.models import AirbyteStream, SyncMode
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.streams.concurrent.helpers import get_primary_key_from_stream
from airbyte_cdk.sources.types import Config


def airbyte_stream(definition: Mapping[str, Any], config: Config) -> Optional[AirbyteStream]:
    """The AirbyteStream the CDK's stream built from this resolved definition describes, or None
    for a definition this function does not read (then the CDK builds the streams)."""
    schema_loader = definition.get("schema_loader")
    cursor = definition.get("incremental_sync")
    if (
        definition.get("type") != "DeclarativeStream"
        or not isinstance(definition.get("name"), str)
        or definition.get("file_uploader")
        or not isinstance(schema_loader, Mapping)
        or schema_loader.get("type") != "InlineSchemaLoader"
        or (cursor and cursor.get("type") != "DatetimeBasedCursor")
    ):
        return None
    stream = AirbyteStream(
        name=definition["name"],
        json_schema=dict(schema_loader.get("schema") or {}),
        supported_sync_modes=[SyncMode.full_refresh],
        is_resumable=False,
        is_file_based=False,
    )
    if cursor:
        cursor_field = InterpolatedString.create(cursor["cursor_field"], parameters=cursor.get("$parameters") or {}).eval(config=config)
        stream.source_defined_cursor = not cursor.get("allow_catalog_defined_cursor_field")
        stream.is_resumable = True
        stream.supported_sync_modes.append(SyncMode.incremental)
        stream.default_cursor_field = [cursor_field]
    primary_key = get_primary_key_from_stream(definition.get("primary_key"))
    if primary_key:
        stream.source_defined_primary_key = [[key] for key in primary_key]
    return stream
