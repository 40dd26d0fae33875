#!/usr/bin/env python3
"""Stream schemas of source-intercom: derive them from Intercom's OpenAPI description and
copy them into the manifest.

Commands (run from anywhere; paths default to this repository):

  generate [--spec PATH] [--check]
      Write source_intercom/schemas/<stream>.json from Intercom's OpenAPI description (API
      version 2.11; upstream: github.com/intercom/Intercom-OpenAPI, descriptions/2.11/).
      With --check, write nothing and exit 1 if a committed file differs from the output.

  sync-manifest [--manifest PATH] [--check]
      Replace the generated `schemas:` section at the end of the manifest with the JSON
      files (the manifest-only runtime cannot read files beside the manifest). With --check,
      write nothing and exit 1 naming the streams whose section is out of date.

  validate [--spec PATH]
      Check every schema file with jsonschema's Draft7Validator and validate the OpenAPI
      description's example payloads against them (needs the `jsonschema` package).

How the OpenAPI schemas become stream schemas (see `Converter`):
  * `$ref`s are resolved inline; a `$ref` that re-enters itself (recursion) or nesting deeper
    than MAX_DEPTH becomes an open object.
  * allOf/oneOf/anyOf branches are merged into one permissive schema: union of the types,
    union of the object properties (merged recursively), merged array items.
  * Every object allows additional properties (Intercom adds fields without notice); maps
    without declared properties (custom attributes) become open objects.
  * Every property is nullable except the primary key; `enum`, `example`, `description`,
    `default`, `required` and `format` (other than `date-time` on strings) are dropped.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

Schema = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = REPO_ROOT / "source_intercom" / "schemas"
MANIFEST_PATH = REPO_ROOT / "source_intercom" / "manifest.yaml"
DEFAULT_SPEC = Path(os.environ.get("INTERCOM_OPENAPI_SPEC", "/work/shared/intercom-openapi/2.11.yaml"))

MANIFEST_MARKER = (
    "# Generated from source_intercom/schemas/*.json by tools/schemas.py sync-manifest; "
    "edit the JSON files, not this section."
)
MANIFEST_SECTION_KEY = "schemas"

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
MAX_DEPTH = 8  # nested object/array levels below a record before we stop describing
TYPE_ORDER = ("null", "string", "number", "integer", "boolean", "object", "array")

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
OPEN_OBJECT: Schema = {"type": "object"}


@dataclass(frozen=True)
class Stream:
    component: str  # components/schemas/<component> in the OpenAPI description
    primary_key: tuple[str, ...]
    description: str
    added: dict[str, Schema] = field(default_factory=dict)  # properties the connector adds
    dropped: tuple[str, ...] = ()  # properties the stream's endpoint does not return


STREAMS: dict[str, Stream] = {
    "activity_logs": Stream("activity_log", ("id",), "Admin activity log entry (GET /admins/activity_logs)."),
    "admins": Stream("admin", ("id",), "Admin (teammate) of the workspace (GET /admins)."),
    "companies": Stream("company", ("id",), "Company (GET /companies/scroll)."),
    "company_attributes": Stream(
        "data_attribute", ("full_name",), "Company data attribute (GET /data_attributes?model=company)."
    ),
    "company_segments": Stream(
        "segment",
        ("company_id", "id"),
        "Segment a company belongs to (GET /companies/{id}/segments), with the company's id and updated_at.",
        added={"company_id": STRING, "company_updated_at": INTEGER},
    ),
    "contact_attributes": Stream(
        "data_attribute", ("full_name",), "Contact data attribute (GET /data_attributes?model=contact)."
    ),
    "contacts": Stream("contact", ("id",), "Contact (user or lead) (POST /contacts/search)."),
    "conversation_parts": Stream(
        "conversation_part",
        ("id",),
        "Part of a conversation (GET /conversations/{id}), with its conversation's id and timestamps.",
        added={
            "conversation_id": STRING,
            "conversation_created_at": INTEGER,
            "conversation_updated_at": INTEGER,
        },
    ),
    "conversations": Stream(
        "conversation",
        ("id",),
        "Conversation as returned by POST /conversations/search (without its parts).",
        dropped=("conversation_parts",),
    ),
    "segments": Stream("segment", ("id",), "Segment of contacts (GET /segments?include_count=true)."),
    "tags": Stream("tag", ("id",), "Tag (GET /tags)."),
    "teams": Stream("team", ("id",), "Team of admins (GET /teams)."),
    "tickets": Stream("ticket", ("id",), "Ticket (POST /tickets/search)."),
}


# Corrections to the 2.11 description, applied before conversion. Each one is a place where
# the description contradicts its own examples or `required` lists.
def _fix_spec(components: dict[str, Any]) -> None:
    def props(name: str) -> dict[str, Any]:
        return cast(dict[str, Any], components[name]["properties"])

    # company.tags.tags: `items: {items: {$ref: tag}}` (an array of untyped arrays); the API
    # and the examples give a flat list of tag objects.
    company_tags = props("company")["tags"]["properties"]["tags"]
    if "items" in company_tags.get("items", {}):
        company_tags["items"] = company_tags["items"]["items"]
    # data_attribute: `description` is in `required` but missing from `properties`.
    props("data_attribute").setdefault("description", {"type": "string"})
    # conversation: `topics` is in `required` but undeclared; the examples also carry `ticket`.
    props("conversation").setdefault("topics", {"type": "object"})
    props("conversation").setdefault("ticket", {"type": "object"})
    # activity_log_metadata.auto_changed is declared a string, its example is `false`.
    props("activity_log_metadata")["auto_changed"] = {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
    # ticket_type_attribute.input_options is declared an object, its example is a string.
    props("ticket_type_attribute")["input_options"] = {"anyOf": [{"type": "object"}, {"type": "string"}]}
    # contact: the examples (GET /contacts/{id}) carry fields the schema does not declare.
    contact = props("contact")
    for name in ("referrer", "utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term"):
        contact.setdefault(name, {"type": "string"})
    for name in ("opted_in_subscription_types", "opted_out_subscription_types"):
        contact.setdefault(name, {"$ref": "#/components/schemas/contact_tags"})  # same list shape
    for name in ("continent_code", "country_code"):
        props("contact_location").setdefault(name, {"type": "string"})
    for name in ("contact_notes", "contact_social_profiles", "contact_tags"):
        props(name).setdefault("type", {"type": "string"})
    # ticket_type: the examples carry `is_internal`, and ticket_type_attributes as
    # {"type": "list", "data": [...]} instead of the declared {"ticket_type_attributes": [...]}.
    props("ticket_type").setdefault("is_internal", {"type": "boolean"})
    attribute_list = props("ticket_type_attribute_list")
    attribute_list.setdefault("data", copy.deepcopy(attribute_list["ticket_type_attributes"]))


# --------------------------------------------------------------------------------------------
# OpenAPI -> JSON Schema


def _types_of(schema: Schema) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _ordered_types(types: Iterable[str]) -> list[str]:
    unique = set(types)
    if "number" in unique:
        unique.discard("integer")  # an integer is a number
    return [t for t in TYPE_ORDER if t in unique] + sorted(unique - set(TYPE_ORDER))


def merge_schemas(schemas: list[Schema]) -> Schema:
    """One permissive schema accepting what any of `schemas` accepts (roughly: a union)."""
    if not schemas or any(not _types_of(s) for s in schemas):
        return {}  # a branch without a type accepts anything
    merged: Schema = {"type": _ordered_types(t for s in schemas for t in _types_of(s))}
    property_variants: dict[str, list[Schema]] = {}
    for schema in schemas:
        for name, sub in schema.get("properties", {}).items():
            property_variants.setdefault(name, []).append(sub)
    if property_variants:
        merged["properties"] = {name: merge_schemas(subs) for name, subs in property_variants.items()}
    items = [s["items"] for s in schemas if "items" in s]
    if items:
        merged["items"] = merge_schemas(items)
    if any(s.get("format") for s in schemas) and all(s.get("format") == "date-time" for s in schemas):
        merged["format"] = "date-time"
    return merged


class Converter:
    """Turns OpenAPI 3.0 schema objects into plain, self-contained JSON Schema fragments."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components

    def component(self, name: str) -> Schema:
        return self.convert({"$ref": f"#/components/schemas/{name}"}, refs=(), depth=0)

    def convert(self, node: Schema, refs: tuple[str, ...], depth: int) -> Schema:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in refs:
                return dict(OPEN_OBJECT)  # recursion: stop here
            target = {**self.components[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return self.convert(target, refs + (name,), depth)
        for combinator in ("allOf", "oneOf", "anyOf"):
            if combinator in node:
                rest = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf")}
                branches = [self.convert(b, refs, depth) for b in node[combinator]]
                if _types_of(rest) or "properties" in rest or "items" in rest:
                    branches.append(self.convert(rest, refs, depth))
                return merge_schemas(branches)

        declared = node.get("type")
        if declared is None:
            if "properties" in node or "additionalProperties" in node:
                declared = "object"
            elif "items" in node:
                declared = "array"
            else:
                return {}  # untyped: anything goes
        if declared in ("object", "array") and depth >= MAX_DEPTH:
            return dict(OPEN_OBJECT) if declared == "object" else {"type": "array"}

        result: Schema = {"type": declared}
        if declared == "object":
            properties = node.get("properties") or {}
            if properties:
                result["properties"] = {name: self.convert(sub, refs, depth + 1) for name, sub in properties.items()}
        elif declared == "array":
            result["items"] = self.convert(node["items"], refs, depth + 1) if node.get("items") else {}
        elif declared == "string" and node.get("format") == "date-time":
            result["format"] = "date-time"
        return result


def finalize(schema: Schema, non_null: bool = False) -> Schema:
    """Make every type nullable, every object open, and order keys the same way everywhere."""
    if not schema:
        return {}
    types = _types_of(schema)
    out: Schema = {}
    if non_null:
        out["type"] = types[0] if len(types) == 1 else types
    else:
        out["type"] = _ordered_types(["null", *types])
    if "format" in schema:
        out["format"] = schema["format"]
    if "object" in types:
        out["additionalProperties"] = True
        properties = schema.get("properties") or {}
        if properties:
            out["properties"] = {name: finalize(properties[name]) for name in sorted(properties)}
    if "array" in types:
        out["items"] = finalize(schema.get("items") or {})
    return out


def build_stream_schema(converter: Converter, stream: Stream) -> Schema:
    record = converter.component(stream.component)
    properties: dict[str, Schema] = dict(record.get("properties", {}))
    for name in stream.dropped:
        properties.pop(name, None)
    properties.update(copy.deepcopy(stream.added))
    missing = [key for key in stream.primary_key if key not in properties]
    if missing:
        raise ValueError(f"{stream.component}: primary key {missing} is not a property")
    return {
        "$schema": DRAFT_07,
        "description": f"{stream.description} Intercom API 2.11.",
        "type": "object",
        "required": list(stream.primary_key),
        "additionalProperties": True,
        "properties": {
            name: finalize(properties[name], non_null=name in stream.primary_key) for name in sorted(properties)
        },
    }


def load_spec(spec_path: Path) -> dict[str, Any]:
    with spec_path.open(encoding="utf-8") as handle:
        return cast(dict[str, Any], yaml.safe_load(handle))


def generate_schemas(spec_path: Path) -> dict[str, Schema]:
    components = copy.deepcopy(load_spec(spec_path)["components"]["schemas"])
    _fix_spec(components)
    converter = Converter(components)
    return {name: build_stream_schema(converter, STREAMS[name]) for name in sorted(STREAMS)}


def render_json(value: Any, indent: int = 0) -> str:
    """Pretty JSON, 2-space indent, with lists of scalars on one line (`"type": ["null", "x"]`)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict) and value:
        members = [f"{inner}{json.dumps(k)}: {render_json(v, indent + 1).strip()}" for k, v in value.items()]
        text = "{\n" + ",\n".join(members) + f"\n{pad}}}"
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        text = "[\n" + ",\n".join(inner + render_json(v, indent + 1).strip() for v in value) + f"\n{pad}]"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text + "\n" if indent == 0 else text


# --------------------------------------------------------------------------------------------
# Files and manifest


def load_schema_files(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, Schema]:
    """Every `<stream>.json` in the schemas directory, keyed by stream name, sorted."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(schemas_dir.glob("*.json"))}


def manifest_schemas(manifest_path: Path = MANIFEST_PATH) -> dict[str, Schema]:
    """The manifest's top-level `schemas:` section (empty if it has none)."""
    manifest = yaml.safe_load(Path(manifest_path).read_text(encoding="utf-8")) or {}
    return dict(manifest.get(MANIFEST_SECTION_KEY) or {})


def render_manifest_section(schemas: dict[str, Schema]) -> str:
    body = yaml.safe_dump(
        {MANIFEST_SECTION_KEY: {name: schemas[name] for name in sorted(schemas)}},
        sort_keys=False,
        default_flow_style=False,
        width=2**31 - 1,
        allow_unicode=True,
    )
    return f"{MANIFEST_MARKER}\n{body}"


def synced_manifest_text(manifest_text: str, schemas: dict[str, Schema]) -> str:
    """The manifest text with its generated section replaced (or appended)."""
    lines = manifest_text.splitlines(keepends=True)
    marker_at = next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == MANIFEST_MARKER), None)
    if marker_at is None:
        if any(line.rstrip() == f"{MANIFEST_SECTION_KEY}:" for line in lines):
            raise ValueError(
                f"the manifest has a top-level `{MANIFEST_SECTION_KEY}:` without the generated-section "
                "comment; remove it (or add the comment above it) and run sync-manifest again"
            )
        head = manifest_text if not manifest_text or manifest_text.endswith("\n") else manifest_text + "\n"
        head += "\n" if head.strip() else ""
    else:
        head = "".join(lines[:marker_at])
    return head + render_manifest_section(schemas)


