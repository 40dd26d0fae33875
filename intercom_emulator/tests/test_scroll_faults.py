"""Scroll and fault semantics: served-but-lost pages, scroll statistics (real HTTP on loopback)."""
from __future__ import annotations

import json
import time

import pytest
import requests

from intercom_emulator import EmulatorServer, Workspace, WorkspaceSizes, running_emulator
from intercom_emulator.records import id_sort_key

TOKEN = "test-token"
H = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.11"}
SCROLL = r"^/companies/scroll$"
PAGE_SIZE = 8
SIZES = WorkspaceSizes(admins=3, teams=2, tags=5, segments=3, companies=37, contacts=20, conversations=5,
                       parts_per_conversation=2, activity_logs=5, tickets=3, conversations_over_part_cap=0)
SERVING = ["truncated", "reset", "timeout", "502", "504"]
NOT_SERVING = ["500", "503", "429"]


def scroll_emulator(**kw) -> EmulatorServer:
    kw.setdefault("scroll_page_size", PAGE_SIZE)
    kw.setdefault("fault_timeout_seconds", 0.2)
    return running_emulator(Workspace(seed=4, sizes=SIZES), token=TOKEN, **kw)


def expected_pages(server: EmulatorServer) -> list[list[str]]:
    """The scroll's pages (37 companies by 8: 5 pages, then the final empty one)."""
    ids = sorted(server.ws.expected_ids("companies"), key=id_sort_key)
    return [ids[i: i + PAGE_SIZE] for i in range(0, len(ids), PAGE_SIZE)] + [[]]


def scroll(server: EmulatorServer, param: str | None = None) -> requests.Response:
    """One scroll request on a fresh connection (a reset or timeout closes the previous one)."""
    params = {"scroll_param": param} if param else {}
    return requests.get(server.url + "/companies/scroll", headers=H, params=params, timeout=10)


def lost(server: EmulatorServer, param: str | None = None) -> str:
    """Send a scroll request whose answer a fault loses; what the client saw instead."""
    try:
        r = scroll(server, param)
    except requests.exceptions.ConnectionError:
        return "no answer"
    try:
        r.json()
    except ValueError:
        return f"{r.status_code} without JSON"
    return f"{r.status_code} {r.text[:80]}"


def ids(r: requests.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["data"]]


def read_scroll_retrying(server: EmulatorServer, attempts: int = 10) -> tuple[list[list[str]], list[int]]:
    """Read a whole scroll, retrying each failed request as it is; the pages read and every status."""
    pages, statuses, param = [], [], None
    while True:
        for _ in range(attempts):
            r = scroll(server, param)
            statuses.append(r.status_code)
            if r.status_code == 200:
                break
        page = ids(r)
        pages.append(page)
        param = r.json()["scroll_param"]
        if not page:
            return pages, statuses


# ------------------------------------------------------------------ served, then lost
@pytest.mark.parametrize("kind", SERVING)
def test_a_page_served_but_lost_is_skipped_by_the_retry_of_its_scroll_param(kind: str) -> None:
    with scroll_emulator() as s:
        pages = expected_pages(s)
        first = scroll(s)
        assert ids(first) == pages[0]
        param = first.json()["scroll_param"]
        s.inject_fault(SCROLL, kind)
        seen = lost(s, param)
        assert seen in ("no answer", f"{kind} without JSON", "200 without JSON"), seen
        retry = scroll(s, param)
        assert ids(retry) == pages[2]           # page 1 was served and lost: skipped, and no error says so
        assert retry.json()["scroll_param"] == param


@pytest.mark.parametrize("kind", NOT_SERVING)
def test_a_fault_that_does_not_serve_leaves_the_scroll_where_it_was(kind: str) -> None:
    with scroll_emulator() as s:
        pages = expected_pages(s)
        param = scroll(s).json()["scroll_param"]
        s.inject_fault(SCROLL, kind)
        assert scroll(s, param).status_code == int(kind)
        assert ids(scroll(s, param)) == pages[1]


