"""Ticket types, data attributes, the help center and news lists, subscription types and ticket
parts: shapes, pagination to the end, page-size limits, permissions, and ground truth equal to
what the API serves (real HTTP on loopback)."""
from __future__ import annotations

import pytest
import requests

from intercom_emulator import Workspace, WorkspaceSizes, running_emulator

TOKEN = "test-token"
H = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.11"}
DAY = 86400
SIZES = WorkspaceSizes(admins=3, teams=2, tags=8, segments=3, companies=20, contacts=40, conversations=20,
                       parts_per_conversation=3, activity_logs=10, tickets=40, conversations_over_part_cap=0,
                       ticket_types=4)


@pytest.fixture
def emu():
    with running_emulator(Workspace(seed=5, sizes=SIZES, span_days=200), token=TOKEN) as server:
        yield server


def get(server, path: str, headers: dict = H, **params) -> requests.Response:
    return requests.get(server.url + path, headers=headers, params=params, timeout=10)


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
        assert all(a["type"] == "ticket_type_attribute" and a["ticket_type_id"] == int(t["id"]) for a in attributes["data"])
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
