"""CompaniesScrollReader against a scroll that behaves as Intercom's does, with faults anywhere.

The fake scroll below follows the Intercom notes: one scroll at a time (400 scroll_exists while
another is open), a scroll unused for a while expires, and the position moves on when a page is
SERVED, so an answer lost on the way makes the retry of the same scroll_param return the next
page. Its fetch() also plays the part of the CDK's retry loop (up to 6 retries), reporting as the
connector's backoff strategy does whether a retry followed an answer that may have been served.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Dict, FrozenSet, Iterator, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from source_intercom.components import CompaniesScrollReader, Page, Reading, ScrollAnswer, ScrollCoverage, ScrollGaveUp, SliceGrid, SpillFile, SpillQueue

# Faults a request attempt can meet:
#   lost    Intercom serves the page (the scroll moves on) but the answer is lost (5xx from a gateway,
#           connection reset, body cut short): the CDK retries the same scroll_param.
#   error   not served (a 500 before the work, 429): the CDK retries, nothing moved.
#   close   Intercom closes the scroll ("please restart the scroll" 500 / expiry): 404 from now on.
FAULTS = ("lost", "error", "close")


class FakeScroll:
    def __init__(self, ids: List[str], page_size: int, faults: Iterator[Optional[str]], expiry: float = 60.0) -> None:
        self.ids, self.page_size, self.faults, self.expiry = ids, page_size, faults, expiry
        self.clock = 0.0
        self.open: Optional[Dict[str, object]] = None  # {"param", "position", "last_used"}
        self.params = itertools.count(1)
        self.requests = 0

    def sleep(self, seconds: float) -> None:
        self.clock += seconds

    def fetch(self, param: Optional[str]) -> ScrollAnswer:
        maybe_skipped = False
        for _attempt in range(7):
            self.requests += 1
            self.clock += 0.1
            if self.open is not None and self.clock - float(self.open["last_used"]) > self.expiry:  # type: ignore[arg-type]
                self.open = None
            fault = next(self.faults, None)
            if param is None and self.open is not None:
                return ScrollAnswer("busy", maybe_skipped=maybe_skipped, detail="HTTP 400: scroll_exists")
            if param is not None and (self.open is None or self.open["param"] != param):
                return ScrollAnswer("expired", maybe_skipped=maybe_skipped, detail="HTTP 404: not_found")
            if fault == "close":
                self.open = None
                if param is not None:
                    return ScrollAnswer("expired", maybe_skipped=maybe_skipped, detail="HTTP 404: not_found")
                continue  # nothing was open: the CDK retries the opening
            if fault == "error":
                continue
            page, new_param = self._serve(param)
            if fault == "lost":
                maybe_skipped = True
                continue
            return ScrollAnswer("page", page, new_param, maybe_skipped)
        return ScrollAnswer("failed", maybe_skipped=maybe_skipped, detail="retries exhausted")

    def _serve(self, param: Optional[str]) -> tuple:
        """The next page of the open scroll (a new scroll when ``param`` is None). A scroll keeps
        one scroll_param, so a retry of a served page's request gets the page after it."""
        if param is None:
            if not self.ids:
                return [], None
            self.open = {"position": 0, "param": f"scroll-{next(self.params)}"}
        assert self.open is not None
        position = int(self.open["position"])  # type: ignore[arg-type]
        page = [{"id": i, "updated_at": 1} for i in self.ids[position: position + self.page_size]]
        self.open.update(position=position + len(page), last_used=self.clock)
        new_param = str(self.open["param"])
        if not page:
            self.open = None  # the empty page ends the scroll
        return page, new_param


def read_all(scroll: FakeScroll) -> List[str]:
    reader = CompaniesScrollReader(scroll.fetch, idle_expiry_seconds=scroll.expiry, sleep=scroll.sleep, log=logging.getLogger("test"))
    return [str(company["id"]) for page in reader.companies() for company in page]


def company_ids(n: int) -> List[str]:
    return [f"c{i:05d}" for i in range(n)]


def faults_at(schedule: Dict[int, str]) -> Iterator[Optional[str]]:
    """Faults on the given attempt numbers (0-based), none elsewhere."""
    return (schedule.get(attempt) for attempt in itertools.count())


