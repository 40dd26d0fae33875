"""The record filter of the readings and substreams: a record is kept when its cursor value lies in
the stream's slice (both bounds included), or from the slice's start on for substreams; a record
without a cursor value is kept."""

from __future__ import annotations

from typing import Any, List, Mapping

import pytest

from source_intercom.components import CursorInSliceFilter
from source_intercom.manifest_file import load_manifest

from airbyte_cdk.sources.types import StreamSlice

SLICE = StreamSlice(partition={}, cursor_slice={"start_time": "100", "end_time": "200"})
RECORDS = [{"id": n, "updated_at": t} for n, t in enumerate([99, 100, 150, 200, 201])] + [{"id": 5}, {"id": 6, "updated_at": None}]


def kept(bounds: str, records: List[Mapping[str, Any]], parameters: Mapping[str, Any] = {}) -> List[Any]:
    record_filter = CursorInSliceFilter(parameters=parameters, config={}, bounds=bounds)
    return [record["id"] for record in record_filter.filter_records(records, {}, SLICE)]


def test_a_reading_keeps_records_from_the_slice_start_to_its_end_both_included() -> None:
    assert kept("start_and_end", RECORDS) == [1, 2, 3, 5, 6]


def test_a_substream_keeps_every_record_from_the_slice_start_on() -> None:
    assert kept("start", RECORDS) == [1, 2, 3, 4, 5, 6]


def test_the_cursor_field_comes_from_the_streams_parameters() -> None:
    rows = [{"id": "a", "company_updated_at": 50, "updated_at": 150}, {"id": "b", "company_updated_at": 150, "updated_at": 50}]
    assert kept("start", rows, {"record_cursor_field": "company_updated_at"}) == ["b"]


def test_a_slice_without_bounds_keeps_everything() -> None:
    record_filter = CursorInSliceFilter(parameters={}, config={})
    assert len(list(record_filter.filter_records(RECORDS, {}, StreamSlice(partition={}, cursor_slice={})))) == len(RECORDS)


def test_an_unknown_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="bounds"):
        CursorInSliceFilter(parameters={}, config={}, bounds="end")


def test_the_manifest_uses_the_python_filter_for_both_filters() -> None:
    definitions = load_manifest()["definitions"]
    assert definitions["within_slice_filter"]["class_name"].endswith(".CursorInSliceFilter")
    assert definitions["within_slice_filter"]["bounds"] == "start_and_end"
    assert definitions["substream_since_slice_start_filter"]["bounds"] == "start"
