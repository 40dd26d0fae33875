"""Contacts' long relationship lists (tags, companies, notes), deleted conversations and segment
memberships that change without an update (real HTTP on loopback)."""
from __future__ import annotations

import random
import statistics

import pytest
import requests

from intercom_emulator.tests.emulator_client import DAY, H, TOKEN, emulator_fixture, get
from intercom_emulator import Workspace, WorkspaceSizes, running_emulator

SIZES = WorkspaceSizes(admins=3, teams=2, tags=30, segments=5, companies=40, contacts=120, conversations=60,
                       parts_per_conversation=3, activity_logs=10, tickets=10, conversations_over_part_cap=0,
                       deleted_conversations=0)


emu = emulator_fixture(seed=3, sizes=SIZES)


def follow_links(server, path: str, key: str, **params) -> tuple[list[dict], list[dict]]:
    """Every item of a page-number list, following ``pages.next`` links; and the pages objects."""
    r = get(server, path, **params)
    items, pages = [], []
    while True:
        assert r.status_code == 200, r.text
        j = r.json()
        items += j[key]
        pages.append(j["pages"])
        link = j["pages"].get("next")
        if not link:
            return items, pages
        assert link.startswith(server.url + path + "?")
        r = requests.get(link, headers=H, timeout=10)


def contact_with(ws: Workspace, more_than: int, count) -> object:
    return next(r for r in ws.contacts if count(r) > more_than)


# ------------------------------------------------------------------ contacts' relationship lists
def test_generated_contacts_have_long_lists_for_a_few_and_short_ones_for_most():
    ws = Workspace(seed=7, sizes=WorkspaceSizes(tags=40, contacts=2000))
    tags = [len(r.tag_indexes) for r in ws.contacts]
    companies = [len(r.company_indexes) for r in ws.contacts]
    notes = [r.note_count for r in ws.contacts]
    assert 0.07 < sum(n > 10 for n in tags) / len(tags) < 0.13 and max(tags) == 25
    assert 20 <= sum(n > 10 for n in companies) <= 60 and max(companies) == 15
    assert sum(n > 15 for n in notes) > 10
    assert statistics.median(tags) <= 2 and statistics.median(companies) <= 2 and statistics.median(notes) == 0


def test_a_workspace_without_long_lists_gives_no_contact_more_than_the_ten_it_embeds():
    ws = Workspace(seed=7, sizes=WorkspaceSizes(tags=40, contacts=2000, contacts_with_long_lists=False))
    longest = max(max(len(r.tag_indexes), len(r.company_indexes), r.note_count) for r in ws.contacts)
    assert 3 <= longest <= 10


def test_contact_embeds_ten_items_of_each_long_list_with_has_more_total_count_and_url(emu):
    ws = emu.ws
    for kind, count in (("tags", lambda r: len(r.tag_indexes)), ("companies", lambda r: len(r.company_indexes)),
                        ("notes", lambda r: r.note_count)):
        r = contact_with(ws, 10, count)
        sub = get(emu, f"/contacts/{r.id}").json()[kind]
        assert len(sub["data"]) == 10 and sub["has_more"] is True, kind
        assert sub["total_count"] == count(r) and sub["url"] == f"/contacts/{r.id}/{kind}"


def test_contact_tags_lists_every_tag_as_a_full_tag_object(emu):
    ws = emu.ws
    r = contact_with(ws, 20, lambda c: len(c.tag_indexes))
    j = get(emu, f"/contacts/{r.id}/tags").json()
    assert j["type"] == "list" and "pages" not in j
    assert [t["id"] for t in j["data"]] == ws.contact_tag_ids(r.id) and len(j["data"]) > 20
    names = {t.id: t.name for t in ws.tags}
    assert all(t["type"] == "tag" and t["name"] == names[t["id"]] for t in j["data"])


