"""Where the installed airbyte-cdk lacks an internal the package relies on, the connector still
builds and runs with the CDK's own behaviour, and says once what it could not apply (the other
reliances are tested end to end in integration_tests/test_cdk_reliances_fail_soft.py)."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import pytest
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor

from source_intercom import components
from source_intercom.source import SourceIntercom


@pytest.fixture(autouse=True)
def no_warning_given_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())


def _warnings(caplog: pytest.LogCaptureFixture) -> list:
    return [r.getMessage() for r in caplog.records if "could not apply" in r.getMessage()]


def test_without_the_partition_cursor_cap_the_cdk_keeps_its_own(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER")
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("the cap on partition cursors", components._keep_only_partition_cursors_in_flight)
    assert not hasattr(ConcurrentPerPartitionCursor, "DEFAULT_MAX_PARTITIONS_NUMBER")
    assert len(_warnings(caplog)) == 1 and "the cap on partition cursors" in _warnings(caplog)[0]


def test_without_the_record_queue_the_source_still_builds(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    build = ConcurrentSource.__init__

    def without_queue(self: Any, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        del self._queue

    monkeypatch.setattr(ConcurrentSource, "__init__", without_queue)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        SourceIntercom(config={"access_token": "x", "start_date": "2020-01-01T00:00:00Z"})
    assert len(_warnings(caplog)) == 1 and "queue of records waiting for stdout" in _warnings(caplog)[0]


def test_an_optimisation_that_fails_returns_nothing_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise AttributeError("_renamed")

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert components.cdk_reliance("a test optimisation", broken) is None
        assert components.cdk_reliance("a test optimisation", broken) is None
        assert components.cdk_reliance("another", lambda: 42) == 42
    assert _warnings(caplog) == [
        "source-intercom could not apply a test optimisation on this airbyte-cdk (AttributeError: _renamed); the sync goes on with the CDK's own behaviour."
    ]


def test_without_the_filters_decoding_each_answer_is_decoded_by_the_cdk_and_by_the_records(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    def renamed(self: Any, response: Any) -> Any:  # a later CDK's method, no longer a staticmethod
        return response.json()

    monkeypatch.setattr(HttpResponseFilter, "_safe_response_json", renamed)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("one decoding of each answer", components._filters_decode_once)
    assert HttpResponseFilter.__dict__["_safe_response_json"] is renamed
    assert len(_warnings(caplog)) == 1 and "one decoding of each answer" in _warnings(caplog)[0]


def test_the_cli_builds_the_protocols_serializers_without_field_docstrings_and_writes_the_same() -> None:
    import subprocess
    import sys

    write_a_message = (
        "import json; from airbyte_cdk.models import AirbyteLogMessage, AirbyteMessage, AirbyteMessageSerializer, Level, Type; "
        "print(json.dumps(AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.INFO, message='m')))))"
    )
    in_the_cli = (
        "from source_intercom.startup import import_the_cdk; import_the_cdk(); import attributes_doc; "
        "print(attributes_doc.get_attributes_doc.__name__); " + write_a_message
    )
    cli = subprocess.run([sys.executable, "-c", in_the_cli], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    cdk = subprocess.run([sys.executable, "-c", write_a_message], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()
    assert cli == ["_no_docstrings", *cdk]


def test_after_airbyte_cdk_is_imported_the_start_up_changes_nothing() -> None:
    import attributes_doc

    from source_intercom.startup import skip_field_docstrings

    before = attributes_doc.get_attributes_doc
    assert skip_field_docstrings() is False and attributes_doc.get_attributes_doc is before


def test_a_sub_streams_state_is_emitted_every_minute_not_every_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = ConcurrentPerPartitionCursor.__new__(ConcurrentPerPartitionCursor)
    now = 1_000_000.0
    monkeypatch.setattr(components.time, "time", lambda: now)
    cursor._last_emission_time = now - 61
    assert cursor._throttle_state_message() == now
    cursor._last_emission_time = now - 59
    assert cursor._throttle_state_message() is None


def test_without_the_state_throttle_the_cdk_keeps_its_own(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(ConcurrentPerPartitionCursor, "_throttle_state_message")
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        components.cdk_reliance("a sub-stream's state every minute", components._checkpoint_sub_streams_every_minute)
    assert not hasattr(ConcurrentPerPartitionCursor, "_throttle_state_message")
    assert len(_warnings(caplog)) == 1 and "state every minute" in _warnings(caplog)[0]


def test_an_http_client_builds_its_backoff_decorators_once_and_each_request_counts_its_own_tries(
    requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from airbyte_cdk.sources.streams.http.error_handlers import HttpStatusErrorHandler
    from airbyte_cdk.sources.streams.http.http_client import HttpClient
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the CDK's backoff waits, not under test
    requests_mock.get("https://api.example/ok", json={"ok": True})
    requests_mock.get("https://api.example/down", status_code=500, json={})
    logger = logging.getLogger("airbyte")
    client, other = (HttpClient(name, logger, error_handler=HttpStatusErrorHandler(logger, max_retries=2)) for name in ("a", "b"))
    for _ in range(2):
        client.send_request("GET", "https://api.example/ok", request_kwargs={})
    built = dict(client.__dict__[components._BACKOFF_BUILT])
    for _ in range(2):  # after successes, each failing request is still tried 1 + max_retries times
        with pytest.raises(AirbyteTracedException):
            client.send_request("GET", "https://api.example/down", request_kwargs={})
    assert requests_mock.call_count == 2 + 2 * 3
    assert len(built) == 3 and client.__dict__[components._BACKOFF_BUILT] == built  # the same three decorated sends
    other.send_request("GET", "https://api.example/ok", request_kwargs={})
    assert set(other.__dict__[components._BACKOFF_BUILT].values()).isdisjoint(built.values())  # each client its own


def test_without_the_backoff_handlers_the_cdk_builds_them_per_request(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from airbyte_cdk.sources.streams.http import http_client

    kept = http_client.user_defined_backoff_handler
    monkeypatch.delattr(http_client, "rate_limit_default_backoff_handler")  # renamed in a later CDK
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("the backoff decorators built once", components._backoff_handlers_built_once)
    assert http_client.user_defined_backoff_handler is kept
    assert len(_warnings(caplog)) == 1 and "the backoff decorators built once" in _warnings(caplog)[0]


def test_a_plain_string_is_evaluated_once_and_what_depends_on_config_slice_or_response_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    rendered: list = []
    render = JinjaInterpolation._eval
    monkeypatch.setattr(JinjaInterpolation, "_eval", lambda self, s, context: rendered.append(s) or render(self, s, context))
    interpolation = JinjaInterpolation()
    plain = "application/json; plain-once-test"  # the evaluations kept are the process's
    assert [interpolation.eval(plain, {}, valid_types=(str,)) for _ in range(3)] == [plain] * 3
    assert rendered.count(plain) == 1
    template = "{{ config['access_token'] }}/{{ stream_slice['path'] }}/{{ response.get('code') }}"
    assert interpolation.eval(template, {"access_token": "a"}, stream_slice={"path": "x"}, response={"code": 1}) == "a/x/1"
    assert interpolation.eval(template, {"access_token": "b"}, stream_slice={"path": "y"}, response={"code": 2}) == "b/y/2"
    assert rendered.count(template) == 2
    assert interpolation.eval("2.11", {}, valid_types=(str,)) == "2.11" and interpolation.eval("2.11", {}) == 2.11  # the types asked for
    first, again = interpolation.eval("[1, 2]", {}), interpolation.eval("[1, 2]", {})
    assert first == again == [1, 2] and first is not again  # a mutable value is never handed out twice


def _changed_eval(self: Any, input_str: str, context: Any) -> Any:  # a later CDK's signature
    return input_str


def _changed_literal_eval(self: Any, result: Any, valid_types: Any, strict: bool = False) -> Any:  # a later CDK's signature
    return result


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD")


@pytest.fixture
def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_environments_proxies_are_looked_up_once_per_host_and_a_change_is_seen_at_the_next_request(
    monkeypatch: pytest.MonkeyPatch, no_proxy_in_the_environment: None
) -> None:
    import requests.sessions

    lookups: list = []
    session = requests.Session()

    def proxies(url: str) -> dict:  # what requests uses for an https URL
        merged = session.merge_environment_settings(url, {}, None, None, None)["proxies"]
        return {scheme: merged[scheme] for scheme in ("https", "all") if scheme in merged}

    counted = requests.sessions.get_environ_proxies
    monkeypatch.setattr(requests.utils, "getproxies", lambda: lookups.append(1) or requests.utils.getproxies_environment())  # requests' own lookup, counted
    assert [proxies("https://api.intercom.io/contacts/search") for _ in range(3)] == [{}] * 3
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert proxies("https://api.intercom.io/contacts/1") == {"https": "http://proxy.example:3128"}
    assert proxies("https://api.eu.intercom.io/contacts/1") == {"https": "http://proxy.example:3128"}
    monkeypatch.setenv("no_proxy", "api.intercom.io")
    assert proxies("https://api.intercom.io/contacts/2") == {}
    assert proxies("https://api.eu.intercom.io/contacts/2") == {"https": "http://proxy.example:3128"}
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("all_proxy", "http://other.example:8080")
    assert proxies("https://api.intercom.io/contacts/3") == {"https": "http://proxy.example:3128", "all": "http://other.example:8080"}
    assert counted is requests.sessions.get_environ_proxies
    calls = len(lookups)
    for _ in range(3):
        proxies("https://api.intercom.io/contacts/4")
    assert len(lookups) == calls  # the same host and environment: asked once


def test_a_connector_request_goes_through_the_environments_proxy(monkeypatch: pytest.MonkeyPatch, requests_mock: Any, no_proxy_in_the_environment: None) -> None:
    from airbyte_cdk.sources.streams.http.http_client import HttpClient

    requests_mock.get("https://api.intercom.io/me", json={"type": "admin"})
    client = HttpClient("admins", logging.getLogger("airbyte"))
    client.send_request("GET", "https://api.intercom.io/me", request_kwargs={})
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    client.send_request("GET", "https://api.intercom.io/me", request_kwargs={})
    assert [request.proxies for request in requests_mock.request_history] == [{}, {"https": "http://proxy.example:3128"}]


def test_a_stream_slice_is_hashed_once_as_the_cdk_hashes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from airbyte_cdk.sources.types import StreamSlice
    from airbyte_cdk.utils.slice_hasher import SliceHasher

    hashed: list = []
    hash_values = SliceHasher.hash.__func__
    monkeypatch.setattr(SliceHasher, "hash", classmethod(lambda cls, *args, **kwargs: hashed.append(1) or hash_values(cls, *args, **kwargs)))
    day = StreamSlice(partition={"parent_slice": {}, "id": "c1"}, cursor_slice={"start_time": "1", "end_time": "2"})
    same = StreamSlice(partition={"parent_slice": {}, "id": "c1"}, cursor_slice={"start_time": "1", "end_time": "2"})
    other = StreamSlice(partition={"parent_slice": {}, "id": "c2"}, cursor_slice={"start_time": "1", "end_time": "2"})
    assert [day.__hash__() for _ in range(3)] == [StreamSlice.__hash__.__wrapped__(day)] * 3
    assert hash(same) == hash(day) and hash(other) != hash(day)
    assert len(hashed) == 1 + 1 + 1 + 1  # day once (and once more through the CDK's own, above), same and other once
    latest = {day: 1}
    latest[same] = 2  # the cursor's dict: an equal slice is the same key
    assert latest == {day: 2}


def test_without_the_slices_values_as_expected_each_slice_is_hashed_on_every_lookup(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from airbyte_cdk.sources.types import StreamSlice

    build = StreamSlice.__init__

    def renamed(self: Any, **kwargs: Any) -> None:  # a later CDK that keeps the values under another name
        build(self, **kwargs)
        self._values = self.__dict__.pop("_stream_slice")

    monkeypatch.setattr(StreamSlice, "__init__", renamed)
    monkeypatch.setattr(StreamSlice, "__hash__", StreamSlice.__hash__.__wrapped__)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("each stream slice hashed once", components._slice_hashed_once)
    assert not getattr(StreamSlice.__hash__, components._REPLACED, False)
    assert len(_warnings(caplog)) == 1 and "each stream slice hashed once" in _warnings(caplog)[0]


def _changed_proxy_lookup(url: str, no_proxy: Any = None, trust_env: bool = True) -> dict:  # a later requests' signature
    return {}


def _changed_protocol_attrs(cls: Any, exclude: Any = None) -> set:  # a later Python's signature
    return set()


def _changed_parse_headers(fp: Any, _class: Any = None, *, strict: bool = False) -> Any:  # a later Python's signature
    return None


JINJA = "airbyte_cdk.sources.declarative.interpolation.jinja:JinjaInterpolation"


@pytest.mark.parametrize(
    "owner, name, changed, what, apply",
    [
        (JINJA, "eval", _changed_eval, "plain strings evaluated once", "_plain_strings_evaluated_once"),  # each string rendered on every call
        (JINJA, "_literal_eval", _changed_literal_eval, "outputs not parsed", "_outputs_not_parsed_when_no_literal"),  # every output parsed
        # requests asks the environment for proxies on every request
        ("requests.sessions", "get_environ_proxies", _changed_proxy_lookup, "the environment's proxies looked up once per host", "_environment_proxies_per_host"),
        # every isinstance() against a protocol collects its members
        pytest.param("typing", "_get_protocol_attrs", _changed_protocol_attrs, "protocols' members collected once", "_protocol_members_collected_once",
                     marks=pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 collects a protocol's members once itself: nothing is replaced")),
        # every head goes through the email parser
        ("http.client", "parse_headers", _changed_parse_headers, "plain HTTP heads read without the email parser", "_plain_heads_read_directly"),
    ],
)
def test_without_a_cdk_or_library_function_as_expected_it_does_its_own_work(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, owner: str, name: str, changed: Any, what: str, apply: str
) -> None:
    module, _, attribute = owner.partition(":")
    found = importlib.import_module(module)
    found = getattr(found, attribute) if attribute else found
    monkeypatch.setattr(found, name, changed)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance(what, getattr(components, apply))
    assert getattr(found, name) is changed
    assert len(_warnings(caplog)) == 1 and what in _warnings(caplog)[0]


def test_the_module_loaded_again_wraps_each_cdk_function_once() -> None:
    """The Builder's runtime loads components.py again for every request while the CDK's modules
    stay: each function it replaced stays replaced once (replace_once), not wrapped again."""
    import importlib.util

    import http.client
    import typing

    import requests.sessions
    from airbyte_cdk.sources.concurrent_source.thread_pool_manager import ThreadPoolManager
    from airbyte_cdk.sources.declarative.interpolation import jinja
    from airbyte_cdk.sources.streams.http import http_client
    from airbyte_cdk.sources.types import StreamSlice

    spec = importlib.util.spec_from_file_location("components_loaded_again", components.__file__)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    replaced = [(ThreadPoolManager, "__init__"), (jinja.JinjaInterpolation, "eval"), (jinja.JinjaInterpolation, "_literal_eval"),
                (jinja._ENVIRONMENT, "make_globals"), (requests.sessions, "get_environ_proxies"), (StreamSlice, "__hash__"),
                *((http_client, name) for name in components._BACKOFF_HANDLERS),
                (http.client, "parse_headers"), *([(typing, "_get_protocol_attrs")] if sys.version_info < (3, 12) else [])]
    for owner, name in replaced:
        current = getattr(owner, name)
        assert getattr(current, components._REPLACED, False), name
        assert not getattr(current.__wrapped__, components._REPLACED, False), name
