"""SearchReader: windows sized by the data, every record of the range once, no empty requests."""

from __future__ import annotations

import bisect
import concurrent.futures
import random
import threading
from typing import Dict, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from source_intercom.components import SearchPage, SearchReader

DAY = 86_400


class FakeSearch:
    """A search over records sorted by updated_at: 150 a page, a keyset cursor, total_count of the
    query. ``margin`` widens every query as the contacts' day-granular one is widened."""

    def __init__(self, times: List[int], margin: int = 0, page_size: int = 150) -> None:
        self.records = sorted(({"id": f"r{i}", "updated_at": t} for i, t in enumerate(times)), key=lambda r: (r["updated_at"], r["id"]))
        self.keys = [(r["updated_at"], r["id"]) for r in self.records]
        self.margin, self.page_size = margin, page_size
        self.requests: List[tuple] = []
        self._lock = threading.Lock()

    def fetch(self, low: int, high: int, cursor: Optional[str]) -> SearchPage:
        with self._lock:
            self.requests.append((low, high, cursor))
        first = bisect.bisect_left(self.keys, (low - self.margin, ""))
        last = bisect.bisect_right(self.keys, (high + self.margin, "~"))
        start = int(cursor) if cursor else first
        page = self.records[start: min(last, start + self.page_size)]
        following = start + len(page)
        return SearchPage(page, last - first, str(following) if following < last else None)


def read(search: FakeSearch, start: int, end: int, **options: int) -> List[Dict]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        reader = SearchReader(search.fetch, start, end, pool, **options)
        return [record for page in reader.pages() for record in page.records]


def test_a_range_one_reader_gets_through_quickly_is_read_page_after_page_with_no_extra_request() -> None:
    search = FakeSearch([1_000 + i for i in range(5_000)])  # 34 pages of 150
    records = read(search, 0, 10**6)
    assert len(records) == 5_000 and len({r["id"] for r in records}) == 5_000
    assert len(search.requests) == 34


def test_an_empty_range_costs_one_request() -> None:
    search = FakeSearch([])
    assert read(search, 0, 6 * 365 * DAY) == []
    assert len(search.requests) == 1


def test_a_big_range_is_split_into_windows_read_at_once_with_few_requests_more_than_its_pages() -> None:
    rng = random.Random(3)
    times = [rng.randrange(0, 400 * DAY) for _ in range(60_000)]  # 400 pages of 150
    search = FakeSearch(times)
    records = read(search, 0, 400 * DAY, window_records=6_000)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in search.records)
    windows = {(low, high) for low, high, _ in search.requests}
    assert len(windows) >= 10  # read in parallel windows
    assert len(search.requests) <= 400 * 1.03 + 1, len(search.requests)


def test_records_crowded_in_a_short_time_are_split_again_where_they_are() -> None:
    times = list(range(0, 400 * DAY, DAY)) + [399 * DAY + i for i in range(30_000)]  # the last day holds most
    search = FakeSearch(times)
    records = read(search, 0, 400 * DAY, window_records=6_000)
    assert len(records) == len(times) == len({r["id"] for r in records})
    last_day_windows = {(low, high) for low, high, _ in search.requests if low >= 399 * DAY}
    assert len(last_day_windows) >= 3


def test_windows_widened_by_a_margin_keep_each_record_once_and_stay_long() -> None:
    rng = random.Random(5)
    times = [rng.randrange(0, 800 * DAY) for _ in range(40_000)]
    search = FakeSearch(times, margin=90_000)  # the contacts' 25 hours
    records = read(search, 0, 800 * DAY, window_records=6_000, min_window_seconds=104 * DAY)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in search.records)
    assert all(high - low + 1 >= 104 * DAY for low, high, _ in search.requests)
    assert len(search.requests) <= 267 * 1.05 + 1, len(search.requests)  # 40,000 / 150 = 267 pages


def test_a_failing_window_fails_the_reading() -> None:
    search = FakeSearch([i * 10 for i in range(20_000)])

    def flaky(low: int, high: int, cursor: Optional[str]) -> SearchPage:
        if low > 100_000 and cursor:
            raise RuntimeError("the search failed")
        return search.fetch(low, high, cursor)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        with pytest.raises(RuntimeError, match="the search failed"):
            for _ in SearchReader(flaky, 0, 200_000, pool, window_records=3_000).pages():
                pass


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 1_000_000), max_size=3_000),
    bounds=st.tuples(st.integers(0, 1_000_000), st.integers(0, 1_000_000)).map(sorted),
    window_records=st.sampled_from([150, 400, 6_000]),
    margin=st.sampled_from([0, 1, 5_000]),
)
def test_every_record_of_the_range_exactly_once(times: List[int], bounds: List[int], window_records: int, margin: int) -> None:
    low, high = bounds
    search = FakeSearch(times, margin=margin)
    records = read(search, low, high, window_records=window_records)
    expected = sorted(r["id"] for r in search.records if low <= r["updated_at"] <= high)
    assert sorted(r["id"] for r in records) == expected
