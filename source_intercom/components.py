"""Custom components: only what the manifest cannot say.

This module is loaded two ways: as ``source_intercom.components`` by the Python package, and as
the injected ``source_declarative_manifest.components`` by the CDK's manifest-only runtime (the
Airbyte platform and the Connector Builder). It must therefore import nothing but the standard
library and ``airbyte_cdk``.
"""

# No `from __future__ import annotations`: the platform exec()s this code before the module is in
# sys.modules, and string annotations then break @dataclass (tested in test_manifest_only.py).
import calendar
import json
import logging
import random
import re
import time
from dataclasses import InitVar, dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, MutableMapping, Optional, Union
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.concurrent_source.thread_pool_manager import ThreadPoolManager
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration
from airbyte_cdk.sources.declarative.validators.validation_strategy import ValidationStrategy
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------

# The CDK keeps the cursor of every partition (one per conversation, one per company) until it
# holds 25,000 of them, about 2.8 KiB each, although with a global substream cursor (the only
# kind this connector's substreams use, see unit_tests) a finished partition's cursor is never
# read again. Keep only as many as can be in flight: the CDK's thread pool queues at most
# DEFAULT_MAX_QUEUE_SIZE partitions, and any cursor beyond that is a finished one.
ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER = ThreadPoolManager.DEFAULT_MAX_QUEUE_SIZE + 1_000

# ---------------------------------------------------------------------------------------------
# Config validation
# ---------------------------------------------------------------------------------------------

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
START_DATE_FORMAT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")


