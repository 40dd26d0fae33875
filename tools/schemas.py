#!/usr/bin/env python3
"""Stream schemas of source-intercom: derive them from Intercom's OpenAPI descriptions and
copy them into the manifest.

Commands (run from anywhere; schema files and manifest default to this repository):

  generate --spec PATH --spec-2.16 PATH [--check]
      Write source_intercom/schemas/<stream>.json from Intercom's OpenAPI descriptions: most
      streams from API 2.11, the streams whose endpoint is newer (deleted_conversations, calls, ticket_states) from
      API 2.16. With --check, write nothing and exit 1 if a committed file differs from the
      output.

  sync-manifest [--manifest PATH] [--check]
      Replace the generated `schemas:` section at the end of the manifest with the JSON
      files (the manifest-only runtime cannot read files beside the manifest). With --check,
      write nothing and exit 1 naming the streams whose section is out of date.

  validate --spec PATH --spec-2.16 PATH
      Check every schema file with jsonschema's Draft7Validator and validate the OpenAPI
      descriptions' example payloads against them (needs the `jsonschema` package).

The OpenAPI descriptions are not part of this repository. Get them from
https://github.com/intercom/Intercom-OpenAPI: descriptions/2.11/api.intercom.io.yaml and
descriptions/2.16/api.intercom.io.yaml. Instead of --spec and --spec-2.16 you can set
INTERCOM_OPENAPI_SPEC and INTERCOM_OPENAPI_SPEC_2_16; a file whose `info.version` is not the
expected one is refused.

How the OpenAPI schemas become stream schemas (see `Converter`):
  * `$ref`s are resolved inline; a `$ref` that re-enters itself (recursion) or nesting deeper
    than MAX_DEPTH becomes an open object.
  * allOf/oneOf/anyOf branches are merged into one permissive schema: union of the types,
    union of the object properties (merged recursively), merged array items.
  * Every object allows additional properties (Intercom adds fields without notice); maps
    without declared properties (custom attributes) become open objects.
  * Every property is nullable except the primary key; `enum`, `example`, `default`,
    `required` and `format` (other than `date-time` on strings) are dropped.
  * Every property keeps its `description` (trailing whitespace stripped): a property's own
    description wins over the one of the component it refers to, and merged branches keep
    the first non-empty one. Top-level properties the description leaves undescribed get one
    from TOP_LEVEL_DESCRIPTIONS; properties the connector adds carry their own.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

Schema = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = REPO_ROOT / "source_intercom" / "schemas"
MANIFEST_PATH = REPO_ROOT / "source_intercom" / "manifest.yaml"

MANIFEST_MARKER = (
    "# Generated from source_intercom/schemas/*.json by tools/schemas.py sync-manifest; "
    "edit the JSON files, not this section."
)
MANIFEST_SECTION_KEY = "schemas"

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
MAX_DEPTH = 8  # nested object/array levels below a record before we stop describing
TYPE_ORDER = ("null", "string", "number", "integer", "boolean", "object", "array")
OPEN_OBJECT: Schema = {"type": "object"}

OPENAPI_REPOSITORY = "https://github.com/intercom/Intercom-OpenAPI"
BASE_VERSION = "2.11"


@dataclass(frozen=True)
class SpecOption:
    """Where the command line takes the OpenAPI description of one API version from."""

    version: str
    flag: str
    env: str

    @property
    def dest(self) -> str:
        return "spec_" + self.version.replace(".", "_")

    @property
    def upstream_path(self) -> str:
        return f"descriptions/{self.version}/api.intercom.io.yaml"


SPEC_OPTIONS: tuple[SpecOption, ...] = (
    SpecOption(BASE_VERSION, "--spec", "INTERCOM_OPENAPI_SPEC"),
    SpecOption("2.16", "--spec-2.16", "INTERCOM_OPENAPI_SPEC_2_16"),
)


def property_of(json_type: str, description: str) -> Schema:
    """A property schema with its type and description."""
    return {"type": json_type, "description": description}


@dataclass(frozen=True)
class Stream:
    component: str  # components/schemas/<component> in the OpenAPI description ("" for rows the connector builds)
    primary_key: tuple[str, ...]
    description: str
    added: dict[str, Schema] = field(default_factory=dict)  # properties the connector adds
    dropped: tuple[str, ...] = ()  # properties the stream's endpoint does not return
    api_version: str = BASE_VERSION  # the OpenAPI description the component is read from


def list_row(owner: str, item: str, stream: str) -> dict[str, Schema]:
    """The columns of a relationship row, one item of a list its owner embeds: the owner's id, the
    item's id, the owner's updated_at."""
    return {
        f"{owner}_id": property_of("string", f"The id of the {owner}."),
        "id": property_of("string", f"The id of the {item} (its record is in the {stream} stream)."),
        f"{owner}_updated_at": property_of(
            "integer", f"The time the {owner} was last updated, in seconds since the Unix epoch: the rows of a {owner}'s "
            f"current list are those with its latest {owner}_updated_at."
        ),
    }


CONVERSATION_PARENT_FIELDS: dict[str, Schema] = {
    "conversation_id": property_of("string", "The id of the conversation this part belongs to."),
    "conversation_created_at": property_of(
        "integer", "The time the part's conversation was created, in seconds since the Unix epoch."
    ),
    "conversation_updated_at": property_of(
        "integer", "The time the part's conversation was last updated, in seconds since the Unix epoch."
    ),
}
TICKET_PARENT_FIELDS: dict[str, Schema] = {
    "ticket_id": property_of("string", "The id of the ticket this part belongs to."),
    "ticket_created_at": property_of("integer", "The time the part's ticket was created, in seconds since the Unix epoch."),
    "ticket_updated_at": property_of(
        "integer", "The time the part's ticket was last updated, in seconds since the Unix epoch."
    ),
}

STREAMS: dict[str, Stream] = {
    "activity_logs": Stream("activity_log", ("id",), "Admin activity log entry (GET /admins/activity_logs)."),
    "admins": Stream("admin", ("id",), "Admin (teammate) of the workspace (GET /admins)."),
    "articles": Stream("article_list_item", ("id",), "Help center article (GET /articles)."),
    "calls": Stream("call", ("id",), "Phone call (GET /calls).", api_version="2.16"),
    "companies": Stream("company", ("id",), "Company (GET /companies/scroll)."),
    "company_attributes": Stream(
        "data_attribute", ("full_name",), "Company data attribute (GET /data_attributes?model=company)."
    ),
    "company_segments": Stream(
        "segment",
        ("company_id", "id"),
        "Segment a company belongs to (GET /companies/{id}/segments), with the company's id and updated_at.",
        added={
            "company_id": property_of(
                "string",
                "The Intercom id of the company in this segment (the company's `id`, not the "
                "`company_id` your systems gave it).",
            ),
            "company_updated_at": property_of(
                "integer",
                "The time the company was last updated, in seconds since the Unix epoch.",
            ),
        },
    ),
    "contact_attributes": Stream(
        "data_attribute", ("full_name",), "Contact data attribute (GET /data_attributes?model=contact)."
    ),
    "contacts": Stream("contact", ("id",), "Contact (user or lead) (POST /contacts/search)."),
    "conversation_attributes": Stream(
        "data_attribute", ("full_name",), "Conversation data attribute (GET /data_attributes?model=conversation)."
    ),
    "conversation_parts": Stream(
        "conversation_part",
        ("id",),
        "Part of a conversation (GET /conversations/{id}), with its conversation's id and timestamps.",
        added=CONVERSATION_PARENT_FIELDS,
    ),
    "conversations": Stream(
        "conversation",
        ("id",),
        "Conversation as returned by POST /conversations/search (without its parts).",
        dropped=("conversation_parts",),
    ),
    "deleted_conversations": Stream(
        "deleted_conversation_item",
        ("id",),
        "Deleted conversation: its id, when it was deleted and whether its metrics were kept "
        "(GET /conversations/deleted).",
        api_version="2.16",
    ),
    "help_center_collections": Stream("collection", ("id",), "Help center collection (GET /help_center/collections)."),
    "help_centers": Stream("help_center", ("id",), "Help center (GET /help_center/help_centers)."),
    "news_items": Stream("news_item", ("id",), "News item (GET /news/news_items)."),
    "newsfeeds": Stream("newsfeed", ("id",), "Newsfeed (GET /news/newsfeeds)."),
    "segments": Stream("segment", ("id",), "Segment of contacts (GET /segments?include_count=true)."),
    "subscription_types": Stream("subscription_type", ("id",), "Subscription type (GET /subscription_types)."),
    "tags": Stream("tag", ("id",), "Tag (GET /tags)."),
    "teams": Stream("team", ("id",), "Team of admins (GET /teams)."),
    "team_admins": Stream(
        "",
        ("team_id", "id"),
        "An admin of a team: one row per id in the team's admin_ids (GET /teams).",
        added={
            "team_id": property_of("string", "The id of the team."),
            "id": property_of("string", "The id of the admin (its record is in the admins stream)."),
        },
    ),
    "ticket_parts": Stream(
        "ticket_part",
        ("id",),
        "Part of a ticket (the ticket_parts of POST /tickets/search and GET /tickets/{id}), with its "
        "ticket's id and timestamps.",
        added=TICKET_PARENT_FIELDS,
    ),
    "ticket_states": Stream(
        "ticket_state_detailed", ("id",), "Ticket state with its ticket types (GET /ticket_states).", api_version="2.16"
    ),
    "ticket_types": Stream("ticket_type", ("id",), "Ticket type with its attributes (GET /ticket_types)."),
    "tickets": Stream(
        "ticket",
        ("id",),
        "Ticket (POST /tickets/search), without its parts (they are the ticket_parts stream).",
        dropped=("ticket_parts",),
    ),
    "contact_tags": Stream(
        "",
        ("contact_id", "id"),
        "A tag of a contact: one row per tag in the contact's whole tags list (POST /contacts/search, "
        "GET /contacts/{id}/tags beyond the 10 tags Intercom embeds).",
        added=list_row("contact", "tag", "tags"),
    ),
    "contact_companies": Stream(
        "",
        ("contact_id", "id"),
        "A company of a contact: one row per company in the contact's whole companies list (POST "
        "/contacts/search, GET /contacts/{id}/companies beyond the 10 companies Intercom embeds).",
        added=list_row("contact", "company", "companies"),
    ),
    "company_tags": Stream(
        "",
        ("company_id", "id"),
        "A tag of a company: one row per tag in the tags list the company embeds (GET /companies/scroll).",
        added=list_row("company", "tag", "tags"),
    ),
    "conversation_tags": Stream(
        "",
        ("conversation_id", "id"),
        "A tag of a conversation: one row per tag in the tags list the conversation embeds (POST /conversations/search).",
        added=list_row("conversation", "tag", "tags"),
    ),
    "conversation_contacts": Stream(
        "",
        ("conversation_id", "id"),
        "A contact (user or lead) of a conversation: one row per contact in the contacts list the conversation "
        "embeds, its customer and any added to a group conversation (POST /conversations/search).",
        added=list_row("conversation", "contact", "contacts"),
    ),
    "conversation_teammates": Stream(
        "",
        ("conversation_id", "id"),
        "A teammate of a conversation: one row per admin in the teammates list the conversation embeds, the "
        "teammates who wrote at least one of its parts (POST /conversations/search).",
        added=list_row("conversation", "admin", "admins"),
    ),
    "ticket_contacts": Stream(
        "",
        ("ticket_id", "id"),
        "A contact of a ticket: one row per contact in the contacts list the ticket embeds, the contacts it "
        "concerns (POST /tickets/search).",
        added=list_row("ticket", "contact", "contacts"),
    ),
}

# Descriptions of top-level properties that the OpenAPI description leaves without one,
# by component (a stream schema's every top-level property must say what it holds).
TOP_LEVEL_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "activity_log": {
        "activity_type": "The kind of activity the admin performed, e.g. `admin_login_success` or `app_name_change`.",
    },
    "company": {"plan": "The plan (level of your product) the company has signed up to: its id and name."},
    "contact": {"avatar": "The contact's avatar: the URL of its image."},
}


# Corrections to the 2.11 description, applied before conversion (and before `validate` reads
# the component examples). Each one is a place where the description contradicts its own
# examples, its `required` lists or the field it describes. Properties added here carry a
# description written here.
def _fix_spec(components: dict[str, Any]) -> None:
    def props(name: str) -> dict[str, Any]:
        return cast(dict[str, Any], components[name]["properties"])

    # company.tags.tags: `items: {items: {$ref: tag}}` (an array of untyped arrays); the API
    # and the examples give a flat list of tag objects.
    company_tags = props("company")["tags"]["properties"]["tags"]
    if "items" in company_tags.get("items", {}):
        company_tags["items"] = company_tags["items"]["items"]
    # data_attribute: `description` is in `required` but missing from `properties`.
    props("data_attribute").setdefault("description", property_of("string", "Readable description of the attribute."))
    # conversation: `topics` is in `required` but undeclared; the examples also carry `ticket`.
    props("conversation").setdefault(
        "topics", property_of("object", "The topics the conversation has been assigned (Conversation Topics).")
    )
    props("conversation").setdefault("ticket", property_of("object", "The ticket linked to the conversation, if any."))
    # activity_log_metadata.auto_changed is declared a string, its example is `false`.
    auto_changed = props("activity_log_metadata")["auto_changed"]
    auto_changed.update(anyOf=[{"type": "string"}, {"type": "boolean"}])
    auto_changed.pop("type", None)
    _fix_input_options(components)
    # contact: the examples (GET /contacts/{id}) carry fields the schema does not declare.
    contact = props("contact")
    contact.setdefault("referrer", property_of("string", "The URL that referred the contact to your site, if known."))
    for name in ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term"):
        described = property_of("string", f"The {name} parameter of the URL the contact arrived with, if known.")
        contact.setdefault(name, described)
    for name, what in (
        ("opted_in_subscription_types", "opted in to"),
        ("opted_out_subscription_types", "opted out of"),
    ):
        contact.setdefault(  # same list shape as contact_tags
            name,
            {
                "$ref": "#/components/schemas/contact_tags",
                "description": f"The subscription types the contact has {what} (a list of references with a URL).",
            },
        )
    location = props("contact_location")
    location.setdefault("continent_code", property_of("string", "The code of the contact's continent."))
    location.setdefault("country_code", property_of("string", "The code of the contact's country."))
    for name in ("contact_notes", "contact_social_profiles", "contact_tags"):
        props(name).setdefault("type", property_of("string", "The type of the object: `list`."))
    # ticket_type: the examples carry `is_internal`, and ticket_type_attributes as
    # {"type": "list", "data": [...]} instead of the declared {"ticket_type_attributes": [...]}
    # (the 2.16 description declares `data`).
    props("ticket_type").setdefault(
        "is_internal",
        property_of("boolean", "Whether tickets of this type are for internal use only (not shared with customers)."),
    )
    attribute_list = props("ticket_type_attribute_list")
    attribute_list.setdefault("data", copy.deepcopy(attribute_list["ticket_type_attributes"]))
    # Descriptions copied from another field (still so in 2.16), and data_attribute.model, which
    # leaves out the `conversation` model that GET /data_attributes?model=conversation returns.
    props("admin")["team_ids"]["description"] = "The ids of the teams the admin belongs to."
    collection = props("collection")
    collection["created_at"]["description"] = "The time when the collection was created (seconds)."
    collection["updated_at"]["description"] = "The time when the collection was last updated (seconds)."
    props("data_attribute")["model"]["description"] = (
        "Value is `contact` for user/lead attributes, `company` for company attributes and "
        "`conversation` for conversation attributes."
    )
    # Integer properties whose `example` is a quoted number; the response examples (GET /articles,
    # GET /help_center/collections) carry numbers, so the type stands and the example is fixed.
    # This only changes what `validate` checks.
    for component, name in (
        ("article_list_item", "author_id"),
        ("article_list_item", "parent_id"),
        ("article_content", "author_id"),
        ("collection", "help_center_id"),
        ("collection", "order"),
    ):
        prop = props(component)[name]
        if isinstance(prop.get("example"), str):
            prop["example"] = int(prop["example"])
    # Translated content is a map from locale code to the same content object, declared as some
    # 40 locale properties of that one shape: described whole, it would triple the manifest (which
    # every process of the connector parses). It stays an open object, with its description.
    for name in ("article_translated_content", "group_translated_content"):
        components[name] = {key: value for key, value in components[name].items() if key in ("title", "type", "description")}


def _fix_input_options(components: dict[str, Any]) -> None:
    """ticket_type_attribute.input_options is declared an object, its example is a string (2.11, 2.16)."""
    input_options = components["ticket_type_attribute"]["properties"]["input_options"]
    input_options.update(anyOf=[{"type": "object"}, {"type": "string"}])
    input_options.pop("type", None)


CALL_TIMES = {
    "initiated_at": "The time the call was initiated",
    "answered_at": "The time the call was answered, if it was",
    "ended_at": "The time the call ended",
    "created_at": "The time the call was created",
    "updated_at": "The time the call was last updated",
}


# Corrections to the 2.16 description. call: its times are `datetime` (an ISO 8601 string or unix
# seconds), but the endpoint's examples give unix seconds, as every other Intercom object does, and
# `updated_at` is the stream's cursor in unix seconds: a column of one type in the warehouse.
def _fix_spec_2_16(components: dict[str, Any]) -> None:
    _fix_input_options(components)
    properties = components["call"]["properties"]
    for name, description in CALL_TIMES.items():
        properties[name] = property_of("integer", f"{description}, in seconds since the Unix epoch.")


SPEC_FIXES: dict[str, Callable[[dict[str, Any]], None]] = {BASE_VERSION: _fix_spec, "2.16": _fix_spec_2_16}


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


def _text(value: Any) -> str:
    """A description as kept in the stream schemas: trailing whitespace stripped ("" if none)."""
    return value.rstrip() if isinstance(value, str) else ""


def first_description(candidates: Iterable[Any]) -> str:
    """The first non-empty description among `candidates` ("" if none)."""
    return next((text for text in map(_text, candidates) if text), "")


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description} if description else schema


def merge_schemas(schemas: list[Schema]) -> Schema:
    """One permissive schema accepting what any of `schemas` accepts (roughly: a union)."""
    description = first_description(s.get("description") for s in schemas)
    if not schemas or any(not _types_of(s) for s in schemas):
        return _described({}, description)  # a branch without a type accepts anything
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
    return _described(merged, description)


class Converter:
    """Turns OpenAPI 3.0 schema objects into plain, self-contained JSON Schema fragments."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components

    def component(self, name: str) -> Schema:
        return self.convert({"$ref": f"#/components/schemas/{name}"}, refs=(), depth=0)

    def convert(self, node: Schema, refs: tuple[str, ...], depth: int) -> Schema:
        if "$ref" in node:
            return self._convert_ref(node, refs, depth)
        description = _text(node.get("description"))
        for combinator in ("allOf", "oneOf", "anyOf"):
            if combinator in node:
                rest = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf")}
                branches = [self.convert(b, refs, depth) for b in node[combinator]]
                if _types_of(rest) or "properties" in rest or "items" in rest:
                    branches.append(self.convert(rest, refs, depth))
                merged = merge_schemas(branches)
                return _described(merged, description or merged.get("description", ""))

        declared = node.get("type")
        if declared is None:
            if "properties" in node or "additionalProperties" in node:
                declared = "object"
            elif "items" in node:
                declared = "array"
            else:
                return _described({}, description)  # untyped: anything goes
        if declared in ("object", "array") and depth >= MAX_DEPTH:
            return _described(dict(OPEN_OBJECT) if declared == "object" else {"type": "array"}, description)

        result: Schema = {"type": declared}
        if declared == "object":
            properties = node.get("properties") or {}
            if properties:
                result["properties"] = {name: self.convert(sub, refs, depth + 1) for name, sub in properties.items()}
        elif declared == "array":
            result["items"] = self.convert(node["items"], refs, depth + 1) if node.get("items") else {}
        elif declared == "string" and node.get("format") == "date-time":
            result["format"] = "date-time"
        return _described(result, description)

    def _convert_ref(self, node: Schema, refs: tuple[str, ...], depth: int) -> Schema:
        """A `$ref` with its siblings: the referring node's own description wins over the target's."""
        name = node["$ref"].rsplit("/", 1)[-1]
        target = self.components[name]
        description = first_description([node.get("description"), target.get("description")])
        if name in refs:
            return _described(dict(OPEN_OBJECT), description)  # recursion: stop here
        siblings = {k: v for k, v in node.items() if k not in ("$ref", "description")}
        return self.convert(_described({**target, **siblings}, description), refs + (name,), depth)


