"""Scroll and fault semantics: served-but-lost pages, faults aimed at a page, random faults per
kind with a cap on faults in a row, scroll statistics (real HTTP on loopback)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from intercom_emulator import EmulatorServer, ManualClock, Workspace, WorkspaceSizes, running_emulator
from intercom_emulator.__main__ import parse_fault_rates
from intercom_emulator.faults import RandomFaults
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
    # The ttl runs on a clock the test moves: the scroll expires when the test says, however busy the machine.
    clock = ManualClock()
    with scroll_emulator(scroll_ttl=2.0, scroll_clock=clock) as s:
        first_page = expected_pages(s)[0]
        s.inject_fault(SCROLL, kind)
        lost(s)                                  # the scroll opened; its param never reached the client
        clock.advance(2.0)
        refused = scroll(s)
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "scroll_exists"
        clock.advance(2.1)                       # unused for longer than the ttl
        reopened = scroll(s)
        stats = s.stats()
        assert ids(reopened) == first_page
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


# ------------------------------------------------------------------ faults aimed at a page
def test_a_rule_predicate_sees_the_page_each_scroll_request_would_serve() -> None:
    with scroll_emulator() as s:
        seen = []
        s.inject_fault(SCROLL, "500", when=lambda ctx: seen.append(
            (ctx.opens_scroll, ctx.scroll_page, ctx.scroll_pages)) and False)
        read_scroll_retrying(s)
        assert seen == [(True, 0, 6)] + [(False, page, 6) for page in range(1, 6)]
        seen.clear()
        param = scroll(s).json()["scroll_param"]
        scroll(s)                                # scroll_exists: it would serve no page
        scroll(s, "bogus")                       # unknown param: no page either
        scroll(s, param)
        assert seen == [(True, 0, 6), (True, None, None), (False, None, None), (False, 1, 6)]


@pytest.mark.parametrize("target, page", [
    ("the opening", 0),
    ("the 3rd continuation", 3),
    ("the last page with companies", 4),
    ("the final empty page", 5),
])
def test_a_rule_aimed_at_a_page_fires_on_that_page(target: str, page: int) -> None:
    aim = {
        "the opening": lambda ctx: ctx.opens_scroll,
        "the 3rd continuation": lambda ctx: ctx.scroll_page == 3,
        "the last page with companies": lambda ctx: ctx.scroll_page == ctx.scroll_pages - 2,
        "the final empty page": lambda ctx: ctx.scroll_page == ctx.scroll_pages - 1,
    }[target]
    with scroll_emulator() as s:
        s.inject_fault(SCROLL, "503", when=aim)
        pages, statuses = read_scroll_retrying(s)
        assert pages == expected_pages(s)
        assert statuses == [200] * page + [503] + [200] * (6 - page)


def test_times_fails_the_same_page_several_times_in_a_row() -> None:
    with scroll_emulator() as s:
        s.inject_fault(SCROLL, "500", times=3, when=lambda ctx: ctx.scroll_page == 2)
        pages, statuses = read_scroll_retrying(s)
        assert pages == expected_pages(s)
        assert statuses == [200, 200, 500, 500, 500, 200, 200, 200, 200]


def test_a_path_only_rule_still_works() -> None:
    with scroll_emulator() as s:
        s.inject_fault(r"^/teams$", "503", times=2)
        statuses = [requests.get(s.url + "/teams", headers=H, timeout=10).status_code for _ in range(3)]
        assert statuses == [503, 503, 200] and s.stats()["faults_injected"] == 2


# ------------------------------------------------------------------ random faults per kind
def test_random_faults_never_hit_the_same_request_more_than_max_in_a_row() -> None:
    with scroll_emulator(fault_rates={"500": 1.0}, max_faults_in_a_row=3) as s:
        statuses: dict[str, list[int]] = {"/teams": [], "/tags": []}
        for _ in range(8):
            for path in statuses:
                statuses[path].append(requests.get(s.url + path, headers=H, timeout=10).status_code)
        assert statuses == {"/teams": [500, 500, 500, 200] * 2, "/tags": [500, 500, 500, 200] * 2}


def test_a_client_that_retries_reads_the_scroll_through_random_faults_on_it() -> None:
    with scroll_emulator(fault_rates={"500": 0.5, "503": 0.5}, fault_paths=SCROLL, max_faults_in_a_row=3) as s:
        pages, statuses = read_scroll_retrying(s, attempts=4)
        assert pages == expected_pages(s)
        assert len(statuses) == 6 * 4                        # every page: 3 faults, then its answer
        assert statuses[3::4] == [200] * 6
        assert {st for i, st in enumerate(statuses) if i % 4 != 3} <= {500, 503}
        assert requests.get(s.url + "/teams", headers=H, timeout=10).status_code == 200     # off fault_paths


def test_random_faults_per_kind_are_reproducible_with_a_seed() -> None:
    def run(seed: int) -> tuple[list[tuple[str, int, str | None]], set]:
        with scroll_emulator(fault_rates={"500": 0.2, "503": 0.2, "truncated": 0.2}, fault_paths=r"^/teams$",
                             fault_seed=seed) as s:
            session = requests.Session()
            for _ in range(30):
                for path in ("/teams", "/tags"):
                    session.get(s.url + path, headers=H, timeout=10)
            s.wait_idle()
            return [(r.path, r.status, r.fault) for r in s.requests], {r.fault for r in s.requests}
    first, kinds = run(5)
    again, _ = run(5)
    other, _ = run(6)
    assert first == again and first != other
    assert kinds == {None, "500", "503", "truncated"}
    assert all(fault is None for path, _, fault in first if path == "/tags")


def test_random_draws_follow_the_rate_of_each_kind() -> None:
    draws = RandomFaults({"500": 0.1, "truncated": 0.3}, seed=1)
    drawn = [draws.draw("/companies/scroll") for _ in range(20_000)]
    assert abs(drawn.count("500") / 20_000 - 0.1) < 0.01
    assert abs(drawn.count("truncated") / 20_000 - 0.3) < 0.015
    assert RandomFaults({"500": 1.0}, paths="^/teams$").draw("/tags") is None


def test_fault_rate_and_fault_kinds_mean_equal_shares() -> None:
    server = EmulatorServer(Workspace(seed=4, sizes=SIZES), fault_rate=0.3, fault_kinds=("500", "503", "504"))
    assert server.faults.random.rates == pytest.approx({"500": 0.1, "503": 0.1, "504": 0.1})


@pytest.mark.parametrize("options", [
    {"fault_rate": 0.1, "fault_rates": {"500": 0.1}},
    {"fault_rates": {"500": 0.6, "503": 0.5}},
    {"fault_rates": {"418": 0.1}},
    {"fault_rates": {"500": -0.1}},
])
def test_bad_fault_options_are_refused(options: dict) -> None:
    with pytest.raises(ValueError):
        EmulatorServer(Workspace(seed=4, sizes=SIZES), **options)


# ------------------------------------------------------------------ statistics
def test_stats_count_scrolls_opened_completed_closed_expired_and_refused() -> None:
    clock = ManualClock()                        # the ttl runs on the test's time, not the machine's
    with scroll_emulator(scroll_ttl=1.5, scroll_clock=clock) as s:
        read_scroll_retrying(s)
        param = scroll(s).json()["scroll_param"]
        assert scroll(s).status_code == 400
        s.inject_fault(SCROLL, "scroll_restart_500")
        assert scroll(s, param).status_code == 500
        scroll(s)                                # left open: expires without another request
        clock.advance(1.6)
        counts = {k: v for k, v in s.stats().items() if "scroll" in k}
        assert counts == {"scrolls_opened": 3, "scrolls_completed": 1, "scrolls_closed_by_fault": 1,
                          "scrolls_expired": 1, "scroll_exists": 1}
        control = requests.get(s.url + "/_emulator/stats", timeout=10).json()
        assert {k: control[k] for k in counts} == counts
        s.reset_stats()
        assert all(v == 0 for k, v in s.stats().items() if "scroll" in k)


# ------------------------------------------------------------------ CLI
def test_parse_fault_rates() -> None:
    assert parse_fault_rates("truncated=0.1, scroll_expired=0.05") == {"truncated": 0.1, "scroll_expired": 0.05}
    with pytest.raises(ValueError):
        parse_fault_rates("truncated")


def test_cli_fault_flags() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = subprocess.Popen([sys.executable, "-m", "intercom_emulator", "--port", "0", "--token", TOKEN, "--preset", "small",
                          "--fault-rates", "500=1", "--fault-paths", "^/teams$", "--max-faults-in-a-row", "2"],
                         stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=root), text=True)
    try:
        url = json.loads(p.stdout.readline())["url"]
        teams = [requests.get(url + "/teams", headers=H, timeout=5).status_code for _ in range(3)]
        assert teams == [500, 500, 200]
        assert requests.get(url + "/tags", headers=H, timeout=5).status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
