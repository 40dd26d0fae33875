"""The Connector Builder's backend on this manifest, run as the Builder runs it.

The Builder sends each request to ``python -m airbyte_cdk.connector_builder.main read --config C
--catalog K``, where C holds the manifest and the components injected as the platform injects
them (``__injected_declarative_manifest``, ``__injected_components_py`` and its md5), the command
(``__command``) and the user's config; it answers with one RECORD. Here: ``resolve_manifest``,
then a ``test_read`` of every stream with the Builder's default limits (the CDK's ``TestLimits``),
each against the emulator, with ``AIRBYTE_ENABLE_UNSAFE_CODE=true`` and the ``source_intercom``
package hidden (as in test_manifest_only.py).

A test read fails here on any error: a non-zero exit, a TRACE error, an ERROR log line (printed
or in the answer's ``logs``), an answer that is not one RECORD, no record from a workspace that
has some, a record the workspace does not hold. Deprecation warnings, which the Builder shows
the user and the CDK puts in the answer's ``logs``, fail a test of their own.

A test read shows each slice's pages with their requests and responses within the Builder's
limits, for the streams of a reading too (components.py reads a test read's slice in the
partition's thread). It lists companies with GET /companies: a scroll stopped at the Builder's
limit would stay open and refuse the next test read for a minute.
"""

from __future__ import annotations

import contextlib
import copy
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from airbyte_cdk.sources.declarative.concurrent_declarative_source import TestLimits
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

from integration_tests.harness import (
    CLI_TIMEOUT, SCROLL_EXPIRY,
    START_TS, config_for, manifest_only_copy, once_per_session, parse_messages, record_key, scroll_expiry_env, wait_or_say_it_hung,
)
from integration_tests.workspaces import small_workspace
from intercom_emulator import EmulatorServer, running_emulator
from source_intercom.manifest_file import load_manifest
from source_intercom.stream_facts import stream_facts

TOKEN = "builder-token-0123456789"
BUILDER_DAYS = 90  # the start date a Builder user picks, days ago; for a stream sliced by day, five days
# The limits the Builder applies when the user sets none (what it sends as __test_read_config).
DEFAULT_LIMITS = {"max_records": TestLimits.DEFAULT_MAX_RECORDS, "max_pages_per_slice": TestLimits.DEFAULT_MAX_PAGES_PER_SLICE,
                  "max_slices": TestLimits.DEFAULT_MAX_SLICES}
STREAMS = list(stream_facts())
IN_PARALLEL = 3  # test reads at once (each its own process; streams of the companies scroll wait their turn)
ERROR_LEVELS = ("ERROR", "FATAL")


