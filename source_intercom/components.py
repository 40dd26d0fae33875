"""Custom components: only what the manifest cannot say.

This module is loaded two ways: as ``source_intercom.components`` by the Python package, and as
the injected ``source_declarative_manifest.components`` by the CDK's manifest-only runtime (the
Airbyte platform and the Connector Builder). It must therefore import nothing but the standard
library and ``airbyte_cdk``.
"""

# No `from __future__ import annotations`: the platform exec()s this code before the module is in
# sys.modules, and string annotations then break @dataclass (tested in test_manifest_only.py).
import calendar
import collections
import datetime
import concurrent.futures
import copy
import functools
import hashlib
import inspect
import itertools
import json
import logging
import math
import os
import queue
import random
import re
import sys
import tempfile
import threading
import time
from dataclasses import InitVar, dataclass, field, replace
from typing import Any, Callable, Counter, Deque, Dict, FrozenSet, Iterable, Iterator, List, Mapping, MutableMapping, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import FailureType

try:  # airbyte-cdk depends on orjson, which decodes and encodes JSON in a third of the time
    import orjson
except ImportError:  # pragma: no cover - a CDK without it: the standard library's json
    orjson = None  # type: ignore[assignment]
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler, ErrorResolution, ResponseAction
from airbyte_cdk.sources.declarative.extractors.http_selector import HttpSelector
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration
from airbyte_cdk.sources.declarative.requesters.requester import Requester
from airbyte_cdk.sources.declarative.retrievers.retriever import Retriever
from airbyte_cdk.sources.declarative.validators.validation_strategy import ValidationStrategy
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit, FixedWindowCallRatePolicy
from airbyte_cdk.sources.streams.core import StreamData
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# ---------------------------------------------------------------------------------------------
# Reliance on CDK internals
# ---------------------------------------------------------------------------------------------
#
# A few optimisations reach into airbyte-cdk's internals (private fields of the API budget, the
# wording of its retry log line, a class attribute, the cursor handed to a retriever). In
# manifest-only mode the platform runs this module on whatever airbyte-cdk its image ships, where
# any of them may have changed: each goes through cdk_reliance, which logs one warning naming what
# could not be applied and lets the sync go on with the CDK's own behaviour.

LOGGER = logging.getLogger("airbyte")
_RELIANCES_WARNED: set = set()


def cdk_reliance(what: str, apply: Callable[[], Any]) -> Any:
    """``apply()``'s result, or None (with one warning per ``what``) when the installed CDK is not
    what it expects."""
    try:
        return apply()
    except Exception as error:  # noqa: BLE001 - an optimisation never fails a sync
        if what not in _RELIANCES_WARNED:
            _RELIANCES_WARNED.add(what)
            LOGGER.warning(
                f"source-intercom could not apply {what} on this airbyte-cdk ({type(error).__name__}: {error}); "
                f"the sync goes on with the CDK's own behaviour."
            )
        return None


_REPLACED = "_intercom_replaced"


def replace_once(owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """``owner.name`` becomes ``wrap(owner.name)`` (the original as its ``__wrapped__``), unless
    it already is this module's: the Builder's runtime loads the module again for every request,
    and the CDK's modules stay. ``wrap`` checks what it relies on, on the original alone."""
    current = getattr(owner, name)
    if getattr(current, _REPLACED, False):
        return
    replacement = wrap(current)
    setattr(replacement, _REPLACED, True)
    replacement.__wrapped__ = current  # type: ignore[attr-defined]
    setattr(owner, name, replacement)


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------

# The CDK keeps the cursor of every partition (one per conversation, one per company) until it
# holds 25,000 of them, about 2.8 KiB each, although with a global substream cursor (the only
# kind this connector's substreams use, see unit_tests) a finished partition's cursor is never
# read again. Keep only as many as can be in flight: the CDK's thread pool queues at most
# DEFAULT_MAX_QUEUE_SIZE partitions, and any cursor beyond that is a finished one.
def _keep_only_partition_cursors_in_flight() -> None:
    from airbyte_cdk.sources.concurrent_source.thread_pool_manager import ThreadPoolManager
    from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor

    assert isinstance(ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER, int)
    ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER = ThreadPoolManager.DEFAULT_MAX_QUEUE_SIZE + 1_000


cdk_reliance("the cap on partition cursors kept in memory (ConcurrentPerPartitionCursor.DEFAULT_MAX_PARTITIONS_NUMBER)", _keep_only_partition_cursors_in_flight)


# ---------------------------------------------------------------------------------------------
# Checkpoints of sub-streams
# ---------------------------------------------------------------------------------------------
#
# The CDK emits a sub-stream's state (company_segments': its parent's progress and the partitions'
# cursors) at most once every 600 s while it reads, so a sync killed within ten minutes of a
# sub-stream's start reads all its partitions again. Every SUB_STREAM_STATE_EVERY_S instead: a
# state message is one line of a few kilobytes, with one cursor per partition in flight.
SUB_STREAM_STATE_EVERY_S = 60.0


def _checkpoint_sub_streams_every_minute() -> None:
    from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor

    cdk_throttle = ConcurrentPerPartitionCursor._throttle_state_message
    assert callable(cdk_throttle) and "_last_emission_time" in cdk_throttle.__code__.co_names

    def throttle_state_message(self: Any) -> Optional[float]:
        """The time now, when the last state message is SUB_STREAM_STATE_EVERY_S old; else None."""
        now = time.time()
        return None if now - self._last_emission_time <= SUB_STREAM_STATE_EVERY_S else now

    ConcurrentPerPartitionCursor._throttle_state_message = throttle_state_message  # type: ignore[method-assign]


cdk_reliance("a sub-stream's state every minute (ConcurrentPerPartitionCursor._throttle_state_message)", _checkpoint_sub_streams_every_minute)


# ---------------------------------------------------------------------------------------------
# Order of partitions
# ---------------------------------------------------------------------------------------------
#
# The CDK's workers take partitions first in, first out, and a stream's slices are all queued at
# once: with a search stream's slices (components.py, "Readings"), every slice of the first stream
# of a reading would be read before the first slice of the next, and a sync killed half-way would
# have checkpointed the first stream alone; the others would read the same data again. So the
# workers take: the CDK's own work first (generating partitions), then the oldest time slice,
# whatever its stream, so that the streams of a reading move through their slices together; then
# the partitions without a time slice (a single-slice stream, one company's segments), in the
# order queued. The company partitions, thousands of them, would otherwise hold every worker
# while the searches' slices wait, their readings running ahead of what is checkpointed.


class OldestSliceFirst(queue.PriorityQueue):
    """A thread pool's work queue: the CDK's own work, then the oldest time slice, then partitions
    without one, each in the order queued."""

    def __init__(self) -> None:
        super().__init__()
        self._order = itertools.count()

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        super().put((self._key(item), next(self._order), item), block, timeout)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        return super().get(block, timeout)[2]

    @staticmethod
    def _key(item: Any) -> Tuple[int, float]:
        if item is None:  # the executor's shutdown: after the work queued
            return (3, 0.0)
        try:
            partition = (getattr(item, "args", None) or (None,))[0]
            if not hasattr(partition, "to_slice"):
                return (0, 0.0)
            start = (partition.to_slice().cursor_slice or {}).get("start_time")
            return (1, float(start)) if start is not None else (2, 0.0)
        except Exception:  # noqa: BLE001 - an unknown item keeps its place
            return (0, 0.0)


def _take_the_oldest_slice_first() -> None:
    from airbyte_cdk.sources.concurrent_source.thread_pool_manager import ThreadPoolManager

    def ordered(build: Callable[..., None]) -> Callable[..., None]:
        def build_with_ordered_queue(self: Any, threadpool: Any, *args: Any, **kwargs: Any) -> None:
            if not getattr(threadpool, "_threads", None):  # no worker holds the queue yet
                cdk_reliance("the order of partitions (the oldest slice first)", lambda: _order_work_queue(threadpool))
            build(self, threadpool, *args, **kwargs)
        return build_with_ordered_queue

    replace_once(ThreadPoolManager, "__init__", ordered)


def _order_work_queue(threadpool: concurrent.futures.ThreadPoolExecutor) -> None:
    assert isinstance(threadpool, concurrent.futures.ThreadPoolExecutor) and threadpool._work_queue.empty()  # type: ignore[attr-defined]
    threadpool._work_queue = OldestSliceFirst()  # type: ignore[attr-defined]


cdk_reliance("the order of partitions (the oldest slice first)", _take_the_oldest_slice_first)

# ---------------------------------------------------------------------------------------------
# One decoding of each answer
# ---------------------------------------------------------------------------------------------
#
# The CDK's response filters decode the body of every answer, 200s too, for each filter with a
# predicate (`unreadable` in the manifest: a body cut short is retried), and the records are then
# read from the same body: each page was decoded twice, a fifth of a contacts read's CPU. The
# filters' decoding is kept on the response (`decoded_body`), where _json_body finds it.

_DECODED_BODY = "_intercom_decoded_body"


def decoded_body(response: requests.Response) -> Any:
    """The response's JSON, decoded once per response; raises ``ValueError`` when it is not JSON.
    orjson first, as the CDK's own JsonDecoder reads records (an integer beyond 64 bits becomes a
    float there too)."""
    cached = response.__dict__.get(_DECODED_BODY, _DECODED_BODY)
    if cached is not _DECODED_BODY:
        return cached
    body = None
    if orjson is not None:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:  # not UTF-8, or not JSON: as requests reads it
            body = None
    if body is None:
        body = response.json()
    response.__dict__[_DECODED_BODY] = body
    return body


def _filters_decode_once() -> None:
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    assert isinstance(HttpResponseFilter.__dict__["_safe_response_json"], staticmethod)

    def decoded_or_empty(response: requests.Response) -> Any:
        try:
            return decoded_body(response)
        except ValueError:  # the CDK's own reading: not JSON is an empty body
            return {}

    HttpResponseFilter._safe_response_json = staticmethod(decoded_or_empty)  # type: ignore[method-assign]


cdk_reliance("one decoding of each answer for the response filters and the records (HttpResponseFilter._safe_response_json)", _filters_decode_once)

# ---------------------------------------------------------------------------------------------
# CPU per request
# ---------------------------------------------------------------------------------------------
#
# The CDK's HttpClient wraps its send method in three backoff decorators (backoff.on_exception)
# again for every request. A decorated send keeps nothing between calls (each call counts its own
# tries and draws its own waits), so each client builds each decorator once per set of arguments
# (max_tries, max_time) and uses it for every later request.

_BACKOFF_BUILT = "_intercom_backoff_built"
_BACKOFF_OWNER = "_intercom_backoff_owner"
_BACKOFF_HANDLERS = ("user_defined_backoff_handler", "rate_limit_default_backoff_handler", "http_client_default_backoff_handler")


def _decorated_once(factory: Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]], args: Tuple[Any, ...], kwargs: Mapping[str, Any], target: Callable[..., Any]) -> Callable[..., Any]:
    """``factory(*args, **kwargs)(target)``, built once per client (the owner of the bound send
    method that the innermost decorator wraps) and arguments."""
    owner = getattr(target, "__self__", None) or getattr(target, _BACKOFF_OWNER, None)
    try:
        key = (factory, args, tuple(sorted(kwargs.items())), getattr(target, "__func__", target))
        built = owner.__dict__.setdefault(_BACKOFF_BUILT, {}) if owner is not None else None
        hash(key)
    except (TypeError, AttributeError):  # unhashable arguments, an owner without __dict__: as the CDK does
        return factory(*args, **kwargs)(target)
    if built is None:
        return factory(*args, **kwargs)(target)
    decorated = built.get(key)
    if decorated is None:
        decorated = factory(*args, **kwargs)(target)
        setattr(decorated, _BACKOFF_OWNER, owner)  # the next decorator out finds the client
        built[key] = decorated
    return decorated