@pytest.mark.parametrize("kind", SERVING)
def test_a_lost_opening_blocks_a_new_scroll_until_it_expires(kind: str) -> None:
    with scroll_emulator(scroll_ttl=0.5) as s:
        s.inject_fault(SCROLL, kind)
        lost(s)                                  # the scroll opened; its param never reached the client
        refused = scroll(s)
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "scroll_exists"
        time.sleep(0.7)
        assert ids(scroll(s)) == expected_pages(s)[0]
        stats = s.stats()
        assert (stats["scrolls_opened"], stats["scroll_exists"], stats["scrolls_expired"]) == (2, 1, 1), stats


@pytest.mark.parametrize("kind", NOT_SERVING)
def test_an_opening_that_is_not_served_opens_no_scroll(kind: str) -> None:
    with scroll_emulator() as s:
        s.inject_fault(SCROLL, kind)
        assert scroll(s).status_code == int(kind)
        assert ids(scroll(s)) == expected_pages(s)[0]
        assert s.stats()["scrolls_opened"] == 1


@pytest.mark.parametrize("kind, status, message", [
    ("scroll_restart_500", 500, "Request failed due to an internal network error. Please restart the scroll operation."),
    ("scroll_expired", 404, "scroll parameter not found"),
])
def test_a_scroll_fault_closes_the_scroll(kind: str, status: int, message: str) -> None:
    with scroll_emulator() as s:
        param = scroll(s).json()["scroll_param"]
        s.inject_fault(SCROLL, kind)
        r = scroll(s, param)
        assert r.status_code == status and r.json()["errors"][0]["message"] == message
        assert scroll(s, param).status_code == 404              # cannot be resumed
        assert ids(scroll(s)) == expected_pages(s)[0]           # a new scroll opens at once
        assert s.stats()["scrolls_closed_by_fault"] == 1


def test_serving_kinds_run_the_endpoint_and_the_others_do_not() -> None:
    with scroll_emulator() as s:
        answered = []
        s.on_answer(lambda record, answer: answered.append(record.fault))
        for kind in sorted(SERVING + NOT_SERVING):
            s.inject_fault(r"^/teams$", kind)
            try:
                requests.get(s.url + "/teams", headers=H, timeout=10)
            except requests.exceptions.ConnectionError:
                pass
        assert sorted(answered) == sorted(SERVING)


def test_a_truncated_answer_keeps_the_served_status() -> None:
    with scroll_emulator() as s:
        s.inject_fault(r"^/contacts/", "truncated")
        r = requests.get(s.url + "/contacts/nobody", headers=H, timeout=10)
        assert r.status_code == 404
        with pytest.raises(ValueError):
            json.loads(r.text)


def test_a_path_only_rule_still_works() -> None:
    with scroll_emulator() as s:
        s.inject_fault(r"^/teams$", "503", times=2)
        statuses = [requests.get(s.url + "/teams", headers=H, timeout=10).status_code for _ in range(3)]
        assert statuses == [503, 503, 200] and s.stats()["faults_injected"] == 2


# ------------------------------------------------------------------ statistics
def test_stats_count_scrolls_opened_completed_closed_expired_and_refused() -> None:
    with scroll_emulator(scroll_ttl=0.4) as s:
        read_scroll_retrying(s)
        param = scroll(s).json()["scroll_param"]
        assert scroll(s).status_code == 400
        s.inject_fault(SCROLL, "scroll_restart_500")
        assert scroll(s, param).status_code == 500
        scroll(s)                                # left open: expires without another request
        time.sleep(0.6)
        counts = {k: v for k, v in s.stats().items() if "scroll" in k}
        assert counts == {"scrolls_opened": 3, "scrolls_completed": 1, "scrolls_closed_by_fault": 1,
                          "scrolls_expired": 1, "scroll_exists": 1}
        control = requests.get(s.url + "/_emulator/stats", timeout=10).json()
        assert {k: control[k] for k in counts} == counts
        s.reset_stats()
        assert all(v == 0 for k, v in s.stats().items() if "scroll" in k)
