"""The readings' contract with the CDK's slices (components.py, "Readings"): a slice's partition
ends as soon as the reading has covered its last second (so the CDK checkpoints it while the
reading goes on), each role takes its records by its own slices, and the CDK's workers take the
oldest slice first."""

from __future__ import annotations

import threading
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