def stale_streams(files: dict[str, Schema], in_manifest: dict[str, Schema]) -> list[str]:
    return sorted(name for name in set(files) | set(in_manifest) if files.get(name) != in_manifest.get(name))


# --------------------------------------------------------------------------------------------
# Validation against the OpenAPI examples


def _example_of(node: Any, components: dict[str, Any], refs: tuple[str, ...] = ()) -> Any:
    """An instance assembled from the `example` values of a component's properties."""
    if not isinstance(node, dict):
        return None
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return None if name in refs else _example_of(components[name], components, refs + (name,))
    if "example" in node:
        return node["example"]
    if node.get("properties"):
        built = {k: _example_of(v, components, refs) for k, v in node["properties"].items()}
        return {k: v for k, v in built.items() if v is not None}
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        item = _example_of(node["items"], components, refs)
        return [] if item is None else [item]
    return None


def _response_example_values(spec: dict[str, Any], method: str, path: str) -> Iterator[Any]:
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    for example in (content.get("examples") or {}).values():
        yield example["value"]
    if "example" in content:
        yield content["example"]


# responses declared as `conversation` whose examples are something else ({"customers": [...]})
MISLABELLED_RESPONSES = {
    ("post", "/conversations/{conversation_id}/customers"),
    ("delete", "/conversations/{conversation_id}/customers/{contact_id}"),
}