def _backoff_handlers_built_once() -> None:
    from airbyte_cdk.sources.streams.http import http_client

    assert all(callable(getattr(http_client, name)) for name in _BACKOFF_HANDLERS)

    def built_once(factory: Callable[..., Any]) -> Callable[..., Any]:
        def handler(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            return functools.partial(_decorated_once, factory, args, kwargs)
        return handler

    for name in _BACKOFF_HANDLERS:
        replace_once(http_client, name, built_once)


cdk_reliance("the backoff decorators built once per HTTP client (airbyte_cdk.sources.streams.http.http_client's backoff handlers)", _backoff_handlers_built_once)

# Every request evaluates the requester's headers (`Accept`, `Intercom-Version`, keys and values),
# a search's body (its operators and field names) through Jinja and `ast.literal_eval`, although
# a string without any Jinja mark renders as itself whatever the context: its value depends only
# on the string and the types asked for. Those are evaluated once; every template (a `{{`, `{%`
# or `{#` in it) still is rendered on every call.

_JINJA_MARKS = ("{{", "{%", "{#")
_PLAIN_VALUE_TYPES = (str, int, float, bool, type(None))  # immutable: safe to hand out again
_PLAIN_STRINGS_KEPT = 10_000  # the manifest's and config's strings; a bound all the same
_NOT_KEPT = object()


def _plain_strings_evaluated_once() -> None:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    replace_once(JinjaInterpolation, "eval", _evaluated_once_when_plain)


def _evaluated_once_when_plain(evaluate: Callable[..., Any]) -> Callable[..., Any]:
    assert list(inspect.signature(evaluate).parameters)[:5] == ["self", "input_str", "config", "default", "valid_types"]
    kept: Dict[Any, Any] = {}

    def eval_plain_once(self: Any, input_str: Any, config: Any, default: Optional[str] = None, valid_types: Any = None, **additional: Any) -> Any:
        if type(input_str) is not str or not input_str:
            return evaluate(self, input_str, config, default, valid_types, **additional)
        if any(mark in input_str for mark in _JINJA_MARKS):
            looked_up = config_value_of_a_lookup(input_str, config, additional)
            if looked_up is not None:
                return self._literal_eval(looked_up, valid_types)
            return evaluate(self, input_str, config, default, valid_types, **additional)
        key = (input_str, valid_types)
        try:
            value = kept.get(key, _NOT_KEPT)
        except TypeError:  # unhashable valid_types
            return evaluate(self, input_str, config, default, valid_types, **additional)
        if value is _NOT_KEPT:
            value = evaluate(self, input_str, config, default, valid_types, **additional)
            if type(value) in _PLAIN_VALUE_TYPES and len(kept) < _PLAIN_STRINGS_KEPT:
                kept[key] = value
        return value

    return eval_plain_once


cdk_reliance("plain strings evaluated once (JinjaInterpolation.eval)", _plain_strings_evaluated_once)

# A template that is a config lookup alone (`{{ config['access_token'] }}`: the token, rendered twice
# per request, for the requester's headers and for the session's authenticator) renders as the
# value itself when that value is a non-empty string: Jinja's output of a string is the string.
# Its value is read from the config of each call, so a new token is used at the next request; the
# output then goes through the CDK's `_literal_eval`, as Jinja's would. Any other template, a value
# of another type, a missing or empty one (the CDK's default then applies) and a context that
# redefines `config` or uses a name the CDK refuses are rendered by the CDK.

_CONFIG_LOOKUP = re.compile(r"\{\{\s*config\[\s*(?:'([^'\\]+)'|\"([^\"\\]+)\")\s*\]\s*\}\}")
_LOOKUP_KEYS: Dict[str, Optional[str]] = {}
_NAMES_THE_CDK_CHECKS = ("config", "stream_interval", "stream_partition", "stream_state")  # its context's own, its aliases, its refused


def config_value_of_a_lookup(template: str, config: Any, context: Mapping[str, Any]) -> Optional[str]:
    """``config[key]`` when ``template`` is exactly ``{{ config['key'] }}`` and that is a non-empty
    string; else None (the CDK renders the template)."""
    key = _LOOKUP_KEYS.get(template, _NOT_KEPT)  # type: ignore[arg-type]
    if key is _NOT_KEPT:
        match = _CONFIG_LOOKUP.fullmatch(template)
        key = (match.group(1) or match.group(2)) if match and not any(name in template[2:] for name in _NAMES_THE_CDK_CHECKS[1:]) else None
        if len(_LOOKUP_KEYS) < _PLAIN_STRINGS_KEPT:
            _LOOKUP_KEYS[template] = key
    if key is None or type(config) is not dict or any(name in context for name in _NAMES_THE_CDK_CHECKS):
        return None
    value = config.get(key)
    return value if type(value) is str and value else None


# A template's output then goes through `ast.literal_eval` (the CDK's JinjaInterpolation._literal_eval),
# which gives back the output itself when it is no Python literal, after parsing it and raising a
# SyntaxError or ValueError: a URL, a path or a token, on every request. Whether a string can be a
# literal shows in how it starts: no Python expression starts with `/`, and one that starts with a
# letter is a literal only when it starts with True, False, None, `set` (`set()`) or a string
# prefix and a quote (`b'...'`). Such a string is given back without parsing; every other one,
# and its type checks, still go through the CDK's own evaluation. "True", "False" and "None" (a
# predicate's output) have the CDK's answer kept, per types asked for: it depends on nothing else.

_MAYBE_A_LITERAL = re.compile(r"True|False|None|set|[rRbBuUfF]{1,2}['\"]")
_CONSTANTS_KEPT: Dict[Any, Any] = {}


def cannot_be_a_literal(text: str) -> bool:
    """Whether ``ast.literal_eval(text)`` certainly fails, as seen from the string's start."""
    first = text[:1]
    if first == "/":
        return True
    return first.isascii() and first.isalpha() and _MAYBE_A_LITERAL.match(text) is None


def _outputs_not_parsed_when_no_literal() -> None:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    replace_once(JinjaInterpolation, "_literal_eval", _parsed_only_when_maybe_a_literal)


def _parsed_only_when_maybe_a_literal(literal_eval: Callable[..., Any]) -> Callable[..., Any]:
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    assert list(inspect.signature(literal_eval).parameters) == ["self", "result", "valid_types"]
    assert literal_eval(JinjaInterpolation(), "https://x/y", None) == "https://x/y" and literal_eval(JinjaInterpolation(), "False", None) is False

    def literal_or_output(self: Any, result: Any, valid_types: Any) -> Any:
        if type(result) is str:
            if cannot_be_a_literal(result):
                return result
            if result in ("True", "False", "None"):
                try:
                    key = (result, valid_types)
                    if key not in _CONSTANTS_KEPT:
                        _CONSTANTS_KEPT[key] = literal_eval(self, result, valid_types)
                    return _CONSTANTS_KEPT[key]
                except TypeError:  # unhashable valid_types
                    pass
        return literal_eval(self, result, valid_types)

    return literal_or_output


cdk_reliance("templates' outputs that cannot be Python literals not parsed (JinjaInterpolation._literal_eval)", _outputs_not_parsed_when_no_literal)

# Each render of a template copies its globals (the CDK's macros, Jinja's own: about 20 names)
# into a new context, and Jinja keeps a template's globals as a ChainMap over the environment's,
# which Python copies key by key: a quarter of the render of a token or a URL. Jinja asks that the
# globals not change once a template is loaded, and the CDK sets its environment's at import; so
# each template the CDK compiles from now on keeps them as a dict. The context of every render (config,
# slice, page, response) is still new each time.


def _template_globals_as_dicts() -> None:
    from airbyte_cdk.sources.declarative.interpolation import jinja

    def as_dicts(make: Callable[..., Any]) -> Callable[..., Any]:
        assert isinstance(make(None), collections.ChainMap)

        def make_globals(template_globals: Optional[MutableMapping[str, Any]]) -> MutableMapping[str, Any]:
            return dict(make(template_globals))
        return make_globals

    replace_once(jinja._ENVIRONMENT, "make_globals", as_dicts)


cdk_reliance("templates' globals kept as a dict (the CDK's Jinja environment's make_globals)", _template_globals_as_dicts)

# For every request, requests looks for proxies in the environment (Session.merge_environment_settings:
# two or three passes over every environment variable, about 0.1 ms). Where its proxies come from
# the environment alone (Linux, the platform's images), the answer is kept for the URL's scheme
# and host and the environment variables that decide it: the URL's scheme's proxy, all_proxy,
# no_proxy (each in either case) and REQUEST_METHOD (a CGI guard). A change to one of them is seen
# at the next request, as before. (Another scheme's proxy, in the answer too, may then be an
# earlier one: requests never uses it for this URL.)

_PROXY_ANSWERS_KEPT = 1_000


def _environment_proxies_per_host() -> None:
    import urllib.request

    import requests.sessions
    import requests.utils

    if requests.utils.getproxies is not urllib.request.getproxies_environment or requests.utils.proxy_bypass is not urllib.request.proxy_bypass_environment:
        return  # proxies from the system's settings (macOS, Windows): asked for every request, as requests does
    replace_once(requests.sessions, "get_environ_proxies", _kept_per_host)


def _kept_per_host(lookup: Callable[..., Dict[str, str]]) -> Callable[..., Dict[str, str]]:
    assert list(inspect.signature(lookup).parameters) == ["url", "no_proxy"]
    kept: Dict[Any, Dict[str, str]] = {}

    def environment_proxies(url: str, no_proxy: Optional[str] = None) -> Dict[str, str]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        names = (f"{scheme}_proxy", "all_proxy", "no_proxy")
        key = (scheme, parts.netloc, no_proxy, os.environ.get("REQUEST_METHOD"), *(os.environ.get(n) for name in names for n in (name, name.upper())))
        answer = kept.get(key)
        if answer is None:
            answer = lookup(url, no_proxy=no_proxy)
            if len(kept) < _PROXY_ANSWERS_KEPT:
                kept[key] = answer
        return dict(answer)  # the caller's own, as requests gives it

    return environment_proxies


cdk_reliance("the environment's proxies looked up once per host (requests.sessions.get_environ_proxies)", _environment_proxies_per_host)

# Python 3.11's isinstance() against a runtime-checkable Protocol collects the protocol's members
# again on every call (typing._get_protocol_attrs walks the protocol's classes and their dicts,
# twice when the answer is no): requests asks it of every request's headers and params
# (SupportsItems), the CDK of the session's authenticator after every answer
# (ResponseAwareAuthenticator), 7% of a request's CPU. A protocol's members are those of its
# definition (Python 3.12 collects them once, when the class is made); so each protocol's are
# collected once, and every check still looks at the instance it is given.

_PROTOCOLS_KEPT = 1_000


def _protocol_members_collected_once() -> None:
    import typing

    if sys.version_info >= (3, 12):
        return  # collected at the class's creation already
    replace_once(typing, "_get_protocol_attrs", _members_kept_per_protocol)


def _members_kept_per_protocol(collect: Callable[[type], Any]) -> Callable[[type], Any]:
    import typing

    assert list(inspect.signature(collect).parameters) == ["cls"] and collect(typing.SupportsIndex) == {"__index__"}
    kept: Dict[type, FrozenSet[str]] = {}

    def protocol_attrs(cls: type) -> Any:
        members = kept.get(cls)
        if members is None:
            members = frozenset(collect(cls))
            if len(kept) < _PROTOCOLS_KEPT:
                kept[cls] = members
        return set(members)  # the caller's own, as typing gives it

    return protocol_attrs


cdk_reliance("protocols' members collected once (typing._get_protocol_attrs)", _protocol_members_collected_once)

# http.client reads an answer's headers through the email package's parser (email.parser, a feed
# parser built for mail: about a tenth of a request's CPU). Where every line is a plain
# `Name: value` (a name of printable ASCII, no continuation line, no carriage return inside a
# line, a blank line at the end) and the content is not multipart or a message, the HTTPMessage
# is built from the lines directly, as that parser builds it (compat32: the value stripped of the
# spaces and tabs before it and of the line's end); any other head is parsed by http.client.

_PLAIN_HEADER_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+):([^\r\n]*)\r?\n")
_PARSED_CONTENT = re.compile(rb"multipart|message", re.IGNORECASE)


def http_message_of(lines: List[bytes]) -> Any:
    """The http.client.HTTPMessage of a head read by http.client (its lines, the blank one last),
    or None when a line is not a plain `Name: value` or the content is multipart or a message."""
    import http.client

    if not lines or lines[-1] not in (b"\r\n", b"\n"):
        return None
    message = http.client.HTTPMessage()
    for line in itertools.islice(lines, len(lines) - 1):
        match = _PLAIN_HEADER_LINE.fullmatch(line)
        if match is None:
            return None
        name, value = match.groups()
        if name.lower() == b"content-type" and _PARSED_CONTENT.search(value):
            return None
        message.set_raw(name.decode("ascii"), value.decode("iso-8859-1").lstrip(" \t"))
    message.set_payload("")
    return message


def _plain_heads_read_directly() -> None:
    import http.client

    replace_once(http.client, "parse_headers", _read_directly_when_plain)


def _read_directly_when_plain(parse: Callable[..., Any]) -> Callable[..., Any]:
    import http.client
    import io

    read_lines, message_class = http.client._read_headers, http.client.HTTPMessage  # type: ignore[attr-defined]
    assert list(inspect.signature(parse).parameters) == ["fp", "_class"] and list(inspect.signature(read_lines).parameters) == ["fp"]
    probe = b"Content-Type: application/json\r\nX-RateLimit-Remaining:\t 1665 \r\n\r\n"
    assert vars(http_message_of(read_lines(io.BytesIO(probe)))) == vars(parse(io.BytesIO(probe)))

    def parse_headers(fp: Any, _class: Any = message_class) -> Any:
        if _class is not message_class:
            return parse(fp, _class)
        lines = read_lines(fp)
        message = http_message_of(lines)
        return message if message is not None else parse(io.BytesIO(b"".join(lines)), _class)

    return parse_headers


cdk_reliance("plain HTTP heads read without the email parser (http.client.parse_headers)", _plain_heads_read_directly)

# ---------------------------------------------------------------------------------------------
# CPU per record
# ---------------------------------------------------------------------------------------------
#
# The CDK's cursor looks up each record's slice in a dict (ConcurrentCursor.observe), and a
# StreamSlice's hash is a sorted json.dumps and a SHA-256 of it: twice per record, 6% of a
# conversations read. A StreamSlice is immutable (its __setitem__ says so) and its hash is that
# of its own dict of values, so each slice keeps its hash (a copy, with a dict of its own, hashes
# again).

_SLICE_HASH = "_intercom_slice_hash"


def _slice_hashed_once() -> None:
    from airbyte_cdk.sources.types import StreamSlice

    replace_once(StreamSlice, "__hash__", _kept_on_the_slice)


def _kept_on_the_slice(hash_slice: Callable[[Any], int]) -> Callable[[Any], int]:
    from airbyte_cdk.sources.types import StreamSlice

    probe = StreamSlice(partition={"id": "1"}, cursor_slice={"start_time": "0"})
    assert isinstance(probe.__dict__["_stream_slice"], dict) and hash(probe) == hash_slice(probe)

    def hash_once(self: Any) -> int:
        kept = self.__dict__.get(_SLICE_HASH)
        values = self.__dict__.get("_stream_slice")
        if kept is not None and kept[1] is values:
            return kept[0]
        value = hash_slice(self)
        self.__dict__[_SLICE_HASH] = (value, values)
        return value

    return hash_once


cdk_reliance("each stream slice hashed once (StreamSlice.__hash__)", _slice_hashed_once)

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



@dataclass(frozen=True)
class RetryCause:
    """Why a request is retried, for people, and whether Intercom may have acted on it already.

    ``maybe_served`` is True when the request may have reached Intercom and been answered before
    the answer was lost or spoilt (a 5xx, a connection dropped after sending, a read timeout, a
    body cut short). The companies scroll needs to know: Intercom moves a scroll on when it serves
    a page, so the retry of such a request can silently skip a page.
    """

    description: str
    maybe_served: bool


