"""Readings hold a bounded number of pages, however big the workspace: pages fetched (or being
fetched) and not yet taken by the reading's streams never exceed the reader's ``pages_in_memory``,
with many windows in parallel and a stream that takes its records slowly; details of later pages
are fetched while a page waits, and pages keep their order."""

from __future__ import annotations

import bisect
import concurrent.futures
import random
import threading
import time
from typing import Iterator, List, Mapping

from source_intercom.components import DETAIL_PAGES_AHEAD, Page, SearchPage, SearchReader, pages_with_details

DAY = 86_400


class PagesHeld:
    """Counts pages asked for and pages the reading handed on; keeps the most held at once."""

    def __init__(self, not_handed_on: int = 0) -> None:
        self._lock = threading.Lock()
        self.asked = self.handed_on = self.most = 0
        self._not_handed_on = not_handed_on  # pages the reader reads for itself (a split's first page)

    def ask(self) -> None:
        with self._lock:
            self.asked += 1
            self.most = max(self.most, self.asked - self._not_handed_on - self.handed_on)

    def hand_on(self) -> None:
        with self._lock:
            self.handed_on += 1


def test_a_search_split_into_many_windows_holds_at_most_its_pages_in_memory_for_a_slow_stream() -> None:
    rng = random.Random(5)
    times = sorted(rng.randrange(0, 400 * DAY) for _ in range(60_000))  # about 40 windows of 1,500
    held = PagesHeld(not_handed_on=1)  # the whole range's first page only tells the total

    def fetch(low: int, high: int, cursor: str | None) -> SearchPage:
        held.ask()
        inside = times[bisect.bisect_left(times, low):bisect.bisect_right(times, high)]
        start = int(cursor or 0)
        page = [{"id": f"{low}-{start + i}", "updated_at": t} for i, t in enumerate(inside[start:start + 150])]
        following = start + len(page)
        return SearchPage(page, len(inside), str(following) if following < len(inside) else None)

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        reader = SearchReader(fetch, 0, 400 * DAY, pool, window_records=1_500)
        records = 0
        for page in reader.pages():
            held.hand_on()
            records += len(page.records)
            time.sleep(0.002)  # a stream slower than 40 threads of requests
    assert records == 60_000
    assert reader.windows >= 30
    assert held.most <= SearchReader.pages_in_memory, held.most


def test_details_of_later_pages_are_fetched_while_a_page_waits_and_pages_stay_in_order() -> None:
    # The first page's detail answers only once the details of the next pages have been asked
    # for: read one page at a time, the reading would wait for it (here: 5 s, then "late").
    later_asked = threading.Event()
    asked: List[int] = []
    held = PagesHeld()

    def complete(record: Mapping[str, int]) -> Mapping[str, object]:
        asked.append(record["id"])
        if record["id"] == 0:
            return {**record, "late": not later_asked.wait(5)}
        if len(asked) > DETAIL_PAGES_AHEAD:
            later_asked.set()
        return {**record, "late": False}

    def pages() -> Iterator[Page]:
        for page in range(20):
            held.ask()
            yield Page([{"id": page * 10 + i} for i in range(3)], page * 10 + 9)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        out = []
        for page in pages_with_details(pages(), lambda record: record["id"] % 10 == 0, complete, pool):
            held.hand_on()
            out.append(page.records)
    assert [record["id"] for page in out for record in page] == [page * 10 + i for page in range(20) for i in range(3)]
    assert not any(record.get("late") for page in out for record in page)
    assert all("late" not in record for page in out for record in page if record["id"] % 10), "complete records untouched"
    assert held.most <= DETAIL_PAGES_AHEAD + 1, held.most