def _bodies_of(spec: dict[str, Any], component: str) -> Iterator[tuple[str, Schema]]:
    """Example bodies of every 200 response whose schema is exactly `component`."""
    target = f"#/components/schemas/{component}"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = (
                (operation.get("responses") or {}).get("200", {}).get("content", {}).get("application/json")
                if isinstance(operation, dict)
                else None
            )
            if (method, path) in MISLABELLED_RESPONSES:
                continue
            if content and content.get("schema", {}).get("$ref") == target:
                for body in _response_example_values(spec, method, path):
                    yield f"{method.upper()} {path}", body


# stream -> list endpoints (method, path, key of the record list) whose examples hold records
EXAMPLE_LISTS: dict[str, list[tuple[str, str, str]]] = {
    "activity_logs": [("get", "/admins/activity_logs", "activity_logs")],
    "admins": [("get", "/admins", "admins")],
    "companies": [("get", "/companies/scroll", "data"), ("get", "/companies", "data")],
    "company_attributes": [("get", "/data_attributes", "data")],
    "company_segments": [("get", "/companies/{company_id}/segments", "data")],
    "contact_attributes": [("get", "/data_attributes", "data")],
    "contacts": [("post", "/contacts/search", "data"), ("get", "/contacts", "data")],
    "conversations": [("post", "/conversations/search", "conversations")],
    "segments": [("get", "/segments", "segments")],
    "tags": [("get", "/tags", "data")],
    "teams": [("get", "/teams", "teams")],
    "tickets": [("post", "/tickets/search", "tickets")],
}
# values for the properties the connector adds, in records built from examples
ADDED_PLACEHOLDERS = {
    "company_id": "5f4d3c2b1a",
    "company_updated_at": 1719492800,
    "conversation_id": "1",
    "conversation_created_at": 1719492825,
    "conversation_updated_at": 1719492826,
}