class _RetriesOfThisThread(threading.local):
    """The retries the CDK made in this thread: each request is retried in the thread that sent it."""

    def __init__(self) -> None:
        self.last: Optional[RetryCause] = None
        self.maybe_served = 0  # how many retries so far followed an answer that may have been lost


_RETRIES = _RetriesOfThisThread()


def answers_maybe_lost_in_this_thread() -> int:
    """A counter: it grows each time this thread retries a request that Intercom may have served."""
    return _RETRIES.maybe_served


def _request_name(request: Optional[requests.PreparedRequest]) -> str:
    return f"{request.method} {urlsplit(request.url or '').path}" if request is not None else "a request"


def _intercom_error(response: requests.Response) -> str:
    try:
        body = response.json()
        first = (body.get("errors") or [{}])[0] if isinstance(body, dict) else {}
        return f": {first.get('code')}, {first.get('message')!r}" if first.get("code") else ""
    except ValueError:
        return ""


def describe_retry_cause(response_or_exception: Union[requests.Response, BaseException, None]) -> RetryCause:
    """What went wrong with one attempt of a request, worded for the sync's log."""
    if isinstance(response_or_exception, requests.Response):
        response = response_or_exception
        name, status = _request_name(response.request), response.status_code
        if status == 429:
            remaining = response.headers.get("X-RateLimit-Remaining", "?")
            return RetryCause(f"Intercom's rate limit is reached (HTTP 429 on {name}, {remaining} calls left in this window)", False)
        if status >= 500:
            return RetryCause(f"Intercom answered HTTP {status} {response.reason or ''} (a server error{_intercom_error(response)}) to {name}".replace("  ", " "), True)
        if status == 200:
            return RetryCause(f"Intercom's answer to {name} was cut short or is not JSON (HTTP 200, {len(response.content)} bytes)", True)
        return RetryCause(f"Intercom answered HTTP {status}{_intercom_error(response)} to {name}", True)
    error = response_or_exception
    name = _request_name(getattr(error, "request", None))
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return RetryCause(f"connecting to Intercom for {name} timed out", False)
    if isinstance(error, requests.exceptions.ReadTimeout):
        return RetryCause(f"Intercom did not answer {name} in time (read timeout)", True)
    if isinstance(error, requests.exceptions.ConnectionError):
        root = _root_cause(error)
        return RetryCause(f"the connection to Intercom failed during {name} ({root})", not root.startswith("ConnectionRefusedError"))
    return RetryCause(f"{name} failed ({type(error).__name__}: {error})", True)


def _root_cause(error: BaseException) -> str:
    """The innermost error of a chain such as requests' ConnectionError > urllib3's ProtocolError >
    ConnectionResetError, which is the one that says what happened."""
    for _ in range(6):
        inner = next((arg for arg in error.args if isinstance(arg, BaseException)), None) or error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    return f"{type(error).__name__}: {str(error)[:200]}".rstrip(": ")


@dataclass
class IntercomBackoffStrategy(BackoffStrategy):
    """How long to wait before retrying a request.

    A 429 waits until the rate-limit window Intercom names in ``X-RateLimit-Reset`` (unix seconds)
    has reset, plus a little jitter so that parallel workers do not all return at the same instant.
    Anything else (5xx, connection errors, timeouts) backs off exponentially with full jitter.
    The CDK's built-in strategies cannot tell the two apart: Intercom sends the reset header on
    every response, so a header-based strategy would also govern 5xx retries.

    Each decision also records why the request is retried (``RetryCause``), for the log line and
    for the companies scroll, which must know whether an answer may have been lost.

    Built with every requester, it also applies the config's fair-share cap to the source's call
    budget (``cap_request_rate``) and keeps the budget's windows in step with Intercom's
    (``keep_to_intercoms_windows``): the CDK hands the budget to custom components.
    """

    parameters: InitVar[Mapping[str, Any]]
    base_seconds: float = 0.5
    max_seconds: float = 60.0
    config: Optional[Mapping[str, Any]] = None
    api_budget: Optional[Any] = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._random = random.Random()
        cdk_reliance("Intercom's rate-limit windows on the API budget (skipping headers of ended windows, no call in a window's last "
                     "half second)", lambda: keep_to_intercoms_windows(self.api_budget))  # first: the fair-share cap's calls go through it
        cap_request_rate(self.api_budget, (self.config or {}).get("max_requests_per_minute"))

    def backoff_time(
        self, response_or_exception: Optional[Union[requests.Response, requests.RequestException]], attempt_count: int
    ) -> Optional[float]:
        cause = describe_retry_cause(response_or_exception)
        _RETRIES.last = cause
        _RETRIES.maybe_served += int(cause.maybe_served)
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            reset = response_or_exception.headers.get("X-RateLimit-Reset", "")
            if reset.isdigit():
                until_reset = int(reset) - time.time()
                return min(self.max_seconds, max(0.5, until_reset) + self._random.uniform(0.0, 0.5))
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt_count - 1))
        return self._random.uniform(ceiling / 2, ceiling)


RATE_LIMIT_WINDOW = datetime.timedelta(seconds=10)


def _rate_limit_windows(api_budget: Any) -> List[FixedWindowCallRatePolicy]:
    """The budget's policies that follow Intercom's 10-second window (the manifest's api_budget).
    Private fields of the CDK: raises when the installed CDK does not have them."""
    windows = [policy for policy in api_budget._policies if isinstance(policy, FixedWindowCallRatePolicy) and policy._offset == RATE_LIMIT_WINDOW]
    if not windows:
        raise LookupError("the API budget has no 10-second FixedWindowCallRatePolicy")
    for window in windows:
        assert isinstance(window._call_limit, int) and hasattr(window._next_reset_ts, "timestamp")  # a datetime
    return windows


