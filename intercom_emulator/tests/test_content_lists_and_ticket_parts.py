"""Ticket types, data attributes, the help center and news lists, subscription types and ticket
parts: shapes, pagination to the end, page-size limits, permissions, and ground truth equal to
what the API serves (real HTTP on loopback)."""
from __future__ import annotations

import random

import pytest
import requests

from intercom_emulator.tests.emulator_client import DAY, H, TOKEN, emulator_fixture, get
from intercom_emulator import Workspace, WorkspaceSizes, running_emulator

SIZES = WorkspaceSizes(admins=3, teams=2, tags=8, segments=3, companies=20, contacts=40, conversations=20,
                       parts_per_conversation=3, activity_logs=10, tickets=40, conversations_over_part_cap=0,
                       ticket_types=4)


emu = emulator_fixture(seed=5, sizes=SIZES)


def post(server, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, headers=H, json=body, timeout=10)


# ------------------------------------------------------------------------------ ticket types
def test_ticket_types_are_listed_under_data_each_with_its_attributes(emu):
    j = get(emu, "/ticket_types").json()
    assert j["type"] == "list" and set(j) == {"type", "data"}
    assert {t["id"] for t in j["data"]} == emu.ws.expected_ids("ticket_types") and len(j["data"]) == 4
    for t in j["data"]:
        attributes = t["ticket_type_attributes"]
        assert attributes["type"] == "list" and t["type"] == "ticket_type" and isinstance(t["is_internal"], bool)
        names = [a["name"] for a in attributes["data"]]
        assert names[:2] == ["_default_title_", "_default_description_"] and len(names) == 3
        assert all(a["type"] == "ticket_type_attribute" and a["ticket_type_id"] == int(t["id"])
                   for a in attributes["data"])
        assert attributes["data"][1]["input_options"] == {"multiline": True}


def test_a_ticket_embeds_its_ticket_type_with_the_attributes(emu):
    ticket = emu.ws.tickets[0]
    j = get(emu, f"/tickets/{ticket.id}").json()
    listed = {t["id"]: t for t in get(emu, "/ticket_types").json()["data"]}
    assert j["ticket_type"] == listed[j["ticket_type"]["id"]]


# --------------------------------------------------------------------------- data attributes
@pytest.mark.parametrize("model", ["contact", "company", "conversation", None])
def test_archived_data_attributes_are_listed_only_with_include_archived(emu, model):
    params = {"model": model} if model else {}
    live = get(emu, "/data_attributes", **params).json()["data"]
    explicit = get(emu, "/data_attributes", include_archived="false", **params).json()["data"]
    everything = get(emu, "/data_attributes", include_archived="true", **params).json()["data"]
    assert live == explicit and not any(a["archived"] for a in live)
    archived = [a for a in everything if a["archived"]]
    assert archived and [a for a in everything if not a["archived"]] == live
    assert all(a["custom"] and isinstance(a["id"], int) for a in archived)


def test_conversation_attributes_ground_truth_is_every_attribute_by_full_name(emu):
    data = get(emu, "/data_attributes", model="conversation", include_archived="true").json()["data"]
    assert {a["full_name"] for a in data} == emu.ws.expected_ids("conversation_attributes")
    assert "custom_attributes.legacy_queue" in emu.ws.expected_ids("conversation_attributes")
    assert get(emu, "/data_attributes", model="ticket").status_code == 400


def test_each_attribute_model_and_ticket_types_can_be_denied_on_their_own():
    denied = {"conversation_attributes": 403, "ticket_types": 401}
    with running_emulator(Workspace(seed=5, sizes=SIZES), token=TOKEN, denied=denied) as server:
        assert get(server, "/data_attributes", model="conversation").status_code == 403
        assert get(server, "/data_attributes").status_code == 403                     # every model
        assert get(server, "/data_attributes", model="contact").status_code == 200
        assert get(server, "/data_attributes", model="company").status_code == 200
        r = get(server, "/ticket_types")
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == "unauthorized"
        body = {"query": {"field": "updated_at", "operator": ">", "value": 0}}
        assert post(server, "/tickets/search", body).status_code == 200


# ------------------------------------------------------------------- help center and news lists
# (path, list key, default per_page, ground-truth stream)
PAGED_LISTS = [("/articles", "data", 15, "articles"),
               ("/help_center/collections", "data", 15, "help_center_collections"),
               ("/news/news_items", "data", 10, "news_items"),
               ("/news/newsfeeds", "data", 10, "newsfeeds")]


