"""Keeps the connector's resident memory close to what it really holds (glibc's malloc only).

A read runs dozens of threads (the CDK's workers and the shared readings' fetchers). glibc's
malloc gives threads up to 8 arenas per CPU; memory freed in one arena is not reused by a thread
of another, and freed pages inside an arena stay resident until ``malloc_trim``. Both make the
resident size grow well past the heap Python uses. Here: at most 2 arenas, and freed pages handed
back to the system every few seconds. Elsewhere (macOS, musl) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Optional

M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2
TRIM_EVERY_SECONDS = 2.0


def _glibc() -> Optional[ctypes.CDLL]:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    glibc = all(hasattr(libc, name) for name in ("gnu_get_libc_version", "malloc_trim", "mallopt"))
    return libc if glibc else None


def _trim_forever(libc: ctypes.CDLL, stop: threading.Event) -> None:
    while not stop.wait(TRIM_EVERY_SECONDS):
        libc.malloc_trim(0)


def keep_heap_compact() -> Optional[threading.Event]:
    """Limits malloc's arenas and starts a daemon thread that trims freed pages; returns the
    event that stops it, or None where malloc is not glibc's."""
    libc = _glibc()
    if libc is None:
        return None
    libc.mallopt(M_ARENA_MAX, ARENAS)
    stop = threading.Event()
    threading.Thread(target=_trim_forever, args=(libc, stop), name="heap-trim", daemon=True).start()
    return stop