def cap_request_rate(api_budget: Any, per_minute: Optional[int]) -> None:
    """A fair-share cap of ``per_minute`` calls in any 60 seconds. The budget's calls per
    10-second window (Intercom's window, which the budget follows from the X-RateLimit-Reset
    header) go down to ``per_minute`` / 6, which spreads the calls over the minute and which the
    headers can only lower further; and a call is sent only when the 60 seconds before it hold
    fewer than ``per_minute`` (without that, 60 s that straddle 7 windows could hold 7/6 of the
    cap). Idempotent; nothing to do without a cap."""
    if not per_minute or api_budget is None or getattr(api_budget, "intercom_cap_per_minute", None) == per_minute:
        return
    per_window = max(1, int(per_minute) * RATE_LIMIT_WINDOW.seconds // 60)

    def spread_over_the_minute() -> None:
        for window in _rate_limit_windows(api_budget):
            window._call_limit = min(window._call_limit, per_window)

    # The spread needs the budget's private fields; the cap itself (below) only its public acquire_call.
    cdk_reliance("the fair-share cap's spread over the minute (max_requests_per_minute / 6 per 10-second window)", spread_over_the_minute)
    minute = SlidingMinute(int(per_minute))
    acquire_call = api_budget.acquire_call

    def acquire_call_within_the_minute(request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        while True:
            acquire_call(request, block=block, timeout=timeout)  # a call of the current window
            wait = minute.take()
            if wait <= 0:
                return
            # No room in the last 60 s: the window's call goes unused (it is never sent), and
            # another is asked for once there is room.
            wait_for_room(request, block, datetime.timedelta(seconds=wait), "The fair-share cap (max_requests_per_minute) is reached",
                          f"{per_minute} per minute")

    api_budget.acquire_call = acquire_call_within_the_minute
    api_budget.intercom_cap_per_minute = per_minute


def wait_for_room(request: Any, block: bool, wait: datetime.timedelta, why: str, rate: str) -> None:
    """Waits ``wait`` before a call; a caller that must not wait gets the budget's own refusal."""
    if not block:
        raise CallRateLimitHit(error=why, item=request, weight=1, rate=rate, time_to_wait=wait)
    time.sleep(wait.total_seconds())


class SlidingMinute:
    """Admits at most ``limit`` calls in any 60 seconds."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._clock = limit, clock
        self._admitted: Deque[float] = collections.deque()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Admits a call now and returns 0, or returns the seconds until one can be admitted."""
        with self._lock:
            now = self._clock()
            while self._admitted and now - self._admitted[0] >= 60:
                self._admitted.popleft()
            if len(self._admitted) < self._limit:
                self._admitted.append(now)
                return 0.0
            return max(0.001, 60 - (now - self._admitted[0]))


WINDOW_GUARD = datetime.timedelta(seconds=0.5)


def keep_to_intercoms_windows(api_budget: Any) -> None:
    """Keeps the budget's 10-second windows in step with Intercom's, in two ways. Idempotent.

    - Headers of an answer whose window has ended are skipped. With dozens of requests in
      flight, answers served just before a window ends arrive after the budget has moved on; the
      CDK's budget would take their ``X-RateLimit-Reset`` as the current window's end, start yet
      another window at once and let a full window of calls through: 429s.
    - No call starts in the last ``WINDOW_GUARD`` of a window: it waits for the next one. A call
      the budget counts in one window but Intercom receives in the next would go over the next
      window's limit. When the rate limit binds, a window's calls are used up well before its
      end, so the guard costs no calls."""
    if api_budget is None or getattr(api_budget, "intercom_keeps_to_windows", False):
        return
    update_from_response, acquire_call = api_budget.update_from_response, api_budget.acquire_call
    windows = _rate_limit_windows(api_budget)

    def update_from_current_window(request: Any, response: Any) -> None:
        reset = api_budget.get_reset_ts_from_response(response) if isinstance(response, requests.Response) else None
        if reset is not None and reset <= datetime.datetime.now():
            return
        update_from_response(request, response)

    def acquire_call_before_the_window_ends(request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        for window in windows:
            left = window._next_reset_ts - datetime.datetime.now()
            if datetime.timedelta(0) < left < WINDOW_GUARD:
                wait_for_room(request, block, left + datetime.timedelta(milliseconds=1), "Intercom's rate-limit window is about to end",
                              f"{window._call_limit} per {RATE_LIMIT_WINDOW}")
        acquire_call(request, block=block, timeout=timeout)

    api_budget.update_from_response = update_from_current_window
    api_budget.acquire_call = acquire_call_before_the_window_ends
    api_budget.intercom_keeps_to_windows = True


class RetryLogWording(logging.Filter):
    """The CDK words every retry with a custom backoff as "Rate limit exceeded (HTTP 500)", whatever
    happened; this filter puts what really happened (the ``RetryCause`` just recorded in the same
    thread) in its place, keeping the CDK's wait."""

    CDK_WORDING = re.compile(r"^UserDefinedBackoffException: Rate limit exceeded.*Retrying in ([0-9.]+) seconds")

    def filter(self, record: logging.LogRecord) -> bool:
        match = self.CDK_WORDING.match(str(record.msg))
        cause = _RETRIES.last
        if match and cause is not None:
            record.msg, record.args = f"{cause.description}; retrying in {float(match.group(1)):.1f} s.", ()
        elif not match and record.module == "rate_limiting" and cause is not None:
            cdk_reliance("the retry log wording (the CDK's retry line did not read as expected, so it is left as the CDK wrote it)",
                         lambda: self._unexpected(record))
        return True

    @staticmethod
    def _unexpected(record: logging.LogRecord) -> None:
        raise ValueError(f"unexpected retry line {str(record.msg)[:120]!r}")


def _install_retry_log_wording() -> None:
    if not any(type(existing).__name__ == RetryLogWording.__name__ for existing in LOGGER.filters):
        LOGGER.addFilter(RetryLogWording())


_install_retry_log_wording()


# ---------------------------------------------------------------------------------------------
# Refused streams
# ---------------------------------------------------------------------------------------------

# Intercom refuses one endpoint (401/403) when the workspace's plan lacks its product
# (api_plan_restricted) or the token lacks its permission, and every endpoint when the plan has no
# API access or the token is revoked. Both answers look the same; the connection check's endpoint
# tells them apart: asked once per host and token when a stream is refused, it answers for the API
# as a whole.


class _ApiAnswers:
    """What the connection check's endpoint answered, per host and token (a digest of it), so that
    a sync asks it once however many of its streams Intercom refuses (an answer is kept for
    ``keep_seconds``: a long-lived process, such as the Builder's, asks again later)."""

    def __init__(self, wait_seconds: float = 1.0, keep_seconds: float = 600.0) -> None:
        self._lock = threading.Lock()
        self._answers: Dict[str, Tuple[float, int, Mapping[str, Any]]] = {}
        self._wait_seconds = wait_seconds  # before asking again: 1x, then 2x, ...
        self._keep_seconds = keep_seconds

    def refusal(self, url: str, headers: Mapping[str, str], attempts: int = 3) -> Optional[Tuple[int, Mapping[str, Any]]]:
        """(status, body) when ``GET url`` with ``headers`` is refused (401/403), else None. An
        answer that says nothing (no answer, 429, 5xx) is asked again, up to ``attempts`` times,
        then taken for an API that answers: the refused stream is skipped, not the sync failed."""
        key = hashlib.sha256((url + "\n" + headers.get("Authorization", "")).encode()).hexdigest()
        with self._lock:  # one question at a time: the streams refused together wait for its answer
            asked_at = self._answers[key][0] if key in self._answers else None
            if asked_at is None or time.monotonic() - asked_at > self._keep_seconds:
                self._answers[key] = (time.monotonic(), *self._ask(url, headers, attempts))
            _, status, body = self._answers[key]
        return (status, body) if status in (401, 403) else None

    def _ask(self, url: str, headers: Mapping[str, str], attempts: int) -> Tuple[int, Mapping[str, Any]]:
        status, body = 0, {}
        for attempt in range(attempts):
            try:
                response = requests.get(url, headers=dict(headers), timeout=60)
                status = response.status_code
                parsed = response.json() if response.content else {}
                body = parsed if isinstance(parsed, Mapping) else {}
            except (requests.RequestException, ValueError):
                status, body = 0, {}
            if status == 200 or status in (401, 403):
                break
            if attempt + 1 < attempts:
                time.sleep(self._wait_seconds * 2**attempt)
        return status, body


_API_ANSWERS = _ApiAnswers()


@dataclass
class RefusedStreamErrorHandler(ErrorHandler):
    """``error_handler`` (the manifest's filters) decides; when it lets a 401/403 through (IGNORE:
    the stream is skipped), the connection check's endpoint (``check_path``, on the same host, with
    the same headers) is asked once: refused too, the refusal is the whole API's, and the sync fails
    as a config error with ``api_refused_message`` (interpolated with that endpoint's ``response``
    and ``status_code``)."""

    error_handler: ErrorHandler
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    check_path: str = "/me"
    api_refused_message: str = "Intercom refused stream '{{ parameters.name }}' and the connection check alike."

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._parameters = parameters
        self._message = InterpolatedString.create(self.api_refused_message, parameters=parameters)

    @property
    def max_retries(self) -> Optional[int]:
        return self.error_handler.max_retries

    @property
    def max_time(self) -> Optional[int]:
        return self.error_handler.max_time

    @property
    def backoff_strategies(self) -> Optional[List[BackoffStrategy]]:
        return getattr(self.error_handler, "backoff_strategies", None)

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        resolution = self.error_handler.interpret_response(response_or_exception)
        response = response_or_exception
        if resolution.response_action != ResponseAction.IGNORE or not isinstance(response, requests.Response) or response.status_code not in (401, 403):
            return resolution
        refusal = _API_ANSWERS.refusal(self._check_url(response), self._check_headers(response))
        if refusal is None:
            return resolution
        status, body = refusal
        message = self._message.eval(self.config, response=body, status_code=status)
        return ErrorResolution(ResponseAction.FAIL, FailureType.config_error, message)

    def _check_url(self, response: requests.Response) -> str:
        """The check's endpoint on the host (and base path) the refused request went to."""
        url = (response.request.url or "").split("?")[0]
        path = str(self._parameters.get("api_path") or "")
        if path and "{" not in path and url.endswith(path):
            return url[: -len(path)] + self.check_path
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{self.check_path}"

    @staticmethod
    def _check_headers(response: requests.Response) -> Mapping[str, str]:
        sent = response.request.headers
        return {name: sent[name] for name in ("Authorization", "Accept", "Intercom-Version") if name in sent}


# ---------------------------------------------------------------------------------------------
# Record extraction
# ---------------------------------------------------------------------------------------------


def _json_body(response: requests.Response) -> Mapping[str, Any]:
    body = decoded_body(response)
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
class CursorInSliceFilter(RecordFilter):
    """Keeps the records whose cursor value (``$parameters.record_cursor_field``, else
    ``updated_at``) lies in the slice: from its start, and up to its end with ``bounds:
    start_and_end``. A record without a cursor value is kept, as the CDK's client-side filter
    keeps it.

    The CDK's RecordFilter says the same with a Jinja condition, rendered for every record: 30
    microseconds a record, as much CPU as the rest of a contact tag row's way to stdout.
    """

    bounds: str = "start_and_end"

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        if self.bounds not in ("start", "start_and_end"):
            raise ValueError(f"CursorInSliceFilter: bounds must be 'start' or 'start_and_end', not {self.bounds!r}")
        self._field = parameters.get("record_cursor_field") or "updated_at"

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        low, high = _slice_bounds(stream_slice) if stream_slice else (None, None)
        low = low if low is not None else -math.inf
        high = high if high is not None and self.bounds == "start_and_end" else math.inf
        field_name = self._field
        for record in records:
            value = record.get(field_name)
            if value is None or low <= int(value) <= high:
                yield record


# ---------------------------------------------------------------------------------------------
# Companies scroll
# ---------------------------------------------------------------------------------------------
#
# GET /companies/scroll is the only way to read every company, and the least forgiving endpoint:
# one scroll may be open per app (another gets 400 scroll_exists until it ends or sits unused for
# a minute), a scroll expires after a minute unused (404), some 500s mean "restart the scroll",
# and Intercom moves a scroll on as it SERVES a page: when the answer is lost on the way (a 5xx
# from a gateway, a dropped connection, a body cut short), the retry of the same scroll_param
# returns the next page and the lost one is skipped without any error. No scroll can be resumed.
#
# So the connector reads in passes. A pass opens a scroll and reads it page by page; after a
# possibly lost answer it reads on (every later page still counts, and reading to the end closes
# the scroll); after an expiry it ends. Companies already emitted are never emitted again. Pages
# read back to back, with no answer lost between them, are linked (ScrollCoverage); the reading
# is complete once linked pages form an unbroken chain from the scroll's first page to its end,
# which a later pass only has to repair where an earlier one broke it.

_SCROLL_START, _SCROLL_END = "<start of the scroll>", "<end of the scroll>"


class ScrollCoverage:
    """What the passes of one sync prove about the scroll: which page follows which.

    Pages are known by their first and last company id. ``link(before, page)`` says that ``page``
    came right after the page ending with company ``before`` (or after the scroll's start) with
    no answer lost in between. Every company is known to be read once an unbroken chain of links
    leads from the start to the end (an empty page). A chain is kept up to date incrementally, so
    checking it costs nothing per page; a link that contradicts an older one (companies added or
    removed meanwhile) replaces it, and the chain is walked again.
    """

    def __init__(self) -> None:
        self._last_of_page: Dict[str, str] = {}  # first company id of a page -> its last company id
        self._next_page: Dict[str, str] = {}  # last company id of a page, or the start -> next page's first id, or the end
        self._chain: set = set()  # first ids of the pages on the unbroken chain
        self.reached = _SCROLL_START  # where the unbroken chain from the start ends
        self.complete = False

    def page(self, ids: List[str]) -> bool:
        """A page was read intact (whatever came before it). True if that is news."""
        if not ids:
            return False
        news = self._last_of_page.get(ids[0]) != ids[-1]
        if news and ids[0] in self._last_of_page:
            self._rewalk()
        self._last_of_page[ids[0]] = ids[-1]
        self._extend()
        return news

    def link(self, before: str, ids: List[str]) -> bool:
        """``ids`` (a page, or [] for the end) came right after ``before`` with nothing lost. True if news."""
        news = self.page(ids)
        first = ids[0] if ids else _SCROLL_END
        previous = self._next_page.get(before)
        if previous != first:
            news = True
            self._next_page[before] = first
            if previous is not None:
                self._rewalk()
        self._extend()
        return news

    def pages_after(self, company_id: str) -> Optional[int]:
        """How many pages the known links say follow the page ending with ``company_id`` (None: unknown)."""
        node, count, seen = company_id, 0, set()
        while True:
            first = self._next_page.get(node)
            if first is None or first in seen:
                return None
            if first == _SCROLL_END:
                return count
            seen.add(first)
            node, count = self._last_of_page.get(first, ""), count + 1
            if not node:
                return None

    def _rewalk(self) -> None:
        self._chain.clear()
        self.reached, self.complete = _SCROLL_START, False

    def _extend(self) -> None:
        while not self.complete:
            first = self._next_page.get(self.reached)
            if first == _SCROLL_END:
                self.complete = True
            elif first is None or first in self._chain or first not in self._last_of_page:
                return
            else:
                self._chain.add(first)
                self.reached = self._last_of_page[first]


@dataclass(frozen=True)
class ScrollAnswer:
    """What one scroll request came back with, after the CDK's retries.

    ``kind``: ``page`` (``companies`` and the next ``scroll_param``; an empty page is the end),
    ``expired`` (404 on a later page: the scroll is gone), ``busy`` (400 scroll_exists: another
    scroll is open), ``no_companies`` (404 on the first page), or ``failed`` (retries exhausted;
    the scroll may still be open). ``maybe_skipped``: a retry of this request followed an answer
    that may have been served and lost, so a page may be missing before this one.
    """

    kind: str
    companies: List[Mapping[str, Any]] = field(default_factory=list)
    scroll_param: Optional[str] = None
    maybe_skipped: bool = False
    detail: str = ""


class ScrollGaveUp(AirbyteTracedException):
    pass


class ReadingRefused(Exception):
    """Intercom answered a reading's request with 401 or 403, which the stream's error handler lets
    through: the streams of that reading are skipped (tickets without the permission to read them)."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        super().__init__(str(body)[:300])
        self.body = body


class CompaniesScrollReader:
    """Reads every company of a workspace through ``GET /companies/scroll``, each exactly once,
    whatever faults the scroll meets (see the section comment above).

    ``fetch(scroll_param)`` sends one request (None opens a scroll) and returns a ``ScrollAnswer``.
    The reader gives up, with a transient error, only when passes stop teaching it anything:
    ``max_fruitless_tries`` passes in a row reached the first unproven link and could not prove
    it, or ``max_idle_passes`` passes in a row learnt nothing at all.
    """

    max_fruitless_tries = 20
    max_idle_passes = 200
    finish_when_pages_left = 20  # after an early completion, read this many pages on to close the scroll
    heartbeat_seconds = 30.0

    def __init__(
        self,
        fetch: Callable[[Optional[str]], ScrollAnswer],
        idle_expiry_seconds: float = 60.0,
        max_busy_wait_seconds: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        log: logging.Logger = LOGGER,
    ) -> None:
        self._fetch = fetch
        self._idle_expiry = idle_expiry_seconds
        self._max_busy_wait = max_busy_wait_seconds
        self._sleep = sleep
        self._log = log
        self.coverage = ScrollCoverage()
        self.emitted: set = set()
        self.passes = 0
        self.pages_maybe_lost = 0
        self.requests = 0
        self._last_problem = ""

    # ---- the passes
    def companies(self) -> Iterator[List[Mapping[str, Any]]]:
        """Lists of companies not emitted before, until every company of the workspace is read."""
        fruitless_tries = idle_passes = 0
        while not self.coverage.complete:
            self.passes += 1
            frontier, emitted_before = self.coverage.reached, len(self.emitted)
            outcome = _PassOutcome()
            yield from self._one_pass(outcome, frontier)
            learnt = outcome.learnt or len(self.emitted) > emitted_before
            idle_passes = 0 if learnt else idle_passes + 1
            if outcome.tried_frontier:
                fruitless_tries = 0 if learnt else fruitless_tries + 1
            if self.coverage.complete:
                break
            if fruitless_tries >= self.max_fruitless_tries or idle_passes >= self.max_idle_passes:
                raise self._give_up()
            self._log.info(
                f"Companies scroll pass {self.passes} ended ({outcome.ending}) with {len(self.emitted):,} companies read; "
                f"the pages after the {self._position()} are not proven complete yet, so pass {self.passes + 1} "
                f"reads the scroll again from its first page (companies already emitted are not sent again)."
            )
        self._log.info(
            f"Companies scroll: every company was read ({len(self.emitted):,}) in {self.passes} pass(es) and "
            f"{self.requests:,} requests; {self.pages_maybe_lost} answer(s) may have been lost on the way and were read again."
        )

    def _one_pass(self, outcome: "_PassOutcome", frontier: str) -> Iterator[List[Mapping[str, Any]]]:
        param: Optional[str] = None
        before, pages_in_pass, seen_in_pass = _SCROLL_START, 0, set()
        while True:
            if before == frontier:
                outcome.tried_frontier = True
            answer = self._open() if param is None else self._request(param)
            if answer.kind != "page":
                outcome.ending = self._end_of_pass(answer, pages_in_pass)
                return
            ids = [str(company.get("id")) for company in answer.companies]
            if ids and ids[0] in seen_in_pass:
                outcome.ending = f"Intercom returned page {pages_in_pass + 1} twice"
                return
            seen_in_pass.update(ids[:1])
            if param is not None and answer.maybe_skipped:
                self.pages_maybe_lost += 1
                outcome.learnt |= self.coverage.page(ids)
                self._log.warning(
                    f"Companies scroll pass {self.passes}: an answer was lost before page {pages_in_pass + 1} ({self._last_problem}). "
                    "Intercom moves a scroll on when it serves a page, so that page may be skipped; this pass reads on "
                    "to the end and a later pass reads the scroll again to recover it."
                )
            else:
                outcome.learnt |= self.coverage.link(before, ids)
            fresh = [company for company in answer.companies if str(company.get("id")) not in self.emitted]
            if fresh:
                self.emitted.update(str(company.get("id")) for company in fresh)
                yield fresh
            if not ids:
                outcome.ending = "end of the scroll"
                return
            pages_in_pass += 1
            before, param = ids[-1], answer.scroll_param
            if not param:
                outcome.ending = "Intercom returned no scroll_param"
                return
            if self.coverage.complete:
                self._close_early(param, before)
                outcome.ending = "complete"
                return

    def _end_of_pass(self, answer: ScrollAnswer, pages: int) -> str:
        if answer.kind == "no_companies":
            self.coverage.link(_SCROLL_START, [])
            return "the workspace has no companies"
        self._last_problem = answer.detail or answer.kind
        if answer.kind == "expired":
            return f"the scroll expired or was closed after {pages} page(s): {answer.detail}"
        return f"the request for page {pages + 1} failed: {answer.detail}"

    def _close_early(self, param: str, last_id: str) -> None:
        """Every company is read before the scroll's end. Read the few pages left to close the scroll
        (another scroll of this app would wait a minute for it otherwise), or leave a long one to expire."""
        left = self.coverage.pages_after(last_id)
        if left is None or left > self.finish_when_pages_left:
            self._log.info(
                "Companies scroll: every company is read; the rest of this scroll is left to expire on its own "
                f"within about {self._idle_expiry:.0f} s (another scroll of this Intercom app waits until then)."
            )
            return
        for _ in range(left + 1):
            answer = self._request(param)
            if answer.kind != "page" or not answer.companies or not answer.scroll_param:
                return
            param = answer.scroll_param

    def _position(self) -> str:
        return "scroll's start" if self.coverage.reached == _SCROLL_START else f"company {self.coverage.reached}"

    # ---- requests
    def _request(self, param: Optional[str]) -> ScrollAnswer:
        self.requests += 1
        answer = self._fetch(param)
        if answer.maybe_skipped or answer.kind == "failed":
            self._last_problem = answer.detail or self._last_problem
        return answer

    def _open(self) -> ScrollAnswer:
        """The first page of a new scroll, waiting while another scroll of the app is open."""
        waited = 0.0
        while True:
            answer = self._request(None)
            if answer.kind != "busy":
                return answer
            if waited >= self._max_busy_wait:
                raise ScrollGaveUp(
                    message=(
                        f"Intercom kept answering that another companies scroll of this app is open (400 scroll_exists) for "
                        f"{waited / 60:.0f} minutes. Only one scroll may be open per Intercom app: check that no other sync or "
                        "script reads the companies of this workspace with the same app at the same time. The next sync retries."
                    ),
                    failure_type=FailureType.transient_error,
                )
            waited += self._wait_for_other_scroll(answer.detail)

    def _wait_for_other_scroll(self, detail: str) -> float:
        """Intercom ends a scroll that sits unused for about a minute: wait a little longer than that."""
        total = self._idle_expiry * 1.1 + 2.0
        self._log.info(
            f"Another companies scroll is open for this Intercom app ({detail or '400 scroll_exists'}); only one may be open "
            f"at a time, and Intercom ends one that sits unused for about {self._idle_expiry:.0f} s. Waiting {total:.0f} s for it to end."
        )
        waited = 0.0
        while waited < total:
            step = min(self.heartbeat_seconds, total - waited)
            self._sleep(step)
            waited += step
            if waited < total:
                self._log.info(f"Still waiting for the other companies scroll to end: {waited:.0f} of {total:.0f} s.")
        return waited

    def _give_up(self) -> ScrollGaveUp:
        message = (
            f"Intercom's companies scroll kept failing: {self.passes} passes read {len(self.emitted):,} companies, but no pass "
            f"could read on from the {self._position()} without losing an answer (last problem: {self._last_problem or 'unknown'}). "
            "The stream stops instead of reporting a partial read as complete; the companies read so far were emitted once "
            "each, and the next sync reads the companies again."
        )
        return ScrollGaveUp(message=message, internal_message=message, failure_type=FailureType.transient_error)


@dataclass
class _PassOutcome:
    learnt: bool = False
    tried_frontier: bool = False
    ending: str = ""


def scroll_idle_expiry_seconds() -> float:
    """How long Intercom keeps an unused scroll open (about a minute). Tests against a local
    emulator shorten it with the environment variable SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS."""
    try:
        return max(1.0, float(os.environ.get("SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS", "60")))
    except ValueError:
        return 60.0


# ---------------------------------------------------------------------------------------------
# Searches
# ---------------------------------------------------------------------------------------------
#
# POST /{contacts,conversations,tickets}/search pages by a cursor (starting_after), so one query
# is read page after page, oldest updated_at first. A reading reads the whole range from the
# first slice's start (start_date or the state) to now in windows sized by the data: the first
# page of the range says how many records it holds (total_count); a range that one reader gets
# through in a few seconds is read whole, a bigger one is split into windows read at once, each
# of them split again if it still holds far more. Empty years cost the one request that finds
# them empty. These windows are the reading's own: the CDK's slices (checkpoints) do not change
# which requests are made.


@dataclass(frozen=True)
class SearchPage:
    records: List[Mapping[str, Any]]
    total_count: int
    next_cursor: Optional[str]


@dataclass(frozen=True)
class Page:
    """Records of a reading, in the order read, and how far it has got: every record whose cursor
    value is at most ``covered_to`` has been delivered by now, with this page or before it
    (None: nothing is known yet, as in the companies scroll, which is in no order)."""

    records: List[Mapping[str, Any]]
    covered_to: Optional[int]


class _Coverage:
    """How far each window of a search has been read. The windows tile [low, high]; a window's
    pages come oldest first, so a window is read up to just before the last cursor value of the
    page last delivered (the next page may hold more records of that second)."""

    def __init__(self, low: int, high: int) -> None:
        self._read_to: Dict[Tuple[int, int], int] = {(low, high): low - 1}

    def split(self, window: Tuple[int, int], parts: List[Tuple[int, int]]) -> None:
        del self._read_to[window]
        self._read_to.update((part, part[0] - 1) for part in parts)

    def advance(self, window: Tuple[int, int], to: int) -> None:
        self._read_to[window] = max(self._read_to[window], min(to, window[1]))

    def covered_to(self) -> int:
        """The last cursor value up to which every window is read."""
        reached = -math.inf
        for (low, high), read_to in sorted(self._read_to.items()):
            reached = read_to
            if read_to < high:
                break
        return int(reached)


class SearchReader:
    """Every record of a search whose ``updated_at`` lies in [start, end], each once, as Pages.

    ``fetch(low, high, cursor)`` asks for one page of the records updated in [low, high] (the
    query may be wider, as the contacts' day-granular one is: records outside are dropped here).
    ``window_records`` is how many records one window may hold before it is split, and
    ``min_window_seconds`` the shortest window worth a split (the contacts' query reads 25 hours
    beyond each bound, so their windows stay long). Windows are read by ``pool``.
    """

    def __init__(
        self,
        fetch: Callable[[int, int, Optional[str]], SearchPage],
        start: int,
        end: int,
        pool: concurrent.futures.Executor,
        window_records: int = 6_000,
        min_window_seconds: int = 0,
    ) -> None:
        self._fetch, self._start, self._end, self._pool = fetch, start, end, pool
        self._window_records, self._min_window = window_records, max(1, min_window_seconds)
        self.requests = self.windows = 0

    # Pages being fetched or fetched and not yet taken by the reading, however many windows a big
    # workspace needs: the reading asks for a page only when one of these slots is free, so memory
    # stays bounded and no pool thread waits for room.
    pages_in_memory = 8

    def pages(self) -> Iterator[Page]:
        done: "queue.Queue[Any]" = queue.Queue()  # at most pages_in_memory answers
        waiting: Deque[_WindowPage] = collections.deque([_WindowPage(self._start, self._end, self._window_records)])
        coverage = _Coverage(self._start, self._end)
        in_flight = 0
        while waiting or in_flight:
            while waiting and in_flight < self.pages_in_memory:
                self._pool.submit(self._fetch_into, waiting.popleft(), done)
                in_flight += 1
            asked, page = done.get()
            in_flight -= 1
            if isinstance(page, BaseException):
                raise page
            window = (asked.low, asked.high)
            if asked.cursor is None:  # a window's first page: it may hold too many records
                windows = self._split(asked.low, asked.high, page.total_count, asked.split_above)
                if windows:
                    coverage.split(window, windows)
                    waiting.extend(_WindowPage(low, high, 2 * self._window_records) for low, high in windows)
                    continue
                self.windows += 1
            if page.next_cursor:  # the window's next page first: windows end one by one
                waiting.appendleft(replace(asked, cursor=page.next_cursor))
                coverage.advance(window, int(page.records[-1].get("updated_at") or 0) - 1 if page.records else window[0] - 1)
            else:
                coverage.advance(window, asked.high)
            records = [record for record in page.records if asked.low <= (record.get("updated_at") or 0) <= asked.high]
            yield Page(records, coverage.covered_to())

    def _fetch_into(self, asked: "_WindowPage", done: "queue.Queue[Any]") -> None:
        try:
            done.put((asked, self._page(asked.low, asked.high, asked.cursor)))
        except BaseException as error:  # noqa: BLE001 - raised again by the reading
            done.put((asked, error))

    def _page(self, low: int, high: int, cursor: Optional[str]) -> SearchPage:
        self.requests += 1
        return self._fetch(low, high, cursor)

    def _split(self, low: int, high: int, total: int, split_above: int) -> List[Tuple[int, int]]:
        """Equal spans of time, as many as the records call for and the shortest window allows."""
        parts = min(math.ceil(total / self._window_records), (high - low + 1) // self._min_window)
        if total <= split_above or parts < 2:
            return []
        bounds = [low + (high - low + 1) * i // parts for i in range(parts)] + [high + 1]
        return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


@dataclass(frozen=True)
class _WindowPage:
    """One page of a search window: its first (``cursor`` None) or the one after ``cursor``."""

    low: int
    high: int
    split_above: int
    cursor: Optional[str] = None


# ---------------------------------------------------------------------------------------------
# Readings
# ---------------------------------------------------------------------------------------------
#
# Several streams take their records from the same Intercom data: companies, company_segments
# and company_tags from the companies scroll; contacts, contact_tags and contact_companies from
# the contacts search; conversations, conversation_tags, conversation_contacts and
# conversation_teammates from the conversations search, and conversation_parts too (with one GET
# per conversation for its parts, made only when conversation_parts is synced); tickets,
# ticket_contacts and ticket_parts from the tickets search. The relationship streams (tags,
# contacts, teammates, ...) are rows of lists that the parent's records embed: no request of
# their own. The manifest's
# `reading_streams` says which stream plays which role in which reading; ROLES below says what
# each role takes from a record.
#
# When a sync holds several streams of a reading, one reading serves them all: the data is
# requested once. A reading runs in threads of its own from the first partition that asks for
# it, and never waits for a stream: each (role, slice) has a queue that spills to disk while no
# partition of that role reads it, so a stream that the CDK schedules late, or never, costs disk,
# not memory, and cannot hold the reading (or, through it, the other streams) up.
#
# The CDK's slices of a search stream are windows of `window_days` on the parent's updated_at
# (the manifest's `step`): the reading routes each record to the slice holding its cursor value,
# and a slice's partition ends once the reading has covered its last second. The CDK's concurrent
# cursor then checkpoints every slice as it closes, oldest first: a killed sync resumes from the
# last closed slice. The companies scroll is in no order and cannot be resumed: its one slice
# closes at the scroll's end.


class SpillFile:
    """An append-only temporary file of JSON lines, shared by the queues of one reading."""

    def __init__(self) -> None:
        self._file: Optional[Any] = None
        self._lock = threading.Lock()

    def write(self, records: List[Any]) -> Tuple[int, int]:
        """Appends the records; returns where they start and how many they are."""
        with self._lock:
            if self._file is None:
                self._file = tempfile.TemporaryFile("w+b")
            self._file.seek(0, os.SEEK_END)
            offset = self._file.tell()
            self._file.write(b"".join(_json_line(record) for record in records))
            return offset, len(records)

    def read(self, offset: int, count: int) -> List[Any]:
        with self._lock:
            assert self._file is not None
            self._file.seek(offset)
            return [_from_json_line(self._file.readline()) for _ in range(count)]

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# The spill file's lines: orjson's, or, for a record orjson cannot write (an integer beyond 64 bits,
# which orjson would read back as a float), the standard library's after a space.
def _json_line(record: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            pass
    return (" " + json.dumps(record) + "\n").encode()


def _from_json_line(line: bytes) -> Any:
    return json.loads(line) if orjson is None or line.startswith(b" ") else orjson.loads(line)


def _copy_of(error: BaseException) -> BaseException:
    """The reading's error for one more reader: a copy, so that the tracebacks of its readers do not
    pile up on one object."""
    try:
        copied = copy.copy(error)
        copied.__cause__ = error.__cause__
        return copied
    except Exception:  # noqa: BLE001 - an error that cannot be copied is raised itself
        return error


class SpillQueue:
    """A first-in first-out queue of records from a reading to one partition that never makes the
    reading wait: records go to memory while a reader is attached, up to ``memory_records`` (or
    one batch, if longer), and to the reading's SpillFile otherwise. The reader gets them in
    order, in batches."""

    def __init__(self, spill: SpillFile, memory_records: int = 500) -> None:
        self._items: Deque[Any] = collections.deque()  # lists of records in memory, or (offset, count) spilled
        self._in_memory = 0
        self._spill, self._limit = spill, memory_records
        self._attached = False
        self._ready = threading.Condition()
        self._finished = False
        self._error: Optional[BaseException] = None
        self.starving = False  # a reader waits for records not put yet

    def attach(self) -> None:
        """A reader will take the records: from now on they go to memory (up to ``memory_records``)."""
        with self._ready:
            self._attached = True

    def put(self, records: List[Any]) -> None:
        if not records:
            return
        with self._ready:
            # A batch is one page's records for this slice, already in memory: one batch is always kept
            # there, however long (a page of conversations has more parts than memory_records).
            if self._attached and (self._in_memory == 0 or self._in_memory + len(records) <= self._limit):
                self._items.append(records)
                self._in_memory += len(records)
            else:
                self._items.append(self._spill.write(records))
            self.starving = False
            self._ready.notify_all()

    def ended_empty(self) -> bool:
        """Whether the queue is finished, without an error, and holds nothing."""
        with self._ready:
            return self._finished and self._error is None and not self._items

    def finish(self, error: Optional[BaseException] = None) -> None:
        with self._ready:
            if not self._finished:
                self._finished, self._error = True, error
            self._ready.notify_all()

    def batches(self, waiting_for: str, heartbeat_seconds: float = 30.0) -> Iterator[List[Any]]:
        self.attach()
        waited = 0.0
        while True:
            with self._ready:
                while not self._items and not self._finished:
                    self.starving = True
                    woken = self._ready.wait(timeout=heartbeat_seconds)
                    self.starving = False
                    if not woken:
                        waited += heartbeat_seconds
                        LOGGER.info(f"Waiting for {waiting_for} ({waited:.0f} s so far).")
                if not self._items:
                    if self._error is not None:
                        raise _copy_of(self._error)
                    return
                item = self._items.popleft()
                if isinstance(item, list):
                    self._in_memory -= len(item)
            waited = 0.0
            yield item if isinstance(item, list) else self._spill.read(*item)


Projection = Callable[[Mapping[str, Any]], Iterable[Any]]


def _whole(record: Mapping[str, Any]) -> Iterable[Any]:
    return (record,)


def _id_and_updated_at(record: Mapping[str, Any]) -> Iterable[Any]:
    return ({"id": record.get("id"), "updated_at": record.get("updated_at")},)


def _without(key: str) -> Projection:
    return lambda record: ({k: v for k, v in record.items() if k != key},)


def _embedded_list_rows(owner: str, list_name: str, items: Tuple[str, ...] = ("data",)) -> Projection:
    """One row per item of a record's embedded list (``record[list_name][key]``, the first of the
    ``items`` keys that holds a list): the owner's id and updated_at (``{owner}_id``,
    ``{owner}_updated_at``), the item's id. Intercom embeds a contact's lists as ``{"data": [...]}``,
    a conversation's tags as ``{"type": "tag.list", "tags": [...]}``, its contacts as
    ``{"type": "contact.list", "contacts": [...]}``, and so on."""

    def rows(record: Mapping[str, Any]) -> Iterable[Any]:
        owner_id, owner_updated_at = record.get("id"), record.get("updated_at")
        listing = record.get(list_name) or {}
        found = next((listing[key] for key in items if isinstance(listing.get(key), list)), []) if isinstance(listing, Mapping) else []
        return ({f"{owner}_id": owner_id, "id": item.get("id"), f"{owner}_updated_at": owner_updated_at} for item in found)

    return rows


def _parts(owner: str) -> Projection:
    """Every part of a conversation or ticket (``{owner}_parts.{owner}_parts``), each with its
    owner's id, created_at and updated_at (``{owner}_id``, ...): the parts do not name it."""

    def rows(record: Mapping[str, Any]) -> Iterable[Any]:
        parent = {f"{owner}_id": record.get("id"), f"{owner}_created_at": record.get("created_at"), f"{owner}_updated_at": record.get("updated_at")}
        return ({**part, **parent} for part in (record.get(f"{owner}_parts") or {}).get(f"{owner}_parts") or [])

    return rows


# What each role of a reading takes from a record (the manifest's `reading_streams` says which
# stream plays it).
ROLES: Dict[str, Dict[str, Projection]] = {
    "companies": {"records": _whole, "partitions": _id_and_updated_at, "tags": _embedded_list_rows("company", "tags", ("tags",))},
    "contacts": {"records": _whole, "tags": _embedded_list_rows("contact", "tags"), "companies": _embedded_list_rows("contact", "companies")},
    "conversations": {
        "records": _without("conversation_parts"),
        "parts": _parts("conversation"),
        "tags": _embedded_list_rows("conversation", "tags", ("tags",)),
        "contacts": _embedded_list_rows("conversation", "contacts", ("contacts",)),
        # `teammates` in the 2.11 and 2.16 descriptions; Intercom's SDKs read the same list as `admins`.
        "teammates": _embedded_list_rows("conversation", "teammates", ("teammates", "admins")),
    },
    "tickets": {"records": _without("ticket_parts"), "parts": _parts("ticket"), "contacts": _embedded_list_rows("ticket", "contacts", ("contacts",))},
}


@dataclass(frozen=True)
class SliceGrid:
    """The CDK's slices of a reading's streams: ``step`` seconds each from ``anchor`` (the first
    slice's start), the last one ending at ``end``; one slice from ``anchor`` when ``step`` is None."""

    anchor: int
    end: int
    step: Optional[int]

    def slice_of(self, value: Optional[int]) -> int:
        """The start of the slice that holds a cursor value."""
        if self.step is None or value is None or value < self.anchor:
            return self.anchor
        return self.anchor + (int(value) - self.anchor) // self.step * self.step

    def holds(self, low: int) -> bool:
        """Whether a slice starting at ``low`` is one of this grid's."""
        return low >= self.anchor and (low == self.anchor if self.step is None else (low - self.anchor) % self.step == 0)

    def last_of(self, low: int) -> int:
        return self.end if self.step is None else min(self.end, low + self.step - 1)


class Reading:
    """One reading of Intercom data, in a thread of its own, for the roles (streams) that take
    records from it, each slice of each role a queue of its own (see the section comment). Each
    role has its own slices (``grids``: its stream's state may differ from the others'); the
    reading reads from the earliest of them, and a role takes only records from its first slice on."""

    def __init__(self, name: str, produce: Callable[[int, int, FrozenSet[str]], Iterator[Page]], grids: Mapping[str, SliceGrid]) -> None:
        self.name = name
        self._produce = produce
        self._grids = dict(grids)
        self.start, self.end = min(grid.anchor for grid in grids.values()), max(grid.end for grid in grids.values())
        self._spill = SpillFile()
        self._queues: Dict[Tuple[str, int], SpillQueue] = {}
        self._taken: set = set()  # (role, slice) read or being read
        self._started: set = set()  # the roles that have taken a slice
        self._covered_to: Optional[int] = None
        self._finished = False
        self._error: Optional[BaseException] = None
        self._lock = threading.Lock()
        # (role, slice) -> the condition the reader of the role's next slice waits on: the slice
        # emitted, or the role released. One reader each: a slice's end wakes no other.
        self._next_waits: Dict[Tuple[str, int], threading.Condition] = {}
        self._room = threading.Condition(self._lock)  # records emitted, a slice emitted, a role released: the reading, held ahead of its streams, waits for this
        self._emitted: Dict[str, set] = collections.defaultdict(set)  # role -> starts of the slices it has emitted
        self._unemitted: Dict[Tuple[str, int], int] = collections.Counter()  # (role, slice) -> the role's records read, not yet emitted
        self._thread: Optional[threading.Thread] = None

    def roles(self) -> FrozenSet[str]:
        with self._lock:
            return frozenset(self._grids)

    def serves(self, role: str, low: int) -> bool:
        """Whether the role's slice starting at ``low`` can take its records from this reading."""
        with self._lock:
            return role in self._grids and (role, low) not in self._taken and self._grids[role].holds(low)

    def release(self, role: str) -> None:
        """The role reads elsewhere: what this reading kept for it is dropped."""
        with self._lock:
            self._grids.pop(role, None)
            dropped = [key for key in self._queues if key[0] == role]
            for key in dropped:
                self._queues.pop(key).finish()
            for key in [key for key in self._unemitted if key[0] == role]:
                del self._unemitted[key]
            for key, waiting in self._next_waits.items():
                if key[0] == role:
                    waiting.notify_all()
            self._room.notify_all()

    def records(self, role: str, low: int) -> Iterator[List[Any]]:
        """The role's records of the slice starting at ``low``, in batches."""
        with self._lock:
            self._taken.add((role, low))
            self._started.add(role)
            queue_ = self._queue(role, low)
            queue_.attach()  # a CDK worker reads this slice: its records go to memory while it waits for the slice before
            self._finish_covered()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"{self.name}-reading", daemon=True)
                self._thread.start()
            others = "" if len(self._grids) == 1 else ", which other streams of this sync read too"
        try:
            self._wait_for_the_slice_before(role, low)
            for batch in queue_.batches(f"the {self.name} reading{others}"):
                yield batch
                with self._lock:
                    self._unemitted[(role, low)] -= len(batch)
                    self._room.notify_all()  # the reading alone: the other slices' readers wait for a whole slice
        finally:
            with self._lock:
                self._queues.pop((role, low), None)
                self._unemitted.pop((role, low), None)
                self._emitted[role].add(low)
                waiting = self._next_waits.get((role, low))
                if waiting is not None:
                    waiting.notify_all()
                self._room.notify_all()

    # A stream's slices are emitted one after the other, oldest first (an empty one closes at
    # once), and the reading reads at most RECORDS_AHEAD of a started stream's records ahead of
    # what that stream has emitted: the CDK checkpoints a slice once it and every earlier one are
    # emitted, so slices emitted side by side (or read far ahead of what is emitted) would all be
    # lost to a kill. A stream emits records more slowly than the reading reads them when the
    # CDK's record path is what binds, and reading further ahead would not make the sync faster.
    # Both waits are bounded: they order the work, they never hold it up for good (a slice the
    # CDK runs late or never costs WAIT_AT_MOST, and says so in the log).
    RECORDS_AHEAD = 500
    WAIT_AT_MOST = 30.0

    def _wait_for_the_slice_before(self, role: str, low: int) -> None:
        with self._lock:
            grid = self._grids.get(role)
            if grid is None or grid.step is None or low - grid.step < grid.anchor:
                return
            queue_ = self._queues.get((role, low))
            if queue_ is not None and queue_.ended_empty():
                return  # nothing to emit: an empty slice closes at once (years of them before a workspace's first record)
            before = (role, low - grid.step)
            waiting = self._next_waits.setdefault(before, threading.Condition(self._lock))
            try:
                emitted = waiting.wait_for(lambda: before[1] in self._emitted[role] or role not in self._grids, timeout=self.WAIT_AT_MOST)
            finally:
                self._next_waits.pop(before, None)
            if not emitted:
                LOGGER.info(f"The {self.name} reading's {role} slice from {low} waited {self.WAIT_AT_MOST:.0f} s for the slice before it; it goes on.")

    def _too_far_ahead(self) -> bool:
        """Whether a stream that has started taking its slices is too far behind the reading. A
        stream the CDK has not started yet (its partitions are generated stream after stream)
        does not count: holding the reading would not start it sooner; its records spill to disk."""
        if any(queue_.starving for queue_ in self._queues.values()):
            return False  # a stream waits for what the reading has not read yet
        unemitted: Counter = collections.Counter()
        for (role, _), count in self._unemitted.items():
            unemitted[role] += count
        return any(count > self.RECORDS_AHEAD for role, count in unemitted.items() if role in self._started)

    def _keep_near_the_streams(self) -> None:
        deadline = time.monotonic() + self.WAIT_AT_MOST
        with self._lock:
            while self._too_far_ahead():
                if time.monotonic() >= deadline:
                    LOGGER.info(f"The {self.name} reading waited {self.WAIT_AT_MOST:.0f} s for its streams to take what it read; it goes on.")
                    return
                self._room.wait(timeout=0.2)  # a stream's reader that starts waiting does not notify: looked at again

    def _queue(self, role: str, low: int) -> SpillQueue:
        key = (role, low)
        if key not in self._queues:
            self._queues[key] = SpillQueue(self._spill)
            if self._finished:
                self._queues[key].finish(self._error)
        return self._queues[key]

    def _finish_covered(self) -> None:
        """Ends every queue whose slice the reading has covered to its last second."""
        covered = self._covered_to
        if covered is None:
            return
        for (role, low), queue_ in self._queues.items():
            grid = self._grids.get(role)
            if grid is None or grid.last_of(low) <= covered or low > grid.end:
                queue_.finish()

    def _run(self) -> None:
        projections = ROLES[self.name]
        with self._lock:
            roles_at_start = frozenset(self._grids)
        try:
            for page in self._produce(self.start, self.end, roles_at_start):
                self._keep_near_the_streams()
                with self._lock:
                    grids = dict(self._grids)
                if not grids:  # every stream stopped taking records: so does the reading
                    break
                rows: Dict[Tuple[str, int], List[Any]] = collections.defaultdict(list)
                for record in page.records:
                    value = record.get("updated_at")
                    for role, grid in grids.items():
                        if grid.step is None or value is None or value >= grid.anchor:  # before its first slice: not the role's
                            rows[(role, grid.slice_of(value))].extend(projections[role](record))
                with self._lock:
                    for (role, low), batch in rows.items():
                        if role in self._grids and (role, low) not in self._taken or (role, low) in self._queues:
                            self._queue(role, low).put(batch)
                            if low <= grids[role].end:  # a record changed during the sync lies past every slice: no stream reads it
                                self._unemitted[(role, low)] += len(batch)
                    if page.covered_to is not None:
                        self._covered_to = page.covered_to
                        self._finish_covered()
        except Exception as error:  # noqa: BLE001 - handed to every reader, which raises it
            self._end(error)
            return
        self._end(None)

    def _end(self, error: Optional[BaseException]) -> None:
        with self._lock:
            self._finished, self._error = True, error
            for queue_ in self._queues.values():
                queue_.finish(error)


class _Readings:
    """The readings of this process, by workspace (API host and token) and reading name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readings: Dict[Tuple[str, str], List[Reading]] = collections.defaultdict(list)

    def reading_for(
        self, workspace: str, name: str, role: str, low: int, grids: Callable[[Iterable[str]], Dict[str, SliceGrid]],
        produce: Callable[[int, int, FrozenSet[str]], Iterator[Page]],
    ) -> Reading:
        """The reading that serves the role's slice starting at ``low``: one that already does, or a
        new one, for this role and the roles of the sync that no other reading serves yet.
        ``grids(roles)`` gives the slices of those of the roles it knows."""
        with self._lock:
            readings = self._readings[(workspace, name)]
            for reading in readings:
                if reading.serves(role, low):
                    return reading
            for reading in readings:
                reading.release(role)
            served = {other for reading in readings for other in reading.roles()}
            new_grids = grids([role] + sorted(set(ROLES[name]) - served - {role}))
            reading = Reading(name, produce, new_grids)
            readings.append(reading)
            return reading


_READINGS = _Readings()
_PLAYERS: Dict[Tuple[str, str, str], "ReadingRetriever"] = {}  # (workspace, reading, role) -> the stream's retriever
_POOLS: Dict[Tuple[str, int], concurrent.futures.ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


DETAIL_PAGES_AHEAD = 1


def pages_with_details(
    pages: Iterable[Page],
    incomplete: Callable[[Mapping[str, Any]], bool],
    complete: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    pool: concurrent.futures.Executor,
) -> Iterator[Page]:
    """Each page, in order, its incomplete records completed (by ``complete``, in the pool) before
    the page goes on; complete records cost nothing. The details of the next
    ``DETAIL_PAGES_AHEAD`` pages are fetched while a page waits for its own, so that a page's
    slowest detail does not hold the whole reading."""
    ahead: Deque[Tuple[List[Any], Optional[int]]] = collections.deque()
    try:
        for page in pages:
            ahead.append(([pool.submit(complete, record) if incomplete(record) else record for record in page.records], page.covered_to))
            if len(ahead) > DETAIL_PAGES_AHEAD:
                yield _completed(*ahead.popleft())
        while ahead:
            yield _completed(*ahead.popleft())
    finally:
        for items, _ in ahead:
            for item in items:
                if isinstance(item, concurrent.futures.Future):
                    item.cancel()


def _completed(items: List[Any], covered_to: Optional[int]) -> Page:
    """A page whose items are records or futures of records, with every future's record."""
    return Page([item.result() if isinstance(item, concurrent.futures.Future) else item for item in items], covered_to)


def reading_pool(kind: str, workers: int) -> concurrent.futures.ThreadPoolExecutor:
    """The threads of this process's readings, by kind: ``windows`` read search windows, ``details``
    a record's details (a contact's lists, a conversation's or a ticket's parts); num_workers
    each, the CDK's own workers come on top. Two pools, because a window may wait for the reading
    to take its pages while the reading waits for details: they must never wait for the same
    threads. Neither waits for a CDK worker, whatever num_workers is."""
    with _POOLS_LOCK:
        if (kind, workers) not in _POOLS:
            _POOLS[(kind, workers)] = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"reading-{kind}")
        return _POOLS[(kind, workers)]