@dataclass
class Answer:
    """What the Builder's backend printed for one request."""

    returncode: int
    messages: List[Dict[str, Any]]
    stderr: str

    @property
    def records(self) -> List[Dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    @property
    def data(self) -> Dict[str, Any]:
        assert len(self.records) == 1, f"expected one RECORD, got {len(self.records)}: {self.describe()}"
        return self.records[0]["data"]

    def errors(self) -> List[str]:
        traces = [m["trace"]["error"].get("message", "") for m in self.messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
        printed = [m["log"]["message"] for m in self.messages if m["type"] == "LOG" and m["log"]["level"] in ERROR_LEVELS]
        return traces + printed

    def describe(self) -> str:
        return f"exit {self.returncode}; messages: {json.dumps(self.messages)[-3000:]}; stderr: {self.stderr[-3000:]}"


class BuilderBackend:
    """Runs ``airbyte_cdk.connector_builder.main`` as the Builder does, on copies of the two files."""

    def __init__(self, server: EmulatorServer, folder: Path) -> None:
        self.copy = manifest_only_copy(folder, scroll_expiry_env(SCROLL_EXPIRY))
        self.injected, self.env = self.copy.injected, self.copy.env
        self.server = server
        self.user_config = self.config_from(BUILDER_DAYS)

    def config_from(self, days: int) -> Dict[str, Any]:
        return config_for(self.server, start_date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86_400)))

    def request(self, command: str, stream: Optional[str] = None, user_config: Optional[Dict[str, Any]] = None, **injected: Any) -> Answer:
        config = {**(user_config or self.user_config), **self.injected, "__command": command, **injected}
        # The Builder reads one stream at a time, in full refresh, from an empty schema.
        catalog = {"streams": [{"stream": {"name": stream, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                                "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]} if stream else {}
        with tempfile.TemporaryDirectory() as folder:
            config_path, catalog_path = Path(folder) / "config.json", Path(folder) / "catalog.json"
            config_path.write_text(json.dumps(config))
            catalog_path.write_text(json.dumps(catalog))
            stdout_path, stderr_path = Path(folder) / "stdout.txt", Path(folder) / "stderr.txt"
            with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
                run = self.copy.start_builder(["read", "--config", str(config_path), "--catalog", str(catalog_path)], stdout.fileno(), stderr.fileno(), folder)
                code = wait_or_say_it_hung(run, CLI_TIMEOUT, f"the Builder's {command} of {stream}", stderr_path)
            return Answer(code, parse_messages(stdout_path.read_text()), stderr_path.read_text())

    def close(self) -> None:
        self.copy.close()

    def test_read(self, stream: str, days: Optional[int] = None) -> Answer:
        return self.request("test_read", stream, self.config_from(days) if days else None, __test_read_config=DEFAULT_LIMITS)


def start_days(definition: Dict[str, Any]) -> int:
    """As a Builder user tests a stream: from a start date recent enough that the slices a test
    read shows hold records (the first five days, for a stream sliced by day)."""
    window_days = ((definition.get("incremental_sync") or {}).get("$parameters") or {}).get("window_days")
    return DEFAULT_LIMITS["max_slices"] * int(window_days) if window_days else BUILDER_DAYS


def summary(stream: str, data: Dict[str, Any]) -> str:
    pages = [page for one in data["slices"] for page in one["pages"]]
    logs = "; ".join(f"{log['level']} {log['message']}" for log in data["logs"]) or "none"
    return (f"{stream}: {len(data['slices'])} slices, {len(pages)} pages, {sum(len(page['records']) for page in pages)} records, "
            f"limit reached: {data['test_read_limit_reached']}, logs: {logs}")


def run_the_builder(folder: Path) -> Dict[str, Any]:
    """``resolve_manifest``, then a ``test_read`` of every stream (a few at a time), against one
    emulator; with the keys of every stream's records in the emulator's workspace."""
    workspace = small_workspace()
    with running_emulator(workspace, token=TOKEN, scroll_ttl=SCROLL_EXPIRY) as server, contextlib.closing(BuilderBackend(server, folder)) as backend:
        resolved = backend.request("resolve_manifest")
        days = {definition["name"]: start_days(definition) for definition in resolved.data["manifest"]["streams"]}
        with ThreadPoolExecutor(IN_PARALLEL) as pool:
            reads = dict(zip(STREAMS, pool.map(lambda stream: backend.test_read(stream, days[stream]), STREAMS)))
        server.wait_idle()
        scrolls = sum(1 for request in server.requests if request.path == "/companies/scroll")
    return {
        "scroll_requests": scrolls,
        "resolve_manifest": asdict(resolved),
        "test_read": {stream: asdict(answer) for stream, answer in reads.items()},
        "keys": {stream: sorted(repr(key) for key in workspace.expected_ids(stream, START_TS)) for stream in STREAMS},
    }


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The Builder's answers, computed once for the session (whichever test process asks first)."""
    done = once_per_session(tmp_path_factory, "connector-builder", run_the_builder)
    return {
        "resolve_manifest": Answer(**done["resolve_manifest"]),
        "test_read": {stream: Answer(**answer) for stream, answer in done["test_read"].items()},
        "keys": {stream: set(keys) for stream, keys in done["keys"].items()},
        "scroll_requests": done["scroll_requests"],
    }


@pytest.mark.long(100)
def test_resolve_manifest_gives_the_manifest_with_every_stream(builder: Dict[str, Any]) -> None:
    answer = builder["resolve_manifest"]
    assert answer.returncode == 0 and not answer.errors(), answer.describe()
    assert answer.records[0]["stream"] == "resolve_manifest"
    resolved = answer.data["manifest"]
    assert sorted(stream["name"] for stream in resolved["streams"]) == sorted(STREAMS)
    assert resolved["spec"]["connection_specification"]["required"] == load_manifest()["spec"]["connection_specification"]["required"]


@pytest.mark.parametrize("stream", STREAMS)
def test_test_read_shows_records_of_the_stream_without_an_error(builder: Dict[str, Any], stream: str) -> None:
    answer = builder["test_read"][stream]
    assert answer.returncode == 0 and not answer.errors(), answer.describe()
    assert answer.records[0]["stream"] == stream
    data = answer.data
    errors = [log["message"] for log in data["logs"] if log["level"] in ERROR_LEVELS]
    assert not errors, errors
    print("\n" + summary(stream, data))
    records = [record for one in data["slices"] for page in one["pages"] for record in page["records"]]
    assert records, f"no record shown for {stream}: {summary(stream, data)}"
    unknown = {repr(record_key(stream, record)) for record in records} - builder["keys"][stream]
    assert not unknown, f"{stream}: records the workspace does not hold: {sorted(unknown)[:5]}"


def test_test_read_shows_no_deprecation_warning(builder: Dict[str, Any]) -> None:
    # The CDK collects them while it builds the components of every stream, whichever is read.
    answers = builder["test_read"].values()
    deprecations = {log["message"] for answer in answers for log in answer.data["logs"] if "deprecated" in log["message"].lower()}
    assert not deprecations, "\n".join(sorted(deprecations))


@pytest.mark.parametrize("stream", STREAMS)
def test_test_read_stays_within_the_builders_limits_and_shows_its_requests(builder: Dict[str, Any], stream: str) -> None:
    data = builder["test_read"][stream].data
    pages = [page for one in data["slices"] for page in one["pages"]]
    assert len(data["slices"]) <= DEFAULT_LIMITS["max_slices"], summary(stream, data)
    assert all(len(one["pages"]) <= DEFAULT_LIMITS["max_pages_per_slice"] for one in data["slices"]), summary(stream, data)
    assert sum(len(page["records"]) for page in pages) <= DEFAULT_LIMITS["max_records"], summary(stream, data)
    assert all(page.get("request") and page.get("response") for page in pages), f"a page without its HTTP exchange: {summary(stream, data)}"


def test_test_reads_open_no_companies_scroll(builder: Dict[str, Any]) -> None:
    assert builder["scroll_requests"] == 0