def test_a_clean_scroll_is_read_in_one_pass_with_one_request_per_page() -> None:
    scroll = FakeScroll(company_ids(120), 50, faults_at({}))
    assert read_all(scroll) == company_ids(120)
    assert scroll.requests == 4  # 3 pages and the empty one that ends the scroll


def test_an_answer_lost_mid_scroll_is_recovered_by_a_second_pass_that_stops_once_it_has_it() -> None:
    # Attempt 2 is the second page: served, the answer lost; the retry gets the third page.
    scroll = FakeScroll(company_ids(500), 50, faults_at({2: "lost"}))
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(500) and len(ids) == len(set(ids))
    # pass 1: pages 1, 3-10 and the end, plus the lost answer (11 requests); pass 2 reads pages
    # 1-3, which completes the chain, then the 7 pages and the end it knows are left, to close
    # the scroll (the next scroll of this app would wait for it otherwise)
    assert scroll.requests == 11 + 3 + 8


@pytest.mark.parametrize("kind", ["close", "lost", "error"])
@pytest.mark.parametrize("attempt", [0, 1, 2, 5, 6, 7])  # the opening, pages in the middle, the last page, the end
def test_a_fault_on_any_page_loses_nothing(kind: str, attempt: int) -> None:
    scroll = FakeScroll(company_ids(300), 50, faults_at({attempt: kind}))
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(300) and len(ids) == len(set(ids))


@pytest.mark.parametrize("restarts", [2, 5, 10])
def test_many_closed_scrolls_in_one_sync_lose_nothing(restarts: int) -> None:
    # the scroll is closed on its second page again and again
    schedule = {1 + 3 * k: "close" for k in range(restarts)}
    scroll = FakeScroll(company_ids(200), 50, faults_at(schedule))
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(200) and len(ids) == len(set(ids))


def test_three_answers_lost_in_a_row_skip_three_pages_that_a_later_pass_recovers() -> None:
    scroll = FakeScroll(company_ids(400), 50, faults_at({3: "lost", 4: "lost", 5: "lost"}))
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(400) and len(ids) == len(set(ids))


def test_a_lost_opening_leaves_a_scroll_open_and_the_next_pass_waits_for_it_to_expire() -> None:
    scroll = FakeScroll(company_ids(100), 50, faults_at({0: "lost"}), expiry=60)
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(100)
    assert scroll.clock > 60  # it waited for its own lost scroll to expire


def test_another_scroll_open_at_start_is_waited_out_with_a_line_at_least_every_30_s(caplog: pytest.LogCaptureFixture) -> None:
    scroll = FakeScroll(company_ids(60), 50, faults_at({}), expiry=60)
    scroll.open = {"param": "someone-else", "position": 0, "last_used": 0.0}
    with caplog.at_level(logging.INFO, logger="test"):
        assert sorted(read_all(scroll)) == company_ids(60)
    waits = [r.message for r in caplog.records if "other companies scroll" in r.message or "Another companies scroll" in r.message]
    assert len(waits) >= 3 and any("Waiting 68 s" in line for line in waits), waits


def test_new_and_removed_companies_between_passes_do_not_break_the_chain() -> None:
    ids = company_ids(300)
    scroll = FakeScroll(list(ids), 50, faults_at({2: "lost"}))
    reader = CompaniesScrollReader(scroll.fetch, idle_expiry_seconds=60, sleep=scroll.sleep, log=logging.getLogger("test"))
    read: List[str] = []
    for page in reader.companies():
        read.extend(str(c["id"]) for c in page)
        if reader.passes == 1 and len(read) >= 250:
            # between passes: a company is created in the middle of the order, one is deleted
            scroll.ids = sorted(set(scroll.ids) - {"c00010"} | {"c00120x"})
    assert "c00120x" in read or reader.coverage.complete
    assert set(read) >= set(ids) - {"c00010"} and len(read) == len(set(read))