@functools.lru_cache(maxsize=1)
def streams_of_this_sync() -> FrozenSet[str]:
    """The stream names of the configured catalog this process reads (``read --catalog PATH``, in
    the package and the manifest-only runtimes alike); empty when the process was not started that
    way (an in-process test, for example), which makes each stream read on its own."""
    args = sys.argv[1:]
    path = next((arg.split("=", 1)[1] for arg in args if arg.startswith("--catalog=")), None)
    if path is None and "--catalog" in args[:-1]:
        path = args[args.index("--catalog") + 1]
    try:
        with open(path or "") as file:
            return frozenset(entry["stream"]["name"] for entry in json.load(file).get("streams", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return frozenset()


def _slice_bounds(stream_slice: StreamSlice) -> Tuple[Optional[int], Optional[int]]:
    bounds = stream_slice.cursor_slice or {}
    low, high = bounds.get("start_time"), bounds.get("end_time")
    return (int(low) if low is not None else None, int(high) if high is not None else None)


def _workspace_of(config: Mapping[str, Any]) -> str:
    """Which workspace a config reads: its API host and token, hashed."""
    return hashlib.sha256(f"{config.get('base_url')}|{config.get('region')}|{config.get('access_token')}".encode()).hexdigest()


@dataclass
class ReadingRetriever(Retriever):
    """A stream that takes its records from a reading (see the section comment above); the
    subclasses say what the reading reads.

    ``$parameters``: ``reading`` (its name) and ``reading_streams`` (which stream of the manifest
    plays which role in it: the one place that says so). A stream plays the role that names it,
    or, for a parent stream read for another stream's partitions, ``reading_for``'s role. The
    records go through the stream's record selector with the stream's own slice (its filter by
    the cursor). The ``requester`` sends the reading's requests; ``detail_requester``
    (``api_path: "{path}"``) the requests for one record's details.
    """

    requester: Requester
    record_selector: HttpSelector
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    name: str = ""
    detail_requester: Optional[Requester] = None
    cursor: Optional[Any] = None  # the stream's concurrent cursor, which the CDK hands to its retriever

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._reading = parameters["reading"]
        self._streams: Mapping[str, str] = parameters["reading_streams"]
        player = parameters.get("reading_for") or parameters.get("name")
        roles = [role for role, stream in self._streams.items() if stream == player]
        if len(roles) != 1:
            raise ValueError(f"Stream '{player}' plays {len(roles)} roles in the {self._reading} reading's reading_streams; it must play one.")
        self._role = roles[0]
        self._parameters = parameters
        self._skipped_logged = False
        self._first_slice: Optional[int] = None
        self._shown = 0  # records a Builder test read has shown, across the stream's slices
        self._shown_lock = threading.Lock()
        _PLAYERS[(_workspace_of(self.config), self._reading, self._role)] = self

    def read_records(self, records_schema: Mapping[str, Any], stream_slice: Optional[StreamSlice] = None) -> Iterable[StreamData]:
        stream_slice = stream_slice or StreamSlice(partition={}, cursor_slice={})
        limits = self.config.get("__test_read_config")
        if limits is not None:  # a Connector Builder test read
            yield from self._read_for_the_builder(records_schema, stream_slice, limits if isinstance(limits, Mapping) else {})
            return
        low, _ = _slice_bounds(stream_slice)
        own = self._grid(self._first_slice_start(low) or low or 0, int(time.time()))
        low = own.slice_of(low)
        workspace = _workspace_of(self.config)
        reading = _READINGS.reading_for(
            workspace, self._reading, self._role, low, lambda roles: self._grids_of(workspace, roles, own), self._pages,
        )
        try:
            for records in reading.records(self._role, low):
                yield from self.record_selector.filter_and_transform(records, {}, records_schema, stream_slice)
        except ReadingRefused as refusal:
            # Intercom refused the reading (a permission the token lacks): every stream of it is
            # skipped, each with the manifest's message about its own permission, once.
            if not self._skipped_logged:
                self._skipped_logged = True
                template = self._parameters.get("skip_message") or "Skipping stream '{{ parameters.name }}': Intercom refused the access token."
                LOGGER.warning(InterpolatedString.create(template, parameters=self._parameters).eval(self.config, response=refusal.body))

    def _first_slice_start(self, low: Optional[int] = None) -> Optional[int]:
        """Where the stream's first slice starts: the reading reads from there, whichever slice the
        CDK happens to start first. Asked of the stream's cursor once; without it (another CDK),
        the first slice read starts the reading, and a slice before it reads on its own."""
        if self._first_slice is None:
            self._first_slice = cdk_reliance("the first slice from the stream's cursor", lambda: _slice_bounds(next(iter(self.cursor.stream_slices())))[0])  # type: ignore[union-attr]
            if self._first_slice is None:
                return low
        return self._first_slice

    def _grid(self, first: int, end: int) -> SliceGrid:
        days = self._parameters.get("window_days")
        return SliceGrid(first, end, int(days) * 86_400 if days else None)

    def _grids_of(self, workspace: str, roles: Iterable[str], own: SliceGrid) -> Dict[str, SliceGrid]:
        """The slices of this stream and of the other streams of the sync that play these roles (as
        their cursors give them), to share one reading; a stream whose slices are unknown is left
        to read on its own."""
        synced = streams_of_this_sync()
        grids = {self._role: own}
        for role in roles:
            player = _PLAYERS.get((workspace, self._reading, role))
            if role == self._role or player is None or self._streams.get(role) not in synced:
                continue
            first = player._first_slice_start()
            if first is not None:
                grids[role] = player._grid(first, own.end)
        return grids

    def _pages(self, start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        """What the reading reads, for these roles, from ``start`` to ``end``."""
        raise NotImplementedError

    # ---- a Connector Builder test read
    # The Builder shows a test read slice by slice and page by page, each page with its request
    # and response, from the HTTP log messages of the thread that reads the slice. So a test read
    # reads the stream's own slice in the partition's thread, page after page, each page's request
    # logged as the page and each detail's as an auxiliary request, and stops at the Builder's
    # page and record limits (the CDK 7.x Builder reads on past its record limit).

    def _read_for_the_builder(self, records_schema: Mapping[str, Any], stream_slice: StreamSlice, limits: Mapping[str, Any]) -> Iterable[StreamData]:
        low, high = _slice_bounds(stream_slice)
        project = ROLES[self._reading][self._role]
        max_pages = int(limits.get("max_pages_per_slice") or 5)
        max_records = int(limits.get("max_records") or 100)
        for number, records in enumerate(self._builder_pages(low or 0, high if high is not None else int(time.time()))):
            rows = [row for record in records for row in project(record)]
            for record in self.record_selector.filter_and_transform(rows, {}, records_schema, stream_slice):
                with self._shown_lock:
                    if self._shown >= max_records:
                        return
                    self._shown += 1
                yield record
            if number + 1 >= max_pages:
                return

    def _builder_pages(self, low: int, high: int) -> Iterator[List[Mapping[str, Any]]]:
        """The slice's records, page by page, read in this thread with each request logged."""
        raise NotImplementedError

    def _http_log(self, what: str, auxiliary: bool = False) -> Optional[Callable[[requests.Response], Any]]:
        """The Builder's log message of a request (the CDK's format), or None where the CDK has none."""
        def formatter() -> Callable[[requests.Response], Any]:
            from airbyte_cdk.sources.http_logger import format_http_message

            name = self._parameters.get("name") or self.name
            return lambda response: format_http_message(response, f"Stream '{name}' {what}", f"{what} of stream '{name}'", name, is_auxiliary=auxiliary)

        return cdk_reliance("the Connector Builder's request log (airbyte_cdk.sources.http_logger)", formatter)

    def _pool(self, kind: str) -> concurrent.futures.ThreadPoolExecutor:
        return reading_pool(kind, int(self.config.get("num_workers") or DEFAULT_WORKERS))


@dataclass
class CompaniesScrollRetriever(ReadingRetriever):
    """The companies reading: GET /companies/scroll read in passes (see "Companies scroll"). The
    scroll is in no order and cannot be resumed, so its streams have one slice, closed at its end.

    A Builder test read lists companies with ``list_requester`` (GET /companies, page by page)
    instead: a scroll stopped at the Builder's limit would stay open and refuse the next test read
    (and any sync) for a minute."""

    list_requester: Optional[Requester] = None

    def _builder_pages(self, low: int, high: int) -> Iterator[List[Mapping[str, Any]]]:
        assert self.list_requester is not None, f"stream '{self.name}' has no list_requester in the manifest"
        page = 1
        while True:
            response = self.list_requester.send_request(
                stream_slice=StreamSlice(partition={}, cursor_slice={}), request_params={"page": page, "per_page": 50},
                log_formatter=self._http_log("request"),
            )
            body = _json_body(response) if response is not None and response.status_code == 200 else {}
            yield list(body.get("data") or [])
            pages = body.get("pages") or {}
            if not isinstance(pages, Mapping) or page >= int(pages.get("total_pages") or page):
                return
            page += 1

    def _pages(self, start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        for companies in CompaniesScrollReader(self._scroll_page, idle_expiry_seconds=scroll_idle_expiry_seconds()).companies():
            yield Page(companies, None)
        yield Page([], end)

    def _scroll_page(self, scroll_param: Optional[str]) -> ScrollAnswer:
        lost_before = answers_maybe_lost_in_this_thread()
        try:
            response = self.requester.send_request(
                stream_slice=StreamSlice(partition={}, cursor_slice={}),
                request_params={"scroll_param": scroll_param} if scroll_param else {},
            )
        except AirbyteTracedException as error:
            if error.failure_type == FailureType.config_error:
                raise
            return ScrollAnswer("failed", detail=error.message or str(error))
        maybe_skipped = answers_maybe_lost_in_this_thread() > lost_before
        lost = _RETRIES.last.description if maybe_skipped and _RETRIES.last else ""
        if response is None:
            return ScrollAnswer("failed", maybe_skipped=maybe_skipped, detail=lost or "no answer")
        if response.status_code == 200:
            body = _json_body(response)
            return ScrollAnswer("page", list(body.get("data") or []), body.get("scroll_param"), maybe_skipped, lost)
        detail = f"HTTP {response.status_code}{_intercom_error(response)}"
        if response.status_code == 400 and "scroll_exists" in detail:
            return ScrollAnswer("busy", maybe_skipped=maybe_skipped, detail=detail)
        if response.status_code == 404:
            # On a first page, a 404 means a workspace without companies, unless it speaks of the
            # scroll (Intercom's expiry wording): then it is read as an expiry, never as "no companies".
            empty = scroll_param is None and "scroll" not in detail.lower()
            return ScrollAnswer("no_companies" if empty else "expired", maybe_skipped=maybe_skipped, detail=detail)
        return ScrollAnswer("failed", maybe_skipped=maybe_skipped, detail=detail)


@dataclass
class SearchRetriever(ReadingRetriever):
    """A search reading (contacts, conversations, tickets): POST /{name}/search in windows sized by
    the data (see "Searches"), each record completed with its details where a role needs them:
    a contact's lists beyond the 10 that Intercom embeds, a conversation's parts (GET
    /conversations/{id}), a ticket's parts beyond those the search embeds.

    ``$parameters``: ``records_path``, ``search_page_size``, ``window_records`` (records one search
    window may hold before it is split), ``min_window_days`` (the shortest search window),
    ``window_days`` (the CDK's slices: the checkpoints)."""

    def _pages(self, start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        reader = SearchReader(
            self._search_page, start, end, self._pool("windows"),
            window_records=int(self._parameters.get("window_records", 6_000)),
            min_window_seconds=int(self._parameters.get("min_window_days", 0)) * 86_400,
        )
        details = self._details(roles)
        if details is None:
            return reader.pages()
        return pages_with_details(reader.pages(), details[0], details[1], self._pool("details"))

    def _builder_pages(self, low: int, high: int) -> Iterator[List[Mapping[str, Any]]]:
        details = self._details(frozenset({self._role}))
        cursor: Optional[str] = None
        while True:
            page = self._search_page(low, high, cursor, self._http_log("request"))
            records = [record for record in page.records if low <= (record.get("updated_at") or 0) <= high]
            if details is not None:
                records = [details[1](record, self._http_log("detail request", auxiliary=True)) if details[0](record) else record for record in records]
            yield records
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def _details(self, roles: FrozenSet[str]) -> Optional[Tuple[Callable[[Mapping[str, Any]], bool], Callable[..., Mapping[str, Any]]]]:
        """Which records need details for these roles, and how to complete them."""
        if self._reading == "contacts":
            return _has_cut_list, self._complete_contact_lists
        if self._reading == "conversations" and "parts" in roles:
            return (lambda conversation: True), self._complete_conversation_parts
        if self._reading == "tickets" and "parts" in roles:
            return _has_cut_parts, self._complete_ticket_parts
        return None

    def _search_page(self, low: int, high: int, cursor: Optional[str], log: Optional[Callable[[requests.Response], Any]] = None) -> SearchPage:
        pagination: Dict[str, Any] = {"per_page": int(self._parameters.get("search_page_size", SEARCH_PAGE_SIZE))}
        if cursor:
            pagination["starting_after"] = cursor
        response = self.requester.send_request(
            stream_slice=StreamSlice(partition={}, cursor_slice={"start_time": str(low), "end_time": str(high)}),
            request_body_json={"pagination": pagination}, log_formatter=log,
        )
        if response is not None and response.status_code in (401, 403):  # let through: the streams skip
            raise ReadingRefused(_json_body(response))
        body = _json_body(response)
        records = list(body.get(self._parameters["records_path"]) or [])
        next_page = (body.get("pages") or {}).get("next") or {}
        return SearchPage(records, int(body.get("total_count") or 0), next_page.get("starting_after") if isinstance(next_page, Mapping) else None)

    # ---- details: a contact's lists, a conversation's or a ticket's parts
    def _get(self, path: str, params: Optional[Mapping[str, Any]] = None, log: Optional[Callable[[requests.Response], Any]] = None) -> Optional[Mapping[str, Any]]:
        """The JSON of ``GET path``; None when Intercom answered 404 (the record was deleted after
        the search listed it) or a permission error that the stream's error handler let through."""
        assert self.detail_requester is not None, f"stream '{self.name}' has no detail_requester in the manifest"
        response = self.detail_requester.send_request(
            stream_slice=StreamSlice(partition={"path": path}, cursor_slice={}), request_params=dict(params or {}), log_formatter=log,
        )
        return _json_body(response) if response is not None and response.status_code == 200 else None

    def _complete_contact_lists(self, contact: Mapping[str, Any], log: Optional[Callable[[requests.Response], Any]] = None) -> Mapping[str, Any]:
        """The contact with every list Intercom cut at 10 items (``has_more``) read whole from its
        own endpoint, in the embedded lists' shape."""
        completed = dict(contact)
        for name, embedded in contact.items():
            if not (isinstance(embedded, Mapping) and embedded.get("has_more")):
                continue
            if name not in CONTACT_LISTS:
                LOGGER.warning(
                    f"Contact {contact.get('id')}: Intercom cut its list '{name}' at {len(embedded.get('data') or [])} of "
                    f"{embedded.get('total_count')} items, and the connector does not know that list's endpoint; it is emitted as Intercom sent it."
                )
                continue
            items = self._all_pages(embedded.get("url") or f"/contacts/{contact.get('id')}/{name}", log)
            if items is None:
                LOGGER.info(f"Contact {contact.get('id')} was deleted after the search listed it: its lists stay as the search returned them.")
                return completed
            kind, path = CONTACT_LISTS[name]
            data = [{"type": item.get("type", kind), "id": item.get("id"), "url": f"/{path}/{item.get('id')}"} for item in items]
            completed[name] = {**embedded, "data": data, "total_count": len(data), "has_more": False}
        return completed

    def _all_pages(self, path: str, log: Optional[Callable[[requests.Response], Any]] = None) -> Optional[List[Mapping[str, Any]]]:
        """Every item of a list endpoint, following its page numbers (or a single page); None if
        the list is gone (404)."""
        items: List[Mapping[str, Any]] = []
        page = 1
        while True:
            body = self._get(path, {"page": page} if page > 1 else None, log)
            if body is None:
                return None
            key = next((k for k in ("data", "companies", "notes", "tags") if isinstance(body.get(k), list)), "data")
            items.extend(body.get(key) or [])
            pages = body.get("pages") or {}
            if not isinstance(pages, Mapping) or not pages.get("next") or page >= int(pages.get("total_pages") or page):
                return items
            page += 1

    def _complete_conversation_parts(self, conversation: Mapping[str, Any], log: Optional[Callable[[requests.Response], Any]] = None) -> Mapping[str, Any]:
        """The conversation with its parts (``GET /conversations/{id}``: the 500 most recent); a
        warning names a conversation with more, one deleted meanwhile keeps none."""
        full = self._get(f"/conversations/{conversation.get('id')}", log=log)
        if full is None:
            LOGGER.info(f"Conversation {conversation.get('id')} was not found (deleted after the search listed it); its parts are skipped.")
            return conversation
        listing = full.get("conversation_parts") or {}
        parts, total = listing.get("conversation_parts") or [], listing.get("total_count")
        if isinstance(total, int) and total > len(parts):
            LOGGER.warning(
                f"Conversation {conversation.get('id')} has {total} parts but Intercom returns only the {len(parts)} most recent; "
                f"the {total - len(parts)} oldest parts cannot be replicated through the API."
            )
        return {**conversation, "created_at": conversation.get("created_at", full.get("created_at")), "conversation_parts": listing}

    def _complete_ticket_parts(self, ticket: Mapping[str, Any], log: Optional[Callable[[requests.Response], Any]] = None) -> Mapping[str, Any]:
        """The ticket with all the parts Intercom returns: the search embeds the most recent few,
        ``GET /tickets/{id}`` up to 500; a warning names a ticket with more."""
        listing = ticket.get("ticket_parts") or {}
        parts, total = listing.get("ticket_parts") or [], listing.get("total_count")
        full = self._get(f"/tickets/{ticket.get('id')}", log=log)
        if full is None:
            LOGGER.warning(
                f"Ticket {ticket.get('id')}: GET /tickets/{ticket.get('id')} gave no answer to read (deleted meanwhile, or not "
                f"allowed for this token): only its {len(parts)} most recent parts (of {total}) that the search embeds are emitted."
            )
            return ticket
        parts = (full.get("ticket_parts") or {}).get("ticket_parts") or parts
        if total > len(parts):
            LOGGER.warning(
                f"Ticket {ticket.get('id')} has {total} parts but Intercom returns only the {len(parts)} most recent; "
                f"the {total - len(parts)} oldest parts cannot be replicated through the API."
            )
        return {**ticket, "ticket_parts": {**listing, "ticket_parts": parts}}


def _has_cut_list(contact: Mapping[str, Any]) -> bool:
    # `type(...) is dict` (what JSON decodes to): isinstance of typing's Mapping took 8% of a
    # contacts read's CPU, asked of each of a contact's 50 fields.
    return any(type(value) is dict and value.get("has_more") for value in contact.values())


def _has_cut_parts(ticket: Mapping[str, Any]) -> bool:
    listing = ticket.get("ticket_parts") or {}
    total = listing.get("total_count")
    return isinstance(total, int) and total > len(listing.get("ticket_parts") or [])


DEFAULT_WORKERS = 40
SEARCH_PAGE_SIZE = 150
# Contact lists Intercom embeds at most 10 items of, with the endpoint that has them all:
# list name -> (item type, path of an item's url).
CONTACT_LISTS: Dict[str, Tuple[str, str]] = {"tags": ("tag", "tags"), "companies": ("company", "companies"), "notes": ("note", "notes")}



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
    # What an earlier version of this connector kept for the stream: its cursor field (ticket_parts
    # once kept the part's updated_at), and the parent it was a sub-stream of (conversation_parts).
    former_cursor_field: Optional[str] = None
    former_parent_stream: Optional[str] = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._stream = self.declarative_stream.name
        cursor_field = self.declarative_stream.incremental_sync.cursor_field
        self._cursor = cursor_field if isinstance(cursor_field, str) else cursor_field[0]

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(stream_state)

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        migrated = self._substream_state(stream_state) if self.parent_stream else self._plain_state(stream_state)
        if migrated is None and self.former_cursor_field:
            bookmark = _unix_seconds(stream_state.get(self.former_cursor_field))
            migrated = {self._cursor: str(bookmark)} if set(stream_state) == {self.former_cursor_field} and bookmark is not None else None
        if migrated is None and self.former_parent_stream:
            migrated = self._former_substream_state(stream_state)
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

    def _former_substream_state(self, state: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        """A plain bookmark from the state the stream kept as a sub-stream (this connector's global
        cursor with its parent's state, or Airbyte's older form with the parent's bookmark nested):
        the earlier of its own bookmark and its parent's, so that nothing between them is skipped.
        Every bookmark it holds must be a timestamp."""
        parent, child_cursor = self.former_parent_stream or "", self.former_cursor_field or "updated_at"
        if set(state) & {"use_global_cursor", "parent_state", "state", "states"}:
            own, parents = state.get("state"), state.get("parent_state")
            raw = [own.get(child_cursor) if isinstance(own, Mapping) else own, (parents.get(parent) or {}).get("updated_at") if isinstance(parents, Mapping) else parents]
            raw = [value for value, present in zip(raw, ("state" in state, bool(parents))) if present]
        else:
            if not isinstance(state.get(parent), Mapping) or not set(state) <= {"updated_at", parent}:
                return None
            raw = [state[parent].get("updated_at")] + ([state["updated_at"]] if "updated_at" in state else [])
        bookmarks = [_unix_seconds(value) for value in raw]
        if not bookmarks or None in bookmarks:
            return None
        return {self._cursor: str(min(bookmarks))}  # type: ignore[type-var]

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


# ---------------------------------------------------------------------------------------------
# Reporting datasets: an export whose download has expired is exported again
# ---------------------------------------------------------------------------------------------


EXPORT_GONE = (404, 410)
EXPORT_RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass
class ReexportingDownloadRequester:
    """The AsyncRetriever's download requester for a reporting export (manifest:
    `download_requester`, with the CDK's HttpRequester as `download`). Intercom's download link
    expires (`download_expires_at`), and the CDK's job orchestrator enqueues a `failed` job again
    but not a job whose download fails once it completed: that would fail the stream. When the
    download answers that the export is gone (404/410, let through by the download's error
    handler), this enqueues the same window again (the job's creation request, as first sent),
    polls the new job every `poll_seconds` and downloads its file: at most `max_exports` exports of
    the window in all, then the stream fails with an error that says so. Everything else is the
    wrapped requester's."""

    download: Any
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    decoder: Any = None
    max_exports: int = 3
    poll_seconds: float = 5.0
    max_polls: int = 720

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._name = parameters.get("name", "")
        # Nested in a custom component, the requester is built without the download's decoder:
        # stream the body as the CDK would for that decoder (rows parsed as the gzip arrives).
        if self.decoder is not None and hasattr(self.download, "stream_response"):
            self.download.stream_response = bool(self.decoder.is_stream_response())

    def __getattr__(self, name: str) -> Any:
        if name == "download":
            raise AttributeError(name)
        return getattr(self.download, name)

    def send_request(self, stream_slice: Optional[StreamSlice] = None, **kwargs: Any) -> Optional[requests.Response]:
        response = self.download.send_request(stream_slice=stream_slice, **kwargs)
        exports = 1
        while response is not None and response.status_code in EXPORT_GONE:
            if exports >= self.max_exports or stream_slice is None:
                raise AirbyteTracedException(
                    message=f"The reporting export of stream '{self._name}' for {dict(stream_slice or {})} could not be "
                    f"downloaded: its download expired {exports} times. The next sync exports this window again.",
                    failure_type=FailureType.transient_error,
                )
            exports += 1
            logging.getLogger("airbyte").warning(
                f"The download of a reporting export of stream '{self._name}' has expired; exporting "
                f"{dict(stream_slice)} again (export {exports} of at most {self.max_exports})."
            )
            url = self._export_again(stream_slice)
            if url is not None:
                stream_slice = StreamSlice(partition=stream_slice.partition, cursor_slice=stream_slice.cursor_slice,
                                           extra_fields={**stream_slice.extra_fields, "download_target": url})
                response = self.download.send_request(stream_slice=stream_slice, **kwargs)
        return response

    def _export_again(self, stream_slice: StreamSlice) -> Optional[str]:
        """The new job's download URL, or None if it failed."""
        creation = (stream_slice.extra_fields or {}).get("creation_response") or {}
        enqueue = creation.get("request")
        if not isinstance(enqueue, requests.PreparedRequest):
            raise AirbyteTracedException(
                message=f"The reporting export of stream '{self._name}' expired and cannot be enqueued again here "
                "(this airbyte-cdk keeps no creation request). The next sync exports this window again.",
                failure_type=FailureType.transient_error,
            )
        with requests.Session() as session:
            job = self._send(session, enqueue.copy()).json()
            status_url = enqueue.url.rsplit("/enqueue", 1)[0] + "/" + str(job["job_identifier"])
            headers = {k: v for k, v in enqueue.headers.items() if k.lower() not in ("content-type", "content-length")}
            for _ in range(self.max_polls):
                if job.get("status") == "complete":
                    return str(job["download_url"])
                if job.get("status") == "failed":
                    return None
                time.sleep(self.poll_seconds)
                job = self._send(session, requests.Request("GET", status_url, headers=headers).prepare()).json()
        return None

    def _send(self, session: requests.Session, request: requests.PreparedRequest) -> requests.Response:
        """Sends `request`, waiting `poll_seconds` after a 429 (5 jobs pending) or a server error."""
        for _ in range(self.max_polls):
            response = session.send(request, timeout=60)
            if response.status_code not in EXPORT_RETRY_STATUSES:
                response.raise_for_status()
                return response
            time.sleep(self.poll_seconds)
        response.raise_for_status()
        return response


REPORTING_RETENTION_DAYS = 729      # Intercom keeps reporting data 2 years; the manifest's clip, a day inside


@dataclass
class WarnStartBeforeReportingRetention(ValidationStrategy):
    """Says, without failing, that the reporting_* streams start later than `start_date` when it is
    older than Intercom's reporting retention (the manifest clips their windows to it)."""

    def validate(self, value: Any) -> None:
        try:
            start = datetime.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return  # ValidateConfigField names the problem
        earliest = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=REPORTING_RETENTION_DAYS)
        if start < earliest:
            logging.getLogger("airbyte").warning(
                f"Config field 'start_date' ({value}) is older than Intercom's reporting retention (2 years): the "
                f"reporting_* streams start at {earliest.strftime('%Y-%m-%dT%H:%M:%SZ')}; the other streams at start_date."
            )
