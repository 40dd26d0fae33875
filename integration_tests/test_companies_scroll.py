"""End to end: the companies scroll under faults in a row, on any page, of every kind.

The emulator's scroll behaves as Intercom's: one scroll per app (400 scroll_exists while another
is open), expiry when unused, and the position moves when a page is SERVED, so a lost answer
(truncated, reset, timeout, 502, 504) makes the retry of the same scroll_param skip a page.
Faults are aimed at pages with ``inject_fault(..., when=...)``, whose context says which page of
its scroll a request would serve. Every expectation comes from the workspace's ground truth.

The scroll's expiry is 2 s here (Intercom: about a minute), in the emulator and in the connector
(SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS), so that waiting out a lost scroll takes seconds.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest
import requests

from intercom_emulator import EmulatorServer, ManualClock, RequestRecord, Workspace, WorkspaceSizes, running_emulator
from integration_tests.harness import SCROLL_EXPIRY, START_TS, Run, catalog_for, config_for, discovered_streams, run_cli, scroll_expiry_env
from integration_tests.workspaces import SMALL, small_workspace

SCROLL = r"^/companies/scroll$"
SCROLL_PAGE = 10
ENV = scroll_expiry_env(SCROLL_EXPIRY)
BOTH = ["companies", "company_segments"]


@pytest.fixture
def workspace() -> Workspace:
    """The shared small workspace with 25 companies (overrides conftest's)."""
    return small_workspace(sizes=dataclasses.replace(SMALL, companies=25))


@pytest.fixture
def server(workspace: Workspace) -> Iterator[EmulatorServer]:
    """The scroll in pages of 10 here (Intercom: 50): pages of 10, 10 and 5, then the empty one,
    the shape of 120 companies in pages of 50 (a first, a second and a last page that differ)."""
    with running_emulator(workspace, token="tok-scroll", scroll_ttl=SCROLL_EXPIRY, fault_timeout_seconds=1.0, scroll_page_size=SCROLL_PAGE) as emulator:
        yield emulator


def read(server: EmulatorServer, names: List[str], reverse_catalog: bool = False) -> Run:
    config = config_for(server)
    catalog = catalog_for(discovered_streams(config), names)
    if reverse_catalog:
        catalog["streams"].reverse()
    server.reset_stats()
    return run_cli("read", config, catalog, env=ENV)


def assert_every_record_once(run: Run, ws: Workspace, streams: List[str]) -> None:
    assert run.returncode == 0, f"exit {run.returncode}: {run.errors} {run.stderr[-3000:]}"
    assert not run.errors, run.errors
    for stream in streams:
        keys = run.keys(stream)
        duplicates = {k: n for k, n in Counter(keys).items() if n > 1}
        assert not duplicates, f"{stream}: {len(duplicates)} keys emitted more than once, e.g. {list(duplicates)[:3]}"
        expected = ws.expected_ids(stream, START_TS)
        missing, extra = expected - set(keys), set(keys) - expected
        assert not missing and not extra, f"{stream}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} unexpected"


def scroll_requests(server: EmulatorServer) -> List[RequestRecord]:
    server.wait_idle()
    return sorted((r for r in server.requests if r.path == "/companies/scroll"), key=lambda r: r.started)


@pytest.mark.parametrize("restarts, kind", [(2, "scroll_expired"), (5, "scroll_restart_500"), (10, "scroll_expired")])
def test_many_scroll_restarts_in_one_sync_lose_nothing(server: EmulatorServer, workspace: Workspace, restarts: int, kind: str) -> None:
    # The second page of every scroll fails, `restarts` times in a row: each time the scroll is gone.
    server.inject_fault(SCROLL, kind, times=restarts, when=lambda ctx: ctx.scroll_page == 1)
    run = read(server, BOTH)
    assert server.stats()["faults_injected"] == restarts
    assert server.stats()["scrolls_opened"] == restarts + 1
    assert_every_record_once(run, workspace, BOTH)


@pytest.mark.parametrize("kind", ["truncated", "reset", "timeout", "502", "504"])
def test_a_page_served_but_lost_is_recovered_by_another_pass(server: EmulatorServer, workspace: Workspace, kind: str) -> None:
    """Intercom serves the second page, the answer is lost, and the retry of the same scroll_param
    gets the third page: only a new pass from the first page recovers the second."""
    server.inject_fault(SCROLL, kind, times=1, when=lambda ctx: ctx.scroll_page == 1)
    run = read(server, BOTH)
    assert server.stats()["scrolls_opened"] == 2
    assert_every_record_once(run, workspace, BOTH)


PAGES = {
    "the first page": lambda ctx: ctx.opens_scroll,
    "the second page": lambda ctx: ctx.scroll_page == 1,
    "the last page": lambda ctx: ctx.scroll_pages is not None and ctx.scroll_page == ctx.scroll_pages - 2,
    "the final empty page": lambda ctx: ctx.scroll_pages is not None and ctx.scroll_page == ctx.scroll_pages - 1,
}


@pytest.mark.parametrize("kind", ["truncated", "reset", "timeout", "502", "504", "500", "503", "scroll_expired", "scroll_restart_500"])
def test_a_fault_on_every_kind_of_page_loses_nothing(server: EmulatorServer, workspace: Workspace, kind: str) -> None:
    """One fault of `kind` on the first page, the second, the last and the final empty page of the
    scroll (served-then-lost kinds make a retry skip that page; a lost first page leaves a scroll
    open that blocks the next one until it expires)."""
    for aim in PAGES.values():
        server.inject_fault(SCROLL, kind, times=1, when=aim)
    run = read(server, BOTH)
    assert server.stats()["faults_injected"] == len(PAGES), server.stats()
    assert_every_record_once(run, workspace, BOTH)


def test_another_scroll_open_at_the_start_is_waited_out(workspace: Workspace) -> None:
    # The emulator's scroll clock stands still except across the connector's own wait: it moves by
    # the time that passed between two requests opening a scroll. The other scroll then expires
    # exactly when the connector waited longer than the scroll's expiry, however slow the machine.
    clock = ManualClock()
    with running_emulator(workspace, token="tok-busy", scroll_ttl=SCROLL_EXPIRY, scroll_clock=clock, scroll_page_size=SCROLL_PAGE) as busy:
        config = config_for(busy)
        catalog = catalog_for(discovered_streams(config), BOTH)
        # Another sync of the same app opened a scroll and walked away from it.
        other = requests.get(f"{busy.url}/companies/scroll", headers={"Authorization": f"Bearer {busy.token}", "Intercom-Version": "2.11"}, timeout=10)
        assert other.status_code == 200 and other.json()["data"]
        busy.wait_idle()  # the emulator records a request after it answers: not in the stats reset below
        busy.reset_stats()
        opened: List[float] = []

        def time_passes_while_the_connector_waits(request: RequestRecord) -> None:
            if request.path == "/companies/scroll" and "scroll_param" not in request.query:
                if opened:
                    clock.advance(time.monotonic() - opened[-1])
                opened.append(time.monotonic())

        busy.on_request(time_passes_while_the_connector_waits)
        run = run_cli("read", config, catalog, env=ENV)
        statuses = [r.status for r in scroll_requests(busy)]
    assert statuses[:2] == [400, 200], f"the other scroll was not in the way, or the connector did not wait it out: {statuses}"
    assert_every_record_once(run, workspace, BOTH)
    assert any("Another companies scroll is open" in line for line in run.logs()), run.logs()


def test_a_storm_of_faults_of_every_kind_on_the_scroll_loses_nothing() -> None:
    """10% each of cut-short bodies, expiries and restart 500s, 3% each of every other kind, at most
    3 in a row on one request, over 200 companies (4 pages and the end): every company and
    membership. (benchmarks/run.py --scroll-storm runs the same over 1,000 companies.)"""
    ws = Workspace(seed=5, sizes=WorkspaceSizes(companies=200, company_segments_per_company=2, contacts=50, conversations=5), span_days=300)
    rates = {"truncated": 0.1, "scroll_expired": 0.1, "scroll_restart_500": 0.1,
             "500": 0.03, "502": 0.03, "503": 0.03, "504": 0.03, "reset": 0.03, "timeout": 0.03}
    with running_emulator(ws, token="tok-storm", scroll_ttl=SCROLL_EXPIRY, fault_timeout_seconds=1.0, fault_rates=rates,
                          fault_paths=SCROLL, max_faults_in_a_row=3, fault_seed=11) as storm:
        run = read(storm, BOTH)
        stats = storm.stats()
    print(f"\nstorm: {stats['faults_injected']} faults, {stats['scrolls_opened']} scrolls opened, {stats['total']} requests")
    assert stats["faults_injected"] >= 5 and stats["scrolls_opened"] >= 3, stats  # the storm did hit
    assert_every_record_once(run, ws, BOTH)


@pytest.mark.parametrize("reverse_catalog", [False, True])
def test_companies_and_company_segments_read_the_scroll_once(server: EmulatorServer, workspace: Workspace, reverse_catalog: bool) -> None:
    run = read(server, BOTH, reverse_catalog)
    assert_every_record_once(run, workspace, BOTH)
    pages = -(-len(workspace.companies) // server.scroll_page_size) + 1  # the empty page ends the scroll
    assert [r.status for r in scroll_requests(server)] == [200] * pages
    assert server.stats()["scrolls_opened"] == 1


def test_company_segments_alone_reads_the_scroll_itself(server: EmulatorServer, workspace: Workspace) -> None:
    run = read(server, ["company_segments"])
    assert_every_record_once(run, workspace, ["company_segments"])
    assert server.stats()["scrolls_opened"] == 1


def test_empty_workspace_companies_succeeds_with_no_records() -> None:
    ws = Workspace(seed=3, sizes=WorkspaceSizes(companies=0), span_days=60)
    with running_emulator(ws, token="tok-empty") as empty:
        run = read(empty, BOTH)
    assert run.returncode == 0 and not run.errors, f"exit {run.returncode}: {run.errors} {run.stderr[-3000:]}"
    assert run.keys("companies") == [] and run.keys("company_segments") == []


def test_retry_log_lines_name_what_happened(server: EmulatorServer, workspace: Workspace) -> None:
    server.inject_fault(SCROLL, "500", times=1, when=lambda ctx: ctx.scroll_page == 1)
    server.inject_fault(SCROLL, "truncated", times=1, when=lambda ctx: ctx.scroll_page == 2)
    server.inject_fault(r"^/tags$", "503", times=1)
    server.inject_fault(r"^/teams$", "reset", times=1)
    run = read(server, BOTH + ["tags", "teams"])
    assert_every_record_once(run, workspace, BOTH + ["tags", "teams"])
    retries = [line for line in run.logs() if "retrying in" in line]
    for wording in (
        "Intercom answered HTTP 500 Internal Server Error (a server error: server_error, 'An unexpected server error occurred') to GET /companies/scroll",
        "Intercom's answer to GET /companies/scroll was cut short or is not JSON (HTTP 200",
        "Intercom answered HTTP 503 Service Unavailable (a server error) to GET /tags",
        "the connection to Intercom failed during GET /teams",
    ):
        assert any(wording in line for line in retries), (wording, retries)
    assert not [line for line in run.logs() if "Rate limit exceeded" in line]
