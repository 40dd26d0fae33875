"""The airbyte-cdk internals that source_intercom relies on: a CDK upgrade that changes one fails here.

Every relied-on internal is one entry of RELIED_ON: what it is, how to check that it still means
what we rely on (a function that raises AssertionError when not), and why we rely on it. The
checks exercise the CDK's own code where they can, and read its private state only where nothing
public shows the behaviour. To rely on another internal, add an entry; when a check fails after a
CDK upgrade, read the CDK's new code, adapt the code named in `why`, then the check.
"""

from __future__ import annotations

import ast
import datetime
import inspect
import logging
import re
import threading
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterable, List, Mapping, Optional
from unittest import mock

import pytest
import requests
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.concurrent_source.thread_pool_manager import ThreadPoolManager
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import (
    ConcurrentCursorFactory,
    ConcurrentPerPartitionCursor,
)
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector
from airbyte_cdk.sources.declarative.partition_routers.list_partition_router import ListPartitionRouter
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.message.concurrent_repository import ConcurrentMessageRepository
from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit, FixedWindowCallRatePolicy, HttpAPIBudget
from airbyte_cdk.sources.streams.concurrent.cursor import CursorField
from airbyte_cdk.sources.streams.concurrent.state_converters.datetime_stream_state_converter import (
    EpochValueConcurrentStreamStateConverter,
)
from airbyte_cdk.sources.streams.http.exceptions import UserDefinedBackoffException
from airbyte_cdk.sources.streams.http.rate_limiting import user_defined_backoff_handler
from airbyte_cdk.sources.utils.slice_logger import DebugSliceLogger

import source_intercom.components  # noqa: F401  (lowers DEFAULT_MAX_PARTITIONS_NUMBER on import)
from source_intercom.components import RATE_LIMIT_WINDOW, RetryLogWording, cap_request_rate
from source_intercom.source import RECORDS_WAITING_FOR_STDOUT, SourceIntercom

LOCK = Path(__file__).resolve().parent.parent / "requirements" / "lock.txt"


@dataclass(frozen=True)
class ReliedOn:
    what: str
    check: Callable[[], None]
    why: str


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


class _OneSliceCursor:
    """Stands in for the per-partition ConcurrentCursor: one slice per partition, nothing else."""

    def stream_slices(self) -> Iterable[Mapping[str, Any]]:
        yield {}


def _per_partition_cursor(partitions: int) -> ConcurrentPerPartitionCursor:
    return ConcurrentPerPartitionCursor(
        cursor_factory=ConcurrentCursorFactory(lambda stream_state, runtime_lookback_window: _OneSliceCursor()),
        partition_router=ListPartitionRouter(
            values=[str(number) for number in range(partitions)], cursor_field="id", config={}, parameters={}
        ),
        stream_name="conversation_parts",
        stream_namespace=None,
        stream_state={},
        message_repository=InMemoryMessageRepository(),
        connector_state_manager=ConnectorStateManager(),
        connector_state_converter=EpochValueConcurrentStreamStateConverter(),
        cursor_field=CursorField("updated_at"),
        use_global_cursor=True,
    )