def finalize(schema: Schema, non_null: bool = False) -> Schema:
    """Make every type nullable, every object open, and order keys the same way everywhere."""
    out: Schema = {}
    if schema.get("description"):
        out["description"] = schema["description"]
    types = _types_of(schema)
    if not types:
        return out  # untyped: anything goes
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
    record = converter.component(stream.component) if stream.component else {}
    properties: dict[str, Schema] = dict(record.get("properties", {}))
    for name in stream.dropped:
        properties.pop(name, None)
    properties.update(copy.deepcopy(stream.added))
    missing = [key for key in stream.primary_key if key not in properties]
    if missing:
        raise ValueError(f"{stream.component}: primary key {missing} is not a property")
    written = TOP_LEVEL_DESCRIPTIONS.get(stream.component, {})
    for name, description in written.items():
        if name in properties and not properties[name].get("description"):
            properties[name] = _described(properties[name], description)
    return {
        "$schema": DRAFT_07,
        "description": f"{stream.description} Intercom API {stream.api_version}.",
        "type": "object",
        "required": list(stream.primary_key),
        "additionalProperties": True,
        "properties": {
            name: finalize(properties[name], non_null=name in stream.primary_key) for name in sorted(properties)
        },
    }


class SpecError(Exception):
    """An OpenAPI description that is missing, unreadable or of another API version."""