def read_pages(server, path: str, key: str, **params) -> tuple[list[dict], list[dict]]:
    """Every item of a page-number list, following ``pages.next`` links until it is absent."""
    r = get(server, path, **params)
    items, pages = [], []
    while True:
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["type"] == "list" and j["total_count"] == len(server.ws.expected_ids(stream_of(path)))
        items += j[key]
        pages.append(j["pages"])
        if "next" not in j["pages"]:
            return items, pages
        assert j["pages"]["next"].startswith(server.url + path + "?")
        r = requests.get(j["pages"]["next"], headers=H, timeout=10)


def stream_of(path: str) -> str:
    return next(stream for p, _, _, stream in PAGED_LISTS if p == path)


@pytest.mark.parametrize("path, key, per_page, stream", PAGED_LISTS)
def test_page_number_lists_read_to_the_end_give_every_record_once(emu, path, key, per_page, stream):
    items, pages = read_pages(emu, path, key)
    ids = [x["id"] for x in items]
    assert len(ids) == len(set(ids)) and set(ids) == emu.ws.expected_ids(stream)
    n_pages = max(1, -(-len(ids) // per_page))
    assert [p["page"] for p in pages] == list(range(1, n_pages + 1))
    assert all(p["type"] == "pages" and p["per_page"] == per_page and p["total_pages"] == n_pages for p in pages)
    small, _ = read_pages(emu, path, key, per_page=4)
    assert [x["id"] for x in small] == ids
    assert get(emu, path, page=n_pages + 1).json()[key] == []


@pytest.mark.parametrize("path", [p for p, _, _, _ in PAGED_LISTS] + ["/help_center/help_centers"])
def test_page_number_lists_refuse_more_than_150_a_page(emu, path):
    assert get(emu, path, per_page=150).status_code == 200
    for params in ({"per_page": 151}, {"per_page": 0}, {"page": -1}):
        r = get(emu, path, **params)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == "parameter_invalid", params


def test_every_preset_has_two_pages_or_more_of_each_paged_list():
    from intercom_emulator import PRESETS
    for name, sizes in [*PRESETS.items(), ("defaults", WorkspaceSizes())]:
        ws = Workspace(seed=1, sizes=sizes)
        assert len(ws.articles) > 15 and len(ws.collections) > 15 and len(ws.news_items) > 10, name
        assert ws.help_centers and ws.newsfeeds and ws.subscription_types, name


def test_articles_and_collections_come_most_recently_updated_first_and_news_items_newest_first(emu):
    for path, field in (("/articles", "updated_at"), ("/help_center/collections", "updated_at"),
                        ("/news/news_items", "created_at")):
        items, _ = read_pages(emu, path, "data")
        keys = [(x[field], int(x["id"])) for x in items]
        assert keys == sorted(keys, reverse=True), path


def test_an_article_updated_between_pages_moves_to_page_one_and_shifts_the_rest(emu):
    """Page numbers over a moving order: the reader misses the moved article and sees another twice."""
    ws = emu.ws
    page_1 = [a["id"] for a in get(emu, "/articles").json()["data"]]
    moved = ws.article_by_id[get(emu, "/articles", page=3).json()["data"][0]["id"]]
    ws.update_article(moved.id)
    rest = [a["id"] for page in (2, 3) for a in get(emu, "/articles", page=page).json()["data"]]
    seen = page_1 + rest
    assert moved.id not in seen and len(seen) - len(set(seen)) == 1
    assert get(emu, "/articles").json()["data"][0]["id"] == moved.id


def test_article_shape_follows_the_openapi_list_item(emu):
    items, _ = read_pages(emu, "/articles", "data")
    required = {"type", "id", "workspace_id", "title", "description", "body", "author_id", "state", "created_at",
                "updated_at", "url", "parent_id", "parent_ids", "parent_type", "default_locale", "translated_content"}
    admins = {int(a.id) for a in emu.ws.admins}
    collections = {int(c.id) for c in emu.ws.collections}
    for a in items:
        assert set(a) == required and a["type"] == "article" and a["author_id"] in admins
        assert (a["url"] is None) == (a["state"] == "draft") and a["state"] in ("published", "draft")
        assert a["parent_id"] is None or (a["parent_id"] == a["parent_ids"][0] and a["parent_type"] == "collection")
        assert set(a["parent_ids"]) <= collections
        assert a["translated_content"]["en"]["title"] == a["title"]
    assert {a["state"] for a in items} == {"published", "draft"} and any(a["parent_id"] is None for a in items)


def test_collections_nest_under_help_centers_and_other_collections(emu):
    items, _ = read_pages(emu, "/help_center/collections", "data")
    centers = {int(h["id"]) for h in get(emu, "/help_center/help_centers").json()["data"]}
    by_id = {c["id"]: c for c in items}
    assert {c["help_center_id"] for c in items} == centers
    sections = [c for c in items if c["parent_id"] is not None]
    assert sections and all(by_id[c["parent_id"]]["parent_id"] is None for c in sections)
    assert all(by_id[c["parent_id"]]["help_center_id"] == c["help_center_id"] for c in sections)
    assert all({"id", "workspace_id", "name", "created_at", "order", "default_locale"} <= set(c) for c in items)


def test_help_centers_are_one_list_without_pages(emu):
    j = get(emu, "/help_center/help_centers").json()
    assert set(j) == {"type", "data"} and j["type"] == "list"
    assert {h["id"] for h in j["data"]} == emu.ws.expected_ids("help_centers") and len(j["data"]) == 3
    assert all(set(h) == {"id", "workspace_id", "created_at", "updated_at", "identifier", "website_turned_on",
                          "display_name"} for h in j["data"])
    assert get(emu, "/help_center/help_centers", page=2).json()["data"] == []


def test_news_items_sit_on_newsfeeds_and_subscription_types_are_one_list(emu):
    items, _ = read_pages(emu, "/news/news_items", "data")
    feeds = {int(f) for f in emu.ws.expected_ids("newsfeeds")}
    assert all(x["type"] == "news-item" and x["state"] in ("live", "draft") for x in items)
    assert all(a["newsfeed_id"] in feeds and a["published_at"] == x["created_at"]
               for x in items for a in x["newsfeed_assignments"])
    j = get(emu, "/subscription_types").json()
    assert set(j) == {"type", "data"} and {t["id"] for t in j["data"]} == emu.ws.expected_ids("subscription_types")
    assert all(t["type"] == "subscription" and t["default_translation"]["locale"] == "en"
               and t["consent_type"] in ("opt_in", "opt_out") for t in j["data"])


def test_content_ground_truth_follows_updated_at_and_mutations(emu):
    ws = emu.ws
    sd = ws.now() - 50 * DAY
    for path, stream in (("/articles", "articles"), ("/help_center/collections", "help_center_collections"),
                         ("/news/news_items", "news_items")):
        items, _ = read_pages(emu, path, "data")
        expected = ws.expected_ids(stream, sd)
        assert {x["id"] for x in items if x["updated_at"] >= sd} == expected
        assert 0 < len(expected) < len(items), stream
    v = ws.version
    summary = ws.mutate_random(random.Random(8), fraction=0.2)
    for path, stream in (("/articles", "articles"), ("/help_center/collections", "help_center_collections"),
                         ("/news/news_items", "news_items")):
        changed = ws.changed_ids(stream, v)
        assert len(changed) == summary[stream] > 0
        items, _ = read_pages(emu, path, "data")
        recent = {x["id"] for x in items if x["updated_at"] >= ws.now() - 5}
        assert changed == recent and changed <= ws.expected_ids(stream, ws.now() - 5)
        assert len(items) > len(ws.expected_ids(stream, ws.now() - 5))       # added ones, and older ones


def test_each_help_center_and_news_list_can_be_denied():
    denied = {"articles": 403, "help_center_collections": 401, "newsfeeds": 403, "subscription_types": 401}
    with running_emulator(Workspace(seed=5, sizes=SIZES), token=TOKEN, denied=denied) as server:
        for path, status in (("/articles", 403), ("/help_center/collections", 401), ("/help_center/help_centers", 200),
                             ("/news/newsfeeds", 403), ("/news/news_items", 200), ("/subscription_types", 401)):
            assert get(server, path).status_code == status, path
    with running_emulator(Workspace(seed=5, sizes=SIZES), token=TOKEN, denied={"help_center": 403, "news": 403}) as s:
        for path in ("/help_center/collections", "/help_center/help_centers", "/news/newsfeeds", "/news/news_items"):
            assert get(s, path).status_code == 403, path
        assert get(s, "/articles").status_code == 200


# ------------------------------------------------------------------------------ ticket parts
EVERYTHING = {"field": "updated_at", "operator": ">", "value": 0}


def search_tickets(server, query: dict = EVERYTHING) -> list[dict]:
    tickets, cursor = [], None
    while True:
        pagination = {"per_page": 150, **({"starting_after": cursor} if cursor else {})}
        j = post(server, "/tickets/search", {"query": query, "pagination": pagination}).json()
        tickets += j["tickets"]
        cursor = (j["pages"].get("next") or {}).get("starting_after")
        if not cursor:
            return tickets


def test_generated_tickets_have_a_few_parts_some_more_than_ten_and_one_more_than_500():
    ws = Workspace(seed=5, sizes=SIZES)
    counts = sorted(len(r.parts) for r in ws.tickets)
    assert counts[len(counts) // 2] <= 5 and sum(n > 10 for n in counts) >= 4 and counts[-1] == 530
    from intercom_emulator import PRESETS
    benchmark = Workspace(seed=1, sizes=PRESETS["benchmark"])
    assert sum(len(r.parts) > 500 for r in benchmark.tickets) == 2
    assert 40 <= sum(10 < len(r.parts) <= 500 for r in benchmark.tickets) <= 60


def test_ticket_search_results_carry_their_ten_most_recent_parts_and_the_true_count(emu):
    ws = emu.ws
    tickets = search_tickets(emu)
    assert {t["id"] for t in tickets} == ws.expected_ids("tickets")
    for t in tickets:
        record = ws.ticket_by_id[t["id"]]
        parts = t["ticket_parts"]
        assert parts["type"] == "ticket_part.list" and parts["total_count"] == len(record.parts)
        assert [p["id"] for p in parts["ticket_parts"]] == [str(p.id) for p in record.parts[-10:]]
        assert all(p["type"] == "ticket_part" and "ticket_state" in p for p in parts["ticket_parts"])
    assert any(t["ticket_parts"]["total_count"] > 10 for t in tickets)


def test_how_many_parts_a_ticket_search_result_carries_is_a_server_setting():
    with running_emulator(Workspace(seed=5, sizes=SIZES), token=TOKEN, ticket_parts_in_search=3) as server:
        tickets = search_tickets(server)
        assert max(len(t["ticket_parts"]["ticket_parts"]) for t in tickets) == 3
        assert len(get(server, f"/tickets/{tickets[0]['id']}").json()["ticket_parts"]["ticket_parts"]) == \
            min(500, tickets[0]["ticket_parts"]["total_count"])


def test_get_ticket_returns_its_500_most_recent_parts(emu):
    big = max(emu.ws.tickets, key=lambda r: len(r.parts))
    parts = get(emu, f"/tickets/{big.id}").json()["ticket_parts"]
    assert parts["total_count"] == 530
    assert [p["id"] for p in parts["ticket_parts"]] == [str(p.id) for p in big.parts[-500:]]


def test_ticket_parts_ground_truth_is_the_500_most_recent_parts_of_tickets_updated_since(emu):
    ws = emu.ws
    for sd in (0, ws.now() - 60 * DAY):
        tickets = search_tickets(emu, {"field": "updated_at", "operator": ">=", "value": sd})
        served = set()
        for t in tickets:       # what search carries, and GET /tickets/{id} where that is not all
            listed = t["ticket_parts"]
            if listed["total_count"] > len(listed["ticket_parts"]):
                listed = get(emu, f"/tickets/{t['id']}").json()["ticket_parts"]
            served |= {p["id"] for p in listed["ticket_parts"]}
        assert served == ws.expected_ids("ticket_parts", sd)
    big = max(ws.tickets, key=lambda r: len(r.parts))
    assert str(big.parts[0].id) not in ws.expected_ids("ticket_parts")


def test_new_ticket_parts_move_the_ticket_and_are_the_changed_parts(emu):
    ws = emu.ws
    ticket = min(ws.tickets, key=lambda r: r.updated_at)
    v = ws.version
    new = ws.add_ticket_parts(ticket.id, n=2)
    assert ws.changed_ids("ticket_parts", v) == set(new) and ticket.id in ws.changed_ids("tickets", v)
    j = get(emu, f"/tickets/{ticket.id}").json()
    assert j["updated_at"] == ws.now() or j["updated_at"] >= ws.now() - 1
    assert [p["id"] for p in j["ticket_parts"]["ticket_parts"]][-2:] == new
    v = ws.version
    summary = ws.mutate_random(random.Random(6), fraction=0.3)
    changed = ws.changed_ids("ticket_parts", v)
    assert len(changed) == summary["ticket_parts"] > 0 and changed <= ws.expected_ids("ticket_parts", ws.now() - 5)
    moved = ws.changed_ids("tickets", v)
    assert all(ws.ticket_by_id[t].updated_at >= ws.now() - 5 for t in moved)


def test_ticket_parts_can_be_denied_without_denying_the_ticket_search():
    with running_emulator(Workspace(seed=5, sizes=SIZES), token=TOKEN, denied={"ticket_parts": 403}) as server:
        assert get(server, f"/tickets/{server.ws.tickets[0].id}").status_code == 403
        assert post(server, "/tickets/search", {"query": EVERYTHING}).status_code == 200
