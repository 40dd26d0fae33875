"""CPU per record in the readings (components.py, "Readings"; issue 23): a slice's records reach its
reader through memory, not the spill file, once a CDK worker has taken the slice, and a batch
emitted wakes only the reading, not every slice's reader."""

from __future__ import annotations

import threading
from typing import Any, FrozenSet, Iterator, List

import pytest

from source_intercom.components import Page, Reading, SliceGrid, SpillFile, SpillQueue

HANG = 60  # seconds: a hang detector; each step takes milliseconds


def test_records_of_a_queue_whose_reader_is_attached_stay_in_memory_even_a_batch_longer_than_the_bound() -> None:
    spill = SpillFile()
    queue = SpillQueue(spill, memory_records=3)
    queue.attach()  # a reader is on its way (it waits for the slice before)
    queue.put([{"n": i} for i in range(5)])  # one page's records, more than memory_records
    assert spill._file is None, "the records went through the spill file"
    queue.put([{"n": 5}])  # memory holds a batch already, and this one would pass the bound: disk
    assert spill._file is not None
    queue.finish()
    assert [r["n"] for batch in queue.batches("test") for r in batch] == list(range(6))


def test_records_of_a_slice_whose_reader_waits_for_the_slice_before_are_not_spilled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Reading, "WAIT_AT_MOST", 10 * HANG)
    second_slice_taken, produced = threading.Event(), threading.Event()

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "a", "updated_at": 10}], None)
        second_slice_taken.wait(HANG)
        yield Page([{"id": "b", "updated_at": 110}, {"id": "c", "updated_at": 120}], 199)
        produced.set()

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 199, 100)})
    first = reading.records("records", 0)
    assert [r["id"] for r in next(first)] == ["a"]
    second: List[Any] = []
    waiting = threading.Thread(target=lambda: second.extend(r["id"] for batch in reading.records("records", 100) for r in batch), daemon=True)
    waiting.start()  # a CDK worker on the second slice, which waits until the first one is emitted
    while ("records", 100) not in reading._taken and not produced.wait(0.01):
        pass
    second_slice_taken.set()
    assert produced.wait(HANG)
    assert reading._spill._file is None, "the waiting slice's records went through the spill file"
    assert list(first) == []
    waiting.join(HANG)
    assert not waiting.is_alive() and second == ["b", "c"]


def test_a_batch_emitted_wakes_the_reading_but_no_reader_waiting_for_a_slice_before_its_own() -> None:
    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        for n in range(5):
            yield Page([{"id": f"c{n}", "updated_at": 10 + n}], None)
        yield Page([], 199)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 199, 100)})
    waiting_for_the_first = reading._next_waits[("records", 0)] = threading.Condition(reading._lock)  # as the next slice's reader would
    woken = {"next slice's reader": 0, "reading": 0}

    def counted(condition: threading.Condition, name: str) -> None:
        notify_all = condition.notify_all

        def notify_all_counted() -> None:
            woken[name] += 1
            notify_all()

        condition.notify_all = notify_all_counted  # type: ignore[method-assign]

    counted(waiting_for_the_first, "next slice's reader")
    counted(reading._room, "reading")
    ids = []
    for batch in reading.records("records", 0):
        ids += [r["id"] for r in batch]
    assert ids == [f"c{n}" for n in range(5)]
    assert woken["next slice's reader"] == 1, "the next slice's reader was woken by each batch"  # by the slice's end alone
    assert woken["reading"] >= 2  # each batch taken, and the slice's end


def test_a_slice_emitted_wakes_the_reader_of_the_next_slice_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Reading, "WAIT_AT_MOST", 10 * HANG)
    third_slice = threading.Event()

    def produce(start: int, end: int, roles: FrozenSet[str]) -> Iterator[Page]:
        yield Page([{"id": "a", "updated_at": 10}], None)
        yield Page([{"id": "b", "updated_at": 110}], 99)
        third_slice.wait(HANG)
        yield Page([{"id": "c", "updated_at": 210}], 299)

    reading = Reading("contacts", produce, {"records": SliceGrid(0, 299, 100)})
    first = reading.records("records", 0)
    assert [r["id"] for r in next(first)] == ["a"]
    read: dict = {}
    readers = [threading.Thread(target=lambda low=low: read.update({low: [r["id"] for b in reading.records("records", low) for r in b]}), daemon=True) for low in (100, 200)]
    for reader in readers:
        reader.start()
    registered = threading.Event()
    while len(reading._next_waits) < 2 and not registered.wait(0.01):
        pass
    woken = {0: 0, 100: 0}
    for low in woken:
        condition = reading._next_waits[("records", low)]

        def notify_all_counted(notify_all: Any = condition.notify_all, low: int = low) -> None:
            woken[low] += 1
            notify_all()

        condition.notify_all = notify_all_counted  # type: ignore[method-assign]
    assert list(first) == []  # the first slice ends
    assert woken == {0: 1, 100: 0}, "a slice's end woke readers other than the next slice's"
    third_slice.set()
    for reader in readers:
        reader.join(HANG)
    assert read == {100: ["b"], 200: ["c"]}