def load_spec(spec_path: Path, version: str | None = None) -> dict[str, Any]:
    """The parsed OpenAPI description; with `version`, refuse one of another API version."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same result, faster
    try:
        with spec_path.open(encoding="utf-8") as handle:
            spec = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"{spec_path}: {error}") from error
    found = str(spec.get("info", {}).get("version")) if isinstance(spec, dict) else None
    if version is not None and found != version:
        raise SpecError(f"{spec_path}: this is the OpenAPI description of API {found}, expected {version}")
    return cast(dict[str, Any], spec)


def fixed_components(spec: dict[str, Any], version: str) -> dict[str, Any]:
    """A copy of the description's component schemas with SPEC_FIXES applied."""
    components = copy.deepcopy(spec["components"]["schemas"])
    fix = SPEC_FIXES.get(version)
    if fix is not None:
        fix(components)
    return cast(dict[str, Any], components)


def generate_schemas(specs: dict[str, dict[str, Any]]) -> dict[str, Schema]:
    """Every stream's schema, from the parsed OpenAPI descriptions keyed by API version."""
    converters = {version: Converter(fixed_components(spec, version)) for version, spec in specs.items()}
    return {name: build_stream_schema(converters[STREAMS[name].api_version], STREAMS[name]) for name in sorted(STREAMS)}


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
    "articles": [("get", "/articles", "data")],
    "companies": [("get", "/companies/scroll", "data"), ("get", "/companies", "data")],
    "company_attributes": [("get", "/data_attributes", "data")],
    "company_segments": [("get", "/companies/{company_id}/segments", "data")],
    "contact_attributes": [("get", "/data_attributes", "data")],
    "contacts": [("post", "/contacts/search", "data"), ("get", "/contacts", "data")],
    "conversation_attributes": [("get", "/data_attributes", "data")],  # the example lists company ones
    "conversations": [("post", "/conversations/search", "conversations")],
    "deleted_conversations": [("get", "/conversations/deleted", "conversations")],
    "help_center_collections": [("get", "/help_center/collections", "data")],
    "help_centers": [("get", "/help_center/help_centers", "data")],
    "news_items": [("get", "/news/news_items", "data"), ("get", "/news/newsfeeds/{newsfeed_id}/items", "data")],
    "newsfeeds": [("get", "/news/newsfeeds", "data")],
    "segments": [("get", "/segments", "segments")],
    "subscription_types": [("get", "/subscription_types", "data")],
    "tags": [("get", "/tags", "data")],
    "teams": [("get", "/teams", "teams")],
    "calls": [("get", "/calls", "data")],
    "ticket_states": [("get", "/ticket_states", "data")],
    # the 2.11 description declares the list key `ticket_types`; its example (and 2.16) say `data`
    "ticket_types": [("get", "/ticket_types", "data")],
    "tickets": [("post", "/tickets/search", "tickets")],
}
# part stream -> (parent, list endpoints whose records are parents with their parts). A parent
# holds its parts in `<parent>_parts.<parent>_parts`; a part gets the parent's id, created_at
# and updated_at as `<parent>_id`, `<parent>_created_at`, `<parent>_updated_at`.
PART_STREAMS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "conversation_parts": ("conversation", []),
    "ticket_parts": ("ticket", [("post", "/tickets/search", "tickets")]),
}
# values for the properties the connector adds, in records built from examples
ADDED_PLACEHOLDERS = {
    "company_id": "5f4d3c2b1a",
    "company_updated_at": 1719492800,
    "conversation_id": "1",
    "conversation_created_at": 1719492825,
    "conversation_updated_at": 1719492826,
    "ticket_id": "2",
    "ticket_created_at": 1719492825,
    "ticket_updated_at": 1719492826,
}


