"""The committed stream schemas (source_intercom/schemas/*.json) and the converter that writes them.

These run without Intercom's OpenAPI description (it is not in the repository): the file checks
read only the committed JSON files, and the converter checks feed it small hand-written specs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
import schemas  # noqa: E402  (tools/schemas.py)

from source_intercom.stream_facts import stream_facts  # noqa: E402

SCHEMA_FILES = schemas.load_schema_files()

# Share of nested properties (below a record's top level, through objects and arrays' items)
# that must carry a description. The generator gives one to 842 of 869 (96.9%) across all
# files; the rest are properties the OpenAPI description itself leaves empty ("" on the
# `reference` object's type and id, on ticket_parts' type and total_count, ...). The lowest
# share in a file with at least 10 nested properties is companies' 17 of 21 (81%). The
# thresholds leave room for upstream changes and still fail when descriptions stop flowing
# through nesting, `$ref`s or merges (then the share drops far below them).
MIN_NESTED_DESCRIBED = 0.90
MIN_NESTED_DESCRIBED_PER_FILE = 0.75
PER_FILE_MIN_NESTED = 10


def nested_properties(properties: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema) of every property below the given ones, through objects and arrays' items."""
    for name, schema in properties.items():
        for inner in _object_schemas(schema):
            for sub_name, sub in inner.get("properties", {}).items():
                path = f"{where}{name}.{sub_name}"
                yield path, sub
                yield from nested_properties({sub_name: sub}, f"{where}{name}.")


def _object_schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema itself and its arrays' items (at any depth): the ones that may hold properties."""
    while isinstance(schema, dict):
        yield schema
        schema = schema.get("items")  # type: ignore[assignment]


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def test_every_stream_has_a_schema_file_and_every_file_a_stream() -> None:
    assert sorted(SCHEMA_FILES) == sorted(schemas.STREAMS)
    assert sorted(SCHEMA_FILES) == sorted(stream_facts()), "the manifest's streams and the schema files differ"


@pytest.mark.parametrize("stream", sorted(SCHEMA_FILES))
def test_schema_file_is_a_valid_draft_7_schema(stream: str) -> None:
    schema = SCHEMA_FILES[stream]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("stream", sorted(SCHEMA_FILES))
def test_every_top_level_property_says_what_it_holds(stream: str) -> None:
    schema = SCHEMA_FILES[stream]
    assert schema["description"].strip()
    undescribed = [
        name
        for name, sub in schema["properties"].items()
        if not isinstance(sub.get("description"), str) or not sub["description"].strip()
    ]
    assert undescribed == []


@pytest.mark.parametrize("stream", sorted(SCHEMA_FILES))
def test_descriptions_carry_no_trailing_whitespace(stream: str) -> None:
    properties = SCHEMA_FILES[stream]["properties"]
    everything = [*properties.items(), *nested_properties(properties)]
    padded = [path for path, sub in everything if sub.get("description", "") != sub.get("description", "").rstrip()]
    assert padded == []


@pytest.mark.parametrize("stream", sorted(SCHEMA_FILES))
def test_primary_key_properties_are_required_and_never_null(stream: str) -> None:
    schema = SCHEMA_FILES[stream]
    primary_key = list(schemas.STREAMS[stream].primary_key)
    assert schema["required"] == primary_key
    for key in primary_key:
        types = _types(schema["properties"][key])
        assert len(types) == 1 and types != ["null"], f"{key}: {types}"
    # a record without its key, or with a null one, is rejected
    validator = jsonschema.Draft7Validator(schema)
    record = {key: ("1" if _types(schema["properties"][key]) == ["string"] else 1) for key in primary_key}
    assert not list(validator.iter_errors(record))
    for key in primary_key:
        assert list(validator.iter_errors({**record, key: None}))
        assert list(validator.iter_errors({k: v for k, v in record.items() if k != key}))


def test_most_nested_properties_carry_a_description() -> None:
    described = total = 0
    thin_files = {}
    for stream, schema in SCHEMA_FILES.items():
        nested = [sub for _, sub in nested_properties(schema["properties"])]
        with_text = sum(1 for sub in nested if str(sub.get("description", "")).strip())
        described, total = described + with_text, total + len(nested)
        if len(nested) >= PER_FILE_MIN_NESTED and with_text < MIN_NESTED_DESCRIBED_PER_FILE * len(nested):
            thin_files[stream] = f"{with_text} of {len(nested)}"
    assert total > 0
    assert described >= MIN_NESTED_DESCRIBED * total, f"{described} of {total} nested properties described"
    assert thin_files == {}


# --------------------------------------------------------------------------------------------
# The converter, on small hand-written OpenAPI components


def convert(components: dict[str, Any], name: str) -> dict[str, Any]:
    return schemas.finalize(schemas.Converter(components).component(name))


def test_a_properties_own_description_wins_over_the_one_of_the_component_it_refers_to() -> None:
    components = {
        "record": {
            "type": "object",
            "properties": {
                "owner": {"$ref": "#/components/schemas/person", "description": "Who owns the record."},
                "author": {"$ref": "#/components/schemas/person"},
                "editor": {"$ref": "#/components/schemas/person", "description": ""},
            },
        },
        "person": {
            "type": "object",
            "description": "A person.",
            "properties": {"name": {"type": "string", "description": "The person's name.  \n"}},
        },
    }
    record = convert(components, "record")["properties"]
    assert record["owner"]["description"] == "Who owns the record."
    assert record["author"]["description"] == "A person."
    assert record["editor"]["description"] == "A person."  # an empty description is no description
    assert record["author"]["properties"]["name"]["description"] == "The person's name."


def test_merged_branches_keep_the_first_non_empty_description() -> None:
    components = {
        "record": {
            "type": "object",
            "properties": {
                "value": {"anyOf": [{"type": "string", "description": ""}, {"type": "integer", "description": "B."}]},
                "named": {"description": "Own.", "oneOf": [{"type": "string", "description": "Branch."}]},
                "untyped": {"allOf": [{"description": "Anything."}]},
            },
        }
    }
    record = convert(components, "record")["properties"]
    assert record["value"] == {"description": "B.", "type": ["null", "string", "integer"]}
    assert record["named"]["description"] == "Own."
    assert record["untyped"] == {"description": "Anything."}


def test_array_items_and_their_properties_keep_their_descriptions() -> None:
    components = {
        "record": {
            "type": "object",
            "properties": {
                "labels": {
                    "type": "array",
                    "description": "Labels.",
                    "items": {
                        "type": "object",
                        "description": "A label.",
                        "properties": {"text": {"type": "string", "description": "Its text."}},
                    },
                }
            },
        }
    }
    labels = convert(components, "record")["properties"]["labels"]
    assert labels["description"] == "Labels."
    assert labels["items"]["description"] == "A label."
    assert labels["items"]["properties"]["text"]["description"] == "Its text."


def test_generate_without_the_openapi_description_says_where_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in schemas.SPEC_OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    assert schemas.main(["generate", "--check"]) == 2
    error = capsys.readouterr().err
    assert "github.com/intercom/Intercom-OpenAPI" in error
    assert "descriptions/2.11/api.intercom.io.yaml" in error and "--spec" in error
    assert "descriptions/2.16/api.intercom.io.yaml" in error and "--spec-2.16" in error
