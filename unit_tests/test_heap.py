"""The connector's resident memory stays close to what it holds: on glibc, a read limits malloc's
arenas and hands freed pages back to the system from a thread of its own; elsewhere nothing runs."""

from __future__ import annotations

import threading
from unittest import mock

from source_intercom import heap


def trim_threads() -> list:
    return [thread for thread in threading.enumerate() if thread.name == "heap-trim"]


def test_on_glibc_freed_pages_are_trimmed_until_stopped() -> None:
    libc = mock.Mock()
    with mock.patch.object(heap, "_glibc", return_value=libc), mock.patch.object(heap, "TRIM_EVERY_SECONDS", 0.01):
        stop = heap.keep_heap_compact()
        assert stop is not None and trim_threads()
        libc.mallopt.assert_called_once_with(heap.M_ARENA_MAX, heap.ARENAS)
        threading.Event().wait(0.2)
        stop.set()
        for thread in trim_threads():
            thread.join(1)
    assert libc.malloc_trim.call_count >= 3
    assert not trim_threads()


def test_without_glibc_nothing_runs() -> None:
    with mock.patch.object(heap, "_glibc", return_value=None):
        assert heap.keep_heap_compact() is None
    assert not trim_threads()