def _list_records(spec: dict[str, Any], lists: list[tuple[str, str, str]]) -> Iterator[tuple[str, Schema]]:
    for method, path, key in lists:
        if path not in spec["paths"]:
            raise KeyError(f"{method.upper()} {path} is not in the OpenAPI description")
        for body in _response_example_values(spec, method, path):
            yield from ((f"{method.upper()} {path}", record) for record in body.get(key) or [])


def _part_records(spec: dict[str, Any], stream_name: str) -> Iterator[tuple[str, Schema]]:
    """Parts found in the example parents, each with its parent's id and timestamps."""
    parent, lists = PART_STREAMS[stream_name]
    parents = [*_bodies_of(spec, parent), *_list_records(spec, lists)]
    for origin, body in parents:
        for part in (body.get(f"{parent}_parts") or {}).get(f"{parent}_parts", []):
            added = {
                f"{parent}_id": body["id"],
                f"{parent}_created_at": body["created_at"],
                f"{parent}_updated_at": body["updated_at"],
            }
            yield origin, {**part, **added}


def example_records(
    spec: dict[str, Any], components: dict[str, Any], stream_name: str
) -> Iterator[tuple[str, Schema]]:
    """(origin, record) pairs from the description's examples for one stream; `components` are
    the description's component schemas with SPEC_FIXES applied."""
    stream = STREAMS[stream_name]
    if not stream.component:  # rows the connector builds: no example of their own
        return
    found: list[tuple[str, Schema]] = []
    assembled = _example_of(components[stream.component], components, (stream.component,))
    if assembled:
        found.append((f"components/{stream.component} property examples", assembled))
    if stream_name in PART_STREAMS:
        found.extend(_part_records(spec, stream_name))
    else:
        found.extend(_list_records(spec, EXAMPLE_LISTS.get(stream_name, [])))
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