def per_partition_cursor_keeps_at_most_the_limit_of_cursors() -> None:
    limit, partitions = 5, 40
    with mock.patch.object(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER", limit):
        cursor = _per_partition_cursor(partitions)
        slices = list(cursor.stream_slices())
    assert len(slices) == partitions, "every partition still gets its slice"
    # No public view of the kept cursors: the dict that the limit bounds is the CDK's own.
    assert len(cursor._cursor_per_partition) == limit


def thread_pool_holds_at_most_the_default_queue_size_of_pending_tasks() -> None:
    source = ConcurrentSource.create(
        num_workers=2,
        initial_number_of_partitions_to_generate=1,
        logger=logging.getLogger("test_cdk_internals"),
        slice_logger=DebugSliceLogger(),
        message_repository=InMemoryMessageRepository(),
    )
    pool: ThreadPoolManager = source._threadpool  # what ConcurrentSource.create builds, unreachable otherwise
    release = threading.Event()
    try:
        for _ in range(ThreadPoolManager.DEFAULT_MAX_QUEUE_SIZE - 1):
            pool.submit(release.wait)
        assert not pool.prune_to_validate_has_reached_futures_limit()
        pool.submit(release.wait)
        assert pool.prune_to_validate_has_reached_futures_limit()
    finally:
        release.set()
        pool._threadpool.shutdown(wait=True)


def _cdk_default(cls: type, attribute: str) -> Any:
    """The value `cls` assigns to `attribute` in the CDK's source, before anyone changed it."""
    for node in ast.parse(inspect.getsource(cls)).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == [attribute]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{cls.__name__} no longer assigns {attribute}")


def components_partition_limit_lies_between_in_flight_and_cdk_default() -> None:
    lowered = ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER
    cdk_default = _cdk_default(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER")
    assert ThreadPoolManager.DEFAULT_MAX_QUEUE_SIZE < lowered < cdk_default


def fair_share_cap_lowers_the_calls_the_budget_admits_per_window() -> None:
    policy = FixedWindowCallRatePolicy(
        next_reset_ts=datetime.datetime.now() + RATE_LIMIT_WINDOW, period=RATE_LIMIT_WINDOW, call_limit=1666, matchers=[]
    )
    budget = HttpAPIBudget(policies=[policy])
    cap_request_rate(budget, 60)  # 60 a minute: 10 per 10-second window
    request = requests.Request("GET", "https://api.intercom.io/admins").prepare()
    for _ in range(10):
        budget.acquire_call(request, block=False)
    with pytest.raises(CallRateLimitHit):
        budget.acquire_call(request, block=False)


def cdk_words_a_user_defined_backoff_as_the_retry_log_filter_expects() -> None:
    response = requests.Response()
    response.status_code = 500
    request = requests.Request("GET", "https://api.intercom.io/contacts").prepare()
    attempts: List[int] = []

    @user_defined_backoff_handler(max_tries=2)
    def send() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise UserDefinedBackoffException(backoff=-0.99, request=request, response=response)

    logged: List[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    cdk_logger = logging.getLogger("airbyte")
    cdk_logger.addHandler(handler)
    try:
        # The CDK's own line: without RetryLogWording, which rewrites it when a retry cause is
        # left in this thread (by another test run before this one in the same thread).
        with mock.patch("time.sleep"), mock.patch.object(cdk_logger, "filters", []):
            send()
    finally:
        cdk_logger.removeHandler(handler)
    messages = [str(record.msg) for record in logged]
    assert any(RetryLogWording.CDK_WORDING.match(message) for message in messages), messages


def record_filters_are_called_as_cursor_in_slice_filter_is_written() -> None:
    own = ["self", "records", "stream_state", "stream_slice", "next_page_token"]
    assert list(inspect.signature(RecordFilter.filter_records).parameters) == own
    assert "self.record_filter.filter_records(" in inspect.getsource(RecordSelector._filter)
    selector = ["self", "all_data", "stream_state", "records_schema", "stream_slice", "next_page_token"]
    assert list(inspect.signature(RecordSelector.filter_and_transform).parameters) == selector


def the_queue_the_workers_fill_is_the_one_source_intercom_shortens() -> None:
    source = SourceIntercom()
    queue = source._concurrent_source._queue  # built in ConcurrentDeclarativeSource.__init__, unreachable otherwise
    assert queue.maxsize == RECORDS_WAITING_FOR_STDOUT
    repository = source._constructor._message_repository  # the workers' messages go to the same queue
    assert isinstance(repository, ConcurrentMessageRepository) and repository._queue is queue
    read = inspect.getsource(ConcurrentSource.read)  # its partition readers put each record on that queue
    assert re.search(r"PartitionReader\(\s*self\._queue", read) and "self._queue.put(record)" in inspect.getsource(PartitionReader.process_partition)


def the_creation_response_context_carries_the_enqueue_request() -> None:
    from airbyte_cdk.sources.declarative.async_job.job import AsyncJob
    from airbyte_cdk.sources.declarative.requesters.http_job_repository import AsyncHttpJobRepository
    from airbyte_cdk.sources.types import StreamSlice

    enqueue = requests.Request("POST", "https://api.intercom.io/export/reporting_data/enqueue", json={"dataset_id": "x"}).prepare()
    response = requests.Response()
    response._content, response.status_code, response.request = b'{"job_identifier": "j1", "status": "pending"}', 200, enqueue
    creation = mock.Mock()
    creation.send_request.return_value = response
    repository = AsyncHttpJobRepository(creation_requester=creation, polling_requester=mock.Mock(), download_retriever=mock.Mock(),
                                        abort_requester=None, delete_requester=None, status_extractor=mock.Mock(),
                                        status_mapping={}, download_target_extractor=None)
    job: AsyncJob = repository.start(StreamSlice(partition={}, cursor_slice={"start_time": "1", "end_time": "2"}))
    context = repository._get_creation_response_interpolation_context(job)
    assert context["job_identifier"] == "j1" and context["request"] is enqueue


def http_requester_streams_the_body_when_told() -> None:
    from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester

    requester = HttpRequester(name="download", url="https://example.com", config={}, parameters={})
    assert requester.stream_response is False
    requester.stream_response = True
    with mock.patch.object(requester._http_client, "send_request", return_value=(None, requests.Response())) as send:
        requester.send_request()
    assert send.call_args.kwargs["request_kwargs"] == {"stream": True}


def http_client_wraps_its_send_in_the_three_backoff_handlers_of_its_module() -> None:
    from airbyte_cdk.sources.streams.http import http_client

    retry = inspect.getsource(http_client.HttpClient._send_with_retry)
    for handler in ("user_defined_backoff_handler", "rate_limit_default_backoff_handler", "http_client_default_backoff_handler"):
        assert f"{handler}(" in retry and callable(getattr(http_client, handler))  # looked up in its module on every request
    assert ")(\n            self._send\n        )" in retry or ")(self._send)" in retry  # the innermost wraps the client's own send


def jinja_renders_a_string_without_marks_as_itself() -> None:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    interpolation = JinjaInterpolation()
    for plain in ("application/json", "2.11", "updated_at", "a } b { c %"):
        assert interpolation._eval(plain, {"config": {}}) == plain
    source = inspect.getsource(inspect.unwrap(JinjaInterpolation.eval))  # the value of a non-empty plain string: _literal_eval of itself
    assert "result = self._eval(input_str, context)" in source and "return self._literal_eval(result, valid_types)" in source


def jinja_gives_an_output_that_is_no_literal_back_as_it_is() -> None:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    literal_eval = inspect.unwrap(JinjaInterpolation._literal_eval)
    for output in ("https://api.intercom.io/x", "/contacts/1/tags", "Bearer x", "dG9rOjE="):
        assert literal_eval(JinjaInterpolation(), output, None) == output
    source = inspect.getsource(literal_eval)
    assert "ast.literal_eval(result)" in source and "return result" in source


def the_cdks_jinja_environment_sets_its_globals_at_import_and_templates_chain_them() -> None:
    import collections

    from airbyte_cdk.sources.declarative.interpolation import jinja

    make_globals = type(jinja._ENVIRONMENT).make_globals  # Jinja's own (source_intercom's is on the instance)
    assert isinstance(make_globals(jinja._ENVIRONMENT, None), collections.ChainMap)
    module = ast.parse(inspect.getsource(jinja))
    at_import = [node for node in module.body if not isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    in_code = [node for node in module.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]

    def globals_used(nodes: Iterable[ast.AST]) -> int:
        return sum(isinstance(n, ast.Attribute) and n.attr == "globals" for node in nodes for n in ast.walk(node))

    assert globals_used(at_import) >= 1 and globals_used(in_code) == 0  # changed at import only


def a_stream_slice_is_immutable_and_hashed_from_its_values() -> None:
    from airbyte_cdk.sources.types import StreamSlice
    from airbyte_cdk.utils.slice_hasher import SliceHasher

    day = StreamSlice(partition={"id": "c1"}, cursor_slice={"start_time": "1"})
    with pytest.raises(ValueError):
        day["id"] = "c2"  # type: ignore[index]
    assert inspect.unwrap(StreamSlice.__hash__)(day) == SliceHasher.hash(stream_slice=day.__dict__["_stream_slice"])


RELIED_ON: List[ReliedOn] = [
    ReliedOn(
        what="ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER",
        check=per_partition_cursor_keeps_at_most_the_limit_of_cursors,
        why="components.py lowers it to keep only the cursors of partitions in flight (memory); it works "
        "only while the cursor reads this class attribute as its bound on kept partition cursors.",
    ),
    ReliedOn(
        what="ThreadPoolManager.DEFAULT_MAX_QUEUE_SIZE",
        check=thread_pool_holds_at_most_the_default_queue_size_of_pending_tasks,
        why="components.py derives the partition limit from it: it must bound the partitions in flight, "
        "i.e. the tasks pending in the thread pool that ConcurrentSource.create builds.",
    ),
    ReliedOn(
        what="components.py's partition limit against both",
        check=components_partition_limit_lies_between_in_flight_and_cdk_default,
        why="above DEFAULT_MAX_QUEUE_SIZE, or the CDK drops the cursor of a partition in flight (KeyError on "
        "close, says its docstring); below the CDK's own default, or lowering it saves nothing.",
    ),
    ReliedOn(
        what="HttpAPIBudget._policies, FixedWindowCallRatePolicy._call_limit, _offset and _next_reset_ts",
        check=fair_share_cap_lowers_the_calls_the_budget_admits_per_window,
        why="components.cap_request_rate lowers the 10-second window's call limit of the budget the CDK builds from "
        "the manifest's api_budget to max_requests_per_minute / 6, and components.keep_to_intercoms_windows reads the "
        "window's end (test_components checks both by behaviour); no public setter or getter exists.",
    ),
    ReliedOn(
        what="user_defined_backoff_handler's retry log line",
        check=cdk_words_a_user_defined_backoff_as_the_retry_log_filter_expects,
        why="components.RetryLogWording recognises the CDK's 'Rate limit exceeded (HTTP 500)' line by its wording and "
        "says what really happened instead; a new wording would bring the misleading line back.",
    ),
    ReliedOn(
        what="RecordFilter.filter_records and RecordSelector.filter_and_transform signatures",
        check=record_filters_are_called_as_cursor_in_slice_filter_is_written,
        why="components.CursorInSliceFilter overrides filter_records (called by the selector with these keywords) and "
        "SharedReading passes each page of a shared reading through filter_and_transform positionally.",
    ),
    ReliedOn(
        what="ConcurrentDeclarativeSource._concurrent_source._queue",
        check=the_queue_the_workers_fill_is_the_one_source_intercom_shortens,
        why="source.SourceIntercom lowers the maxsize of the queue between the CDK's workers and its main thread from "
        "10,000 to RECORDS_WAITING_FOR_STDOUT (memory when stdout is the slower side); the CDK creates it with no option.",
    ),
    ReliedOn(
        what="AsyncHttpJobRepository's creation_response context holds the creation request",
        check=the_creation_response_context_carries_the_enqueue_request,
        why="components.ReexportingDownloadRequester enqueues an expired export again by sending that request anew "
        "(without it, it fails the stream with a message that says so).",
    ),
    ReliedOn(
        what="HttpRequester.stream_response",
        check=http_requester_streams_the_body_when_told,
        why="components.ReexportingDownloadRequester sets it on the download requester it wraps, which the CDK builds "
        "without the download's decoder: the gzip CSV is then parsed as it arrives, not held whole in memory.",
    ),
    ReliedOn(
        what="HttpClient._send_with_retry's backoff handlers, looked up in airbyte_cdk.sources.streams.http.http_client",
        check=http_client_wraps_its_send_in_the_three_backoff_handlers_of_its_module,
        why="components._backoff_handlers_built_once replaces the three names there so that each client decorates its "
        "send once (the CDK decorates it again for every request); renamed, the CDK's own run per request.",
    ),
    ReliedOn(
        what="JinjaInterpolation.eval of a string without Jinja marks",
        check=jinja_renders_a_string_without_marks_as_itself,
        why="components._plain_strings_evaluated_once keeps the value of such a string (headers, a search's operators): "
        "valid only while rendering it gives the string itself, whatever the context.",
    ),
    ReliedOn(
        what="JinjaInterpolation._literal_eval: ast.literal_eval of a template's output, the output itself when that fails",
        check=jinja_gives_an_output_that_is_no_literal_back_as_it_is,
        why="components._outputs_not_parsed_when_no_literal gives back an output that cannot be a Python literal (a URL, "
        "a path, a token) without parsing it: valid only while the CDK's answer for such an output is the output.",
    ),
    ReliedOn(
        what="airbyte_cdk's Jinja environment (interpolation.jinja._ENVIRONMENT): its globals set at import only",
        check=the_cdks_jinja_environment_sets_its_globals_at_import_and_templates_chain_them,
        why="components._template_globals_as_dicts gives each template compiled later its globals as a dict (Jinja "
        "chains them to the environment's, copied key by key at every render): valid while they never change after.",
    ),
    ReliedOn(
        what="StreamSlice: immutable, hashed from its values (_stream_slice)",
        check=a_stream_slice_is_immutable_and_hashed_from_its_values,
        why="components._slice_hashed_once keeps each slice's hash (the CDK's cursor hashes a record's slice twice per "
        "record: a sorted json.dumps and a SHA-256): valid only while a slice cannot change.",
    ),
]



# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def locked_version(package: str, lock_text: str) -> Optional[str]:
    match = re.search(rf"^{re.escape(package)}(?:\[[^\]]*\])?==([^\s;\\]+)", lock_text, re.MULTILINE)
    return match.group(1) if match else None


def test_installed_airbyte_cdk_is_the_locked_version() -> None:
    # The checks below were written against this version; a different one may pass them by chance.
    assert version("airbyte-cdk") == locked_version("airbyte-cdk", LOCK.read_text())


@pytest.mark.parametrize("internal", RELIED_ON, ids=[internal.what for internal in RELIED_ON])
def test_relied_on_cdk_internal_still_behaves_as_relied_on(internal: ReliedOn) -> None:
    internal.check()
