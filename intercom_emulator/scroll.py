"""Intercom's companies scroll, whose position lives on the server.

One scroll may be open per workspace. Opening it takes a snapshot of the company ids (sorted by
id); companies created later are not in it, and each page renders the companies' current data.
A scroll has one ``scroll_param``, returned with every page (Intercom's maintainers: "the scroll
param returned for each scroll is the same as you paginate", intercom/intercom-ruby#452). Each
request with it serves the next page: the position advances when a page is served, whether or
not the answer reaches the client, so the retry of a lost answer gets the page after it. The
empty final page closes the scroll, and its param is dead. A scroll unused for ``ttl`` seconds
expires: its param is no longer found and it no longer blocks a new scroll.
"""
from __future__ import annotations

import math
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


@dataclass(frozen=True)
class ScrollPosition:
    """Where a scroll request lands: ``page`` (0-based) of a scroll of ``pages`` pages, the final
    empty page included."""
    page: int
    pages: int


@dataclass
class _OpenScroll:
    ids: list[str]              # the snapshot, sorted
    pages_served: int
    last_used: float
    param: str                  # the scroll's param, the same for every page


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
        self.reset_counts()

    # --------------------------------------------------------------------------- requests
    def open(self, company_ids: list[str]) -> ScrollPage:
        """First page of a new scroll over ``company_ids`` (sorted); 400 while another is open."""
        with self._lock:
            now = self._clock()
            if self._current(now) is not None:
                self._counts["scroll_exists"] += 1
                raise scroll_exists()
            if not company_ids:
                raise ApiError(404, "company_not_found", "Company Not Found")
            self._counts["scrolls_opened"] += 1
            return self._serve(_OpenScroll(company_ids, 0, now, str(uuid.uuid4())), now)

    def next_page(self, param: str) -> ScrollPage:
        """The scroll's next page; 404 unless ``param`` is the open scroll's."""
        with self._lock:
            now = self._clock()
            scroll = self._current(now)
            if scroll is None or scroll.param != param:
                raise scroll_param_not_found()
            return self._serve(scroll, now)

    def position(self, param: str | None, company_count: int) -> ScrollPosition | None:
        """The page that ``open`` (no param) or ``next_page(param)`` would serve now, or None when
        the request would be refused."""
        with self._lock:
            scroll = self._current(self._clock())
            if not param:
                if scroll is not None or company_count == 0:
                    return None
                return ScrollPosition(0, self._pages(company_count))
            if scroll is None or scroll.param != param:
                return None
            return ScrollPosition(scroll.pages_served, self._pages(len(scroll.ids)))

    def close(self) -> None:
        """Intercom lost the scroll (it asks to restart, or forgot the param)."""
        with self._lock:
            if self._current(self._clock()) is not None:
                self._counts["scrolls_closed_by_fault"] += 1
            self._open = None

    # ------------------------------------------------------------------------------ stats
    def counts(self) -> dict[str, int]:
        """Scrolls opened, read to their end, closed by a fault, expired; scroll_exists answers."""
        with self._lock:
            self._current(self._clock())        # an idle scroll counts as expired once its ttl is over
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts = {"scrolls_opened": 0, "scrolls_completed": 0, "scrolls_closed_by_fault": 0,
                            "scrolls_expired": 0, "scroll_exists": 0}

    # ---------------------------------------------------------------------------- helpers
    def _pages(self, company_count: int) -> int:
        return math.ceil(company_count / self.page_size) + 1

    def _current(self, now: float) -> _OpenScroll | None:
        """The open scroll, unless it has gone unused for longer than the ttl (then it is closed)."""
        scroll = self._open
        if scroll is not None and now - scroll.last_used > self.ttl:
            self._open = None
            self._counts["scrolls_expired"] += 1
            return None
        return scroll

    def _serve(self, scroll: _OpenScroll, now: float) -> ScrollPage:
        """The next page of ``scroll``; the scroll moves past it."""
        start = scroll.pages_served * self.page_size
        page = ScrollPage(scroll.ids[start: start + self.page_size], scroll.param)
        scroll.pages_served += 1
        scroll.last_used = now
        if page.ids:
            self._open = scroll
        else:                                   # the empty page ends the scroll
            self._open = None
            self._counts["scrolls_completed"] += 1
        return page
