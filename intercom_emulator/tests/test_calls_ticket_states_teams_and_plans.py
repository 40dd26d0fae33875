"""API 2.16's calls and ticket states, teams' admins, newsfeeds over several pages, and a plan that
lacks one product: shapes, pages to the end, versions, and ground truth equal to what the API
serves (real HTTP on loopback)."""
from __future__ import annotations

import random

from intercom_emulator.tests.emulator_client import H, TOKEN, emulator_fixture, get
from intercom_emulator import Workspace, WorkspaceSizes, running_emulator

SIZES = WorkspaceSizes(admins=6, teams=3, tags=4, segments=2, companies=10, contacts=30, conversations=12,
                       parts_per_conversation=2, activity_logs=5, tickets=5, conversations_over_part_cap=0,
                       tickets_over_part_cap=0, ticket_types=3, newsfeeds=24, calls=60, ticket_states=6)
V216 = {**H, "Intercom-Version": "2.16"}

emu = emulator_fixture(seed=9, sizes=SIZES)


def pages_of(server, path: str, headers: dict = H, **params) -> list[dict]:
    """Every answer of a page-number list, page after page while ``pages.next`` says there is more."""
    answers, page = [], 1
    while True:
        answer = get(server, path, headers=headers, page=page, **params)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
        if not answers[-1]["pages"].get("next"):
            return answers
        page += 1


def test_calls_are_a_2_16_list_of_25_a_page_to_the_last(emu):
    answers = pages_of(emu, "/calls", V216)
    assert [len(a["data"]) for a in answers] == [25, 25, 10]
    assert [a["pages"]["total_pages"] for a in answers] == [3, 3, 3] and answers[0]["total_count"] == 60
    calls = [c for a in answers for c in a["data"]]
    assert {c["id"] for c in calls} == emu.ws.expected_ids("calls") and len(calls) == 60
    created = [c["created_at"] for c in calls]
    assert created == sorted(created, reverse=True)
    assert all(c["type"] == "call" and c["updated_at"] >= c["created_at"] and isinstance(c["updated_at"], int) for c in calls)
    assert get(emu, "/calls", headers=V216, per_page=26).status_code == 400
    old = get(emu, "/calls")
    assert old.status_code == 400 and old.json()["errors"][0]["code"] == "intercom_version_invalid"


def test_a_changed_call_moves_its_updated_at_and_is_in_the_changed_ids():
    ws = Workspace(seed=9, sizes=SIZES)
    with running_emulator(ws, token=TOKEN) as server:
        version = ws.version
        call = sorted(ws.expected_ids("calls"))[3]
        ws.update_call(call)
        added = ws.add_call()
        assert ws.changed_ids("calls", version) == {call, added}
        served = {c["id"]: c for a in pages_of(server, "/calls", V216) for c in a["data"]}
        assert served[call]["updated_at"] >= ws.now() - 5 and added in served
        summary = ws.mutate_random(random.Random(1), 0.1)
        assert summary["calls"] == len(ws.changed_ids("calls", ws.version - 1)) > 0
        assert ws.changed_ids("calls", ws.version - 1) <= ws.expected_ids("calls", ws.now() - 5)


def test_ticket_states_are_one_2_16_list_each_with_its_ticket_types(emu):
    answer = get(emu, "/ticket_states", headers=V216).json()
    assert set(answer) == {"type", "data"} and answer["type"] == "list"
    assert {s["id"] for s in answer["data"]} == emu.ws.expected_ids("ticket_states") and len(answer["data"]) == 6
    types = emu.ws.expected_ids("ticket_types")
    for state in answer["data"]:
        assert state["type"] == "ticket_state" and state["category"] in ("submitted", "in_progress", "waiting_on_customer", "resolved")
        assert state["ticket_types"]["type"] == "list" and {t["id"] for t in state["ticket_types"]["data"]} <= types
    assert get(emu, "/ticket_states").status_code == 400


def test_team_admins_are_the_teams_admin_ids(emu):
    teams = get(emu, "/teams").json()["teams"]
    assert {(t["id"], str(a)) for t in teams for a in t["admin_ids"]} == emu.ws.expected_ids("team_admins")
    assert all(t["admin_ids"] for t in teams)


def test_newsfeeds_come_in_pages_of_10(emu):
    answers = pages_of(emu, "/news/newsfeeds")
    assert [len(a["data"]) for a in answers] == [10, 10, 4]
    assert {f["id"] for a in answers for f in a["data"]} == emu.ws.expected_ids("newsfeeds")


def test_a_plan_without_a_product_refuses_only_that_products_endpoints():
    with running_emulator(Workspace(seed=9, sizes=SIZES), token=TOKEN, plan_lacks={"articles", "help_center", "calls"}) as server:
        for path, headers in (("/articles", H), ("/help_center/collections", H), ("/help_center/help_centers", H),
                              ("/calls", V216)):
            refused = get(server, path, headers=headers)
            assert refused.status_code == 403, path
            assert refused.json()["errors"][0] == {"code": "api_plan_restricted", "message": "Active subscription needed."}
        for path, headers in (("/me", H), ("/admins", H), ("/news/newsfeeds", H), ("/ticket_states", V216)):
            assert get(server, path, headers=headers).status_code == 200, path
