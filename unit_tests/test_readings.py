"""The readings' contract with the CDK's slices (components.py, "Readings"): a slice's partition
ends as soon as the reading has covered its last second (so the CDK checkpoints it while the
reading goes on), each role takes its records by its own slices, and the CDK's workers take the
oldest slice first."""

from __future__ import annotations

import threading

import pytest
from typing import Any, FrozenSet, Iterator, List

from airbyte_cdk.sources.types import StreamSlice

from source_intercom.components import OldestSliceFirst, Page, Reading, SliceGrid

HANG = 60  # seconds: a hang detector; each step takes milliseconds


def test_a_slice_ends_once_the_reading_has_covered_it_while_the_reading_goes_on() -> None:
    go_on = threading.Event()

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "a", "updated_at": 10}, {"id": "b", "updated_at": 60}], 99)  # the first slice [0, 99] is covered
        go_on.wait(3 * HANG)  # held until the first slice is read
        yield Page([{"id": "c", "updated_at": 150}], 199)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 199, 100)})
    first: List[Any] = []
    reader = threading.Thread(target=lambda: first.extend(r for batch in reading.records("records", 0) for r in batch))
    reader.start()
    reader.join(HANG)
    if reader.is_alive():
        go_on.set()
    assert not reader.is_alive(), "the first slice waited for the whole reading"
    assert [r["id"] for r in first] == ["a", "b"]
    go_on.set()
    assert [r["id"] for batch in reading.records("records", 100) for r in batch] == ["c"]


def test_roles_whose_first_slices_differ_share_one_reading_each_by_its_own_slices() -> None:
    asked = []

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        asked.append((start, end))
        yield Page([{"id": "x", "updated_at": 50, "tags": {"data": [{"id": "t1"}]}}, {"id": "y", "updated_at": 150, "tags": {"data": [{"id": "t2"}]}}], 199)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 199, 100), "tags": SliceGrid(100, 199, 100)})
    assert [r["id"] for batch in reading.records("records", 0) for r in batch] == ["x"]
    assert [r["id"] for batch in reading.records("tags", 100) for r in batch] == ["t2"]  # nothing before its first slice
    assert [r["id"] for batch in reading.records("records", 100) for r in batch] == ["y"]
    assert asked == [(0, 199)]  # read once, from the earliest first slice


def test_the_reading_stays_at_most_records_ahead_of_what_a_stream_has_emitted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every record in one slice (a busy recent day): the slices do not bound the reading, the
    # records do. A stream that takes no more records holds the reading (for at most
    # WAIT_AT_MOST), and one that takes them lets it go on within its slice.
    pages_read = []
    page_size = 100
    monkeypatch.setattr(Reading, "RECORDS_AHEAD", 300)

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        for n in range(20):
            pages_read.append(n)
            yield Page([{"id": f"{n}-{i}", "updated_at": 10} for i in range(page_size)], None)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 99, 100)})
    batches = reading.records("records", 0)
    first = next(batches)  # the reader is attached and reads no further
    deadline = threading.Event()
    while len(pages_read) < 4 and not deadline.wait(0.05):
        pass
    deadline.wait(0.5)  # time for the reading to go further, were it not held
    assert len(pages_read) <= 300 // page_size + 2, pages_read
    rest = [r["id"] for batch in batches for r in batch]
    assert len(first) + len(rest) == 20 * page_size and len(pages_read) == 20


def test_the_reading_never_holds_while_a_stream_waits_for_what_it_has_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # One worker: the contacts' slice waits for the reading to cover it, while contact_tags, not
    # scheduled yet, has more records waiting than RECORDS_AHEAD. Holding the reading for
    # contact_tags would hold the only worker too (for WAIT_AT_MOST, page after page).
    monkeypatch.setattr(Reading, "RECORDS_AHEAD", 10)
    monkeypatch.setattr(Reading, "WAIT_AT_MOST", 10 * HANG)
    tags = {"data": [{"id": f"t{i}"} for i in range(20)]}

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        for n in range(5):
            yield Page([{"id": f"c{n}", "updated_at": 10 + n, "tags": tags}], None)
        yield Page([], 99)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 99, 100), "tags": SliceGrid(0, 99, 100)})
    contacts: List[Any] = []
    reader = threading.Thread(target=lambda: contacts.extend(r["id"] for batch in reading.records("records", 0) for r in batch), daemon=True)
    reader.start()
    reader.join(HANG)
    assert not reader.is_alive(), "the reading held while the only stream reading waited for it"
    assert contacts == [f"c{n}" for n in range(5)]
    assert len([r for batch in reading.records("tags", 0) for r in batch]) == 100


def test_an_empty_slice_closes_at_once_without_waiting_for_the_slice_before(monkeypatch: pytest.MonkeyPatch) -> None:
    # Years before a workspace's first record are empty slices: each closing only after the one
    # before it would cost a thread hand-over per slice, per stream.
    monkeypatch.setattr(Reading, "WAIT_AT_MOST", 10 * HANG)

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "late", "updated_at": 950}], 999)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 999, 100)})
    assert [r for batch in reading.records("records", 0) for r in batch] == []
    empty = threading.Thread(target=lambda: list(reading.records("records", 500)), daemon=True)
    empty.start()  # the slices from 100 to 400 are not read yet
    empty.join(HANG)
    assert not empty.is_alive(), "an empty slice waited for the slice before it"


def test_a_stream_the_cdk_has_not_started_does_not_hold_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CDK generates partitions stream after stream: contact_tags may start long after contacts.
    # Its records spill to disk meanwhile; holding the reading for it would hold contacts too.
    monkeypatch.setattr(Reading, "RECORDS_AHEAD", 10)
    monkeypatch.setattr(Reading, "WAIT_AT_MOST", 10 * HANG)
    tags = {"data": [{"id": f"t{i}"} for i in range(20)]}
    done = threading.Event()

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "c0", "updated_at": 10, "tags": tags}], 99)
        for n in range(1, 6):
            yield Page([{"id": f"c{n}", "updated_at": 100 + n, "tags": tags}], None)
        yield Page([], 199)
        done.set()

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 199, 100), "tags": SliceGrid(0, 199, 100)})
    assert [r["id"] for batch in reading.records("records", 0) for r in batch] == ["c0"]
    assert done.wait(HANG), "the reading waited for a stream that has not started"
    assert [r["id"] for batch in reading.records("records", 100) for r in batch] == [f"c{n}" for n in range(1, 6)]
    assert len([r for batch in reading.records("tags", 0) for r in batch]) == 20


class _Partition:
    def __init__(self, start: Any) -> None:
        self._start = start

    def to_slice(self) -> StreamSlice:
        return StreamSlice(partition={}, cursor_slice={} if self._start is None else {"start_time": str(self._start), "end_time": "0"})


class _Work:
    def __init__(self, name: str, start: Any = None, partition: bool = True) -> None:
        self.name = name
        self.args = (_Partition(start),) if partition else ("a stream",)


def test_the_cdks_own_work_then_the_oldest_slice_then_partitions_without_one() -> None:
    work = OldestSliceFirst()
    for item in (_Work("contacts W2", 200), _Work("tags W1", 100), _Work("generate partitions", partition=False),
                 _Work("contacts W1", 100), _Work("admins", None), None, _Work("tags W2", 200)):
        work.put(item)
    taken = [work.get() for _ in range(7)]
    assert [item.name if item is not None else None for item in taken] == [
        "generate partitions", "tags W1", "contacts W1", "contacts W2", "tags W2", "admins", None]