def example_records(spec: dict[str, Any], stream_name: str) -> Iterator[tuple[str, Schema]]:
    """(origin, record) pairs from the description's examples for one stream."""
    stream = STREAMS[stream_name]
    components = spec["components"]["schemas"]
    found: list[tuple[str, Schema]] = []
    assembled = _example_of(components[stream.component], components, (stream.component,))
    if assembled:
        found.append((f"components/{stream.component} property examples", assembled))
    if stream_name == "conversation_parts":
        for origin, body in _bodies_of(spec, "conversation"):
            for part in (body.get("conversation_parts") or {}).get("conversation_parts", []):
                parent = {
                    "conversation_id": body["id"],
                    "conversation_created_at": body["created_at"],
                    "conversation_updated_at": body["updated_at"],
                }
                found.append((origin, {**part, **parent}))
    else:
        for method, path, key in EXAMPLE_LISTS.get(stream_name, []):
            for body in _response_example_values(spec, method, path):
                found.extend((f"{method.upper()} {path}", record) for record in body.get(key) or [])
        found.extend(_bodies_of(spec, stream.component))
    for origin, record in found:
        record = {k: v for k, v in record.items() if k not in stream.dropped}
        yield origin, {**{k: ADDED_PLACEHOLDERS[k] for k in stream.added}, **record}