def test_contact_companies_are_paged_by_number_to_the_end_without_duplicates(emu):
    ws = emu.ws
    r = contact_with(ws, 10, lambda c: len(c.company_indexes))
    companies, pages = follow_links(emu, f"/contacts/{r.id}/companies", "data", per_page=4)
    ids = [c["id"] for c in companies]
    assert ids == ws.contact_company_ids(r.id) and len(ids) == len(set(ids))
    assert all(c["type"] == "company" and "custom_attributes" in c for c in companies)
    n_pages = -(-len(ids) // 4)
    assert [p["page"] for p in pages] == list(range(1, n_pages + 1))
    assert all(p["type"] == "pages" and p["per_page"] == 4 and p["total_pages"] == n_pages for p in pages)
    assert pages[-1]["next"] is None                       # null on the last page, as the OpenAPI example
    first = get(emu, f"/contacts/{r.id}/companies").json()
    assert first["pages"]["per_page"] == 15 and first["total_count"] == len(ids)
    assert get(emu, f"/contacts/{r.id}/companies", page=n_pages + 1).json()["data"] == []


@pytest.mark.parametrize("params", [{"per_page": 151}, {"per_page": 0}, {"page": 0}, {"page": "x"}])
def test_contact_lists_refuse_a_bad_page_or_per_page(emu, params):
    r = get(emu, f"/contacts/{emu.ws.contacts[0].id}/companies", **params)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "parameter_invalid"


def test_contact_notes_come_newest_first_in_pages_of_fifteen(emu):
    ws = emu.ws
    r = contact_with(ws, 15, lambda c: c.note_count)
    notes, pages = follow_links(emu, f"/contacts/{r.id}/notes", "data")
    assert len(pages) == 2 and pages[0]["per_page"] == 15 and pages[-1]["next"] is None
    assert sorted(n["id"] for n in notes) == sorted(ws.contact_note_ids(r.id))
    times = [n["created_at"] for n in notes]
    assert times == sorted(times, reverse=True) and r.created_at <= times[-1]
    assert all(n["type"] == "note" and n["contact"] == {"type": "contact", "id": r.id}
               and n["author"]["type"] == "admin" and n["body"].startswith("<p>") for n in notes)


def test_unknown_contact_is_404_on_every_list(emu):
    for kind in ("tags", "companies", "notes"):
        r = get(emu, f"/contacts/5f0000000000000000000000/{kind}")
        assert r.status_code == 404 and r.json()["errors"][0] == {"code": "not_found", "message": "User Not Found"}


def test_contact_tags_and_companies_ground_truth_is_what_the_api_serves(emu):
    ws = emu.ws
    sd = ws.now() - 60 * DAY
    since = [r for r in ws.contacts if r.updated_at >= sd]
    assert 0 < len(since) < len(ws.contacts)
    tags = {(r.id, t["id"]) for r in since for t in get(emu, f"/contacts/{r.id}/tags").json()["data"]}
    companies = {(r.id, c["id"]) for r in since
                 for c in follow_links(emu, f"/contacts/{r.id}/companies", "data")[0]}
    assert tags == ws.expected_ids("contact_tags", sd) and companies == ws.expected_ids("contact_companies", sd)
    truth = requests.get(emu.url + "/_emulator/ground_truth", params={"start_date": sd}, timeout=10).json()
    assert {tuple(x) for x in truth["contact_tags"]} == tags


def test_mutation_changes_some_contacts_lists_and_changed_ids_names_them():
    ws = Workspace(seed=3, sizes=SIZES)
    before = {r.id: (r.tag_indexes, r.company_indexes) for r in ws.contacts}
    v = ws.version
    ws.mutate_random(random.Random(5), fraction=0.3)
    changed = ws.changed_ids("contacts", v)
    moved = {r.id for r in ws.contacts if r.id in before and before[r.id] != (r.tag_indexes, r.company_indexes)}
    assert moved and moved <= changed
    assert ws.changed_ids("contact_tags", v) == {(c, t) for c in changed for t in ws.contact_tag_ids(c)}
    assert ws.changed_ids("contact_companies", v) <= ws.expected_ids("contact_companies", ws.now() - 5)


def test_search_by_tag_finds_contacts_whose_tag_is_beyond_the_ten_embedded(emu):
    ws = emu.ws
    r = contact_with(ws, 12, lambda c: len(c.tag_indexes))
    last_tag = ws.contact_tag_ids(r.id)[-1]
    query = {"operator": "AND", "value": [{"field": "id", "operator": "=", "value": r.id},
                                          {"field": "tag_id", "operator": "=", "value": last_tag}]}
    j = requests.post(emu.url + "/contacts/search", headers=H, json={"query": query}, timeout=10).json()
    assert [c["id"] for c in j["data"]] == [r.id]


def test_each_contact_list_can_be_denied_on_its_own():
    denied = {"contact_tags": 403, "contact_companies": 401, "contact_notes": 403}
    with running_emulator(Workspace(seed=3, sizes=SIZES), token=TOKEN, denied=denied) as server:
        cid = server.ws.contacts[0].id
        for kind, status in (("tags", 403), ("companies", 401), ("notes", 403)):
            r = get(server, f"/contacts/{cid}/{kind}")
            assert r.status_code == status and r.json()["errors"][0]["code"] == ("unauthorized" if status == 401
                                                                                 else "forbidden")
        assert get(server, f"/contacts/{cid}").status_code == 200
    with running_emulator(Workspace(seed=3, sizes=SIZES), token=TOKEN, denied={"contacts": 403}) as server:
        assert get(server, f"/contacts/{server.ws.contacts[0].id}/tags").status_code == 403


# ------------------------------------------------------------------------ deleted conversations
V216 = {**H, "Intercom-Version": "2.16"}


def delete_some(server, count: int, seed: int = 1) -> list[str]:
    r = requests.post(server.url + "/_emulator/delete_conversations", json={"count": count, "seed": seed}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["deleted"]


def read_deleted(server, **params) -> tuple[list[dict], list[dict]]:
    r = get(server, "/conversations/deleted", headers=V216, **params)
    items, pages = [], []
    while True:
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["type"] == "conversations.list" and j["total_count"] == len(emu_deleted(server))
        items += j["conversations"]
        pages.append(j["pages"])
        if "next" not in j["pages"]:
            return items, pages
        r = requests.get(j["pages"]["next"], headers=V216, timeout=10)


def emu_deleted(server) -> list:
    return [r for r in server.ws.conversations if r.deleted]


@pytest.mark.parametrize("version", ["2.11", "2.15", "2.9"])
def test_deleted_conversations_do_not_exist_before_version_2_16(emu, version):
    r = get(emu, "/conversations/deleted", headers={**H, "Intercom-Version": version})
    assert r.status_code == 400
    assert r.json()["errors"][0] == {"code": "intercom_version_invalid",
                                     "message": "Requested resource is not available in current API version."}
    assert get(emu, "/conversations/deleted", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400


@pytest.mark.parametrize("version", ["2.16", "Preview"])
def test_deleted_conversations_exist_from_version_2_16_and_in_preview(emu, version):
    assert get(emu, "/conversations/deleted", headers={**H, "Intercom-Version": version}).status_code == 200


def test_a_generated_workspace_has_deleted_conversations_beyond_its_live_ones():
    ws = Workspace(seed=3, sizes=WorkspaceSizes(conversations=40, deleted_conversations=25))
    deleted = [r for r in ws.conversations if r.deleted]
    assert len(deleted) == 25 and len(ws.expected_ids("conversations")) == 40
    assert all(r.updated_at <= r.deleted_at < ws.now() and r.version == 0 for r in deleted)
    assert ws.expected_ids("deleted_conversations") == {r.id for r in deleted}
    assert not {str(p.id) for r in deleted for p in r.parts} & ws.expected_ids("conversation_parts")
    with running_emulator(ws, token=TOKEN) as server:
        items, pages = read_deleted(server)
        assert len(pages) == 2 and {c["id"] for c in items} == ws.expected_ids("deleted_conversations")
        assert all(get(server, f"/conversations/{r.id}").status_code == 404 for r in deleted[:3])


def test_deleted_conversations_page_newest_first_with_links_to_the_end(emu):
    ws = emu.ws
    first = delete_some(emu, 30, seed=1)
    earlier = ws.delete_conversation(next(r.id for r in ws.conversations if not r.deleted),
                                     deleted_at=ws.now() - 3 * DAY)
    items, pages = read_deleted(emu, per_page=7)
    ids = [c["id"] for c in items]
    assert len(ids) == len(set(ids)) == 31 and set(ids) == set(first) | {earlier}
    assert ids[-1] == earlier                                        # the oldest deletion comes last
    times = [c["deleted_at"] for c in items]
    assert times == sorted(times, reverse=True)
    assert [p["page"] for p in pages] == [1, 2, 3, 4, 5] and all(p["total_pages"] == 5 for p in pages)
    assert pages[0]["next"] == emu.url + "/conversations/deleted?per_page=7&page=2"
    assert all(set(c) == {"type", "id", "deleted_at", "metrics_retained"} and c["type"] == "conversation"
               for c in items)
    assert {c["metrics_retained"] for c in items} == {True, False}
    oldest_first, _ = read_deleted(emu, order="asc", per_page=60)
    assert [c["id"] for c in oldest_first] == list(reversed(ids))


def test_deleted_conversations_default_to_twenty_a_page_and_refuse_more_than_sixty(emu):
    delete_some(emu, 25)
    j = get(emu, "/conversations/deleted", headers=V216).json()
    assert j["pages"]["per_page"] == 20 and len(j["conversations"]) == 20 and j["total_count"] == 25
    assert get(emu, "/conversations/deleted", headers=V216, per_page=60).status_code == 200
    for params in ({"per_page": 61}, {"order": "newest"}, {"page": 0}):
        r = get(emu, "/conversations/deleted", headers=V216, **params)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "parameter_invalid", params


def test_a_deleted_conversation_leaves_search_and_get_but_is_listed_as_deleted(emu):
    ws = emu.ws
    victim = ws.conversations[5].id
    r = requests.post(emu.url + "/_emulator/delete_conversations", json={"ids": [victim]}, timeout=10)
    assert r.json() == {"deleted": [victim], "version": ws.version}
    assert get(emu, f"/conversations/{victim}").status_code == 404
    query = {"field": "id", "operator": "=", "value": victim}
    assert requests.post(emu.url + "/conversations/search", headers=H, json={"query": query},
                         timeout=10).json()["conversations"] == []
    assert victim not in ws.expected_ids("conversations") and victim in ws.expected_ids("deleted_conversations")
    again = requests.post(emu.url + "/_emulator/delete_conversations", json={"ids": [victim]}, timeout=10)
    assert again.status_code == 400 and "already deleted" in again.json()["errors"][0]["message"]


def test_deleted_conversations_ground_truth_follows_deleted_at_and_versions(emu):
    ws = emu.ws
    old = ws.delete_conversation(ws.conversations[1].id, deleted_at=ws.now() - 10 * DAY)
    v = ws.version
    recent = delete_some(emu, 4)
    assert ws.expected_ids("deleted_conversations", ws.now() - 5 * DAY) == set(recent)
    assert ws.expected_ids("deleted_conversations") == set(recent) | {old}
    assert ws.changed_ids("deleted_conversations", v) == set(recent)
    served, _ = read_deleted(emu, per_page=60)
    assert {c["id"] for c in served} == ws.expected_ids("deleted_conversations")


def test_random_mutation_deletes_a_tenth_of_its_fraction_of_conversations():
    ws = Workspace(seed=3, sizes=SIZES)
    v = ws.version
    summary = ws.mutate_random(random.Random(2), fraction=0.5)
    gone = ws.changed_ids("deleted_conversations", v)
    assert summary["deleted_conversations"] == len(gone) == 3           # 60 conversations * 0.5 / 10
    assert not gone & ws.changed_ids("conversations", v) and not gone & ws.expected_ids("conversations")
    assert ws.mutate_random(random.Random(3), fraction=0.01)["deleted_conversations"] == 1
    assert ws.mutate_random(random.Random(4), fraction=0)["deleted_conversations"] == 0


def test_deleted_conversations_can_be_denied_alone_or_with_conversations():
    with running_emulator(Workspace(seed=3, sizes=SIZES), token=TOKEN, denied={"deleted_conversations": 403}) as s:
        assert get(s, "/conversations/deleted", headers=V216).status_code == 403
        assert get(s, f"/conversations/{s.ws.conversations[0].id}").status_code == 200
    with running_emulator(Workspace(seed=3, sizes=SIZES), token=TOKEN, denied={"conversations": 401}) as s:
        assert get(s, "/conversations/deleted", headers=V216).status_code == 401


# ------------------------------------------------------------------ segments that change silently
def test_silent_segment_change_is_seen_by_a_full_read_and_not_by_changed_ids(emu):
    ws = emu.ws
    r = min(ws.companies, key=lambda c: c.updated_at)
    before_api = get(emu, f"/companies/{r.id}").json()
    before_pairs = ws.expected_ids("company_segments")
    v = ws.version
    assert ws.change_company_segments_silently(r.id) == [r.id]
    after_api = get(emu, f"/companies/{r.id}").json()
    served = {sg["id"] for sg in get(emu, f"/companies/{r.id}/segments").json()["data"]}
    assert served != {sg["id"] for sg in before_api["segments"]["segments"]}
    assert served == {sg["id"] for sg in after_api["segments"]["segments"]}
    assert after_api["updated_at"] == before_api["updated_at"] == r.updated_at
    assert ws.expected_ids("company_segments") != before_pairs                    # a full refresh sees it
    assert {(r.id, s) for s in served} <= ws.expected_ids("company_segments")
    assert not any(c == r.id for c, _ in ws.expected_ids("company_segments", r.updated_at + 1))
    assert ws.changed_ids("company_segments", v) == set() and ws.changed_ids("companies", v) == set()
    assert ws.version == v + 1


def test_silent_segment_change_of_random_companies_is_reproducible():
    a, b = Workspace(seed=3, sizes=SIZES, anchor_time=1_700_000_000), Workspace(seed=3, sizes=SIZES,
                                                                                anchor_time=1_700_000_000)
    before = {r.id: r.segment_indexes for r in a.companies}
    changed = a.change_company_segments_silently(count=6, seed=9)
    assert changed == b.change_company_segments_silently(count=6, seed=9) and len(set(changed)) == 6
    assert all(a.company_by_id[c].segment_indexes != before[c] for c in changed)
    assert a.expected_ids("company_segments") == b.expected_ids("company_segments")
    assert all(a.company_by_id[c].updated_at == b.company_by_id[c].updated_at for c in changed)