def validate(specs: dict[str, dict[str, Any]]) -> int:
    """Check the schema files and validate the descriptions' examples against them."""
    import jsonschema  # type: ignore[import-untyped]  # only needed here

    files = load_schema_files()
    components = {version: fixed_components(spec, version) for version, spec in specs.items()}
    failures = 0
    for name in sorted(STREAMS):
        if name not in files:
            print(f"{name}: missing schema file", file=sys.stderr)
            failures += 1
            continue
        jsonschema.Draft7Validator.check_schema(files[name])
        validator = jsonschema.Draft7Validator(files[name])
        count, extra = 0, set[str]()
        version = STREAMS[name].api_version
        for origin, record in example_records(specs[version], components[version], name):
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


def spec_paths(args: argparse.Namespace, environ: dict[str, str] | None = None) -> dict[str, Path]:
    """The OpenAPI description of every API version the streams use, from the options or the
    environment; SpecError naming the missing ones and where to get them."""
    environ = dict(os.environ) if environ is None else environ
    needed = [option for option in SPEC_OPTIONS if option.version in {s.api_version for s in STREAMS.values()}]
    paths: dict[str, Path] = {}
    missing: list[SpecOption] = []
    for option in needed:
        given = getattr(args, option.dest, None) or environ.get(option.env)
        if given:
            paths[option.version] = Path(given)
        else:
            missing.append(option)
    if missing:
        wanted = "; ".join(f"API {o.version}: {o.flag} PATH or {o.env}" for o in missing)
        files = ", ".join(o.upstream_path for o in missing)
        raise SpecError(
            f"{args.command} needs Intercom's OpenAPI description of every API version the streams use "
            f"({wanted}). Download {files} from {OPENAPI_REPOSITORY}."
        )
    return paths


