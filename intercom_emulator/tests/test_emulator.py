"""Tests of the Intercom emulator itself (fast; real HTTP on loopback)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from intercom_emulator import EmulatorServer, ManualClock, Workspace, WorkspaceSizes, render, running_emulator
from intercom_emulator.workspace import ALL_STREAMS

TOKEN = "test-token"
H = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.11", "Accept": "application/json"}
DAY = 86400
SMALL = WorkspaceSizes(admins=3, teams=2, tags=12, segments=4, companies=37, contacts=90, conversations=25,
                       parts_per_conversation=4, activity_logs=73, tickets=17, conversations_over_part_cap=1,
                       parts_over_part_cap=530)


def small_ws(**kw):
    kw.setdefault("sizes", SMALL)
    return Workspace(seed=kw.pop("seed", 7), **kw)


@pytest.fixture
def emu():
    with running_emulator(small_ws()) as s:
        yield s


def get(s, path, session=requests, **kw):
    return session.get(s.url + path, headers=kw.pop("headers", H), timeout=kw.pop("timeout", 10), **kw)


def post(s, path, body, session=requests, **kw):
    return session.post(s.url + path, headers=kw.pop("headers", H), json=body, timeout=kw.pop("timeout", 10), **kw)


def search_all(s, stream, query, per_page=50, order="ascending", key=None, session=None):
    session = session or requests.Session()
    key = key or {"contacts": "data"}.get(stream, stream)
    out, cursor, pages = [], None, 0
    while True:
        pag = {"per_page": per_page}
        if cursor:
            pag["starting_after"] = cursor
        r = post(s, f"/{stream}/search", {"query": query, "sort": {"field": "updated_at", "order": order},
                                          "pagination": pag}, session=session)
        assert r.status_code == 200, r.text
        j = r.json()
        out.extend(j[key])
        pages += 1
        nxt = j["pages"].get("next")
        if not nxt:
            return out, j
        assert nxt["page"] == pages + 1
        cursor = nxt["starting_after"]


def scroll_all(s, session=None):
    session = session or requests.Session()
    r = get(s, "/companies/scroll", session=session)
    assert r.status_code == 200, r.text
    out, params = [], []
    while True:
        j = r.json()
        assert j["type"] == "list" and j["pages"] is None and j["total_count"] is None
        params.append(j["scroll_param"])
        if not j["data"]:
            return out, params
        out.extend(j["data"])
        r = get(s, "/companies/scroll", params={"scroll_param": j["scroll_param"]}, session=session)
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------- auth / version
def test_auth_401_envelope():
    with running_emulator(small_ws(), other_region_tokens=("eu-token",)) as s:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer eu-token"},
                        {"Authorization": TOKEN}):
            r = get(s, "/me", headers=headers)
            assert r.status_code == 401
            j = r.json()
            assert j["type"] == "error.list" and j["request_id"]
            assert j["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
            assert "X-RateLimit-Limit" not in r.headers
        r = get(s, "/me")
        assert r.status_code == 200
        me = r.json()
        assert me["type"] == "admin" and me["app"]["type"] == "app" and "region" in me["app"]


def test_version_header(emu):
    r = get(emu, "/admins", headers={**H, "Intercom-Version": "2.1"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "intercom_version_invalid"
    for v in ("2.10", "2.16", "Preview"):
        assert get(emu, "/admins", headers={**H, "Intercom-Version": v}).status_code == 200
    r = get(emu, "/admins", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["type"] == "admin.list"
    emu.wait_idle()
    versions = [rec.headers.get("intercom-version") for rec in emu.requests]
    assert versions == ["2.1", "2.10", "2.16", "Preview", None]
    assert [rec.status for rec in emu.requests] == [400, 200, 200, 200, 200]


def test_rate_limit_headers_and_429():
    # The windows run on the test's clock, 8.5 s into one: however slow the requests, they all
    # land in that window, and the next one starts when the test says.
    clock = ManualClock(start=(time.time() // 10) * 10 + 8.5)
    with running_emulator(small_ws(), rate_limit_per_10s=5, rate_limit_clock=clock) as s:
        sess = requests.Session()
        statuses, remaining = [], []
        for _ in range(7):
            r = get(s, "/teams", session=sess)
            statuses.append(r.status_code)
            assert int(r.headers["X-RateLimit-Limit"]) == 5
            remaining.append(int(r.headers["X-RateLimit-Remaining"]))
            reset = int(r.headers["X-RateLimit-Reset"])
            assert reset % 10 == 0 and reset - clock() == 1.5
        clock.advance(1.5)
        assert get(s, "/teams", session=sess).status_code == 200     # a new window
        assert statuses == [200] * 5 + [429] * 2
        assert remaining == [4, 3, 2, 1, 0, 0, 0]
        j = r.json()
        assert j["errors"][0]["code"] == "rate_limit_exceeded"
        assert j["errors"][0]["message"] == "Exceeded rate limit of 5 in 10_seconds"
        assert s.stats()["rate_limited"] == 2


# ------------------------------------------------------------------- simple lists
def test_simple_lists(emu):
    ws = emu.ws
    assert {a["id"] for a in get(emu, "/admins").json()["admins"]} == ws.expected_ids("admins")
    assert {t["id"] for t in get(emu, "/teams").json()["teams"]} == ws.expected_ids("teams")
    tags = get(emu, "/tags").json()
    assert tags["type"] == "list" and {t["id"] for t in tags["data"]} == ws.expected_ids("tags")
    seg = get(emu, "/segments", params={"include_count": "true"}).json()
    assert seg["type"] == "segment.list" and all("count" in x and "updated_at" in x for x in seg["segments"])
    assert all("count" not in x for x in get(emu, "/segments").json()["segments"])
    for model, stream in (("contact", "contact_attributes"), ("company", "company_attributes"),
                          ("conversation", "conversation_attributes")):
        data = get(emu, "/data_attributes", params={"model": model, "include_archived": "true"}).json()["data"]
        names = [d["full_name"] for d in data]
        assert len(names) == len(set(names)) and set(names) == ws.expected_ids(stream)
        assert any("id" in d for d in data) and any("id" not in d for d in data)
        assert all(d["model"] == model for d in data)
    assert get(emu, "/nope").status_code == 404
    r = requests.delete(emu.url + "/admins", headers=H)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "not_found"


def test_plan_restricted_and_denied():
    with running_emulator(small_ws(), plan_restricted=True) as s:
        r = get(s, "/me")
        assert r.status_code == 403
        assert r.json()["errors"][0] == {"code": "api_plan_restricted", "message": "Active subscription needed."}
    with running_emulator(small_ws(), denied={"tickets": 403, "activity_logs": 401}) as s:
        r = post(s, "/tickets/search", {"query": {"field": "updated_at", "operator": ">", "value": 0}})
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden"
        assert "permission" in r.json()["errors"][0]["message"]
        assert get(s, "/ticket_types").status_code == 403
        r = get(s, "/admins/activity_logs", params={"created_at_after": 0})
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == "unauthorized"
        assert "X-RateLimit-Remaining" in r.headers
        assert post(s, "/contacts/search", {"query": {"field": "updated_at", "operator": ">", "value": 0}}
                    ).status_code == 200
        assert get(s, "/admins").status_code == 200


# ----------------------------------------------------------------------- scroll
def test_scroll_every_company_once():
    with running_emulator(small_ws(), scroll_page_size=10) as s:
        companies, params = scroll_all(s)
        ids = [c["id"] for c in companies]
        assert len(ids) == len(set(ids)) == 37
        assert set(ids) == s.ws.expected_ids("companies")
        assert ids == sorted(ids)
        assert len(params) == 5 and len(set(params)) == 1   # 4 pages + the empty end, one param per scroll
        # the scroll is closed after the empty page: its param is dead, a new scroll may open
        r = get(s, "/companies/scroll", params={"scroll_param": params[0]})
        assert r.status_code == 404 and r.json()["errors"][0]["message"] == "scroll parameter not found"
        again, again_params = scroll_all(s)
        assert [c["id"] for c in again] == ids
        assert again_params[0] != params[0]


def test_scroll_exists_and_expiry():
    # The ttl runs on a clock the test moves: a busy machine cannot expire the scroll between requests.
    clock = ManualClock()
    with running_emulator(small_ws(), scroll_page_size=10, scroll_ttl=1.5, scroll_clock=clock) as s:
        first = get(s, "/companies/scroll").json()
        r = get(s, "/companies/scroll")
        assert r.status_code == 400
        assert r.json()["errors"][0] == {"code": "scroll_exists", "message": "scroll already exists for this workspace"}
        # every request with the scroll's param serves the next page and keeps the scroll alive
        clock.advance(1.5)
        second = get(s, "/companies/scroll", params={"scroll_param": first["scroll_param"]}).json()
        clock.advance(1.5)
        third = get(s, "/companies/scroll", params={"scroll_param": first["scroll_param"]}).json()
        assert first["scroll_param"] == second["scroll_param"] == third["scroll_param"]
        assert first["data"][-1]["id"] < second["data"][0]["id"] <= second["data"][-1]["id"] < third["data"][0]["id"]
        clock.advance(1.6)
        r = get(s, "/companies/scroll", params={"scroll_param": second["scroll_param"]})
        assert r.status_code == 404
        assert r.json()["errors"][0] == {"code": "not_found", "message": "scroll parameter not found"}
        assert get(s, "/companies/scroll").status_code == 200       # expired scroll no longer blocks
        clock.advance(1.6)
        assert get(s, "/companies/scroll").status_code == 200       # expiry also frees the workspace
        assert get(s, "/companies/scroll", params={"scroll_param": "bogus"}).status_code == 404


def test_scroll_empty_workspace():
    ws = Workspace(seed=3, sizes=WorkspaceSizes(companies=0, contacts=5, conversations=2, tickets=1))
    with running_emulator(ws) as s:
        r = get(s, "/companies/scroll")
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == "company_not_found"
        assert get(s, "/companies/scroll").status_code == 404   # no scroll was opened


def test_company_segments(emu):
    ws = emu.ws
    pairs = set()
    for cid in ws.expected_ids("companies"):
        j = get(emu, f"/companies/{cid}/segments").json()
        assert j["type"] == "list"
        pairs |= {(cid, sg["id"]) for sg in j["data"]}
    assert pairs == ws.expected_ids("company_segments")
    r = get(emu, "/companies/doesnotexist/segments")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "company_not_found"


# ----------------------------------------------------------------------- search
def test_contacts_search_day_granularity():
    for tz in (0, 5):
        ws = small_ws(timezone_offset_hours=tz)
        day_start = (ws.day_of(ws.now()) - 10) * DAY - tz * 3600       # local midnight, 10 days ago
        c1, c2, c3, c4 = (ws.contacts[i].id for i in range(4))
        ws.update_contact(c1, updated_at=day_start + 10 * 3600)
        ws.update_contact(c2, updated_at=day_start + 20 * 3600)
        ws.update_contact(c3, updated_at=day_start + DAY + 3600)
        ws.update_contact(c4, updated_at=day_start - 60)
        ids = [c1, c2, c3, c4]
        with running_emulator(ws) as s:
            def q(op, v):
                query = {"operator": "AND", "value": [{"field": "id", "operator": "IN", "value": ids},
                                                      {"field": "updated_at", "operator": op, "value": v}]}
                r = post(s, "/contacts/search", {"query": query})
                assert r.status_code == 200, r.text
                return {c["id"] for c in r.json()["data"]}
            assert q(">", day_start + 10 * 3600) == {c3}            # rest of c1's day is skipped
            assert q(">", day_start - 1) == {c1, c2, c3}            # from the start of the NEXT day
            assert q(">", day_start + DAY - 1) == {c3}
            assert q("=", day_start + 5) == {c1, c2}                # the whole day
            assert q("<", day_start + DAY + 7200) == {c1, c2, c4}   # before the value's day
            assert q("<", day_start + 3600) == {c4}
            for op in (">=", "<=", "!=", "IN", "NIN"):
                v = [day_start] if op in ("IN", "NIN") else day_start
                r = post(s, "/contacts/search", {"query": {"field": "updated_at", "operator": op, "value": v}})
                assert r.status_code == 400, op
                assert r.json()["errors"][0]["code"] == "parameter_invalid"
            # conversations compare exact timestamps with every operator
            conv = ws.conversations[3]
            r = post(s, "/conversations/search", {"query": {"operator": "AND", "value": [
                {"field": "id", "operator": "=", "value": conv.id},
                {"field": "updated_at", "operator": ">=", "value": conv.updated_at}]}})
            assert [c["id"] for c in r.json()["conversations"]] == [conv.id]
            r = post(s, "/conversations/search", {"query": {"operator": "AND", "value": [
                {"field": "id", "operator": "=", "value": conv.id},
                {"field": "updated_at", "operator": ">", "value": conv.updated_at}]}})
            assert r.json()["conversations"] == []


def test_contacts_index_delay():
    # The delay runs on a clock the test moves, not on the machine's: however slow the requests,
    # the index catches up exactly when the test says the delay is over.
    clock = ManualClock()
    ws = small_ws(contacts_index_delay=0.5, clock=clock)
    with running_emulator(ws) as s:
        new_id = ws.add_contact()
        old_id = ws.contacts[0].id
        ws.update_contact(old_id)
        query = {"field": "id", "operator": "IN", "value": [new_id, old_id]}
        r = post(s, "/contacts/search", {"query": query})
        assert r.json()["data"] == [] and r.json()["total_count"] == 0
        assert {new_id, old_id} <= ws.expected_ids("contacts")
        assert get(s, f"/contacts/{new_id}").status_code == 200
        clock.advance(0.4)
        assert post(s, "/contacts/search", {"query": query}).json()["total_count"] == 0
        clock.advance(0.1)
        r = post(s, "/contacts/search", {"query": query})
        assert {c["id"] for c in r.json()["data"]} == {new_id, old_id}
        # explicit searchable_at
        ws.update_contact(old_id, searchable_at=ws.now() + 3600)
        r = post(s, "/contacts/search", {"query": query})
        assert {c["id"] for c in r.json()["data"]} == {new_id}


def test_keyset_pagination_every_record_once(emu):
    ws = emu.ws
    everything = {"field": "updated_at", "operator": ">", "value": 0}
    for order in ("ascending", "descending"):
        recs, last = search_all(emu, "contacts", everything, per_page=13, order=order)
        ids = [c["id"] for c in recs]
        assert len(ids) == len(set(ids)) and set(ids) == ws.expected_ids("contacts")
        ups = [c["updated_at"] for c in recs]
        assert ups == sorted(ups, reverse=(order == "descending"))
        assert last["total_count"] == len(ids) and last["pages"]["total_pages"] == -(-len(ids) // 13)
        assert "next" not in last["pages"]
    convs, last = search_all(emu, "conversations", {"field": "updated_at", "operator": ">=", "value": 0}, 7)
    assert [c["id"] for c in convs] and len(convs) == len({c["id"] for c in convs})
    assert {c["id"] for c in convs} == ws.expected_ids("conversations")
    assert last["type"] == "conversation.list" and all("conversation_parts" not in c for c in convs)
    tickets, last = search_all(emu, "tickets", {"field": "updated_at", "operator": ">", "value": 0}, 5)
    assert last["type"] == "ticket.list" and {t["id"] for t in tickets} == ws.expected_ids("tickets")


def test_keyset_stable_under_concurrent_update(emu):
    ws = emu.ws
    sess = requests.Session()
    body = {"query": {"field": "updated_at", "operator": ">", "value": 0},
            "sort": {"field": "updated_at", "order": "ascending"}, "pagination": {"per_page": 20}}
    j = post(emu, "/contacts/search", body, session=sess).json()
    seen = [c["id"] for c in j["data"]]
    # update a record already seen and one not seen yet: both move to the end
    all_sorted = sorted(ws.contacts, key=lambda r: (r.updated_at, r.id))
    unseen = all_sorted[50].id
    ws.update_contact(seen[0], updated_at=ws.now())
    ws.update_contact(unseen, updated_at=ws.now())
    cursor = j["pages"]["next"]["starting_after"]
    while cursor:
        body["pagination"]["starting_after"] = cursor
        j = post(emu, "/contacts/search", body, session=sess).json()
        seen += [c["id"] for c in j["data"]]
        cursor = (j["pages"].get("next") or {}).get("starting_after")
    assert set(seen) == ws.expected_ids("contacts")
    assert seen.count(unseen) == 1 and seen.count(seen[0]) == 2
    assert set(seen[-2:]) == {seen[0], unseen}


def test_search_validation(emu):
    f = {"field": "updated_at", "operator": ">", "value": 1}
    bad = [
        {"query": {"operator": "AND", "value": [f] * 16}},
        {"query": {"operator": "AND", "value": [{"operator": "OR", "value": [
            {"operator": "AND", "value": [{"operator": "OR", "value": [f]}]}]}]}},
        {"query": {"operator": "XOR", "value": [f]}},
        {"query": {"field": "updated_at", "operator": "≈", "value": 1}},
        {"query": f, "pagination": {"per_page": 151}},
        {"query": f, "pagination": {"starting_after": "!!garbage!!"}},
    ]
    for body in bad:
        r = post(emu, "/conversations/search", body)
        assert r.status_code == 400, body
        assert r.json()["errors"][0]["code"] in ("parameter_invalid", "bad_request")
    ok = {"query": {"operator": "AND", "value": [{"operator": "OR", "value": [
        {"operator": "AND", "value": [f, f]}, f]}] + [f] * 14}}
    assert post(emu, "/conversations/search", ok).status_code == 200
    r = post(emu, "/contacts/search", {"query": {"field": "email", "operator": "~", "value": "@"}})
    assert r.status_code == 200 and r.json()["total_count"] == len(emu.ws.contacts)
    r = requests.post(emu.url + "/contacts/search", headers=H, data="{not json", timeout=5)
    assert r.status_code == 400


# ------------------------------------------------------------ conversations/parts
def test_conversation_parts_cap_and_total_count(emu):
    ws = emu.ws
    big = ws.conversations[0]
    j = get(emu, f"/conversations/{big.id}").json()
    cp = j["conversation_parts"]
    assert cp["type"] == "conversation_part.list" and cp["total_count"] == 530
    parts = cp["conversation_parts"]
    assert len(parts) == 500
    assert [p["id"] for p in parts] == [str(p.id) for p in big.parts[-500:]]
    times = [p["created_at"] for p in parts]
    assert times == sorted(times)
    assert all(p["type"] == "conversation_part" and "author" in p and "attachments" in p for p in parts)
    small = ws.conversations[5]
    before = get(emu, f"/conversations/{small.id}").json()
    new = ws.add_conversation_parts(small.id, n=2)
    after = get(emu, f"/conversations/{small.id}").json()
    assert after["updated_at"] >= before["updated_at"] and after["updated_at"] == ws.now() or \
        after["updated_at"] >= ws.now() - 1
    assert [p["id"] for p in after["conversation_parts"]["conversation_parts"]][-2:] == new
    assert after["conversation_parts"]["total_count"] == before["conversation_parts"]["total_count"] + 2
    # ground truth for parts = the 500 most recent of each conversation
    gt = ws.expected_ids("conversation_parts")
    assert {p["id"] for p in parts} <= gt and str(big.parts[0].id) not in gt
    # deletion
    ws.delete_conversation(small.id)
    r = get(emu, f"/conversations/{small.id}")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "not_found"
    assert small.id not in ws.expected_ids("conversations")
    convs, _ = search_all(emu, "conversations", {"field": "id", "operator": "=", "value": small.id})
    assert convs == []


# -------------------------------------------------------------------- activity logs
def test_activity_logs_link_pagination(emu):
    ws = emu.ws
    assert get(emu, "/admins/activity_logs").status_code == 400
    after = ws.now() - 60 * DAY
    before = ws.now() - 10 * DAY
    url = emu.url + f"/admins/activity_logs?created_at_after={after}&created_at_before={before}"
    sess = requests.Session()
    seen, pages = [], 0
    while url:
        r = sess.get(url, headers=H, timeout=5)
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["type"] == "activity_log.list"
        seen += j["activity_logs"]
        pages += 1
        url = j["pages"]["next"]
        if url:
            assert urlsplit(url).netloc == urlsplit(emu.url).netloc and url.startswith("http://")
    ids = [a["id"] for a in seen]
    assert len(ids) == len(set(ids))
    expected = {r.id for r in ws.activity_logs if after <= r.created_at <= before}
    assert set(ids) == expected and pages == max(1, -(-len(expected) // 50))
    assert all({"id", "performed_by", "metadata", "created_at", "activity_type", "activity_description"} <= set(a)
               for a in seen)
    # next URL follows the Host header the client used
    r = requests.get(emu.url + "/admins/activity_logs", params={"created_at_after": 0, "per_page": 10},
                     headers={**H, "Host": "api.example.test:8443"}, timeout=5)
    assert r.json()["pages"]["next"].startswith("http://api.example.test:8443/admins/activity_logs?")


# ---------------------------------------------------------------------------- faults
def test_injected_faults(emu):
    sess = requests.Session()
    emu.inject_fault(r"^/teams$", "500", times=2)
    assert [get(emu, "/teams", session=sess).status_code for _ in range(3)] == [500, 500, 200]
    emu.inject_fault(r"^/teams$", "503")
    r = get(emu, "/teams", session=sess)
    assert r.status_code == 503 and "text/html" in r.headers["Content-Type"]
    emu.inject_fault(r"^/teams$", "reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(emu, "/teams", session=requests.Session())
    emu.inject_fault(r"^/tags$", "truncated")
    r = get(emu, "/tags", session=sess)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    emu.inject_fault(r"^/tags$", "429")
    r = get(emu, "/tags", session=sess)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    assert get(emu, "/tags", session=sess).status_code == 200
    assert emu.stats()["faults_injected"] == 6
    assert get(emu, "/teams", session=sess).status_code == 200


def test_timeout_fault():
    with running_emulator(small_ws(), fault_timeout_seconds=0.3) as s:
        s.inject_fault(r"^/me$", "timeout")
        t = time.time()
        with pytest.raises(requests.exceptions.RequestException):
            get(s, "/me", session=requests.Session(), timeout=5)
        assert time.time() - t >= 0.25
        assert get(s, "/me").status_code == 200


def test_random_faults_reproducible():
    def run():
        with running_emulator(small_ws(), fault_rate=0.4, fault_seed=11,
                              fault_kinds=("500", "502", "503", "504", "truncated")) as s:
            sess = requests.Session()
            out = []
            for _ in range(30):
                r = get(s, "/teams", session=sess)
                out.append((r.status_code, len(r.content)))
            return out, s.stats()
    a, stats = run()
    b, _ = run()
    assert a == b
    assert stats["faults_injected"] > 3 and stats["total"] == 30
    assert {st for st, _ in a} >= {200}
    assert len({st for st, _ in a}) >= 3


# ---------------------------------------------------------------- concurrency/latency
def test_requests_are_served_concurrently_and_each_is_logged():
    with running_emulator(small_ws(), latency=0.3) as s:
        with ThreadPoolExecutor(6) as ex:
            codes = list(ex.map(lambda _: get(s, "/tags").status_code, range(6)))
        assert codes == [200] * 6
        assert s.stats()["max_in_flight"] >= 3
    with running_emulator(small_ws()) as s:
        sess = requests.Session()
        for _ in range(60):
            assert get(s, "/teams", session=sess).status_code == 200
        s.wait_idle()
        assert len(s.requests) == 60 and all(r.ended >= r.started for r in s.requests)


# ------------------------------------------------------------ determinism / ground truth
def test_determinism():
    a = Workspace(seed=5, sizes=SMALL, anchor_time=1_700_000_000)
    b = Workspace(seed=5, sizes=SMALL, anchor_time=1_700_000_000)
    c = Workspace(seed=6, sizes=SMALL, anchor_time=1_700_000_000)
    for stream in ALL_STREAMS:
        assert a.expected_ids(stream) == b.expected_ids(stream)
    assert a.expected_ids("contacts") != c.expected_ids("contacts")
    assert render.contact(a, a.contacts[3]) == render.contact(b, b.contacts[3])
    assert render.conversation(a, a.conversations[2], True) == render.conversation(b, b.conversations[2], True)
    assert render.company(a, a.companies[4]) == render.company(b, b.companies[4])
    for ws in (a, c):
        for r in ws.contacts + ws.companies + ws.conversations + ws.tickets:
            assert r.created_at <= r.updated_at <= 1_700_000_000 - 3600
    sa = a.mutate_random(random.Random(3), 0.2)
    sb = b.mutate_random(random.Random(3), 0.2)
    assert sa == sb and all(a.expected_ids(stream) == b.expected_ids(stream) for stream in ALL_STREAMS)


def _sync_all(s, start_date):
    sess = requests.Session()
    out = {}
    out["admins"] = {a["id"] for a in get(s, "/admins", session=sess).json()["admins"]}
    out["teams"] = {t["id"] for t in get(s, "/teams", session=sess).json()["teams"]}
    out["tags"] = {t["id"] for t in get(s, "/tags", session=sess).json()["data"]}
    out["segments"] = {x["id"] for x in get(s, "/segments", session=sess).json()["segments"]
                       if x["updated_at"] >= start_date}
    for model in ("company", "contact", "conversation"):
        out[f"{model}_attributes"] = {d["full_name"] for d in get(
            s, "/data_attributes", params={"model": model, "include_archived": "true"}, session=sess).json()["data"]}
    out["ticket_types"] = {t["id"] for t in get(s, "/ticket_types", session=sess).json()["data"]}
    teams = get(s, "/teams", session=sess).json()["teams"]
    out["team_admins"] = {(t["id"], str(a)) for t in teams for a in t["admin_ids"]}
    v216 = {**H, "Intercom-Version": "2.16"}
    out["ticket_states"] = {x["id"] for x in sess.get(s.url + "/ticket_states", headers=v216, timeout=5).json()["data"]}
    out["calls"] = {x["id"] for x in follow_pages(s, "/calls", sess, headers=v216) if x["updated_at"] >= start_date}
    companies, _ = scroll_all(s, sess)
    out["companies"] = {c["id"] for c in companies if c["updated_at"] >= start_date}
    out["company_segments"] = {(cid, sg["id"]) for cid in out["companies"]
                               for sg in get(s, f"/companies/{cid}/segments", session=sess).json()["data"]}
    # contacts: day granularity -> ask from the day before and filter client side
    contacts, _ = search_all(s, "contacts", {"field": "updated_at", "operator": ">", "value": start_date - DAY},
                             per_page=150, session=sess)
    out["contacts"] = {c["id"] for c in contacts if c["updated_at"] >= start_date}
    convs, _ = search_all(s, "conversations", {"field": "updated_at", "operator": ">=", "value": start_date},
                          per_page=150, session=sess)
    out["conversations"] = {c["id"] for c in convs}
    out["conversation_parts"] = {p["id"] for c in convs for p in get(
        s, f"/conversations/{c['id']}", session=sess).json()["conversation_parts"]["conversation_parts"]}
    tickets, _ = search_all(s, "tickets", {"field": "updated_at", "operator": ">=", "value": start_date},
                            session=sess)
    out["tickets"] = {t["id"] for t in tickets}
    out["ticket_parts"] = set()
    for t in tickets:       # search carries the 10 most recent parts; GET /tickets/{id} the 500 most recent
        listed = t["ticket_parts"]
        if listed["total_count"] > len(listed["ticket_parts"]):
            listed = get(s, f"/tickets/{t['id']}", session=sess).json()["ticket_parts"]
        out["ticket_parts"] |= {p["id"] for p in listed["ticket_parts"]}
    logs, url = set(), s.url + f"/admins/activity_logs?created_at_after={start_date}"
    while url:
        j = sess.get(url, headers=H, timeout=5).json()
        logs |= {a["id"] for a in j["activity_logs"]}
        url = j["pages"]["next"]
    out["activity_logs"] = logs
    out["contact_tags"] = {(c, t["id"]) for c in out["contacts"]
                           for t in get(s, f"/contacts/{c}/tags", session=sess).json()["data"]}
    out["contact_companies"] = {(c, x["id"]) for c in out["contacts"]
                                for x in follow_pages(s, f"/contacts/{c}/companies", sess)}
    # the relationship streams: the lists the parents embed (2.11 shapes: {"type": "tag.list", "tags": [...]}, ...)
    out["company_tags"] = {(c["id"], t["id"]) for c in companies if c["updated_at"] >= start_date
                           for t in c["tags"]["tags"]}
    for stream, key in (("conversation_tags", "tags"), ("conversation_contacts", "contacts"),
                        ("conversation_teammates", "teammates")):
        out[stream] = {(c["id"], x["id"]) for c in convs for x in c[key][key]}
    out["ticket_contacts"] = {(t["id"], x["id"]) for t in tickets for x in t["contacts"]["contacts"]}
    deleted = follow_pages(s, "/conversations/deleted", sess, headers={**H, "Intercom-Version": "2.16"},
                           key="conversations")
    out["deleted_conversations"] = {c["id"] for c in deleted if c["deleted_at"] >= start_date}
    for stream, path in (("articles", "/articles"), ("help_center_collections", "/help_center/collections"),
                         ("news_items", "/news/news_items")):
        out[stream] = {x["id"] for x in follow_pages(s, path, sess) if x["updated_at"] >= start_date}
    out["newsfeeds"] = {x["id"] for x in follow_pages(s, "/news/newsfeeds", sess)}
    for stream, path in (("help_centers", "/help_center/help_centers"), ("subscription_types", "/subscription_types")):
        out[stream] = {x["id"] for x in get(s, path, session=sess).json()["data"]}
    return out


def follow_pages(s, path, session, headers=H, key="data"):
    """Every item of a page-number list, following its ``pages.next`` links."""
    url, items = s.url + path, []
    while url:
        r = session.get(url, headers=headers, timeout=5)
        assert r.status_code == 200, r.text
        items += r.json()[key]
        url = r.json()["pages"].get("next")
    return items


def test_ground_truth_matches_api():
    ws = small_ws()
    with running_emulator(ws, scroll_page_size=15) as s:
        for sd in (0, ws.now() - 30 * DAY):
            synced = _sync_all(s, sd)
            assert sorted(synced) == sorted(ALL_STREAMS)
            for stream, ids in synced.items():
                assert ids == ws.expected_ids(stream, sd), stream
        v0 = ws.version
        r = requests.post(s.url + "/_emulator/mutate", json={"seed": 4, "fraction": 0.2}, timeout=5)
        assert r.status_code == 200 and r.json()["contacts"] > 0
        assert ws.version > v0
        changed = ws.changed_ids("contacts", v0)
        assert changed and changed <= ws.expected_ids("contacts", ws.now() - 5)
        assert ws.changed_ids("conversation_parts", v0) <= ws.expected_ids("conversation_parts")
        assert ws.expected_ids("deleted_conversations")
        synced = _sync_all(s, 0)
        for stream, ids in synced.items():
            assert ids == ws.expected_ids(stream), stream
        gt = requests.get(s.url + "/_emulator/ground_truth", timeout=5).json()
        assert set(gt["contacts"]) == ws.expected_ids("contacts")
        assert {tuple(x) for x in gt["company_segments"]} == ws.expected_ids("company_segments")
        assert "total" in requests.get(s.url + "/_emulator/stats", timeout=5).json()


def test_big_workspace_generates_in_a_few_seconds_of_cpu():
    # The CPU time of this thread (about 1 s here), not the wall clock: the other test processes
    # sharing the machine's cores must not make it fail.
    t = time.thread_time()
    ws = Workspace(seed=2, sizes=WorkspaceSizes(contacts=100_000, companies=2000, conversations=5000,
                                                activity_logs=2000, tickets=500))
    assert time.thread_time() - t < 5
    assert len(ws.expected_ids("contacts")) == 100_000


def test_cli_smoke():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    p = subprocess.Popen([sys.executable, "-m", "intercom_emulator", "--port", "0", "--token", "demo-token",
                          "--preset", "small", "--ticket-parts-in-search", "2"], stdout=subprocess.PIPE, env=env,
                         text=True)
    try:
        line = p.stdout.readline()
        info = json.loads(line)
        assert info["token"] == "demo-token"
        r = requests.get(info["url"] + "/me", headers={"Authorization": "Bearer demo-token"}, timeout=5)
        assert r.status_code == 200
        gt = requests.get(info["url"] + "/_emulator/ground_truth", timeout=5).json()
        assert len(gt["contacts"]) == 400
        r = requests.post(info["url"] + "/tickets/search", headers={"Authorization": "Bearer demo-token"},
                          json={"query": {"field": "updated_at", "operator": ">", "value": 0}}, timeout=5)
        assert max(len(t["ticket_parts"]["ticket_parts"]) for t in r.json()["tickets"]) == 2
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0


def test_reset_stats_while_a_request_is_served_keeps_counting_it():
    # The request is held in the server until the stats are reset (60 s: a hang detector), instead
    # of racing a 0.4-s latency with a 0.2-s sleep.
    arrived, release = threading.Event(), threading.Event()

    def hold(record):
        arrived.set()
        release.wait(60)

    with running_emulator(small_ws()) as s:
        s.on_request(hold)
        with ThreadPoolExecutor(1) as ex:
            pending = ex.submit(get, s, "/teams")
            assert arrived.wait(60)
            s.reset_stats()
            assert s.stats()["in_flight"] == 1
            release.set()
            assert pending.result().status_code == 200
        s.wait_idle()
        assert s.stats()["in_flight"] == 0 and s.stats()["total"] == 1


def test_explicit_start_stop_and_request_records():
    server = EmulatorServer(small_ws(), token="other", port=0)
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        r = requests.post(server.url + "/contacts/search", headers={"Authorization": "Bearer other"},
                          json={"query": {"field": "role", "operator": "=", "value": "lead"}}, timeout=5)
        assert r.status_code == 200 and all(c["role"] == "lead" for c in r.json()["data"])
        server.wait_idle()
        rec = server.requests[-1]
        assert rec.method == "POST" and rec.path == "/contacts/search" and rec.status == 200
        assert rec.body["query"]["field"] == "role" and rec.headers["authorization"] == "Bearer other"
        assert server.stats()["by_status"] == {200: 1}
        server.reset_stats()
        assert server.stats()["total"] == 0 and server.requests == []
    finally:
        server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url + "/me", timeout=2)
