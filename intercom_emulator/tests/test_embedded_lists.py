"""The lists a company, a conversation and a ticket embed (the relationship streams' source), in
the 2.11 shapes, and their ground truth through changes (real HTTP on loopback)."""
from __future__ import annotations

import random

from intercom_emulator import Workspace
from intercom_emulator.tests.emulator_client import emulator_fixture, get
from intercom_emulator.tests.test_emulator import SMALL, scroll_all, search_all

emu = emulator_fixture(seed=5, sizes=SMALL)


def test_conversations_found_by_the_search_embed_tags_contacts_and_teammates_in_the_2_11_shapes(emu):
    conversations, _ = search_all(emu, "conversations", {"field": "updated_at", "operator": ">", "value": 0})
    assert conversations and all("conversation_parts" not in c for c in conversations)
    for c in conversations:
        assert c["tags"]["type"] == "tag.list" and set(c["tags"]) == {"type", "tags"}
        assert all(set(t) == {"type", "id", "name", "applied_at", "applied_by"} and t["type"] == "tag" for t in c["tags"]["tags"])
        assert c["contacts"]["type"] == "contact.list" and set(c["contacts"]) == {"type", "contacts"}
        assert all(set(x) == {"type", "id", "external_id"} and x["type"] == "contact" for x in c["contacts"]["contacts"])
        assert c["teammates"]["type"] == "admin.list" and set(c["teammates"]) == {"type", "teammates"}
        assert all(set(x) == {"type", "id"} and x["type"] == "admin" for x in c["teammates"]["teammates"])
    assert any(len(c["tags"]["tags"]) > 1 for c in conversations)
    assert any(len(c["contacts"]["contacts"]) > 1 for c in conversations), "no group conversation"
    assert any(len(c["teammates"]["teammates"]) > 1 for c in conversations)


def test_a_conversations_teammates_are_the_admins_who_wrote_its_parts(emu):
    conversations, _ = search_all(emu, "conversations", {"field": "updated_at", "operator": ">", "value": 0})
    admins = {a["id"] for a in get(emu, "/admins").json()["admins"]}
    for c in conversations[:40]:
        parts = get(emu, f"/conversations/{c['id']}").json()["conversation_parts"]["conversation_parts"]
        if len(parts) == c["statistics"]["count_conversation_parts"]:  # every part returned (under 500)
            writers = {p["author"]["id"] for p in parts if p["author"]["type"] == "admin"}
            assert {t["id"] for t in c["teammates"]["teammates"]} == writers, c["id"]
            assert writers <= admins


def test_companies_of_the_scroll_embed_their_tags_and_tickets_their_contacts_in_the_2_11_shapes(emu):
    companies, _ = scroll_all(emu)
    assert all(c["tags"]["type"] == "tag.list" and set(c["tags"]) == {"type", "tags"} for c in companies)
    assert all(set(t) == {"type", "id", "name"} for c in companies for t in c["tags"]["tags"])
    assert any(len(c["tags"]["tags"]) > 1 for c in companies) and any(not c["tags"]["tags"] for c in companies)
    tickets, _ = search_all(emu, "tickets", {"field": "updated_at", "operator": ">", "value": 0})
    assert all(t["contacts"]["type"] == "contact.list" and set(t["contacts"]) == {"type", "contacts"} for t in tickets)
    assert all(set(x) == {"type", "id", "external_id"} for t in tickets for x in t["contacts"]["contacts"])


def test_tagging_a_company_or_a_conversation_updates_it_and_changes_its_rows_in_the_ground_truth():
    ws = Workspace(seed=5, sizes=SMALL)
    company, conversation = ws.companies[0], next(r for r in ws.conversations if not r.deleted)
    version, tags = ws.version, [ws.tags[1].id, ws.tags[2].id]
    ws.set_tags("company", company.id, tags, updated_at=ws.now())
    ws.set_tags("conversation", conversation.id, tags[:1], updated_at=ws.now())
    assert ws.changed_ids("company_tags", version) == {(company.id, t) for t in tags}
    assert ws.changed_ids("conversation_tags", version) == {(conversation.id, tags[0])}
    assert {(conversation.id, t) for t in tags[:1]} <= ws.expected_ids("conversation_tags", ws.now())
    assert ws.changed_ids("conversation_contacts", version) == {p for p in ws.expected_ids("conversation_contacts") if p[0] == conversation.id}
    assert ws.changed_ids("ticket_contacts", version) == set()


def test_a_random_mutation_retags_some_of_the_companies_and_conversations_it_touches():
    ws = Workspace(seed=5, sizes=SMALL)
    before = {r.id: r.tag_indexes for r in ws.companies + ws.conversations}
    version = ws.version
    ws.mutate_random(random.Random(1), 0.5)
    touched = [r for r in ws.companies + ws.conversations if r.version > version and r.id in before]
    retagged = [r for r in touched if r.tag_indexes != before[r.id]]
    assert touched and 0 < len(retagged) < len(touched)
    assert ws.changed_ids("company_tags", version) >= {(r.id, ws.tags[t].id) for r in retagged if r in ws.companies for t in r.tag_indexes}