def load_specs(paths: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {version: load_spec(path, version) for version, path in paths.items()}


def write_schema_files(generated: dict[str, Schema], check: bool) -> int:
    """Write the generated schemas (or, with `check`, only report the files that differ)."""
    differing = []
    for name, schema in generated.items():
        path = SCHEMAS_DIR / f"{name}.json"
        text = render_json(schema)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        differing.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    unknown = sorted(set(load_schema_files()) - set(generated))
    if unknown:
        print(f"schema files without a stream in tools/schemas.py: {', '.join(unknown)}", file=sys.stderr)
    if check:
        if differing:
            print(f"schema files out of date (run generate): {', '.join(differing)}", file=sys.stderr)
            return 1
        return 0
    listing = f": {', '.join(differing)}" if differing else ""
    print(f"wrote {len(differing)} of {len(generated)} schema files{listing}")
    return 0


def sync_manifest(manifest: Path, check: bool) -> int:
    files = load_schema_files()
    if check:
        try:
            stale = stale_streams(files, manifest_schemas(manifest))
        except (OSError, yaml.YAMLError) as error:
            print(f"{manifest}: {error}", file=sys.stderr)
            return 2
        if stale:
            print(
                f"{manifest}: `{MANIFEST_SECTION_KEY}:` out of date for: {', '.join(stale)} "
                "(run: python3 tools/schemas.py sync-manifest)",
                file=sys.stderr,
            )
            return 1
        return 0
    try:
        text = manifest.read_text(encoding="utf-8")
        updated = synced_manifest_text(text, files)
    except (OSError, ValueError) as error:
        print(f"{manifest}: {error}", file=sys.stderr)
        return 2
    if updated != text:
        manifest.write_text(updated, encoding="utf-8")
    print(f"{manifest}: {len(files)} stream schemas in sync")
    return 0


def _add_spec_options(command: argparse.ArgumentParser) -> None:
    for option in SPEC_OPTIONS:
        command.add_argument(
            option.flag,
            dest=option.dest,
            type=Path,
            metavar="PATH",
            help=f"Intercom's OpenAPI description of API {option.version} ({option.upstream_path} in "
            f"{OPENAPI_REPOSITORY}); default: ${option.env}",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the schema files from the OpenAPI descriptions")
    _add_spec_options(gen)
    gen.add_argument("--check", action="store_true", help="only report files that differ")
    sync = commands.add_parser("sync-manifest", help="copy the schema files into the manifest")
    sync.add_argument("--manifest", type=Path, default=MANIFEST_PATH)
    sync.add_argument("--check", action="store_true", help="only report streams out of date")
    val = commands.add_parser("validate", help="check schemas and the OpenAPI examples (needs jsonschema)")
    _add_spec_options(val)
    args = parser.parse_args(argv)

    if args.command == "sync-manifest":
        return sync_manifest(args.manifest, args.check)
    try:
        specs = load_specs(spec_paths(args))
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "generate":
        return write_schema_files(generate_schemas(specs), args.check)
    return validate(specs)


if __name__ == "__main__":
    sys.exit(main())