def _access_token_problem(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value.strip():
        return "is empty. Paste the access token of your Intercom app (Developer Hub > your app > Authentication)."
    if value != value.strip():
        return "has leading or trailing white space. Paste the token alone, without spaces or line breaks."
    if value.lower().startswith("bearer "):
        return "starts with 'Bearer '. Paste only the token itself; the connector adds 'Bearer'."
    return None


def _start_date_problem(value: Any) -> Optional[str]:
    match = START_DATE_FORMAT.match(value) if isinstance(value, str) else None
    if not match:
        return "must be a UTC date-time written YYYY-MM-DDTHH:mm:ssZ, for example 2024-01-01T00:00:00Z."
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return f"names a day that does not exist ({value[:10]}). Use a real calendar date, for example 2024-01-01T00:00:00Z."
    if hour > 23 or minute > 59 or second > 59:
        return f"names a time of day that does not exist ({value[11:19]}). Use 00:00:00 to 23:59:59."
    if year < 2011:
        return "is before 2011, when Intercom's API began. Use 2011-01-01T00:00:00Z or later."
    return None


def _base_url_problem(value: Any) -> Optional[str]:
    if value in (None, ""):
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute URL such as https://api.intercom.io. Leave it empty to use the region's host."
    if parts.query or parts.fragment:
        return "must not contain a query string or fragment."
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return (
            "uses plain http to a host that is not this machine, which would send the access token in clear text. "
            "Use an https:// URL (plain http is allowed only for 127.0.0.1, localhost and ::1)."
        )
    return None


CONFIG_FIELD_CHECKS: Dict[str, Callable[[Any], Optional[str]]] = {
    "access_token": _access_token_problem,
    "start_date": _start_date_problem,
    "base_url": _base_url_problem,
}


@dataclass
class ValidateConfigField(ValidationStrategy):
    """Checks one config field beyond what its JSON schema can say, with a message naming the fix.

    Wired per field from the manifest's ``spec.config_normalization_rules.validations`` so that it
    runs in every mode before any stream is built, hence before any request is sent.
    """

    field: str

    def validate(self, value: Any) -> None:
        problem = CONFIG_FIELD_CHECKS[self.field](value)
        if problem:
            raise config_error(f"Config field '{self.field}' {problem}")


def config_error(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)


def describe_config_problems(config: Mapping[str, Any], connection_specification: Mapping[str, Any]) -> List[str]:
    """Every problem of a config, each naming its field and what to do; secret values are never quoted.

    The CDK checks a config against the spec's JSON schema too, but its messages neither name the
    field nor hide the value; the package's entrypoint runs this first so that people read these.
    """
    from jsonschema import Draft7Validator  # the CDK depends on jsonschema

    properties: Mapping[str, Any] = connection_specification.get("properties", {})
    problems: Dict[str, str] = {}  # by field, the first problem found
    for error in sorted(Draft7Validator(connection_specification).iter_errors(config), key=lambda e: list(e.path)):
        if error.validator == "required":
            missing = error.message.split("'")[1]
            title = properties.get(missing, {}).get("title", missing)
            problems.setdefault(missing, f"Config field '{missing}' ({title}) is required but missing.")
            continue
        field = ".".join(str(part) for part in error.absolute_path) or "(config)"
        schema = properties.get(str(error.absolute_path[0]), {}) if error.absolute_path else {}
        shown = "" if schema.get("airbyte_secret") else f" (got {error.instance!r})"
        problems.setdefault(field, f"Config field '{field}' must be {_expected(schema)}{shown}.")
    for field, check in CONFIG_FIELD_CHECKS.items():
        problem = check(config[field]) if isinstance(config.get(field), str) else None
        if problem:  # more precise than the schema's wording for the same field
            problems[field] = f"Config field '{field}' {problem}"
    return list(problems.values())


def _expected(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(repr(option) for option in schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"a whole number from {low} to {high}"
        return "a whole number" + (f" of at least {low}" if low is not None else "")
    if kind == "string":
        example = (schema.get("examples") or [None])[0]
        return "a text value" + (f" like {example!r}" if example else "")
    return f"of type {kind}" if kind else "valid"


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------


@dataclass
class IntercomBackoffStrategy(BackoffStrategy):
    """How long to wait before retrying a request.

    A 429 waits until the rate-limit window Intercom names in ``X-RateLimit-Reset`` (unix seconds)
    has reset, plus a little jitter so that parallel workers do not all return at the same instant.
    Anything else (5xx, connection errors, timeouts) backs off exponentially with full jitter.
    The CDK's built-in strategies cannot tell the two apart: Intercom sends the reset header on
    every response, so a header-based strategy would also govern 5xx retries.
    """

    parameters: InitVar[Mapping[str, Any]]
    base_seconds: float = 0.5
    max_seconds: float = 60.0

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._random = random.Random()

    def backoff_time(
        self, response_or_exception: Optional[Union[requests.Response, requests.RequestException]], attempt_count: int
    ) -> Optional[float]:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            reset = response_or_exception.headers.get("X-RateLimit-Reset", "")
            if reset.isdigit():
                until_reset = int(reset) - time.time()
                return min(self.max_seconds, max(0.5, until_reset) + self._random.uniform(0.0, 0.5))
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt_count - 1))
        return self._random.uniform(ceiling / 2, ceiling)


# ---------------------------------------------------------------------------------------------
# Record extraction
# ---------------------------------------------------------------------------------------------

LOGGER = logging.getLogger("airbyte")


def _json_body(response: requests.Response) -> Mapping[str, Any]:
    body = response.json()
    if not isinstance(body, Mapping):
        raise AirbyteTracedException(
            message=f"Intercom answered {response.request.path_url} with JSON that is not an object; the sync stops rather than skip data.",
            failure_type=FailureType.system_error,
        )
    return body


@dataclass
class TopLevelListExtractor(RecordExtractor):
    """The records under one top-level key of the response (the stream's ``records_path``).

    The CDK's DpathExtractor returns the same, but dpath walks the whole response to read one key:
    a third of the connector's CPU on a page of 150 contacts.

    With ``record_fields``, each record keeps only those fields: a parent stream read only for
    its children's partitions needs its key and cursor, and the CDK reads the key of every
    parent record with dpath, which walks the whole record.
    """

    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._key = parameters["records_path"]
        self._fields = tuple(parameters.get("record_fields") or ())

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        records = _json_body(response).get(self._key) or []
        if self._fields:
            records = [{field: record.get(field) for field in self._fields} for record in records]
        yield from records


@dataclass
class CompaniesScrollExtractor(RecordExtractor):
    """Companies from one pass of ``GET /companies/scroll``, each company once.

    Intercom cannot resume a scroll: after an expired scroll parameter (404) or a "please restart
    the scroll operation" error (500) the read restarts from the first page, so companies already
    emitted are dropped here instead of being sent twice. A server that keeps answering pages with
    nothing new would otherwise loop forever: more such pages in a row than a full replay of what
    was already read can explain stops the stream with an error.

    One instance serves one stream read, and the scroll is a single partition, so the ids it keeps
    belong to one scroll pass (at most one id per company).
    """

    parameters: InitVar[Mapping[str, Any]]
    # Fewer companies a page than Intercom sends, so that a replay is never mistaken for a loop.
    page_size_hint: int = 15

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._emitted: set = set()
        self._pages_without_news = 0

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        companies = _json_body(response).get("data") or []
        fresh = [company for company in companies if company.get("id") not in self._emitted]
        if companies and not fresh:
            self._pages_without_news += 1
            if self._pages_without_news > len(self._emitted) // max(1, self.page_size_hint) + 2:
                raise AirbyteTracedException(
                    message="Intercom's companies scroll keeps returning companies it already returned; the stream stops instead of looping. Run the sync again.",
                    failure_type=FailureType.transient_error,
                )
        elif fresh:
            self._pages_without_news = 0
        for company in fresh:
            self._emitted.add(company.get("id"))
            yield company


@dataclass
class ConversationPartsExtractor(RecordExtractor):
    """Flattens ``GET /conversations/{id}`` into one record per conversation part.

    Parts do not name their conversation, so each gets ``conversation_id`` and the conversation's
    ``created_at``/``updated_at`` as ``conversation_created_at``/``conversation_updated_at``.
    Intercom returns at most the 500 most recent parts; when ``total_count`` says there are more,
    a warning names the conversation so that nobody mistakes the gap for a connector bug.
    """

    parameters: InitVar[Mapping[str, Any]]

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        conversation = _json_body(response)
        listing = conversation.get("conversation_parts") or {}
        parts = listing.get("conversation_parts") or []
        total = listing.get("total_count")
        if isinstance(total, int) and total > len(parts):
            LOGGER.warning(
                f"Conversation {conversation.get('id')} has {total} parts but Intercom returns only the {len(parts)} most recent; "
                f"the {total - len(parts)} oldest parts cannot be replicated through the API."
            )
        for part in parts:
            yield {
                **part,
                "conversation_id": conversation.get("id"),
                "conversation_created_at": conversation.get("created_at"),
                "conversation_updated_at": conversation.get("updated_at"),
            }


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------


def _unix_seconds(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


@dataclass
class IntercomStateMigration(StateMigration):
    """Checks a stream's saved state before a sync: this connector's own is kept, the forms that
    Airbyte's source-intercom wrote (0.x: ``{"updated_at": 1700000000}``, and for sub-streams the
    parent's bookmark nested under the parent's name) are migrated, anything else is refused with
    a config error. An unreadable state never silently means "start over"."""

    declarative_stream: Any  # the stream's model, passed by the CDK
    parameters: InitVar[Mapping[str, Any]]
    parent_stream: Optional[str] = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._stream = self.declarative_stream.name
        cursor_field = self.declarative_stream.incremental_sync.cursor_field
        self._cursor = cursor_field if isinstance(cursor_field, str) else cursor_field[0]

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(stream_state)

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        migrated = self._substream_state(stream_state) if self.parent_stream else self._plain_state(stream_state)
        if migrated is None:
            raise config_error(
                f"The saved state of stream '{self._stream}' is neither one this connector wrote nor one it can migrate: "
                f"{json.dumps(stream_state)[:300]}. Nothing was synced. To sync the stream again from start_date, reset it "
                f"(in Airbyte: clear its data; with the CLI: remove its entry from the state file); otherwise restore its previous state."
            )
        return migrated

    def _plain_state(self, state: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        bookmark = _unix_seconds(state.get(self._cursor))
        return {self._cursor: str(bookmark)} if set(state) == {self._cursor} and bookmark is not None else None

    def _substream_state(self, state: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        parent = self.parent_stream or ""
        if set(state) & {"use_global_cursor", "parent_state", "state", "states"}:
            # This connector's own: a global cursor (absent until a first child slice closes) and
            # the parent's state; each part that is there must hold a timestamp.
            parts_valid = [
                _unix_seconds(state["state"].get(self._cursor)) is not None if isinstance(state.get("state"), Mapping) else "state" not in state,
                _unix_seconds((state["parent_state"].get(parent) or {}).get("updated_at")) is not None
                if isinstance(state.get("parent_state"), Mapping) and state["parent_state"]
                else "parent_state" not in state or state["parent_state"] == {},
                isinstance(state.get("states", []), list),
            ]
            return state if all(parts_valid) else None
        legacy_parent = state.get(parent)
        parent_bookmark = _unix_seconds(legacy_parent.get("updated_at")) if isinstance(legacy_parent, Mapping) else None
        child = _unix_seconds(state.get("updated_at"))
        if parent_bookmark is None or not set(state) <= {"updated_at", parent}:
            return None
        # The older connector's child bookmark measured something else; never start after the parent's.
        bookmark = parent_bookmark if child is None else min(child, parent_bookmark)
        return {
            "use_global_cursor": True,
            "state": {self._cursor: str(bookmark)},
            "parent_state": {parent: {"updated_at": str(parent_bookmark)}},
        }
