"""What is made from the manifest alone is kept beside it and read back (source_intercom/manifest_file.py):
the CDK sees the same manifest as when it resolves it itself, and an edited manifest, another CDK
or a directory that cannot be written makes it anew."""

from __future__ import annotations

import copy
import pkgutil
import pickle
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import yaml
from airbyte_cdk.sources.declarative import concurrent_declarative_source
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

from source_intercom import manifest_file, source
from source_intercom.manifest_file import derived, derived_file, load_manifest
from source_intercom.source import SourceIntercom


@pytest.fixture
def kept_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(manifest_file, "DERIVED_DIRECTORY", tmp_path / "__pycache__")
    return tmp_path / "__pycache__"


@pytest.fixture
def fresh_manifest() -> Iterator[None]:
    load_manifest.cache_clear()
    yield
    load_manifest.cache_clear()


class Maker:
    def __init__(self, value: Any) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> Any:
        self.calls += 1
        return copy.deepcopy(self.value)


def test_the_manifest_the_cdk_gets_resolved_is_the_one_it_resolves_itself() -> None:
    built = SourceIntercom(config={"access_token": "x", "start_date": "2020-01-01T00:00:00Z"})
    resolved_by_the_cdk = ConcurrentDeclarativeSource._pre_process_manifest(built, copy.deepcopy(dict(load_manifest())))
    kept = derived_file("resolved-manifest", source._resolution_inputs({**load_manifest()}))
    assert built.resolved_manifest == resolved_by_the_cdk == pickle.loads(kept.read_bytes())


def test_the_cdks_component_schema_is_the_one_its_function_parses_and_the_function_is_left_as_it_was() -> None:
    parse = concurrent_declarative_source.get_declarative_component_schema
    for _ in range(2):  # made, then read back
        built = SourceIntercom()
        assert built._declarative_component_schema == parse()
        assert concurrent_declarative_source.get_declarative_component_schema is parse
    assert derived_file("component-schema", [pkgutil.get_data(*source.COMPONENT_SCHEMA) or b""]).exists()


def test_the_parsed_manifest_is_the_yaml_parsed(kept_in: Path, fresh_manifest: None) -> None:
    parsed = yaml.safe_load(manifest_file.MANIFEST_PATH.read_text())
    assert load_manifest() == parsed
    load_manifest.cache_clear()
    assert load_manifest() == parsed and len(list(kept_in.glob("manifest.*.pickle"))) == 1


def test_an_edited_manifest_is_parsed_anew(kept_in: Path, fresh_manifest: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = tmp_path / "manifest.yaml"
    edited.write_text(manifest_file.MANIFEST_PATH.read_text())
    monkeypatch.setattr(manifest_file, "MANIFEST_PATH", edited)
    assert load_manifest()["version"] != "0.0.1"
    edited.write_text(edited.read_text().replace(f"version: {load_manifest()['version']}", "version: 0.0.1", 1))
    load_manifest.cache_clear()
    assert load_manifest()["version"] == "0.0.1"
    assert len(list(kept_in.glob("manifest.*.pickle"))) == 1  # the older one is removed


def test_what_was_made_is_read_back_and_other_inputs_make_it_anew(kept_in: Path) -> None:
    make = Maker({"streams": [{"name": "admins", "primary_key": ["id"], "page_size": 1.5, "incremental": None, "on": True}]})
    assert derived("thing", [b"a", b"b"], make) == make.value and make.calls == 1
    assert derived("thing", [b"a", b"b"], make) == make.value and make.calls == 1
    assert derived("thing", [b"ab"], make) == make.value and make.calls == 2  # not the same inputs as a, b
    assert derived("thing", [b"a", b"c"], make) == make.value and make.calls == 3


def test_a_directory_that_cannot_be_written_makes_it_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(manifest_file, "DERIVED_DIRECTORY", tmp_path / "file" / "__pycache__")
    make = Maker({"a": [1]})
    assert [derived("thing", [b"x"], make) for _ in range(2)] == [{"a": [1]}] * 2 and make.calls == 2


def test_what_pickle_cannot_write_is_made_each_time_and_a_damaged_file_is_made_anew(kept_in: Path) -> None:
    calls = []

    def unpicklable() -> Any:
        calls.append(1)
        return {"check": lambda: None}

    assert [sorted(derived("unpicklable", [b"x"], unpicklable)) for _ in range(2)] == [["check"]] * 2 and len(calls) == 2
    make = Maker({"a": 1})
    derived("thing", [b"x"], make)
    path = derived_file("thing", [b"x"])
    path.write_bytes(pickle.dumps({"a": 1})[:-3])
    assert derived("thing", [b"x"], make) == {"a": 1} and make.calls == 2
    assert pickle.loads(path.read_bytes()) == {"a": 1}


def test_another_cdk_resolves_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    import airbyte_cdk

    before: List[bytes] = source._resolution_inputs(load_manifest())
    monkeypatch.setattr(airbyte_cdk, "__version__", "0.0.0+another")
    assert derived_file("resolved-manifest", source._resolution_inputs(load_manifest())) != derived_file("resolved-manifest", before)


def test_another_manifest_is_resolved_anew(kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = copy.deepcopy(dict(load_manifest()))
    edited["check"]["stream_names"] = ["teams"]
    monkeypatch.setattr(source, "load_manifest", lambda: edited)
    built = SourceIntercom(config={"access_token": "x", "start_date": "2020-01-01T00:00:00Z"})
    assert built.resolved_manifest["check"]["stream_names"] == ["teams"]
