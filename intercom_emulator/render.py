"""Records rendered as Intercom's JSON objects (shapes from the OpenAPI 2.11 description).

Content that no test filters on is derived at render time from a generator seeded with
``(seed, resource, idx, rev)``: the same record renders the same until it is updated. The
order in which a function draws from that generator is part of the output: keep it.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .records import (NONE, PART_CAP, ActivityLog, Admin, Article, Call, Collection, Company, Contact, Conversation,
                      HelpCenter, Newsfeed, NewsItem, Part, Segment, SubscriptionType, Team, Ticket, TicketState,
                      TicketType, TicketTypeAttribute, note_id)
from .vocabulary import (ACTIVITY_TYPES, BROWSERS, CITIES, COMPANY_CUSTOM_ATTRS, COMPANY_WORDS, CONTACT_CUSTOM_ATTRS,
                         CONV_STATES, CONVERSATION_CUSTOM_ATTRS, DAY, DOMAINS, FIRST_NAMES, INDUSTRIES, LAST_NAMES,
                         OSES, PART_TYPES, PLANS, TICKET_STATES, WORDS)

if TYPE_CHECKING:
    from .workspace import Workspace

SUBLIST_LIMIT = 10      # a contact embeds at most 10 tags/notes/companies, with has_more


def content_rng(ws: Workspace, kind: str, record) -> random.Random:
    return random.Random(f"{ws.seed}:{kind}:{record.idx}:{record.rev}")


# ------------------------------------------------------------------------ admins, app, teams, tags
def admin(ws: Workspace, a: Admin, with_app: bool = False) -> dict:
    d = {"type": "admin", "id": a.id, "name": a.name, "email": a.email, "job_title": a.job_title,
         "away_mode_enabled": a.away_mode_enabled, "away_mode_reassign": a.away_mode_reassign,
         "has_inbox_seat": a.has_inbox_seat, "team_ids": list(a.team_ids),
         "avatar": {"type": "avatar", "image_url": None}}
    if with_app:
        d["email_verified"] = True
        d["app"] = app(ws)
    return d


def admin_ref(ws: Workspace, index: int) -> dict:
    a = ws.admins[index]
    return {"type": "admin", "id": a.id, "name": a.name, "email": a.email}


def app(ws: Workspace) -> dict:
    off = ws.timezone_offset_hours
    tz = "UTC" if off == 0 else f"Etc/GMT{'-' if off > 0 else '+'}{abs(int(off))}"
    return {"type": "app", "id_code": ws.app_id, "name": f"Emulated workspace {ws.seed}",
            "region": "US", "timezone": tz, "created_at": ws.app_created_at,
            "identity_verification": False}


def team(t: Team) -> dict:
    return {"type": "team", "id": t.id, "name": t.name, "admin_ids": list(t.admin_ids)}


def tag(ws: Workspace, index: int, applied_at: int | None = None) -> dict:
    t = ws.tags[index]
    d = {"type": "tag", "id": t.id, "name": t.name}
    if applied_at is not None:
        d["applied_at"] = applied_at
        d["applied_by"] = {"type": "admin", "id": ws.admins[0].id} if ws.admins else None
    return d


def ticket_type(t: TicketType) -> dict:
    """Its attributes as the OpenAPI examples show them ("list" / "data"; the 2.11 schema says
    "ticket_type_attributes.list" / "ticket_type_attributes")."""
    return {"type": "ticket_type", "id": t.id, "category": t.category, "name": t.name,
            "description": t.description, "icon": t.icon, "workspace_id": t.workspace_id,
            "archived": t.archived, "created_at": t.created_at, "updated_at": t.updated_at,
            "is_internal": t.is_internal,
            "ticket_type_attributes": {"type": "list", "data": [ticket_type_attribute(t, a) for a in t.attributes]}}


def ticket_type_attribute(t: TicketType, a: TicketTypeAttribute) -> dict:
    return {"type": "ticket_type_attribute", "id": a.id, "workspace_id": t.workspace_id, "name": a.name,
            "description": a.description, "data_type": a.data_type,
            "input_options": None if a.multiline is None else {"multiline": a.multiline}, "order": a.order,
            "required_to_create": False, "required_to_create_for_contacts": False,
            "visible_on_create": a.visible, "visible_to_contacts": a.visible, "default": a.default,
            "ticket_type_id": a.ticket_type_id, "archived": False, "created_at": a.created_at,
            "updated_at": a.created_at}


def data_attributes(ws: Workspace, model: str, include_archived: bool = False) -> list[dict]:
    return [dict(a) for a in ws.data_attributes.get(model, []) if include_archived or not a["archived"]]


def segment(r: Segment, include_count: bool = False) -> dict:
    name = f"Segment {COMPANY_WORDS[r.idx % len(COMPANY_WORDS)]} {r.idx}" + ("" if r.rev == 0 else f" v{r.rev}")
    d = {"type": "segment", "id": r.id, "name": name, "created_at": r.created_at, "updated_at": r.updated_at,
         "person_type": r.person_type}
    if include_count:
        d["count"] = r.member_count
    return d


# ---------------------------------------------------------------------------------- companies
def custom_attributes(rng: random.Random, definitions: list[tuple[str, str]], base_ts: int) -> dict:
    out: dict = {}
    for name, data_type in definitions:
        if rng.random() < 0.15:
            out[name] = None
        elif data_type == "boolean":
            out[name] = rng.random() < 0.5
        elif data_type == "float":
            out[name] = round(rng.uniform(0, 5000), 2)
        elif data_type == "integer":
            out[name] = rng.randint(0, 100)
        elif data_type == "date":
            out[name] = base_ts + rng.randint(0, 90) * DAY
        else:
            out[name] = rng.choice(WORDS) + "-" + str(rng.randint(1, 999))
    return out


def company(ws: Workspace, r: Company) -> dict:
    rng = content_rng(ws, "company", r)
    name = f"{COMPANY_WORDS[r.idx % 16]} {COMPANY_WORDS[(r.idx // 16) % 16]} {r.idx}"
    plan_i = rng.randrange(len(PLANS))
    return {
        "type": "company", "id": r.id, "name": name, "app_id": ws.app_id,
        "plan": {"type": "plan", "id": str(400 + plan_i), "name": PLANS[plan_i]},
        "company_id": f"cmp-{ws.seed}-{r.idx}", "remote_created_at": r.created_at,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "last_request_at": r.updated_at - rng.randint(0, 3 * DAY) if rng.random() < 0.8 else None,
        "size": rng.choice([1, 5, 10, 50, 100, 500, 1000]),
        "website": f"https://www.{name.split()[0].lower()}{r.idx}.example",
        "industry": rng.choice(INDUSTRIES), "monthly_spend": rng.randint(0, 20000),
        "session_count": rng.randint(0, 5000), "user_count": rng.randint(0, 300),
        "custom_attributes": custom_attributes(rng, COMPANY_CUSTOM_ATTRS, r.created_at),
        "tags": {"type": "tag.list", "tags": [tag(ws, t) for t in r.tag_indexes]},
        "segments": {"type": "segment.list",
                     "segments": [segment(ws.segments[s]) for s in r.segment_indexes]},
    }


# ----------------------------------------------------------------------------------- contacts
def contact_name(ws: Workspace, c: Contact) -> tuple[str, str]:
    return FIRST_NAMES[c.idx % 24], LAST_NAMES[(c.idx // 24 + ws.seed) % 24]


def contact_email(ws: Workspace, c: Contact) -> str:
    first, last = contact_name(ws, c)
    return f"{first.lower()}.{last.lower().replace(' ', '')}{c.idx}@{DOMAINS[c.idx % len(DOMAINS)]}"


def contact_external_id(ws: Workspace, c: Contact) -> str | None:
    return f"ext-{ws.seed}-{c.idx}" if c.idx % 4 else None


def contact(ws: Workspace, r: Contact) -> dict:
    rng = content_rng(ws, "contact", r)
    first, last = contact_name(ws, r)
    dom = DOMAINS[r.idx % len(DOMAINS)]
    country, region, city = CITIES[r.idx % len(CITIES)]
    last_seen = r.updated_at - rng.randint(0, DAY) if rng.random() < 0.85 else None
    if last_seen is not None and last_seen < r.created_at:
        last_seen = r.created_at
    contacted = r.created_at + rng.randint(0, max(0, r.updated_at - r.created_at)) if rng.random() < 0.5 else None
    replied = contacted if contacted and rng.random() < 0.5 else None
    tags = [{"type": "tag", "id": ws.tags[t].id, "url": f"/tags/{ws.tags[t].id}"} for t in r.tag_indexes]
    companies = [{"type": "company", "id": ws.companies[ci].id, "url": f"/companies/{ws.companies[ci].id}"}
                 for ci in r.company_indexes if ci < len(ws.companies)]
    notes = [{"type": "note", "id": note_id(r, k), "url": f"/notes/{note_id(r, k)}"} for k in range(r.note_count)]
    owner = int(ws.admins[r.idx % len(ws.admins)].id) if ws.admins and r.idx % 3 == 0 else None

    def sublist(items: list[dict], kind: str) -> dict:
        return {"type": "list", "data": items[:SUBLIST_LIMIT], "url": f"/contacts/{r.id}/{kind}",
                "total_count": len(items), "has_more": len(items) > SUBLIST_LIMIT}

    return {
        "type": "contact", "id": r.id, "workspace_id": ws.app_id,
        "external_id": contact_external_id(ws, r),
        "role": "lead" if r.idx % 5 == 4 else "user", "email": contact_email(ws, r), "email_domain": dom,
        "phone": f"+3531{r.idx:07d}" if r.idx % 3 == 1 else None,
        "formatted_phone": f"+3531{r.idx:07d}" if r.idx % 3 == 1 else None,
        "name": f"{first} {last}", "owner_id": owner,
        "has_hard_bounced": False, "marked_email_as_spam": False,
        "unsubscribed_from_emails": rng.random() < 0.1,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "signed_up_at": r.created_at if r.idx % 5 != 4 else None,
        "last_seen_at": last_seen, "last_replied_at": replied, "last_contacted_at": contacted,
        "last_email_opened_at": contacted, "last_email_clicked_at": None,
        "language_override": None, "browser": rng.choice(BROWSERS),
        "browser_version": f"{rng.randint(90, 130)}.0", "browser_language": "en",
        "os": rng.choice(OSES), "android_app_name": None, "android_app_version": None,
        "android_device": None, "android_os_version": None, "android_sdk_version": None,
        "android_last_seen_at": None, "ios_app_name": None, "ios_app_version": None,
        "ios_device": None, "ios_os_version": None, "ios_sdk_version": None, "ios_last_seen_at": None,
        "custom_attributes": custom_attributes(rng, CONTACT_CUSTOM_ATTRS, r.created_at),
        "avatar": None,
        "tags": sublist(tags, "tags"),
        "notes": sublist(notes, "notes"),
        "companies": sublist(companies, "companies"),
        "location": {"type": "location", "country": country, "region": region, "city": city,
                     "country_code": country[:3].upper(), "continent_code": None},
        "social_profiles": {"type": "list", "data": []},
        "opted_out_subscription_types": {"type": "list", "data": [], "url": f"/contacts/{r.id}/subscriptions",
                                         "total_count": 0, "has_more": False},
        "opted_in_subscription_types": {"type": "list", "data": [], "url": f"/contacts/{r.id}/subscriptions",
                                        "total_count": 0, "has_more": False},
        "utm_campaign": None, "utm_content": None, "utm_medium": None, "utm_source": None,
        "utm_term": None, "referrer": None, "sms_consent": False, "unsubscribed_from_sms": False,
    }


def contact_tags(ws: Workspace, r: Contact) -> dict:
    """GET /contacts/{id}/tags: every tag, as full tag objects (the example's shape: no applied_at)."""
    return {"type": "list", "data": [tag(ws, t) for t in r.tag_indexes]}


def note(ws: Workspace, r: Contact, k: int) -> dict:
    """A contact's k-th note. Notes are written between the contact's creation and generation time
    (so they do not move when the contact is updated), by one of the admins."""
    rng = random.Random(f"{ws.seed}:note:{r.idx}:{k}")
    end = max(r.created_at, ws.anchor - 3600)
    created_at = r.created_at + (end - r.created_at) * (k + 1) // (r.note_count + 1)
    author = admin(ws, ws.admins[rng.randrange(len(ws.admins))]) if ws.admins else None
    body = "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10))) + "</p>"
    return {"type": "note", "id": note_id(r, k), "created_at": created_at,
            "contact": {"type": "contact", "id": r.id}, "author": author, "body": body}


def contact_ref(ws: Workspace, index: int) -> dict | None:
    if 0 <= index < len(ws.contacts):
        c = ws.contacts[index]
        return {"type": "contact", "id": c.id, "external_id": contact_external_id(ws, c)}
    return None


# ------------------------------------------------------------------------ conversations, parts
def part_author(ws: Workspace, admin_index: int, contact_index: int) -> dict:
    """The admin who wrote a part, else the conversation's contact, else a bot."""
    if admin_index >= 0 and ws.admins:
        return admin_ref(ws, admin_index % len(ws.admins))
    c = ws.contacts[contact_index] if 0 <= contact_index < len(ws.contacts) else None
    if c is None:
        return {"type": "bot", "id": "0", "name": "Operator", "email": "operator+bot@intercom.io"}
    first, last = contact_name(ws, c)
    return {"type": "user", "id": c.id, "name": f"{first} {last}", "email": contact_email(ws, c)}


def part(ws: Workspace, p: Part, contact_index: int, kind: str = "conversation_part") -> dict:
    rng = random.Random(p.salt)
    part_type = PART_TYPES[p.type_index]
    body = None
    if part_type in ("comment", "note"):
        body = "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "</p>"
    d = {"type": kind, "id": str(p.id), "part_type": part_type, "body": body,
         "created_at": p.created_at, "updated_at": p.updated_at, "notified_at": p.created_at,
         "assigned_to": ({"type": "admin", "id": ws.admins[p.admin_index % len(ws.admins)].id}
                         if part_type == "assignment" and ws.admins else None),
         "author": part_author(ws, p.admin_index, contact_index),
         "attachments": ([{"type": "upload", "name": f"file{p.id}.png", "url": f"https://files.example/{p.id}.png",
                           "content_type": "image/png", "filesize": rng.randint(100, 99999),
                           "width": 64, "height": 64}] if rng.random() < 0.05 else []),
         "external_id": None, "redacted": False}
    if kind == "ticket_part":
        d.pop("notified_at")
        d["ticket_state"] = TICKET_STATES[p.salt % 4]
        d["previous_ticket_state"] = TICKET_STATES[(p.salt // 4) % 4]
    return d


def conversation(ws: Workspace, r: Conversation, with_parts: bool = False) -> dict:
    """List and search results carry no parts; GET /conversations/{id} carries the 500 most recent."""
    rng = content_rng(ws, "conversation", r)
    parts = r.parts
    state = CONV_STATES[(r.idx + r.rev) % 4]
    first_t = parts[0].created_at if parts else r.created_at
    admin_id = int(ws.admins[r.admin_index].id) if r.admin_index >= 0 else None
    d = {
        "type": "conversation", "id": r.id, "title": None if r.idx % 3 else f"Conversation {r.idx}",
        "created_at": r.created_at, "updated_at": r.updated_at,
        "waiting_since": r.updated_at if state == "open" else None,
        "snoozed_until": r.updated_at + DAY if state == "snoozed" else None,
        "open": state == "open", "state": state, "read": rng.random() < 0.7,
        "priority": "priority" if r.idx % 7 == 0 else "not_priority",
        "admin_assignee_id": admin_id,
        "team_assignee_id": ws.teams[r.idx % len(ws.teams)].id if ws.teams and r.idx % 2 else None,
        "tags": {"type": "tag.list", "tags": [tag(ws, t, applied_at=r.created_at) for t in r.tag_indexes]},
        "conversation_rating": None,
        "source": {"type": "conversation", "id": str(400_000_000 + r.idx), "delivered_as": "customer_initiated",
                   "subject": "", "body": "<p>" + " ".join(rng.choice(WORDS) for _ in range(6)) + "</p>",
                   "author": part_author(ws, NONE, r.contact_index), "attachments": [], "url": None,
                   "redacted": False},
        "contacts": {"type": "contact.list", "contacts": [contact_ref(ws, c) for c in ws.conversation_contact_indexes(r)]},
        # the admins who wrote a part (the 2.11 description's `teammates` key)
        "teammates": {"type": "admin.list",
                      "teammates": [{"type": "admin", "id": ws.admins[a].id} for a in ws.conversation_teammate_indexes(r)]},
        "custom_attributes": custom_attributes(rng, CONVERSATION_CUSTOM_ATTRS, r.created_at),
        "first_contact_reply": {"created_at": first_t, "type": "conversation", "url": None},
        "sla_applied": None,
        "statistics": {"type": "conversation_statistics",
                       "time_to_assignment": rng.randint(0, 3600), "time_to_admin_reply": rng.randint(0, 7200),
                       "time_to_first_close": rng.randint(0, 86400), "time_to_last_close": rng.randint(0, 86400),
                       "median_time_to_reply": rng.randint(0, 3600), "first_contact_reply_at": first_t,
                       "first_assignment_at": first_t, "first_admin_reply_at": first_t,
                       "first_close_at": None, "last_assignment_at": first_t,
                       "last_assignment_admin_reply_at": first_t, "last_contact_reply_at": r.updated_at,
                       "last_admin_reply_at": r.updated_at, "last_close_at": None,
                       "last_closed_by_id": None, "count_reopens": r.rev,
                       "count_assignments": 1, "count_conversation_parts": len(parts)},
        "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
        "ai_agent_participated": False,
    }
    if with_parts:
        d["conversation_parts"] = {"type": "conversation_part.list",
                                   "conversation_parts": [part(ws, p, r.contact_index) for p in parts[-PART_CAP:]],
                                   "total_count": len(parts)}
    return d


def deleted_conversation(r: Conversation) -> dict:
    """An item of GET /conversations/deleted (2.16)."""
    return {"type": "conversation", "id": r.id, "deleted_at": r.deleted_at, "metrics_retained": r.metrics_retained}


# ------------------------------------------------------------------------ activity logs, tickets
def activity_log(ws: Workspace, r: ActivityLog) -> dict:
    by = ws.admins[r.admin_index % len(ws.admins)] if ws.admins else None
    admin_id, email = (by.id, by.email) if by else ("0", "nobody@example")
    activity_type = ACTIVITY_TYPES[r.activity_type_index]
    metadata = ({"source": "web", "sign_in_method": "email_password"} if "login" in activity_type
                else {"update_by": int(admin_id), "update_by_name": by.name if by else None})
    return {"id": r.id, "performed_by": {"type": "admin", "id": admin_id, "email": email,
                                         "ip": f"10.{r.idx % 256}.{(r.idx // 256) % 256}.7"},
            "metadata": metadata, "created_at": r.created_at, "activity_type": activity_type,
            "activity_description": f"{by.name if by else 'Admin'} performed {activity_type.replace('_', ' ')}."}


def ticket(ws: Workspace, r: Ticket, parts: int | None = None) -> dict:
    """With ``ticket_parts``: its ``parts`` most recent parts (oldest first) and the true
    ``total_count``; without the key when ``parts`` is None."""
    rng = content_rng(ws, "ticket", r)
    tt = ws.ticket_types[r.ticket_type_index]
    state = TICKET_STATES[(r.idx + r.rev) % 4]
    label = state.replace("_", " ").title()
    d = {"type": "ticket", "id": r.id, "ticket_id": str(r.idx + 1), "category": tt.category,
         "ticket_attributes": {"_default_title_": f"Ticket {r.idx}: {rng.choice(WORDS)}",
                               "_default_description_": " ".join(rng.choice(WORDS) for _ in range(8))},
         "ticket_state": state, "ticket_type": ticket_type(tt),
         "contacts": {"type": "contact.list", "contacts": [contact_ref(ws, r.contact_index)] if r.contact_index >= 0
                      else []},
         "admin_assignee_id": ws.admins[r.idx % len(ws.admins)].id if ws.admins else None,
         "team_assignee_id": ws.teams[r.idx % len(ws.teams)].id if ws.teams else None,
         "created_at": r.created_at, "updated_at": r.updated_at, "open": state != "resolved",
         "snoozed_until": None, "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
         "is_shared": r.idx % 2 == 0, "ticket_state_internal_label": label,
         "ticket_state_external_label": label}
    if parts is not None:
        recent = r.parts[-parts:] if parts else []
        d["ticket_parts"] = {"type": "ticket_part.list",
                             "ticket_parts": [part(ws, p, r.contact_index, "ticket_part") for p in recent],
                             "total_count": len(r.parts)}
    return d


# ------------------------------------------------------------------------- help center, news
def help_center(ws: Workspace, h: HelpCenter) -> dict:
    return {"id": h.id, "workspace_id": ws.app_id, "created_at": h.created_at, "updated_at": h.updated_at,
            "identifier": h.identifier, "website_turned_on": h.website_turned_on, "display_name": h.display_name}


def _title(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def collection(ws: Workspace, r: Collection) -> dict:
    """``parent_id`` is a string and ``help_center_id`` an integer, as in the OpenAPI schema."""
    rng = content_rng(ws, "collection", r)
    name = f"{_title(rng, 2)} {r.idx}"
    description = _title(rng, 6) if rng.random() < 0.8 else None
    return {"id": r.id, "workspace_id": ws.app_id, "name": name,
            "url": f"https://intercom.help/{ws.app_id}/en/collections/{r.id}", "order": r.order,
            "created_at": r.created_at, "updated_at": r.updated_at, "description": description,
            "icon": rng.choice(("book-bookmark", "bookmark", "chat-bubbles", "lightbulb")),
            "parent_id": ws.collections[r.parent_index].id if r.parent_index != NONE else None,
            "help_center_id": int(ws.help_centers[r.help_center_index].id) if r.help_center_index != NONE else None,
            "default_locale": "en",
            "translated_content": {"type": "group_translated_content",
                                   "en": {"type": "group_content", "name": name, "description": description or ""}}}


def article(ws: Workspace, r: Article) -> dict:
    """A list item of GET /articles. ``parent_ids`` holds its collection and that collection's
    parent, if any (integers); a draft has no url."""
    rng = content_rng(ws, "article", r)
    title = f"{_title(rng, rng.randint(2, 6))} ({r.idx})"
    description = _title(rng, 8) if rng.random() < 0.7 else ""
    body = "".join(f"<p>{_title(rng, rng.randint(6, 16))}.</p>" for _ in range(rng.randint(1, 4)))
    author_id = int(ws.admins[r.author_index % len(ws.admins)].id) if ws.admins else 0
    state = "published" if r.published else "draft"
    url = f"https://intercom.help/{ws.app_id}/en/articles/{r.id}" if r.published else None
    parent_ids = []
    if r.collection_index != NONE:
        c = ws.collections[r.collection_index]
        parent_ids = [int(c.id)] + ([int(ws.collections[c.parent_index].id)] if c.parent_index != NONE else [])
    return {"type": "article", "id": r.id, "workspace_id": ws.app_id, "title": title, "description": description,
            "body": body, "author_id": author_id, "state": state, "created_at": r.created_at,
            "updated_at": r.updated_at, "url": url, "parent_id": parent_ids[0] if parent_ids else None,
            "parent_ids": parent_ids, "parent_type": "collection" if parent_ids else None, "default_locale": "en",
            "translated_content": {"type": "article_translated_content",
                                   "en": {"type": "article_content", "title": title, "description": description,
                                          "body": body, "author_id": author_id, "state": state,
                                          "created_at": r.created_at, "updated_at": r.updated_at, "url": url}}}


def ticket_state(ws: Workspace, s: TicketState) -> dict:
    """As GET /ticket_states' example (API 2.16): each state with the ticket types that use it,
    their attributes left out."""
    types = [{k: v for k, v in ticket_type(ws.ticket_types[t]).items() if k != "ticket_type_attributes"}
             for t in s.ticket_type_indexes]
    return {"type": "ticket_state", "id": s.id, "category": s.category, "internal_label": s.internal_label,
            "external_label": s.external_label, "archived": s.archived,
            "ticket_types": {"type": "list", "data": types}}


def call(ws: Workspace, r: Call, host: str) -> dict:
    """A call (API 2.16). Times are unix seconds, as the example shows; an update moves it on."""
    answered = r.created_at + 5 if r.duration else None
    ended = (answered or r.created_at) + (r.duration or 30)
    admin = ws.admins[r.admin_index % len(ws.admins)].id if ws.admins else None
    recorded = r.duration and r.rev % 2 == 0
    return {"type": "call", "id": r.id,
            "conversation_id": ws.conversations[r.conversation_index].id if r.conversation_index != NONE else None,
            "admin_id": admin,
            "contact_id": ws.contacts[r.contact_index].id if r.contact_index != NONE else None,
            "state": "completed", "initiated_at": r.created_at, "answered_at": answered, "ended_at": ended,
            "created_at": r.created_at, "updated_at": r.updated_at,
            "recording_url": f"http://{host}/calls/{r.id}/recording" if recorded else None,
            "transcription_url": f"http://{host}/calls/{r.id}/transcript" if recorded else None,
            "call_type": "phone", "direction": "inbound" if r.inbound else "outbound",
            "ended_reason": "completed" if r.duration else "no_answer",
            "phone": f"+1555{int(r.id) % 10_000_000:07d}",
            "fin_recording_url": None, "fin_transcription_url": None}


def newsfeed(f: Newsfeed) -> dict:
    return {"id": f.id, "type": "newsfeed", "name": f.name, "created_at": f.created_at, "updated_at": f.updated_at}


def news_item(ws: Workspace, r: NewsItem) -> dict:
    rng = content_rng(ws, "news-item", r)
    title = f"{_title(rng, rng.randint(2, 5))} ({r.idx})"
    return {"type": "news-item", "id": r.id, "workspace_id": ws.app_id, "title": title,
            "body": "<p>" + _title(rng, rng.randint(8, 20)) + ".</p>",
            "sender_id": int(ws.admins[r.sender_index % len(ws.admins)].id) if ws.admins else 0,
            "state": "live" if r.live else "draft",
            "newsfeed_assignments": [{"newsfeed_id": int(ws.newsfeeds[f].id), "published_at": r.created_at}
                                     for f in r.newsfeed_indexes],
            "labels": rng.sample(["Product update", "Announcement", "Event", "Tip"], rng.randint(0, 2)),
            "cover_image_url": f"https://images.example/news/{r.id}.png" if rng.random() < 0.4 else None,
            "reactions": ["👍", "❤️", "🎉", "😄"][:rng.randint(0, 4)], "deliver_silently": rng.random() < 0.2,
            "created_at": r.created_at, "updated_at": r.updated_at}


def subscription_type(t: SubscriptionType) -> dict:
    translation = {"name": t.name, "description": t.description, "locale": "en"}
    return {"type": "subscription", "id": t.id, "state": t.state, "consent_type": t.consent_type,
            "default_translation": translation, "translations": [dict(translation)],
            "content_types": list(t.content_types)}
