"""The reporting datasets' streams resolved with their mapped fields set directly
(source_intercom/dynamic_streams.py): the same definitions as the CDK's own resolution, and
DirectPaths.set does what dpath.set does."""

from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List

import dpath
import pytest
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.declarative.resolvers import http_components_resolver

from intercom_emulator import Workspace, running_emulator
from source_intercom import components
from source_intercom.dynamic_streams import DirectPaths, mapped_fields_set_directly
from source_intercom.source import SourceIntercom

TOKEN = "tok-dynamic"
TEMPLATE: Dict[str, Any] = {
    "name": "",
    "primary_key": [],
    "$parameters": {"dataset_id": "", "time_attribute": ""},
    "schema_loader": {"schema": {"properties": {}}, "other": {}},
    "retriever": {"requesters": [{"body": {"ids": []}}], "a*b": 1},
}


@pytest.mark.parametrize("path", [
    ["name"], ["primary_key"], ["$parameters", "dataset_id"], ["schema_loader", "schema", "properties"],
    ["schema_loader", "missing", "properties"], ["schema_loader", "other", "properties"], ["missing"], ["retriever", "requesters", "0", "body", "ids"],
    ["retriever", "requesters", "*", "body", "ids"], ["retriever", "a*b"], ["$parameters", "*"], ["name", "deeper"],
], ids=str)
def test_direct_paths_set_what_dpath_sets(path: List[str]) -> None:
    by_dpath, directly = copy.deepcopy(TEMPLATE), copy.deepcopy(TEMPLATE)
    value = {"new": ["value"]}
    assert DirectPaths().set(directly, path, value) == dpath.set(by_dpath, path, value)
    assert directly == by_dpath


def test_the_streams_resolved_are_the_ones_the_cdk_resolves(workspace: Workspace) -> None:
    with running_emulator(workspace, token=TOKEN, reporting_scope=True) as server:
        source = SourceIntercom(config={"access_token": TOKEN, "start_date": "2024-01-01T00:00:00Z", "base_url": server.url})
        resolved, by_the_cdk = source.dynamic_streams, ConcurrentDeclarativeSource.dynamic_streams.fget(source)  # type: ignore[attr-defined]
    assert len(resolved) >= 3 and [stream["name"] for stream in resolved] == [stream["name"] for stream in by_the_cdk]
    assert resolved == by_the_cdk
    assert http_components_resolver.dpath is dpath  # as it was


def test_without_dpath_in_the_resolver_the_cdk_sets_its_own_way(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())
    monkeypatch.delattr(http_components_resolver, "dpath")
    with caplog.at_level(logging.WARNING, logger="airbyte"), mapped_fields_set_directly():
        assert not hasattr(http_components_resolver, "dpath")
    assert [r.getMessage() for r in caplog.records if "mapped fields set directly" in r.getMessage()]