def undeclared_fields(schema: Schema, instance: Any, where: str = "") -> Iterator[str]:
    """Paths of instance fields the schema does not declare (allowed, but worth a look)."""
    if isinstance(instance, dict) and "properties" in schema:
        for name, value in instance.items():
            sub = schema["properties"].get(name)
            if sub is None:
                yield f"{where}.{name}".lstrip(".")
            else:
                yield from undeclared_fields(sub, value, f"{where}.{name}")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            yield from undeclared_fields(schema["items"], item, f"{where}[]")


def validate(spec_path: Path) -> int:
    import jsonschema  # type: ignore[import-untyped]  # only needed here

    spec = load_spec(spec_path)
    files = load_schema_files()
    failures = 0
    for name in sorted(STREAMS):
        if name not in files:
            print(f"{name}: missing schema file", file=sys.stderr)
            failures += 1
            continue
        jsonschema.Draft7Validator.check_schema(files[name])
        validator = jsonschema.Draft7Validator(files[name])
        count, extra = 0, set[str]()
        for origin, record in example_records(spec, name):
            count += 1
            for error in validator.iter_errors(record):
                failures += 1
                print(f"{name}: {origin}: {'/'.join(map(str, error.absolute_path))}: {error.message}", file=sys.stderr)
            extra.update(undeclared_fields(files[name], record))
        note = f"; undeclared fields in examples: {', '.join(sorted(extra))}" if extra else ""
        print(f"{name}: schema ok, {count} example record(s) checked{note}")
    return 1 if failures else 0


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the schema files from the OpenAPI description")
    gen.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    gen.add_argument("--check", action="store_true", help="only report files that differ")
    sync = commands.add_parser("sync-manifest", help="copy the schema files into the manifest")
    sync.add_argument("--manifest", type=Path, default=MANIFEST_PATH)
    sync.add_argument("--check", action="store_true", help="only report streams out of date")
    val = commands.add_parser("validate", help="check schemas and the OpenAPI examples (needs jsonschema)")
    val.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    args = parser.parse_args(argv)

    if args.command == "generate":
        generated = generate_schemas(args.spec)
        differing = []
        for name, schema in generated.items():
            path = SCHEMAS_DIR / f"{name}.json"
            text = render_json(schema)
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            differing.append(name)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        unknown = sorted(set(load_schema_files()) - set(generated))
        if unknown:
            print(f"schema files without a stream in tools/schemas.py: {', '.join(unknown)}", file=sys.stderr)
        if args.check:
            if differing:
                print(f"schema files out of date (run generate): {', '.join(differing)}", file=sys.stderr)
                return 1
            return 0
        listing = f": {', '.join(differing)}" if differing else ""
        print(f"wrote {len(differing)} of {len(generated)} schema files{listing}")
        return 0

    if args.command == "sync-manifest":
        files = load_schema_files()
        if args.check:
            try:
                stale = stale_streams(files, manifest_schemas(args.manifest))
            except (OSError, yaml.YAMLError) as error:
                print(f"{args.manifest}: {error}", file=sys.stderr)
                return 2
            if stale:
                print(
                    f"{args.manifest}: `{MANIFEST_SECTION_KEY}:` out of date for: {', '.join(stale)} "
                    "(run: python3 tools/schemas.py sync-manifest)",
                    file=sys.stderr,
                )
                return 1
            return 0
        try:
            text = args.manifest.read_text(encoding="utf-8")
            updated = synced_manifest_text(text, files)
        except (OSError, ValueError) as error:
            print(f"{args.manifest}: {error}", file=sys.stderr)
            return 2
        if updated != text:
            args.manifest.write_text(updated, encoding="utf-8")
        print(f"{args.manifest}: {len(files)} stream schemas in sync")
        return 0

    return validate(args.spec)


if __name__ == "__main__":
    sys.exit(main())
