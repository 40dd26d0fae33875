"""Intercom's companies scroll, whose position lives on the server.

One scroll may be open per workspace. Opening it takes a snapshot of the company ids (sorted by
id); companies created later are not in it, and each page renders the companies' current data.
Every page comes with a fresh ``scroll_param``; only the latest one is valid (no replay). The
empty final page closes the scroll, and its param is dead. A scroll unused for ``ttl`` seconds
expires: its param is no longer found and it no longer blocks a new scroll.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from .replies import ApiError


@dataclass(frozen=True)
class ScrollPage:
    ids: list[str]
    param: str


@dataclass
class _OpenScroll:
    ids: list[str]              # the snapshot, sorted
    served: int                 # how many of them earlier pages carried
    last_used: float
    param: str | None           # the only param that continues this scroll


def scroll_exists() -> ApiError:
    return ApiError(400, "scroll_exists", "scroll already exists for this workspace")


def scroll_param_not_found() -> ApiError:
    return ApiError(404, "not_found", "scroll parameter not found")


class CompaniesScroll:
    def __init__(self, page_size: int = 50, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.page_size = page_size
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._open: _OpenScroll | None = None

    def open(self, company_ids: list[str], commit: bool = True) -> ScrollPage:
        """First page of a new scroll over ``company_ids`` (sorted); 400 while another is open."""
        with self._lock:
            now = self._clock()
            if self._current(now, commit) is not None:
                raise scroll_exists()
            if not company_ids:
                raise ApiError(404, "company_not_found", "Company Not Found")
            return self._serve(_OpenScroll(company_ids, 0, now, None), now, commit)

    def next_page(self, param: str, commit: bool = True) -> ScrollPage:
        """The page after the one ``param`` came with; 404 for any other param."""
        with self._lock:
            now = self._clock()
            scroll = self._current(now, commit)
            if scroll is None or scroll.param != param:
                raise scroll_param_not_found()
            return self._serve(scroll, now, commit)

    def close(self) -> None:
        """Intercom lost the scroll (it asks to restart, or forgot the param)."""
        with self._lock:
            self._open = None

    def _current(self, now: float, commit: bool) -> _OpenScroll | None:
        """The open scroll, unless it has expired (which, when committing, also closes it)."""
        scroll = self._open
        if scroll is not None and now - scroll.last_used > self.ttl:
            if commit:
                self._open = None
            return None
        return scroll

    def _serve(self, scroll: _OpenScroll, now: float, commit: bool) -> ScrollPage:
        """The next page of ``scroll``; unless ``commit`` is False, the scroll moves past it."""
        page = ScrollPage(scroll.ids[scroll.served: scroll.served + self.page_size], str(uuid.uuid4()))
        if commit:
            scroll.served += len(page.ids)
            scroll.last_used = now
            scroll.param = page.param
            self._open = scroll if page.ids else None     # the empty page ends the scroll
        return page
