"""The custom components: config checks, retry backoff, scroll extraction, part flattening."""

from __future__ import annotations

import datetime
import json
import logging
import math
import time
import types
from typing import Any, Dict, Iterator

import pytest
import requests
from airbyte_cdk.sources.streams import call_rate
from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit, FixedWindowCallRatePolicy, HttpAPIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_intercom import components
from source_intercom.components import (
    ROLES,
    IntercomBackoffStrategy,
    WINDOW_GUARD,
    RetryLogWording,
    SlidingMinute,
    TopLevelListExtractor,
    IntercomStateMigration,
    ValidateConfigField,
    describe_config_problems,
    cap_request_rate,
    describe_retry_cause,
    keep_to_intercoms_windows,
)
from source_intercom.run import connection_specification
from source_intercom.stream_facts import stream_facts


def response(body: Any, status: int = 200, headers: Dict[str, str] | None = None) -> requests.Response:
    result = requests.Response()
    result.status_code = status
    result._content = json.dumps(body).encode()
    result.headers.update(headers or {})
    result.request = requests.Request("GET", "https://api.intercom.io/companies/scroll").prepare()
    return result


class ManualTime:
    """Unix time that moves only when the test moves it, or when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = float(math.floor(time.time()))

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def datetime(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManualTime]:
    """The rate-limit code (the CDK's budget and ours) on the test's clock: windows end, and waits
    pass, when the test says, not when a busy machine has let enough time go by."""
    test_clock = ManualTime()

    class ClockedDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime.datetime:  # type: ignore[override]
            return datetime.datetime.fromtimestamp(test_clock.now, tz)

    clocked_datetime = types.SimpleNamespace(datetime=ClockedDatetime, timedelta=datetime.timedelta)
    clocked_time = types.SimpleNamespace(time=test_clock, monotonic=test_clock, sleep=test_clock.sleep)
    for module in (components, call_rate):
        monkeypatch.setattr(module, "datetime", clocked_datetime)
        monkeypatch.setattr(module, "time", clocked_time)
    yield test_clock


def test_a_429_waits_until_the_rate_limit_window_resets(clock: ManualTime) -> None:
    backoff = IntercomBackoffStrategy(parameters={})
    reset = int(clock()) + 7
    wait = backoff.backoff_time(response({}, 429, {"X-RateLimit-Reset": str(reset)}), attempt_count=1)
    assert 7.0 <= wait <= 7.5  # the window's end, and up to half a second of jitter


def test_server_errors_back_off_exponentially_with_jitter_and_a_ceiling() -> None:
    backoff = IntercomBackoffStrategy(parameters={})
    waits = [backoff.backoff_time(response({}, 503, {"X-RateLimit-Reset": str(int(time.time()) + 9)}), attempt) for attempt in range(1, 12)]
    assert 0.25 <= waits[0] <= 0.5 and 4.0 <= waits[4] <= 8.0
    assert max(waits) <= 60.0
    assert backoff.backoff_time(requests.ConnectionError("reset"), 3) <= 2.0


def _cut_short(status: int = 200) -> requests.Response:
    cut = response({"data": [{"id": "a"}], "scroll_param": "p"}, status)
    cut._content = cut._content[:12]
    return cut


@pytest.mark.parametrize(
    "what, wording, maybe_served",
    [
        (response({"errors": [{"code": "server_error", "message": "Please restart the scroll operation."}]}, 500),
         "Intercom answered HTTP 500 (a server error: server_error, 'Please restart the scroll operation.') to GET /companies/scroll", True),
        (_cut_short(), "Intercom's answer to GET /companies/scroll was cut short or is not JSON (HTTP 200, 12 bytes)", True),
        (response({}, 429, {"X-RateLimit-Remaining": "0"}), "Intercom's rate limit is reached (HTTP 429 on GET /companies/scroll, 0 calls left in this window)", False),
        (requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer")), "the connection to Intercom failed during a request (ConnectionResetError: [Errno 104] Connection reset by peer)", True),
        (requests.ConnectionError(ConnectionRefusedError(111, "Connection refused")), "(ConnectionRefusedError: [Errno 111] Connection refused)", False),
        (requests.ReadTimeout("read timed out"), "Intercom did not answer a request in time (read timeout)", True),
        (requests.ConnectTimeout("connect timed out"), "connecting to Intercom for a request timed out", False),
    ],
)
def test_a_retry_is_described_by_what_happened_and_whether_intercom_may_have_served_it(what: Any, wording: str, maybe_served: bool) -> None:
    cause = describe_retry_cause(what)
    assert wording in cause.description
    assert cause.maybe_served is maybe_served


def test_the_cdks_rate_limit_wording_of_every_retry_is_replaced_by_the_real_cause() -> None:
    IntercomBackoffStrategy(parameters={}).backoff_time(_cut_short(), attempt_count=1)
    record = logging.LogRecord("airbyte", logging.INFO, __file__, 1, "UserDefinedBackoffException: Rate limit exceeded (HTTP 200). Retrying in 1.37 seconds.", None, None)
    assert RetryLogWording().filter(record)
    assert record.getMessage() == "Intercom's answer to GET /companies/scroll was cut short or is not JSON (HTTP 200, 12 bytes); retrying in 1.4 s."
    assert "Rate limit" not in record.getMessage()


def test_each_part_carries_its_conversation() -> None:
    conversation = {"id": "42", "created_at": 1, "updated_at": 2, "conversation_parts": {"total_count": 2, "conversation_parts": [{"id": "p"}, {"id": "q"}]}}
    assert list(ROLES["conversations"]["parts"](conversation)) == [
        {"id": "p", "conversation_id": "42", "conversation_created_at": 1, "conversation_updated_at": 2},
        {"id": "q", "conversation_id": "42", "conversation_created_at": 1, "conversation_updated_at": 2},
    ]
    assert list(ROLES["conversations"]["records"](conversation)) == [{"id": "42", "created_at": 1, "updated_at": 2}]


def test_each_item_of_an_embedded_list_is_a_row_with_its_parents_id_and_updated_at() -> None:
    conversation = {
        "id": "42", "updated_at": 9,
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "t1", "name": "VIP"}, {"type": "tag", "id": "t2", "name": "Bug"}]},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c1", "external_id": None}]},
        "teammates": {"type": "admin.list", "teammates": [{"type": "admin", "id": "a1"}]},
    }
    roles = ROLES["conversations"]
    assert list(roles["tags"](conversation)) == [
        {"conversation_id": "42", "id": "t1", "conversation_updated_at": 9},
        {"conversation_id": "42", "id": "t2", "conversation_updated_at": 9},
    ]
    assert list(roles["contacts"](conversation)) == [{"conversation_id": "42", "id": "c1", "conversation_updated_at": 9}]
    assert list(roles["teammates"](conversation)) == [{"conversation_id": "42", "id": "a1", "conversation_updated_at": 9}]
    # Intercom's SDKs read the teammates as `admins`: the same rows
    as_admins = {**conversation, "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": "a1"}]}}
    assert list(roles["teammates"](as_admins)) == [{"conversation_id": "42", "id": "a1", "conversation_updated_at": 9}]
    # no list, an empty one, or null: no row
    for missing in ({}, {"teammates": None}, {"teammates": {"type": "admin.list", "teammates": []}}):
        assert list(roles["teammates"]({"id": "42", "updated_at": 9, **missing})) == []
    company = {"id": "co", "updated_at": 3, "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "t1", "name": "VIP"}]}}
    assert list(ROLES["companies"]["tags"](company)) == [{"company_id": "co", "id": "t1", "company_updated_at": 3}]
    ticket = {"id": "7", "updated_at": 4, "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c1"}]}}
    assert list(ROLES["tickets"]["contacts"](ticket)) == [{"ticket_id": "7", "id": "c1", "ticket_updated_at": 4}]
    contact = {"id": "p", "updated_at": 5, "tags": {"type": "list", "data": [{"type": "tag", "id": "t1"}], "has_more": False}}
    assert list(ROLES["contacts"]["tags"](contact)) == [{"contact_id": "p", "id": "t1", "contact_updated_at": 5}]


def test_a_parent_read_for_its_children_keeps_only_the_fields_they_need() -> None:
    body = {"conversations": [{"id": "7", "updated_at": 5, "source": {"body": "x" * 100}, "statistics": {}}]}
    slim = TopLevelListExtractor(parameters={"records_path": "conversations", "record_fields": ["id", "updated_at"]})
    full = TopLevelListExtractor(parameters={"records_path": "conversations"})
    assert list(slim.extract_records(response(body))) == [{"id": "7", "updated_at": 5}]
    assert list(full.extract_records(response(body))) == body["conversations"]


def test_a_body_that_is_not_an_object_fails_instead_of_being_read_as_empty() -> None:
    with pytest.raises(AirbyteTracedException):
        list(TopLevelListExtractor(parameters={"records_path": "data"}).extract_records(response(["unexpected"])))


def test_the_response_filters_and_the_records_share_one_decoding_of_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    answer = response({"data": [{"id": "1"}, {"id": "2"}]})
    decodings = []
    loads = components.orjson.loads
    monkeypatch.setattr(components.orjson, "loads", lambda content: decodings.append(content) or loads(content))
    unreadable = HttpResponseFilter(config={}, parameters={}, action="RETRY", predicate="{{ not response }}")
    assert unreadable.matches(answer) is None
    records = list(TopLevelListExtractor(parameters={"records_path": "data"}).extract_records(answer))
    assert records == [{"id": "1"}, {"id": "2"}] and len(decodings) == 1
    assert records[0] is HttpResponseFilter._safe_response_json(answer)["data"][0]  # the filters' decoding itself


def test_a_body_that_is_not_json_is_empty_to_the_filters_and_an_error_to_the_records() -> None:
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    cut_short = response({})
    cut_short._content = b'{"data": [{"id": "1"'
    unreadable = HttpResponseFilter(config={}, parameters={}, action="RETRY", predicate="{{ not response }}")
    assert unreadable.matches(cut_short) is not None
    with pytest.raises(ValueError):
        list(TopLevelListExtractor(parameters={"records_path": "data"}).extract_records(cut_short))


def test_a_spilled_record_reads_back_as_written_even_where_orjson_cannot_write_it() -> None:
    spill = components.SpillFile()
    records = [{"id": "1", "big": 2**70, "name": "Zoë"}, {"parts": [1.5, None, True, {"x": "y"}]}]
    assert spill.read(*spill.write(records)) == records
    assert type(spill.read(*spill.write(records))[0]["big"]) is int


GOOD = {"access_token": "tok", "start_date": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "change, field, hint",
    [
        ({"access_token": " tok"}, "access_token", "white space"),
        ({"start_date": "2023-02-29T00:00:00Z"}, "start_date", "does not exist"),
        ({"start_date": "2024-01-01T24:00:00Z"}, "start_date", "time of day"),
        ({"start_date": "2024-01-01"}, "start_date", "YYYY-MM-DDTHH:mm:ssZ"),
        ({"base_url": "http://10.0.0.5:8080"}, "base_url", "clear text"),
        ({"base_url": "ftp://x"}, "base_url", "absolute URL"),
        ({"region": "us-east"}, "region", "one of 'us', 'eu', 'au'"),
        ({"num_workers": 41}, "num_workers", "from 1 to 40"),
        ({"start_date": None}, "start_date", "text value"),
    ],
)
def test_each_config_problem_names_its_field_and_the_fix(change: Dict[str, Any], field: str, hint: str) -> None:
    problems = describe_config_problems({**GOOD, **change}, connection_specification())
    assert len(problems) == 1 and f"'{field}'" in problems[0] and hint in problems[0], problems


def test_a_missing_required_field_is_named_and_secrets_are_never_quoted() -> None:
    problems = describe_config_problems({"access_token": 12345, "start_date": "2024-01-01T00:00:00Z"}, connection_specification())
    assert problems and "'access_token'" in problems[0] and "12345" not in " ".join(problems)
    assert "'start_date'" in describe_config_problems({"access_token": "t"}, connection_specification())[0]


@pytest.mark.parametrize("base_url", ["https://proxy.example.com", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000/x", ""])
def test_secure_or_loopback_base_urls_are_accepted(base_url: str) -> None:
    assert describe_config_problems({**GOOD, "base_url": base_url}, connection_specification()) == []
    ValidateConfigField(field="base_url").validate(base_url)


def test_the_manifest_validation_raises_a_config_error() -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        ValidateConfigField(field="base_url").validate("http://example.com")
    assert raised.value.failure_type.value == "config_error"


class _Stream:
    """The bits of a stream model that IntercomStateMigration reads, as the manifest declares them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.incremental_sync = type("Cursor", (), {"cursor_field": stream_facts()[name].cursor_field})()


@pytest.mark.parametrize(
    "state",
    [
        {"use_global_cursor": True, "state": {"company_updated_at": "1700000000"}, "lookback_window": 3, "parent_state": {"companies": {"updated_at": "1700000000"}}},
        {"use_global_cursor": True, "lookback_window": 0, "parent_state": {"companies": {"updated_at": "1781582714"}}},
        {"use_global_cursor": True, "state": {"company_updated_at": "1700000000"}, "parent_state": {}},
    ],
)
def test_the_connectors_own_substream_states_are_kept_as_they_are(state: Dict[str, Any]) -> None:
    migration = IntercomStateMigration(declarative_stream=_Stream("company_segments"), parameters={}, parent_stream="companies")
    assert migration.migrate(state) == state


@pytest.mark.parametrize(
    "state, bookmark",
    [
        ({"use_global_cursor": True, "state": {"updated_at": "1700000500"}, "lookback_window": 3, "parent_state": {"conversations": {"updated_at": "1700000000"}}}, "1700000000"),
        ({"use_global_cursor": True, "lookback_window": 0, "parent_state": {"conversations": {"updated_at": "1781582714"}}}, "1781582714"),
        ({"use_global_cursor": True, "state": {"updated_at": "1700000000"}, "parent_state": {}}, "1700000000"),
        ({"updated_at": 1648469610, "conversations": {"updated_at": 1625749675}}, "1625749675"),
        ({"conversation_updated_at": "1700000000"}, "1700000000"),
    ],
)
def test_conversation_parts_kept_as_a_substream_resume_from_the_earlier_bookmark(state: Dict[str, Any], bookmark: str) -> None:
    migration = IntercomStateMigration(declarative_stream=_Stream("conversation_parts"), parameters={}, former_parent_stream="conversations")
    assert migration.migrate(state) == {"conversation_updated_at": bookmark}


def test_ticket_parts_kept_on_the_parts_updated_at_resume_from_it() -> None:
    migration = IntercomStateMigration(declarative_stream=_Stream("ticket_parts"), parameters={}, former_cursor_field="updated_at")
    assert migration.migrate({"updated_at": "1700000000"}) == {"ticket_updated_at": "1700000000"}
    assert migration.migrate({"ticket_updated_at": "1700000001"}) == {"ticket_updated_at": "1700000001"}


def test_airbyte_legacy_substream_state_starts_no_later_than_the_parent() -> None:
    migration = IntercomStateMigration(declarative_stream=_Stream("company_segments"), parameters={}, parent_stream="companies")
    assert migration.migrate({"updated_at": 1648469610, "companies": {"updated_at": 1625749675}}) == {
        "use_global_cursor": True,
        "state": {stream_facts()["company_segments"].cursor_field: "1625749675"},
        "parent_state": {"companies": {"updated_at": "1625749675"}},
    }


@pytest.mark.parametrize("state", [{"updated_at": "soon"}, {"updated_at": True}, {"updated_at": 1, "extra": 2}, {"cursor": 1}])
def test_a_plain_state_that_is_not_a_timestamp_is_refused(state: Dict[str, Any]) -> None:
    migration = IntercomStateMigration(declarative_stream=_Stream("contacts"), parameters={}, parent_stream=None)
    with pytest.raises(AirbyteTracedException, match="stream 'contacts'"):
        migration.migrate(state)


def test_the_fair_share_cap_lowers_the_calls_of_each_10_second_window() -> None:
    def budget() -> HttpAPIBudget:
        window = FixedWindowCallRatePolicy(next_reset_ts=datetime.datetime.now(), period=datetime.timedelta(seconds=10), call_limit=1666, matchers=[])
        return HttpAPIBudget(policies=[window])

    capped, uncapped = budget(), budget()
    cap_request_rate(capped, 1000)
    cap_request_rate(capped, 1000)  # every requester applies it: once is what counts
    cap_request_rate(uncapped, None)
    assert capped._policies[0]._call_limit == 166  # 996 a minute: never more than the cap
    assert uncapped._policies[0]._call_limit == 1666  # no cap: the headers alone decide


def test_an_answer_from_an_ended_window_does_not_open_another_window(clock: ManualTime) -> None:
    # Intercom's window ends at a whole second (X-RateLimit-Reset); the budget knows it.
    ends = int(clock()) + 1
    window = FixedWindowCallRatePolicy(
        next_reset_ts=datetime.datetime.fromtimestamp(ends), period=datetime.timedelta(seconds=10), call_limit=10, matchers=[]
    )
    budget = HttpAPIBudget(policies=[window], ratelimit_reset_header="X-RateLimit-Reset", ratelimit_remaining_header="X-RateLimit-Remaining")
    keep_to_intercoms_windows(budget)
    keep_to_intercoms_windows(budget)  # every requester applies it: once is what counts
    request = requests.Request("GET", "https://api.intercom.io/admins").prepare()
    for _ in range(10):
        budget.acquire_call(request, block=False)
    clock.sleep(ends - clock() + 0.05)
    for _ in range(10):  # the next window's calls
        budget.acquire_call(request, block=False)
    # An answer served in the ended window arrives now, with that window's headers.
    late = requests.Response()
    late.status_code, late.headers["X-RateLimit-Reset"], late.headers["X-RateLimit-Remaining"] = 200, str(ends), "1"
    budget.update_from_response(request, late)
    with pytest.raises(CallRateLimitHit):  # an 11th call in Intercom's current window would be a 429
        budget.acquire_call(request, block=False)


def test_the_fair_share_cap_holds_in_any_60_seconds_not_only_in_each_minute_of_windows() -> None:
    now = [0.0]
    minute = SlidingMinute(1000, clock=lambda: now[0])
    admitted: list = []
    # Calls as the 10-second windows would let them through at 1,000 a minute: 166 at the end of
    # one window and 166 at the start of each of the next six (7 windows within 60 s).
    starts = [9.0] + [10.0 * window for window in range(1, 7)]
    for start in starts:
        now[0] = start
        for _ in range(166):
            while minute.take() > 0:
                now[0] += 0.5
            admitted.append(now[0])
    most_in_60_s = max(sum(1 for t in admitted if first <= t < first + 60) for first in admitted)
    assert most_in_60_s == 1000
    assert len(admitted) == 7 * 166  # every call admitted, the last ones later


def test_no_call_starts_in_the_last_moment_of_a_window(clock: ManualTime) -> None:
    ends = clock.datetime() + WINDOW_GUARD / 2
    window = FixedWindowCallRatePolicy(next_reset_ts=ends, period=datetime.timedelta(seconds=10), call_limit=10, matchers=[])
    budget = HttpAPIBudget(policies=[window])
    keep_to_intercoms_windows(budget)
    request = requests.Request("GET", "https://api.intercom.io/admins").prepare()
    with pytest.raises(CallRateLimitHit):  # counted in this window, it could reach Intercom in the next
        budget.acquire_call(request, block=False)
    budget.acquire_call(request)  # waits (on the test's clock) for the next window
    assert clock.datetime() >= ends
    assert window._calls_num == 1 and window._next_reset_ts > ends  # the call counts in the next window