def test_a_scroll_that_always_fails_at_the_same_place_gives_up_with_a_transient_error() -> None:
    # every request after the first page is lost: the second page can never be proven
    def faults() -> Iterator[Optional[str]]:
        while True:
            yield None
            yield from ["lost"] * 7

    scroll = FakeScroll(company_ids(200), 50, faults())
    reader = CompaniesScrollReader(scroll.fetch, idle_expiry_seconds=60, sleep=scroll.sleep, log=logging.getLogger("test"))
    with pytest.raises(ScrollGaveUp) as failure:
        for _ in reader.companies():
            pass
    assert failure.value.failure_type.value == "transient_error"
    assert "next sync reads the companies again" in failure.value.message
    assert reader.passes <= 3 * CompaniesScrollReader.max_fruitless_tries


def test_the_coverage_is_complete_only_with_an_unbroken_chain_to_the_end() -> None:
    coverage = ScrollCoverage()
    coverage.link("<start of the scroll>", ["a", "b"])
    coverage.page(["e", "f"])  # read after a possible loss
    coverage.link("f", [])
    assert not coverage.complete
    coverage.link("b", ["c", "d"])
    assert not coverage.complete
    coverage.link("d", ["e", "f"])
    assert coverage.complete


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(0, 420),
    page_size=st.sampled_from([7, 50]),
    faults=st.lists(st.sampled_from((None, None, None) + FAULTS), max_size=120),
)
def test_every_company_exactly_once_under_any_finite_fault_schedule(n: int, page_size: int, faults: List[Optional[str]]) -> None:
    scroll = FakeScroll(company_ids(n), page_size, iter(faults))
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(n)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("seed", range(5))
def test_a_storm_of_faults_on_every_page_still_reads_every_company(seed: int) -> None:
    """10% each of lost answers, errors and closed scrolls, at most 3 in a row, 1,000 companies at
    50 a page (the issue's storm): every company, in a bounded number of requests."""
    import random

    rng = random.Random(seed)

    def storm() -> Iterator[Optional[str]]:
        in_a_row = 0
        while True:
            fault = rng.choice(FAULTS) if rng.random() < 0.3 and in_a_row < 3 else None
            in_a_row = in_a_row + 1 if fault else 0
            yield fault

    scroll = FakeScroll(company_ids(1000), 50, storm())
    ids = read_all(scroll)
    assert sorted(ids) == company_ids(1000) and len(ids) == len(set(ids))
    assert scroll.requests < 3000, scroll.requests


def test_a_reader_gets_every_record_in_order_from_disk_and_memory() -> None:
    queue = SpillQueue(SpillFile(), memory_records=3)
    queue.put([{"n": i} for i in range(5)])  # no reader yet: all to disk
    batches = queue.batches("test")
    assert [r["n"] for r in next(batches)] == [0, 1, 2, 3, 4]
    queue.put([{"n": 5}, {"n": 6}])  # a reader now: memory
    queue.put([{"n": 7}, {"n": 8}])  # past memory_records: disk
    queue.finish()
    assert [r["n"] for batch in batches for r in batch] == [5, 6, 7, 8]


def test_a_failed_reading_fails_every_reader_with_its_error() -> None:
    def failing(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "a", "updated_at": 1, "name": "A"}], None)
        raise ScrollGaveUp(message="the scroll failed")

    reading = Reading("companies", failing, {"records": SliceGrid(0, 100, None), "partitions": SliceGrid(0, 100, None)})
    records, partitions = reading.records("records", 0), reading.records("partitions", 0)
    assert next(records) == [{"id": "a", "updated_at": 1, "name": "A"}]
    assert next(partitions) == [{"id": "a", "updated_at": 1}]  # only what partitions need
    for stream in (records, partitions):
        with pytest.raises(ScrollGaveUp, match="the scroll failed"):
            next(stream)


def test_a_reading_never_waits_for_a_reader_that_does_not_come() -> None:
    queue = SpillQueue(SpillFile(), memory_records=3)
    writer = threading.Thread(target=lambda: [queue.put([{"n": i} for i in range(100)]) for _ in range(50)])
    writer.start()
    writer.join(timeout=120)  # a hang detector: the puts take milliseconds
    assert not writer.is_alive(), "the reading waited for its reader"
    queue.finish()
    assert sum(len(batch) for batch in queue.batches("test")) == 5_000
